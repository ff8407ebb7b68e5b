package feed_test

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/extensions/feed"
	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// TestHomeItemCacheRendersTheRowsBytes: a home page whose items come from the item cache (a
// second read) has the same bytes as the page rendered from its rows (the first read, and a
// read with the cache off), and each item is the records API's JSON plus liked. The authors
// include one with a visible email and the reader, who sees their own email.
func TestHomeItemCacheRendersTheRowsBytes(t *testing.T) {
	app := testapp.New(t)
	fastItems(app)
	srv := testapp.Serve(t, app)
	feed.WaitHomeIndex(t, app, 1)
	alice, _, liked := seedItems(t, app)
	token := testapp.Token(t, alice)
	const path = "/api/feed/home?limit=100"

	_, misses0 := feed.ItemCacheCounts(app)
	_, first := rawGet(t, srv, path, token)
	hits1, misses1 := feed.ItemCacheCounts(app)
	_, second := rawGet(t, srv, path, token)
	hits2, misses2 := feed.ItemCacheCounts(app)
	if misses1-misses0 != 9 || hits2-hits1 != 9 || misses2 != misses1 {
		t.Fatalf("Expected 9 misses, then 9 hits; got %d misses, then %d hits and %d misses", misses1-misses0, hits2-hits1, misses2-misses1)
	}
	restore := feed.WithoutItemCache(app)
	_, rows := rawGet(t, srv, path, token)
	restore()
	if !bytes.Equal(first, second) || !bytes.Equal(first, rows) {
		t.Fatalf("Expected the same bytes from the rows and from the cache:\nfilled: %s\ncached: %s\nrows:   %s", first, second, rows)
	}

	items := feedItems(t, srv, path, token)
	if len(items) != 9 {
		t.Fatalf("Expected 9 items, got %d", len(items))
	}
	for _, raw := range items {
		item := decode(t, raw)
		id, _ := item["id"].(string)
		if item["liked"] != (id == liked) {
			t.Fatalf("liked=%v for %s", item["liked"], id)
		}
		delete(item, "liked")
		status, want := rawGet(t, srv, "/api/collections/posts/records/"+id+"?expand=user", token)
		if status != http.StatusOK {
			t.Fatalf("records API %s: %d %s", id, status, want)
		}
		if w := decode(t, want); !reflect.DeepEqual(item, w) {
			t.Fatalf("The cached item differs from the records API's JSON:\nfeed:    %s\nrecords: %s", raw, want)
		}
	}
}

