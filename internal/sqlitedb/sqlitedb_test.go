package sqlitedb

import (
	"os"
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

// TestConnectCheckpointsInTheBackground: a commit's pages reach the database file without
// another commit crossing SQLite's automatic checkpoint (pushed out to 20,000 pages).
func TestConnectCheckpointsInTheBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := Connect(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.DB().SetMaxOpenConns(4) // a read pool (a pool of one is the write pool, skipped)
	if _, err := db.NewQuery("CREATE TABLE t (b BLOB)").Execute(); err != nil {
		t.Fatal(err)
	}
	err = db.Transactional(func(tx *dbx.Tx) error {
		for range 64 {
			if _, err := tx.NewQuery("INSERT INTO t (b) VALUES (randomblob(32768))").Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if n := size(); n > 1<<20 {
		t.Fatalf("Expected the 2 MiB still in the WAL right after the commit, the database file has %d bytes", n)
	}
	wait := max(3*CheckpointInterval, 3*time.Second) // a few rounds, on a busy machine too
	for deadline := time.Now().Add(wait); size() < 2<<20; {
		if time.Now().After(deadline) {
			t.Fatalf("Expected the background checkpoint to copy the WAL into the database file within %s; it has %d bytes", wait, size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
