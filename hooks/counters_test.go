package hooks_test

import (
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

// TestCountersExactUnderConcurrency drives 60 clients that like and unlike, follow and
// unfollow, comment and delete on the same targets at once, through the HTTP API, and then
// checks every counter against the real row count.
func TestCountersExactUnderConcurrency(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)

	author := testapp.CreateUser(t, app, "author")
	post := testapp.Create(t, app, "posts", map[string]any{"user": author.Id, "text": "target"})
	comment := testapp.Create(t, app, "comments", map[string]any{"user": author.Id, "post": post.Id, "content": "top"})

	const clients = 60
	tokens := make([]string, clients)
	users := make([]*core.Record, clients)
	for i := range clients {
		users[i] = testapp.CreateUser(t, app, fmt.Sprintf("user%02d", i))
		tokens[i] = testapp.Token(t, users[i])
	}

	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i)))
			tok := tokens[i]
			for round := 0; round < 4; round++ {
				// like the post twice at once: exactly one may win
				var likeWg sync.WaitGroup
				for range 2 {
					likeWg.Add(1)
					go func() {
						defer likeWg.Done()
						testapp.Do(t, srv, http.MethodPost, "/api/collections/post_likes/records", tok, map[string]any{"post": post.Id})
					}()
				}
				likeWg.Wait()
				testapp.Do(t, srv, http.MethodPost, "/api/collections/comment_likes/records", tok, map[string]any{"comment": comment.Id})
				testapp.Do(t, srv, http.MethodPost, "/api/collections/follows/records", tok, map[string]any{"following": author.Id})
				_, reply := testapp.Do(t, srv, http.MethodPost, "/api/collections/comments/records", tok,
					map[string]any{"post": post.Id, "parent": comment.Id, "content": "reply"})
				_, top := testapp.Do(t, srv, http.MethodPost, "/api/collections/comments/records", tok,
					map[string]any{"post": post.Id, "content": "top-level"})

				if rng.Intn(2) == 0 {
					deleteOwn(t, app, srv, tok, "post_likes", dbx.HashExp{"user": users[i].Id, "post": post.Id})
				}
				if rng.Intn(2) == 0 {
					deleteOwn(t, app, srv, tok, "comment_likes", dbx.HashExp{"user": users[i].Id, "comment": comment.Id})
				}
				if rng.Intn(2) == 0 {
					deleteOwn(t, app, srv, tok, "follows", dbx.HashExp{"follower": users[i].Id, "following": author.Id})
				}
				if id, _ := reply["id"].(string); id != "" && rng.Intn(2) == 0 {
					testapp.Do(t, srv, http.MethodDelete, "/api/collections/comments/records/"+id, tok, nil)
				}
				if id, _ := top["id"].(string); id != "" && rng.Intn(3) == 0 {
					testapp.Do(t, srv, http.MethodDelete, "/api/collections/comments/records/"+id, tok, nil)
				}
			}
		}(i)
	}
	wg.Wait()

	count := func(table string, where dbx.HashExp) int {
		var n int
		if err := app.DB().Select("count(*)").From(table).Where(where).Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	post = testapp.Reload(t, app, post)
	comment = testapp.Reload(t, app, comment)
	author = testapp.Reload(t, app, author)

	checks := []struct {
		name      string
		got, want int
	}{
		{"posts.likes_count", post.GetInt("likes_count"), count("post_likes", dbx.HashExp{"post": post.Id})},
		{"posts.comments_count", post.GetInt("comments_count"), count("comments", dbx.HashExp{"post": post.Id})},
		{"comments.likes_count", comment.GetInt("likes_count"), count("comment_likes", dbx.HashExp{"comment": comment.Id})},
		{"comments.replies_count", comment.GetInt("replies_count"), count("comments", dbx.HashExp{"parent": comment.Id})},
		{"users.followers_count", author.GetInt("followers_count"), count("follows", dbx.HashExp{"following": author.Id})},
		{"users.posts_count", author.GetInt("posts_count"), count("posts", dbx.HashExp{"user": author.Id})},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, but there are %d rows", c.name, c.got, c.want)
		}
	}
	if post.GetInt("likes_count") == 0 || post.GetInt("comments_count") == 0 || author.GetInt("followers_count") == 0 {
		t.Fatalf("Expected the load to leave some likes, comments and follows, got %v", checks)
	}
	for _, u := range users {
		u = testapp.Reload(t, app, u)
		if got, want := u.GetInt("following_count"), count("follows", dbx.HashExp{"follower": u.Id}); got != want {
			t.Errorf("%s following_count = %d, but there are %d rows", u.GetString("handle"), got, want)
		}
	}
	// at most one like per user survived the racing duplicates
	var dup int
	_ = app.DB().NewQuery("SELECT count(*) FROM (SELECT user FROM post_likes GROUP BY user, post HAVING count(*) > 1)").Row(&dup)
	if dup != 0 {
		t.Errorf("Expected no duplicate likes, got %d users with duplicates", dup)
	}
}

// deleteOwn deletes, through the API, the row matching where, if there is one.
func deleteOwn(t *testing.T, app core.App, srv *httptest.Server, token, collection string, where dbx.HashExp) {
	t.Helper()
	var id string
	_ = app.DB().Select("id").From(collection).Where(where).Row(&id)
	if id == "" {
		return
	}
	testapp.Do(t, srv, http.MethodDelete, "/api/collections/"+collection+"/records/"+id, token, nil)
}
