// Package sqlitedb opens Tangerine's SQLite databases (core.BaseAppConfig.DBConnect): the
// serving binary and the test apps use the same connections.
package sqlitedb

import (
	"database/sql"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/internal/stmtcache"
)

// Connect opens PocketBase's SQLite databases as core.DefaultDBConnect does, with two changes:
//   - every connection keeps its prepared statements (internal/stmtcache): the driver would
//     otherwise parse and plan every query on every call (about a quarter of the home feed's
//     CPU);
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
	// "sqlite": dbx picks its SQL builder (quoting, upserts) by this name
	return dbx.NewFromDB(db, "sqlite"), nil
}

// MaxIdleConns is how many idle connections the read pool keeps (PocketBase's default is 15).
const MaxIdleConns = 32

// pragmas are core.DefaultDBConnect's pragmas (busy_timeout first, see there) plus _txlock.
const pragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)&_defensive=1&_txlock=immediate"

var _ core.DBConnectFunc = Connect
