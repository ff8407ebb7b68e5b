// Package benchkit holds what the benchmark programs under bench/ share: a fast SQL loader
// that seeds a migrated pb_data in batched multi-row INSERTs through one transaction.
package benchkit

import (
	"database/sql"
	"fmt"
	"log"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// RandomId returns n random characters of PocketBase's id alphabet.
func RandomId(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(b)
}

// DT formats t as PocketBase stores dates.
func DT(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

// Loader holds the one write transaction that every BatchInserter writes through, and
// commits it every CommitEvery rows; Commit commits what is left.
type Loader struct {
	DB          *sql.DB
	tx          *sql.Tx
	gen         int // bumped at each commit: statements prepared on an older tx are gone
	inTx        int
	CommitEvery int
}

func (l *Loader) begin() error {
	if l.tx != nil {
		return nil
	}
	tx, err := l.DB.Begin()
	if err != nil {
		return err
	}
	l.tx = tx
	return nil
}

func (l *Loader) wrote(n int) error {
	l.inTx += n
	if l.inTx >= l.CommitEvery {
		return l.Commit()
	}
	return nil
}

func (l *Loader) Commit() error {
	if l.tx == nil {
		return nil
	}
	err := l.tx.Commit()
	l.tx, l.inTx = nil, 0
	l.gen++
	return err
}

// BatchInserter writes rows of one table with a prepared multi-row INSERT.
type BatchInserter struct {
	l       *Loader
	table   string
	cols    []string
	perStmt int

	stmt    *sql.Stmt
	gen     int
	pending []any
	total   int
}

// NewBatchInserter returns an inserter of rows of cols into table through l.
func NewBatchInserter(l *Loader, table string, cols []string) *BatchInserter {
	return &BatchInserter{l: l, table: table, cols: cols, perStmt: min(200, 32766/len(cols)), gen: -1}
}

func (b *BatchInserter) sqlFor(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(b.cols)), ",") + ")"
	quoted := make([]string, len(b.cols))
	for i, c := range b.cols {
		quoted[i] = `"` + c + `"`
	}
	return fmt.Sprintf(`INSERT INTO "%s" (%s) VALUES %s`, b.table, strings.Join(quoted, ","),
		strings.TrimSuffix(strings.Repeat(one+",", rows), ","))
}

// Add queues one row; full batches are written at once.
func (b *BatchInserter) Add(vals ...any) error {
	if len(vals) != len(b.cols) {
		return fmt.Errorf("%s: %d values for %d columns", b.table, len(vals), len(b.cols))
	}
	b.pending = append(b.pending, vals...)
	if len(b.pending) < b.perStmt*len(b.cols) {
		return nil
	}
	if err := b.l.begin(); err != nil {
		return err
	}
	if b.stmt == nil || b.gen != b.l.gen {
		stmt, err := b.l.tx.Prepare(b.sqlFor(b.perStmt))
		if err != nil {
			return err
		}
		b.stmt, b.gen = stmt, b.l.gen
	}
	if _, err := b.stmt.Exec(b.pending...); err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	b.total += b.perStmt
	b.pending = b.pending[:0]
	return b.l.wrote(b.perStmt)
}

// Flush writes the rows still pending (the loader commits them later).
func (b *BatchInserter) Flush() error {
	n := len(b.pending) / len(b.cols)
	if n == 0 {
		return nil
	}
	if err := b.l.begin(); err != nil {
		return err
	}
	if _, err := b.l.tx.Exec(b.sqlFor(n), b.pending...); err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	b.total += n
	b.pending = b.pending[:0]
	return b.l.wrote(n)
}

// CheckColumns fails when the migration no longer has a column the seeder writes.
func CheckColumns(db *sql.DB, table string, cols []string) error {
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		have[n] = true
	}
	if len(have) == 0 {
		return fmt.Errorf("table %s does not exist: did the migrations run?", table)
	}
	for _, c := range cols {
		if !have[c] {
			return fmt.Errorf("table %s has no column %q (schema changed?)", table, c)
		}
	}
	return nil
}

// Rows returns how many rows were added so far, written or still pending.
func (b *BatchInserter) Rows() int { return b.total + len(b.pending)/len(b.cols) }

// SchemaObject is an index or a trigger as sqlite_master stores it.
type SchemaObject struct{ Kind, Name, SQL string }

// DropDerived drops the secondary indexes and the triggers of tables before a bulk load, and
// returns them for RestoreDerived: an index built once afterwards is a sort instead of random
// B-tree inserts, and the triggers (the feed's change log) would only write a row for every
// row loaded. Their definitions come from the migrations, as sqlite_master keeps them.
func DropDerived(db *sql.DB, tables ...string) ([]SchemaObject, error) {
	args := make([]any, len(tables))
	marks := make([]string, len(tables))
	for i, t := range tables {
		args[i], marks[i] = t, "?"
	}
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name IN (`+strings.Join(marks, ", ")+`) ORDER BY type = 'trigger'`, args...)
	if err != nil {
		return nil, err
	}
	var objs []SchemaObject
	for rows.Next() {
		var o SchemaObject
		if err := rows.Scan(&o.Kind, &o.Name, &o.SQL); err != nil {
			rows.Close()
			return nil, err
		}
		objs = append(objs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, o := range objs {
		if _, err := db.Exec(`DROP ` + strings.ToUpper(o.Kind) + ` "` + o.Name + `"`); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// RestoreDerived creates again what DropDerived dropped, logging each index's build time.
func RestoreDerived(db *sql.DB, objs []SchemaObject) error {
	for _, o := range objs {
		t := time.Now()
		if _, err := db.Exec(o.SQL); err != nil {
			return fmt.Errorf("%s: %w", o.SQL, err)
		}
		if o.Kind == "index" {
			log.Printf("seed: index %s built in %s", o.Name, time.Since(t).Round(time.Millisecond))
		}
	}
	return nil
}
