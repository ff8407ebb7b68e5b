package stmtcache

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(DriverName, filepath.Join(t.TempDir(), "data.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // one connection, so that its cache is what every call sees
	mustExec(t, db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
	for i := range 10 {
		mustExec(t, db, "INSERT INTO t (v) VALUES (?)", fmt.Sprint("v", i))
	}
	return db
}

func mustExec(t *testing.T, db interface {
	Exec(string, ...any) (sql.Result, error)
}, q string, args ...any) sql.Result {
	t.Helper()
	r, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

func TestReusesStatements(t *testing.T) {
	db := open(t)
	before := prepares.Load()
	for i := range 100 {
		var v string
		if err := db.QueryRow("SELECT v FROM t WHERE id = ?", i%10+1).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("v", i%10); v != want {
			t.Fatalf("got %q, want %q", v, want)
		}
	}
	if n := prepares.Load() - before; n != 1 {
		t.Fatalf("Expected 100 runs of one query to prepare it once, got %d prepares", n)
	}
	// exec results come from the cached statement too
	r := mustExec(t, db, "UPDATE t SET v = v || '!' WHERE id <= ?", 3)
	if n, _ := r.RowsAffected(); n != 3 {
		t.Fatalf("Expected 3 rows affected, got %d", n)
	}
	r = mustExec(t, db, "INSERT INTO t (v) VALUES (?)", "new")
	if id, _ := r.LastInsertId(); id != 11 {
		t.Fatalf("Expected the last insert id 11, got %d", id)
	}
	r = mustExec(t, db, "INSERT INTO t (v) VALUES (?)", "newer")
	if id, _ := r.LastInsertId(); id != 12 {
		t.Fatalf("Expected the last insert id 12, got %d", id)
	}
}

// TestSchemaChange: a cached SELECT * sees a column added after it was prepared.
func TestSchemaChange(t *testing.T) {
	db := open(t)
	cols := func() []string {
		rows, err := db.Query("SELECT * FROM t WHERE id = ?", 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, _ := rows.Columns()
		return c
	}
	if c := cols(); len(c) != 2 {
		t.Fatalf("Expected 2 columns, got %v", c)
	}
	mustExec(t, db, "ALTER TABLE t ADD COLUMN w TEXT")
	if c := cols(); len(c) != 3 {
		t.Fatalf("Expected 3 columns after ALTER TABLE, got %v", c)
	}
}

// TestNestedSameQuery runs a query while the rows of the same text are still open on the same
// connection (in a transaction): each gets its own statement and its own results.
func TestNestedSameQuery(t *testing.T) {
	db := open(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT id FROM t WHERE id > ? ORDER BY id"
	outer, err := tx.Query(q, 5)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
		inner, err := tx.Query(q, 8)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		inner.Close()
		if n != 2 {
			t.Fatalf("Expected the inner query to return 2 rows, got %d", n)
		}
	}
	outer.Close()
	if fmt.Sprint(got) != "[6 7 8 9 10]" {
		t.Fatalf("Expected the outer query's rows 6..10 unaffected by the inner one, got %v", got)
	}
}

// TestEviction: more distinct texts than Size, one of them busy while it is evicted.
func TestEviction(t *testing.T) {
	db := open(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	busy, err := tx.Query("SELECT id FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for i := range Size + 20 {
		var n int
		if err := tx.QueryRow(fmt.Sprintf("SELECT count(*) + %d FROM t", i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 10+i {
			t.Fatalf("got %d, want %d", n, 10+i)
		}
	}
	n := 0
	for busy.Next() {
		n++
	}
	if err := busy.Close(); err != nil || n != 10 {
		t.Fatalf("Expected the evicted statement's rows to read 10 rows and close cleanly, got %d, %v", n, err)
	}
}

// TestScripts: a text with several statements runs all of them (not cached).
func TestScripts(t *testing.T) {
	db := open(t)
	mustExec(t, db, "INSERT INTO t (v) VALUES ('a'); INSERT INTO t (v) VALUES ('b')")
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 12 {
		t.Fatalf("Expected both statements of the script to run (12 rows), got %d, %v", n, err)
	}
}

func TestCacheable(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                      true,
		"  select * from t":             true,
		"(SELECT 1) UNION (SELECT 2)":   true,
		"WITH x AS (SELECT 1) SELECT *": true,
		"INSERT INTO t VALUES (1)":      true,
		"update t set v = 1":            true,
		"DELETE FROM t":                 true,
		"REPLACE INTO t VALUES (1)":     true,
		"SELECT 1; SELECT 2":            false,
		"CREATE TABLE x (a)":            false,
		"PRAGMA optimize":               false,
		"BEGIN":                         false,
		"WITHOUT":                       false,
		"":                              false,
	} {
		if got := cacheable(q); got != want {
			t.Errorf("cacheable(%q) = %v, want %v", q, got, want)
		}
	}
}
