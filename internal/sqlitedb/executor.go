package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pocketbase/dbx"
)

// Conn is what *sql.DB and *sql.Tx have in common.
type Conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Raw returns the database/sql handle under a PocketBase builder: the *sql.Tx of txApp.DB()
// inside a transaction, the *sql.DB of app.ConcurrentDB() or app.NonconcurrentDB() outside one
// (app.DB() outside a transaction is PocketBase's router between those two, which has none).
//
// It is for the few statements that run for every chat message: written with plain `?`
// placeholders and plain names, they skip dbx's rewrite of {:name} placeholders and
// {{table}}/[[column]] quoting, two regular-expression passes over the query text that cost
// about as much CPU as SQLite takes to run such a statement. They also skip dbx's query
// logging (PocketBase's dev-mode SQL log).
func Raw(b dbx.Builder) (Conn, error) {
	switch b := b.(type) {
	case *dbx.DB:
		return b.DB(), nil
	case *dbx.Tx:
		if e, ok := b.Builder.(interface{ Executor() dbx.Executor }); ok {
			if c, ok := e.Executor().(Conn); ok {
				return c, nil
			}
		}
	}
	return nil, fmt.Errorf("sqlitedb: no database/sql handle under a %T", b)
}
