package sqlitedb

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
)

// TestConnectWriteTransactionsWaitForOtherProcesses opens one database file twice, as two
// `tangerine serve` processes on one pb_data do: a transaction that reads, then writes after
// the other handle wrote, must wait for it instead of failing with SQLITE_BUSY_SNAPSHOT (it
// fails with core.DefaultDBConnect's deferred transactions).
func TestConnectWriteTransactionsWaitForOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	a, err := Connect(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Connect(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.NewQuery("CREATE TABLE t (n INTEGER)").Execute(); err != nil {
		t.Fatal(err)
	}

	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.NewQuery("SELECT count(*) FROM t").Row(&n); err != nil {
		t.Fatal(err)
	}
	other := make(chan error, 1)
	go func() {
		_, err := b.Insert("t", dbx.Params{"n": 2}).Execute()
		other <- err
	}()
	time.Sleep(200 * time.Millisecond) // the other process writes (or waits) meanwhile
	if _, err := tx.Insert("t", dbx.Params{"n": 1}).Execute(); err != nil {
		tx.Rollback()
		t.Fatalf("Expected the transaction's write to succeed, got %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-other:
		if err != nil {
			t.Fatalf("Expected the other process's write to succeed after the commit, got %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("The other process's write did not finish")
	}
	if err := a.NewQuery("SELECT count(*) FROM t").Row(&n); err != nil || n != 2 {
		t.Fatalf("Expected 2 rows, got %d (%v)", n, err)
	}
}
