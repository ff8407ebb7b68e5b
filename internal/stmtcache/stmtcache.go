// Package stmtcache is a database/sql driver, "sqlite_stmtcache", that wraps modernc.org/sqlite
// and keeps each connection's most recently used prepared statements.
//
// modernc's driver prepares every query it is given (sqlite3_prepare_v2: parse and plan) and
// finalizes it afterwards; PocketBase and dbx never prepare explicitly, so every query of the
// app pays for its parse and plan on every call. This driver prepares a query text once per
// connection and reuses the statement while it stays among the connection's last Size texts.
// A statement is reset by SQLite after each use, and SQLite prepares it again by itself when
// the schema changes under it (sqlite3_prepare_v2), so a cached statement behaves as a fresh one.
//
// What is not cached: scripts (text with a ';', which modernc runs statement by statement),
// statements other than SELECT, INSERT, UPDATE, DELETE, REPLACE and WITH (DDL, PRAGMA,
// transactions), and a statement whose previous rows are still open on the same connection
// (a nested query of the same text): that call prepares a statement of its own, as without
// the cache.
package stmtcache

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
)

// DriverName is the name this driver is registered under.
const DriverName = "sqlite_stmtcache"

// Size is the most statements one connection keeps.
const Size = 128

// prepares counts the statements prepared for the cache (tests).
var prepares atomic.Int64

func init() {
	sql.Register(DriverName, &cacheDriver{inner: &sqlite.Driver{}})
}

type cacheDriver struct{ inner driver.Driver }

func (d *cacheDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return newConn(c)
}

// innerConn is what the wrapped connection must do (modernc's *conn does all of it).
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
}

var errNotSupported = errors.New("stmtcache: the wrapped driver's connection lacks context methods")

func newConn(c driver.Conn) (driver.Conn, error) {
	ic, ok := c.(innerConn)
	if !ok {
		c.Close()
		return nil, errNotSupported
	}
	return &conn{inner: ic, byText: map[string]*list.Element{}, lru: list.New()}, nil
}

type conn struct {
	inner  innerConn
	byText map[string]*list.Element // of *entry
	lru    *list.List               // most recent first
}

type entry struct {
	text    string
	stmt    driver.Stmt
	busy    bool // rows of it are open
	evicted bool // dropped from the cache while busy: close when its rows close
}

type stmtContext interface {
	driver.StmtQueryContext
	driver.StmtExecContext
}

// cacheable reports whether query is one statement worth keeping.
func cacheable(query string) bool {
	if strings.IndexByte(query, ';') >= 0 {
		return false
	}
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "REPLAC":
		return true
	}
	return strings.EqualFold(q[:4], "WITH") && (q[4] == ' ' || q[4] == '\n' || q[4] == '\t' || q[4] == '\r')
}

// get returns the idle cached statement of query, preparing it when it is not cached; nil when
// the cached one is busy.
func (c *conn) get(ctx context.Context, query string) (*entry, error) {
	if el, ok := c.byText[query]; ok {
		e := el.Value.(*entry)
		if e.busy {
			return nil, nil
		}
		c.lru.MoveToFront(el)
		return e, nil
	}
	st, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	prepares.Add(1)
	if _, ok := st.(stmtContext); !ok {
		st.Close()
		return nil, nil
	}
	e := &entry{text: query, stmt: st}
	c.byText[query] = c.lru.PushFront(e)
	for c.lru.Len() > Size {
		c.drop(c.lru.Back())
	}
	return e, nil
}

func (c *conn) drop(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.byText, e.text)
	if e.busy {
		e.evicted = true
		return
	}
	e.stmt.Close()
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !cacheable(query) {
		return c.inner.QueryContext(ctx, query, args)
	}
	e, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	rows, err := e.stmt.(stmtContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	e.busy = true
	return &cachedRows{Rows: rows, e: e}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !cacheable(query) {
		return c.inner.ExecContext(ctx, query, args)
	}
	e, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	return e.stmt.(stmtContext).ExecContext(ctx, args)
}

func (c *conn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}
func (c *conn) Begin() (driver.Tx, error) {
	return c.inner.BeginTx(context.Background(), driver.TxOptions{})
}
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}

func (c *conn) Close() error {
	for el := c.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*entry).stmt.Close()
	}
	c.byText, c.lru = nil, list.New()
	return c.inner.Close()
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// cachedRows marks its statement idle again when closed.
type cachedRows struct {
	driver.Rows
	e *entry
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.e != nil {
		r.e.busy = false
		if r.e.evicted {
			r.e.stmt.Close()
		}
		r.e = nil
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
