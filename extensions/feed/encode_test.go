package feed_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"testing"

	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

// rawGet sends a GET with an optional token and returns the status and the body.
func rawGet(t *testing.T, srv *httptest.Server, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

// feedItems returns the raw items of a feed page.
func feedItems(t *testing.T, srv *httptest.Server, path, token string) []json.RawMessage {
	t.Helper()
	status, body := rawGet(t, srv, path, token)
	var page struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}
	if status != http.StatusOK {
		t.Fatalf("%s: expected 200, got %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("%s: invalid JSON %q: %v", path, body, err)
	}
	return page.Items
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("invalid JSON %q: %v", raw, err)
	}
	return m
}

// TestFeedItemsAreRecordsAPIJSON compares each item of the feeds with what the records API
// returns for the same post with its author expanded, for an anonymous caller, for a user
// (who sees their own email and gets liked) and for a superuser (who sees every field), so
// that the feeds' own encoder cannot drift from PocketBase's.
func TestFeedItemsAreRecordsAPIJSON(t *testing.T) {
	app := testapp.New(t)
	fastItems(app)
	srv := testapp.Serve(t, app)
	alice, carol, liked := seedItems(t, app)
	testapp.Create(t, app, "comments", map[string]any{"post": liked, "user": carol.Id, "content": "hi"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")

	callers := []struct{ name, token string }{
		{"anonymous", ""},
		{"user", testapp.Token(t, alice)},
		{"superuser", testapp.Token(t, su)},
	}
	for _, c := range callers {
		paths := []string{"/api/feed/latest?limit=100", "/api/feed/tags/%EA%B0%90%EA%B7%A4?limit=5"}
		if c.name == "user" {
			paths = append(paths, "/api/feed/home?limit=4")
		}
		for _, path := range paths {
			items := feedItems(t, srv, path, c.token)
			if len(items) == 0 {
				t.Fatalf("%s %s: no items", c.name, path)
			}
			for _, raw := range items {
				item := decode(t, raw)
				id, _ := item["id"].(string)
				status, want := rawGet(t, srv, "/api/collections/posts/records/"+id+"?expand=user", c.token)
				if status != http.StatusOK {
					t.Fatalf("records API %s: %d %s", id, status, want)
				}
				l, hasLiked := item["liked"]
				if hasLiked != (c.name == "user") {
					t.Fatalf("%s %s: liked key present=%v", c.name, path, hasLiked)
				}
				if hasLiked && l != (id == liked) {
					t.Fatalf("%s %s: liked=%v for %s", c.name, path, l, id)
				}
				delete(item, "liked")
				if w := decode(t, want); !reflect.DeepEqual(item, w) {
					t.Fatalf("%s %s: the item differs from the records API's JSON:\nfeed:    %s\nrecords: %s", c.name, path, raw, want)
				}
				if !hasLiked && !bytes.Equal(raw, bytes.TrimSpace(want)) {
					t.Errorf("%s %s: the item's bytes differ from the records API's:\nfeed:    %s\nrecords: %s", c.name, path, raw, want)
				}
			}
		}
	}

	// ?fields= (PocketBase's picker, over the list response) and ?expand= still apply
	items := feedItems(t, srv, "/api/feed/latest?limit=2&fields=items.id,items.expand.user.handle,next_cursor", "")
	if m := decode(t, items[0]); len(m) != 2 || m["expand"].(map[string]any)["user"].(map[string]any)["handle"] == nil {
		t.Errorf("Expected only id and expand.user.handle, got %s", items[0])
	}
	items = feedItems(t, srv, "/api/feed/tags/t1?expand=user,category", testapp.Token(t, alice))
	if m := decode(t, items[0]); m["expand"].(map[string]any)["user"] == nil || m["liked"] == nil {
		t.Errorf("Expected the author expanded and liked with ?expand=, got %s", items[0])
	}

	// OnRecordEnrich handlers run for the feeds' items, as for the records API's
	app.OnRecordEnrich("posts").BindFunc(func(e *core.RecordEnrichEvent) error {
		e.Record.WithCustomData(true)
		e.Record.Set("enriched", true)
		return e.Next()
	})
	items = feedItems(t, srv, "/api/feed/latest?limit=2", "")
	if m := decode(t, items[0]); m["enriched"] != true || m["expand"].(map[string]any)["user"] == nil {
		t.Errorf("Expected the enrich hook to run, got %s", items[0])
	}
}

// seedItems makes posts whose JSON tests the encoders: alice (quotes, markup and control
// characters in her profile) follows bob (visible email, a URL with markup) and carol; each of
// the three writes three posts with escapes, Korean and emoji in text and tags; alice likes
// one of bob's.
func seedItems(t *testing.T, app core.App) (alice, carol *core.Record, liked string) {
	t.Helper()
	alice = testapp.CreateUser(t, app, "alice", map[string]any{"name": "Alice \"A\" <a&b>", "bio": "line1\nline2\ttab \x01 ✓"})
	bob := testapp.CreateUser(t, app, "bob", map[string]any{"emailVisibility": true, "link_1": "https://example.com/?a=1&b=<2>"})
	carol = testapp.CreateUser(t, app, "carol")
	for _, u := range []string{bob.Id, carol.Id} {
		testapp.Create(t, app, "follows", map[string]any{"follower": alice.Id, "following": u})
	}
	texts := []string{"plain", "\"quoted\" <b>bold</b> & \\ back\nslash\t\x01\x1f ✓ 귤 😀 \u2028", "#감귤 #jeju"}
	for i, text := range texts {
		for j, author := range []string{alice.Id, bob.Id, carol.Id} {
			p := testapp.Create(t, app, "posts", map[string]any{"user": author, "text": fmt.Sprint(text, " ", i, j), "tags": []string{"감귤", fmt.Sprint("t", j)}})
			if j == 1 {
				liked = p.Id
			}
		}
	}
	testapp.Create(t, app, "post_likes", map[string]any{"user": alice.Id, "post": liked})
	return alice, carol, liked
}

// TestHomeFeedSkipsRunsOfHiddenPosts pages through a home feed whose followed author hid long
// runs of posts, which the merge plan drops after its index walk, and expects every published
// post once, in order.
func TestHomeFeedSkipsRunsOfHiddenPosts(t *testing.T) {
	app := testapp.New(t)
	fastItems(app)
	srv := testapp.Serve(t, app)
	me := testapp.CreateUser(t, app, "myself")
	bob := testapp.CreateUser(t, app, "bob")
	testapp.Create(t, app, "follows", map[string]any{"follower": me.Id, "following": bob.Id})
	var want []string
	keys := map[string]string{}
	for i := 0; i < 60; i++ {
		status := "published"
		if (i >= 5 && i < 30) || i%7 == 0 {
			status = "hidden"
		}
		p := testapp.Create(t, app, "posts", map[string]any{"user": bob.Id, "text": fmt.Sprint("post ", i), "status": status})
		if status == "published" {
			want = append(want, p.Id)
			keys[p.Id] = p.GetDateTime("created").String() + p.Id
		}
	}
	sort.Slice(want, func(i, j int) bool { return keys[want[i]] > keys[want[j]] })
	token := testapp.Token(t, me)
	do := func(path string) (int, map[string]any) { return testapp.Do(t, srv, http.MethodGet, path, token, nil) }
	var got []string
	path := "/api/feed/home?limit=3"
	for pages := 0; pages < 50; pages++ {
		p := getPage(t, do, path)
		if p.status != http.StatusOK {
			t.Fatalf("Expected 200, got %d", p.status)
		}
		got = append(got, p.ids...)
		if p.next == "" {
			break
		}
		if len(p.ids) != 3 {
			t.Fatalf("Expected full pages before the last, got %d items", len(p.ids))
		}
		path = "/api/feed/home?limit=3&cursor=" + p.next
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Expected the published posts newest first:\n got %v\nwant %v", got, want)
	}
}