// TestHomeItemCacheFollowsEveryChange serves a post from the item cache, then changes it and
// its author in every way a user, a hook or another process can, and expects the very next
// page to show each change; a views_count increment alone shows within the TTL.
func TestHomeItemCacheFollowsEveryChange(t *testing.T) {
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	hooks.MustRegister(app, hooks.Config{})
	const ttl = 300 * time.Millisecond
	feed.MustRegister(app, feed.Config{ItemTTL: ttl})
	fastItems(app)
	srv := testapp.Serve(t, app)
	feed.WaitHomeIndex(t, app, 1)

	me := testapp.CreateUser(t, app, "reader")
	author := testapp.CreateUser(t, app, "author")
	fan := testapp.CreateUser(t, app, "fan")
	testapp.Create(t, app, "follows", map[string]any{"follower": me.Id, "following": author.Id})
	post := testapp.Create(t, app, "posts", map[string]any{"user": author.Id, "text": "v1"})
	token := testapp.Token(t, me)

	// item returns the post's item on the reader's home page, and whether the cache served it
	item := func() (map[string]any, bool) {
		t.Helper()
		hits, _ := feed.ItemCacheCounts(app)
		items := feedItems(t, srv, "/api/feed/home", token)
		after, _ := feed.ItemCacheCounts(app)
		if len(items) == 0 {
			return nil, after > hits
		}
		return decode(t, items[0]), after > hits
	}
	expect := func(what string, check func(m map[string]any) bool) {
		t.Helper()
		m, _ := item()
		if m == nil || !check(m) {
			t.Fatalf("%s: the next page shows %v", what, m)
		}
		if _, cached := item(); !cached {
			t.Fatalf("%s: expected the page after to come from the cache again", what)
		}
	}
	sqlExec := func(q string, params dbx.Params) {
		t.Helper()
		if _, err := app.NonconcurrentDB().NewQuery(q).Bind(params).Execute(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	authorName := func(m map[string]any) any {
		return m["expand"].(map[string]any)["user"].(map[string]any)["name"]
	}

	expect("the first read", func(m map[string]any) bool { return m["text"] == "v1" })

	testapp.Create(t, app, "post_likes", map[string]any{"user": fan.Id, "post": post.Id})
	expect("a like by someone else", func(m map[string]any) bool { return m["likes_count"] == 1.0 && m["liked"] == false })

	testapp.Create(t, app, "post_likes", map[string]any{"user": me.Id, "post": post.Id})
	expect("the reader's like", func(m map[string]any) bool { return m["likes_count"] == 2.0 && m["liked"] == true })

	testapp.Create(t, app, "comments", map[string]any{"post": post.Id, "user": fan.Id, "content": "hi"})
	expect("a comment", func(m map[string]any) bool { return m["comments_count"] == 1.0 })

	status, body := testapp.Do(t, srv, http.MethodPatch, "/api/collections/posts/records/"+post.Id,
		testapp.Token(t, author), map[string]any{"text": "v2", "tags": []string{"fresh"}})
	if status != http.StatusOK {
		t.Fatalf("Expected the author's edit to succeed, got %d %v", status, body)
	}
	expect("the author's edit", func(m map[string]any) bool { return m["text"] == "v2" && fmt.Sprint(m["tags"]) == "[fresh]" })

	sqlExec("UPDATE posts SET text = 'v3' WHERE id = {:id}", dbx.Params{"id": post.Id})
	expect("plain SQL without touching updated (another process, a script)", func(m map[string]any) bool { return m["text"] == "v3" })

	// a save that also writes views_count (a dashboard form sends back the count it loaded)
	sqlExec("UPDATE posts SET text = 'v4', views_count = views_count + 5, updated = strftime('%Y-%m-%d %H:%M:%fZ', 'now') WHERE id = {:id}", dbx.Params{"id": post.Id})
	expect("a save that also wrote views_count", func(m map[string]any) bool { return m["text"] == "v4" && m["views_count"] == 5.0 })

	sqlExec("UPDATE users SET name = 'Renamed' WHERE id = {:id}", dbx.Params{"id": author.Id})
	expect("the author renamed by plain SQL", func(m map[string]any) bool { return authorName(m) == "Renamed" })

	a := testapp.Reload(t, app, author)
	a.Set("name", "Saved")
	if err := app.Save(a); err != nil {
		t.Fatal(err)
	}
	expect("the author saved through PocketBase", func(m map[string]any) bool { return authorName(m) == "Saved" })

	testapp.Create(t, app, "follows", map[string]any{"follower": fan.Id, "following": author.Id})
	expect("the author's followers_count", func(m map[string]any) bool {
		return m["expand"].(map[string]any)["user"].(map[string]any)["followers_count"] == 2.0
	})

	// views_count alone is not logged: the cached item is at most the TTL behind
	status, _ = testapp.Do(t, srv, http.MethodPost, "/api/posts/"+post.Id+"/views", testapp.Token(t, fan), nil)
	if status != http.StatusNoContent && status != http.StatusOK {
		t.Fatalf("Expected the view to count, got %d", status)
	}
	if m, cached := item(); !cached || m["views_count"] != 5.0 {
		t.Fatalf("Expected the cached item (views_count 5) within the TTL, got %v (cached %v)", m, cached)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	expect("views_count after the TTL", func(m map[string]any) bool { return m["views_count"] == 6.0 })

	sqlExec("UPDATE posts SET status = 'hidden' WHERE id = {:id}", dbx.Params{"id": post.Id})
	if m, _ := item(); m != nil {
		t.Fatalf("Expected the hidden post gone from the next page, got %v", m)
	}
	sqlExec("UPDATE posts SET status = 'published' WHERE id = {:id}", dbx.Params{"id": post.Id})
	expect("published again", func(m map[string]any) bool { return m["id"] == post.Id })

	if err := app.Delete(testapp.Reload(t, app, post)); err != nil {
		t.Fatal(err)
	}
	if m, _ := item(); m != nil {
		t.Fatalf("Expected the deleted post gone from the next page, got %v", m)
	}
}
