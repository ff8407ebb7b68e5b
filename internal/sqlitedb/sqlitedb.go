// Package sqlitedb opens Tangerine's SQLite databases (core.BaseAppConfig.DBConnect): the
// serving binary and the test apps use the same connections.
package sqlitedb

import (
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/internal/stmtcache"
)

// Connect opens PocketBase's SQLite databases as core.DefaultDBConnect does, with three changes:
//   - every connection keeps its prepared statements (internal/stmtcache): the driver would
//     otherwise parse and plan every query on every call (about a quarter of the home feed's
//     CPU);
//   - the WAL is checkpointed in the background, off the write path (see checkpoint);
//   - transactions begin IMMEDIATE, taking SQLite's write lock when they start.
//
// About IMMEDIATE:
//
// Within one process this changes nothing: PocketBase writes through a single connection, and
// only that pool runs transactions. It matters when several `tangerine serve` processes share
// one pb_data (the Pulsar chat deployment): a DEFERRED transaction that reads first and then
// writes, after another process wrote in between, fails at once with SQLITE_BUSY_SNAPSHOT
// ("database is locked (517)"), which busy_timeout cannot wait out and users would see as a 500.
// An IMMEDIATE transaction instead waits (busy_timeout, 10 s) for the other process's write.
func Connect(dbPath string) (*dbx.DB, error) {
	db, err := sql.Open(stmtcache.DriverName, dbPath+pragmas)
	if err != nil {
		return nil, err
	}
	go checkpoint(db, CheckpointInterval)
	// "sqlite": dbx picks its SQL builder (quoting, upserts) by this name
	return dbx.NewFromDB(db, "sqlite"), nil
}

// CheckpointInterval is how often the WAL is copied back into the database file. Smaller
// checkpoints more often disturb the writer least: with the chat at 2,000 messages/s the
// delivery p99 was 47–50 ms at 250 ms, 63–82 ms at 1 s, 63 ms at 100 ms and 100 ms at 10 s.
const CheckpointInterval = 250 * time.Millisecond

// checkpoint runs a PASSIVE WAL checkpoint on db every interval, until db is closed.
//
// SQLite's own automatic checkpoint runs in the commit that crosses wal_autocheckpoint
// pages (1,000 by default): that commit copies the WAL into the database file and fsyncs
// both while it holds the write lock, and every write queued behind it waits. Under a
// steady write load (the chat's 1,500 messages/s write ~50 MB/s of WAL) that is a dozen
// stalls a second on the only write path. Here the checkpoints run on a read connection
// instead, beside the writer (PASSIVE: it copies what it can without blocking anyone), and
// the automatic one is pushed out to 20,000 pages as a safety net for a checkpointer that
// falls behind.
//
// A pool of one connection (PocketBase's write pool) is skipped: a checkpoint there would
// queue behind, and hold up, the writes themselves; the read pool of the same file does it.
func checkpoint(db *sql.DB, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for range t.C {
		if db.Stats().MaxOpenConnections == 1 {
			continue
		}
		_, err := db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		if err != nil && strings.Contains(err.Error(), "database is closed") {
			return
		}
	}
}

// pragmas are core.DefaultDBConnect's pragmas (busy_timeout first, see there) plus
// wal_autocheckpoint (see checkpoint) and _txlock.
const pragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)&_pragma=wal_autocheckpoint(20000)&_defensive=1&_txlock=immediate"

var _ core.DBConnectFunc = Connect

// ReadConnsEnv names the environment variable that sizes the read pool (see ReadConns).
const ReadConnsEnv = "TANGERINE_DB_READ_CONNS"

// ReadConns is the size of the read pool of data.db: its most open connections and also its
// most idle ones (core.BaseAppConfig.DataMaxOpenConns and DataMaxIdleConns). It is read from
// TANGERINE_DB_READ_CONNS, by default 4 × GOMAXPROCS (at least 4).
//
// PocketBase's defaults (120 open, 15 idle) suit a handful of concurrent readers. Under more
// (the home feed with 32 clients) the pool opens connections past the 15 idle ones and closes
// them again as soon as they are returned: every such connection parses the schema again (a
// quarter of the feed's CPU went to sqlite3InitCallback) and starts with an empty statement
// cache (internal/stmtcache) and an empty page cache. SQLite reads run on the CPU, so more
// connections than a few per core only queue inside SQLite instead of in the pool; a pool
// whose idle size equals its open size keeps every connection it opens.
func ReadConns() (int, error) {
	v := strings.TrimSpace(os.Getenv(ReadConnsEnv))
	if v == "" {
		return max(4, 4*runtime.GOMAXPROCS(0)), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, fmt.Errorf("%s must be an integer from 1 to 1000, got %q", ReadConnsEnv, v)
	}
	return n, nil
}
