package feed_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/extensions/feed"
	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

type feedPage struct {
	status int
	ids    []string
	items  []map[string]any
	next   string
}

func getPage(t *testing.T, do func(path string) (int, map[string]any), path string) feedPage {
	t.Helper()
	status, body := do(path)
	p := feedPage{status: status}
	items, _ := body["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		p.items = append(p.items, m)
		p.ids = append(p.ids, m["id"].(string))
	}
	if _, ok := body["next_cursor"]; !ok && status == http.StatusOK {
		t.Fatalf("Expected a next_cursor key in %v", body)
	}
	p.next, _ = body["next_cursor"].(string)
	return p
}

// TestHomeFeedWalkWhileWriting walks every page of the home feed while other goroutines keep
// creating posts, and expects every post that existed when the walk began exactly once, newest
// first, and nothing from people the user does not follow or that is not published; under each
// of the home feed's plans.
func TestHomeFeedWalkWhileWriting(t *testing.T) {
	plans := []struct {
		name string
		cfg  feed.Config
	}{
		{"in-memory index", feed.Config{}},
		{"in-memory index without the item cache", feed.Config{ItemCacheMB: -1}},
		{"merge of the followed authors' indexes", feed.Config{HomeFromSQL: true}},
		{"walk of the global index", feed.Config{HomeFromSQL: true, MergeLimit: 1, WalkWindow: time.Hour}},
		{"walk with a window too short, falling back to the merge", feed.Config{HomeFromSQL: true, MergeLimit: 1, WalkWindow: time.Millisecond}},
	}
	for _, plan := range plans {
		t.Run(plan.name, func(t *testing.T) { homeFeedWalk(t, plan.cfg) })
	}
}

func homeFeedWalk(t *testing.T, cfg feed.Config) {
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	hooks.MustRegister(app, hooks.Config{})
	feed.MustRegister(app, cfg)
	fastItems(app)
	srv := testapp.Serve(t, app)
	if !cfg.HomeFromSQL {
		// loaded empty: everything below reaches it through the change log
		feed.WaitHomeIndex(t, app, 1)
	}

	me := testapp.CreateUser(t, app, "myself")
	friends := []*core.Record{testapp.CreateUser(t, app, "friend1"), testapp.CreateUser(t, app, "friend2")}
	stranger := testapp.CreateUser(t, app, "stranger")
	for _, f := range friends {
		testapp.Create(t, app, "follows", map[string]any{"follower": me.Id, "following": f.Id})
	}

	var want []string // newest first by (created, id)
	keys := map[string]string{}
	authors := []*core.Record{me, friends[0], friends[1]}
	for i := 0; i < 95; i++ {
		status := "published"
		if i%17 == 0 {
			status = "hidden"
		}
		p := testapp.Create(t, app, "posts", map[string]any{"user": authors[i%3].Id, "text": fmt.Sprint("post ", i), "status": status})
		testapp.Create(t, app, "posts", map[string]any{"user": stranger.Id, "text": "noise"})
		if status == "published" {
			want = append(want, p.Id)
			keys[p.Id] = p.GetDateTime("created").String() + p.Id
		}
	}
	sort.Slice(want, func(i, j int) bool { return keys[want[i]] > keys[want[j]] })
	liked := want[3]
	testapp.Create(t, app, "post_likes", map[string]any{"user": me.Id, "post": liked})

	token := testapp.Token(t, me)
	do := func(path string) (int, map[string]any) { return testapp.Do(t, srv, http.MethodGet, path, token, nil) }

	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	// writers must be gone before the app is cleaned up, also when the walk fails early
	defer func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }()
	postsCollection, err := app.FindCollectionByNameOrId("posts")
	if err != nil {
		t.Fatal(err)
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := core.NewRecord(postsCollection)
				r.Set("user", friends[w].Id)
				r.Set("text", "during the walk")
				if err := app.Save(r); err != nil {
					t.Errorf("Failed to write during the walk: %v", err)
					return
				}
			}
		}(w)
	}

	var got []string
	seen := map[string]bool{}
	path := "/api/feed/home?limit=7"
	first := true
	pagesRead := 0
	for pages := 0; pages < 100; pages++ {
		p := getPage(t, do, path)
		if p.status != http.StatusOK {
			t.Fatalf("Expected 200, got %d", p.status)
		}
		for i, id := range p.ids {
			if seen[id] {
				t.Fatalf("Post %s returned twice", id)
			}
			seen[id] = true
			if p.items[i]["status"] != "published" {
				t.Fatalf("Expected only published posts, got %v", p.items[i]["status"])
			}
			exp, _ := p.items[i]["expand"].(map[string]any)
			user, _ := exp["user"].(map[string]any)
			if user["id"] == stranger.Id {
				t.Fatal("Expected no posts from people not followed")
			}
			if user["handle"] == nil || (user["id"] != me.Id && user["email"] != nil) {
				t.Fatalf("Expected the public author expanded (handle; email only for oneself), got %v", user)
			}
			if p.items[i]["liked"] != (id == liked) {
				t.Fatalf("Expected liked=%v for %s, got %v", id == liked, id, p.items[i]["liked"])
			}
		}
		if first && pages == 3 {
			stopOnce.Do(func() { close(stop) })
			first = false
		}
		got = append(got, p.ids...)
		pagesRead++
		if p.next == "" {
			break
		}
		path = "/api/feed/home?limit=7&cursor=" + url.QueryEscape(p.next)
	}
	stopOnce.Do(func() { close(stop) })
	wg.Wait()
	if !cfg.HomeFromSQL {
		if n := feed.HomeIndexServed(app); n < int64(pagesRead) {
			t.Fatalf("Expected the index to serve all %d pages, it served %d", pagesRead, n)
		}
	}

	// the posts that existed before the walk appear in order at the end of the walk
	idx := map[string]int{}
	for i, id := range got {
		idx[id] = i
	}
	prev := -1
	for _, id := range want {
		i, ok := idx[id]
		if !ok {
			t.Fatalf("Post %s missing from the walk", id)
		}
		if i <= prev {
			t.Fatalf("Post %s out of order", id)
		}
		prev = i
	}
}

