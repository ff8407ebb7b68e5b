package feed_test

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/tangerine-market/tangerine/extensions/feed"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// TestHomeIndexSeesEveryWriter writes around this process's hooks (plain SQL, as another
// tangerine process, the dashboard or a script would) and expects the next home page, served
// by the in-memory index, to show it: new posts, hidden and deleted posts, a follow and an
// unfollow. Then it removes change log rows that the index has not read yet (as the clean-up
// of a process that fell an hour behind would) and expects the index to load again.
func TestHomeIndexSeesEveryWriter(t *testing.T) {
	app := testapp.New(t)
	fastItems(app)
	srv := testapp.Serve(t, app)
	feed.WaitHomeIndex(t, app, 1)

	me := testapp.CreateUser(t, app, "reader")
	friend := testapp.CreateUser(t, app, "friend")
	other := testapp.CreateUser(t, app, "other")
	testapp.Create(t, app, "follows", map[string]any{"follower": me.Id, "following": friend.Id})
	p1 := testapp.Create(t, app, "posts", map[string]any{"user": friend.Id, "text": "one"})
	time.Sleep(3 * time.Millisecond) // p2 is newer than p1 (created has ms precision)
	p2 := testapp.Create(t, app, "posts", map[string]any{"user": other.Id, "text": "two"})
	token := testapp.Token(t, me)

	home := func(want ...string) {
		t.Helper()
		served := feed.HomeIndexServed(app)
		p := getPage(t, func(path string) (int, map[string]any) {
			return testapp.Do(t, srv, http.MethodGet, path, token, nil)
		}, "/api/feed/home")
		if p.status != http.StatusOK {
			t.Fatalf("Expected 200, got %d", p.status)
		}
		if feed.HomeIndexServed(app) != served+1 {
			t.Fatal("Expected the in-memory index to serve the page")
		}
		if !slices.Equal(p.ids, want) {
			t.Fatalf("Expected the page %v, got %v", want, p.ids)
		}
	}
	sqlExec := func(q string, params dbx.Params) {
		t.Helper()
		if _, err := app.NonconcurrentDB().NewQuery(q).Bind(params).Execute(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	home(p1.Id)

	// a post inserted by SQL
	sqlExec("INSERT INTO posts (id, user, text, status, created, updated) VALUES ('sqlpost00000001', {:u}, 'x', 'published', '2099-01-01 00:00:00.000Z', '2099-01-01 00:00:00.000Z')",
		dbx.Params{"u": friend.Id})
	home("sqlpost00000001", p1.Id)

	// hidden, then published again, then deleted
	sqlExec("UPDATE posts SET status = 'hidden' WHERE id = {:id}", dbx.Params{"id": p1.Id})
	home("sqlpost00000001")
	sqlExec("UPDATE posts SET status = 'published' WHERE id = {:id}", dbx.Params{"id": p1.Id})
	home("sqlpost00000001", p1.Id)
	sqlExec("DELETE FROM posts WHERE id = 'sqlpost00000001'", nil)
	home(p1.Id)

	// a follow and an unfollow (the follow list is cached after the first page)
	sqlExec("INSERT INTO follows (id, follower, following, created, updated) VALUES ('sqlfollow000001', {:me}, {:o}, '', '')",
		dbx.Params{"me": me.Id, "o": other.Id})
	home(p2.Id, p1.Id)
	sqlExec("DELETE FROM follows WHERE follower = {:me} AND following = {:f}", dbx.Params{"me": me.Id, "f": friend.Id})
	home(p2.Id)

	// the change log loses rows the index has not applied: it notices the gap and loads again
	loads := feed.HomeIndexLoads(app)
	sqlExec("INSERT INTO posts (id, user, text, status, created, updated) VALUES ('sqlpost00000002', {:u}, 'x', 'published', '2099-01-02 00:00:00.000Z', '')",
		dbx.Params{"u": other.Id})
	sqlExec("DELETE FROM _feed_changes", nil)
	sqlExec("INSERT INTO posts (id, user, text, status, created, updated) VALUES ('sqlpost00000003', {:u}, 'x', 'published', '2099-01-03 00:00:00.000Z', '')",
		dbx.Params{"u": other.Id})
	status, _ := testapp.Do(t, srv, http.MethodGet, "/api/feed/home", token, nil) // from SQL, while it loads
	if status != http.StatusOK {
		t.Fatalf("Expected 200 while the index loads again, got %d", status)
	}
	feed.WaitHomeIndex(t, app, loads+1)
	home("sqlpost00000003", "sqlpost00000002", p2.Id)
}

// TestHomeIndexLoadEndsBeforeTheDatabaseCloses holds the index's background load until the app
// is torn down: the terminate hook must cancel it and wait for it, since a load that went on
// reading would use the closed database (a nil pointer panic in PocketBase's DB builder).
func TestHomeIndexLoadEndsBeforeTheDatabaseCloses(t *testing.T) {
	var cancelled, finished atomic.Bool
	t.Run("app", func(t *testing.T) {
		app := testapp.New(t)
		entered := make(chan struct{})
		feed.OnHomeIndexLoad(app, func(ctx context.Context) {
			defer finished.Store(true)
			close(entered)
			select {
			case <-ctx.Done():
				cancelled.Store(true)
			case <-time.After(5 * time.Second):
			}
		})
		testapp.Serve(t, app)
		<-entered
	}) // the app's clean-up (its terminate event) runs here
	if !finished.Load() {
		t.Fatal("Expected the app's clean-up to wait for the home feed index's load")
	}
	if !cancelled.Load() {
		t.Fatal("Expected the app's clean-up to cancel the home feed index's load")
	}
}
