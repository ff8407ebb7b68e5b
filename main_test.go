package main

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/tangerine-market/tangerine/internal/sqlitedb"
)

// TestReadPoolKeepsItsConnections: a burst of readers three times the pool's size waits for
// the pool's connections instead of opening more, and every connection opened stays open
// afterwards. With PocketBase's defaults (120 open, 15 idle) the burst opens 3n and closes
// all but 15 of them again, each to be reopened (schema parsed, statement cache empty) by the
// next burst.
func TestReadPoolKeepsItsConnections(t *testing.T) {
	const n = 6
	t.Setenv(sqlitedb.ReadConnsEnv, strconv.Itoa(n))
	app, err := newApp(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.ResetBootstrapState() })
	db := app.ConcurrentDB().(*dbx.DB).DB()

	var wg sync.WaitGroup
	for range 3 * n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			var v int
			if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&v); err != nil {
				t.Error(err)
			}
			time.Sleep(20 * time.Millisecond) // hold it, so that the burst overlaps
		})
	}
	wg.Wait()

	st := db.Stats()
	if st.MaxOpenConnections != n {
		t.Fatalf("Expected a pool of %d connections, got %d", n, st.MaxOpenConnections)
	}
	if st.OpenConnections != n || st.Idle != n {
		t.Fatalf("Expected all %d connections open and idle after the burst, got %d open, %d idle", n, st.OpenConnections, st.Idle)
	}
	if st.MaxIdleClosed != 0 || st.WaitCount == 0 {
		t.Fatalf("Expected the burst to wait for connections (waits: %d) and none closed (closed: %d)", st.WaitCount, st.MaxIdleClosed)
	}
}

func TestReadConnsRejectsBadValues(t *testing.T) {
	for _, v := range []string{"0", "-3", "many", "1001"} {
		t.Setenv(sqlitedb.ReadConnsEnv, v)
		if _, err := newApp(t.TempDir(), false); err == nil {
			t.Errorf("Expected %s=%q to be refused", sqlitedb.ReadConnsEnv, v)
		}
	}
	t.Setenv(sqlitedb.ReadConnsEnv, "")
	if n, err := sqlitedb.ReadConns(); err != nil || n < 4 {
		t.Fatalf("Expected a default of at least 4, got %d (%v)", n, err)
	}
}