func TestFeedRoutes(t *testing.T) {
	app := testapp.New(t)
	fastItems(app)
	srv := testapp.Serve(t, app)
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	visible := testapp.Create(t, app, "posts", map[string]any{"user": bob.Id, "text": "귤 #1", "tags": []string{"감귤"}})
	hidden := testapp.Create(t, app, "posts", map[string]any{"user": bob.Id, "text": "귤 #2", "tags": []string{"감귤"}, "status": "hidden"})
	testapp.Create(t, app, "posts", map[string]any{"user": alice.Id, "text": "other", "tags": []string{"jeju"}})
	token := testapp.Token(t, alice)
	anon := func(path string) (int, map[string]any) { return testapp.Do(t, srv, http.MethodGet, path, "", nil) }
	authed := func(path string) (int, map[string]any) { return testapp.Do(t, srv, http.MethodGet, path, token, nil) }

	if s, _ := anon("/api/feed/home"); s != http.StatusUnauthorized {
		t.Errorf("Expected 401 for an anonymous home feed, got %d", s)
	}
	p := getPage(t, anon, "/api/feed/tags/%EA%B0%90%EA%B7%A4")
	if len(p.ids) != 1 || p.ids[0] != visible.Id {
		t.Errorf("Expected only the published post of tag 감귤, got %v", p.ids)
	}
	if _, ok := p.items[0]["liked"]; ok {
		t.Error("Expected no liked key for anonymous callers")
	}
	p = getPage(t, authed, "/api/feed/tags/%23JEJU")
	if len(p.ids) != 1 || p.items[0]["liked"] != false {
		t.Errorf("Expected the tag to be normalised and liked=false, got %v", p.items)
	}
	p = getPage(t, anon, "/api/feed/latest?limit=100")
	for _, id := range p.ids {
		if id == hidden.Id {
			t.Error("Expected the hidden post out of the latest feed")
		}
	}
	if len(p.ids) != 2 || p.next != "" {
		t.Errorf("Expected 2 posts and no next cursor, got %v %q", p.ids, p.next)
	}

	bad := []struct{ path, field string }{
		{"/api/feed/latest?limit=0", "limit"},
		{"/api/feed/latest?limit=101", "limit"},
		{"/api/feed/latest?limit=abc", "limit"},
		{"/api/feed/latest?cursor=not-a-cursor", "cursor"},
		{"/api/feed/tags/" + url.PathEscape(string(make([]byte, 0))+"0123456789012345678901234567890"), "tag"},
	}
	for _, b := range bad {
		status, body := anon(b.path)
		data, _ := body["data"].(map[string]any)
		if status != http.StatusBadRequest || data[b.field] == nil {
			t.Errorf("%s: expected a 400 naming %s, got %d %v", b.path, b.field, status, body)
		}
	}
}

func TestViewsCountOncePerWindow(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	post := testapp.Create(t, app, "posts", map[string]any{"user": bob.Id, "text": "look"})
	hidden := testapp.Create(t, app, "posts", map[string]any{"user": bob.Id, "text": "no", "status": "hidden"})
	token := testapp.Token(t, alice)
	path := "/api/posts/" + post.Id + "/views"

	for i := 0; i < 3; i++ {
		if s, b := testapp.Do(t, srv, http.MethodPost, path, token, map[string]any{"dwell_ms": 1200 + i}); s != http.StatusNoContent {
			t.Fatalf("Expected 204, got %d %v", s, b)
		}
	}
	for i := 0; i < 2; i++ {
		if s, _ := testapp.Do(t, srv, http.MethodPost, path, "", nil); s != http.StatusNoContent {
			t.Fatalf("Expected 204 for an anonymous view, got %d", s)
		}
	}
	if got := testapp.Reload(t, app, post).GetInt("views_count"); got != 2 {
		t.Fatalf("Expected 2 counted views (alice once, the anonymous IP once), got %d", got)
	}
	var rows int
	_ = app.DB().Select("count(*)").From("post_views").AndWhere(dbxHash("post", post.Id)).Row(&rows)
	if rows != 3 {
		t.Fatalf("Expected a post_views row for every authenticated call, got %d", rows)
	}

	// once the window has passed, the next view counts again
	_, err := app.DB().NewQuery("UPDATE _view_marks SET at = at - {:d}").Bind(map[string]any{"d": (31 * time.Minute).Milliseconds()}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	testapp.Do(t, srv, http.MethodPost, path, token, nil)
	if got := testapp.Reload(t, app, post).GetInt("views_count"); got != 3 {
		t.Fatalf("Expected the view after the window to count, got %d", got)
	}

	for _, p := range []string{"/api/posts/" + hidden.Id + "/views", "/api/posts/nonexistent00000/views"} {
		if s, _ := testapp.Do(t, srv, http.MethodPost, p, token, nil); s != http.StatusNotFound {
			t.Errorf("%s: expected 404, got %d", p, s)
		}
	}
}
