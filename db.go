package main

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// dbConnect opens PocketBase's SQLite databases as core.DefaultDBConnect does, with one change:
// transactions begin IMMEDIATE, taking SQLite's write lock when they start.
//
// Within one process this changes nothing: PocketBase writes through a single connection, and
// only that pool runs transactions. It matters when several `tangerine serve` processes share
// one pb_data (the Pulsar chat deployment): a DEFERRED transaction that reads first and then
// writes, after another process wrote in between, fails at once with SQLITE_BUSY_SNAPSHOT
// ("database is locked (517)"), which busy_timeout cannot wait out and users would see as a 500.
// An IMMEDIATE transaction instead waits (busy_timeout, 10 s) for the other process's write.
func dbConnect(dbPath string) (*dbx.DB, error) {
	return dbx.Open("sqlite", dbPath+dbPragmas)
}

// dbPragmas are core.DefaultDBConnect's pragmas (busy_timeout first, see there) plus _txlock.
const dbPragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)&_defensive=1&_txlock=immediate"

var _ core.DBConnectFunc = dbConnect
