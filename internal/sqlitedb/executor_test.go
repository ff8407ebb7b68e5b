package sqlitedb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/pocketbase/dbx"
)

// TestRawIsTheTransaction: inside a transaction, Raw's handle is that transaction (what it
// writes is rolled back with it and seen by the transaction's own queries); outside, the
// database.
func TestRawIsTheTransaction(t *testing.T) {
	db, err := Connect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.NewQuery("CREATE TABLE t (v TEXT)").Execute(); err != nil {
		t.Fatal(err)
	}

	rollback := errors.New("rollback")
	err = db.Transactional(func(tx *dbx.Tx) error {
		raw, err := Raw(tx)
		if err != nil {
			return err
		}
		if _, err := raw.ExecContext(ctx, "INSERT INTO t (v) VALUES (?)", "in tx"); err != nil {
			return err
		}
		var n int
		if err := tx.NewQuery("SELECT count(*) FROM t").Row(&n); err != nil || n != 1 {
			t.Errorf("Expected the transaction to see its raw insert, got %d (%v)", n, err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}

	raw, err := Raw(db)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := raw.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("Expected the raw insert rolled back with its transaction, got %d rows (%v)", n, err)
	}
	if _, err := Raw(nil); err == nil {
		t.Fatal("Expected an error for a builder without a database/sql handle")
	}
}
