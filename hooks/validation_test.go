package hooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

// TestBadInputNamesTheField sends each kind of bad input and expects a 400 whose data names
// the offending field.
func TestBadInputNamesTheField(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)

	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	aliceToken := testapp.Token(t, alice)
	bobToken := testapp.Token(t, bob)

	post := testapp.Create(t, app, "posts", map[string]any{"user": bob.Id, "text": "bob's post"})
	other := testapp.Create(t, app, "posts", map[string]any{"user": bob.Id, "text": "another post"})
	top := testapp.Create(t, app, "comments", map[string]any{"user": bob.Id, "post": post.Id, "content": "top"})
	reply := testapp.Create(t, app, "comments", map[string]any{"user": bob.Id, "post": post.Id, "parent": top.Id, "content": "reply"})
	onOther := testapp.Create(t, app, "comments", map[string]any{"user": bob.Id, "post": other.Id, "content": "elsewhere"})
	testapp.Create(t, app, "follows", map[string]any{"follower": alice.Id, "following": bob.Id})
	testapp.Create(t, app, "post_likes", map[string]any{"user": alice.Id, "post": post.Id})
	bobCategory := testapp.Create(t, app, "categories", map[string]any{"user": bob.Id, "name": "bob's"})

	tags11 := []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11"}
	signUp := func(extra map[string]any) map[string]any {
		body := map[string]any{"email": "new@example.com", "password": "1234567890", "passwordConfirm": "1234567890"}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}

	scenarios := []struct {
		name   string
		method string
		path   string
		token  string
		body   map[string]any
		field  string
	}{
		{"handle with upper-case letters", "POST", "/api/collections/users/records", "", signUp(map[string]any{"handle": "Alice2"}), "handle"},
		{"handle too short", "POST", "/api/collections/users/records", "", signUp(map[string]any{"handle": "ab"}), "handle"},
		{"handle with a dash", "POST", "/api/collections/users/records", "", signUp(map[string]any{"handle": "new-user"}), "handle"},
		{"handle already taken", "POST", "/api/collections/users/records", "", signUp(map[string]any{"handle": "alice"}), "handle"},
		{"handle taken on update", "PATCH", "/api/collections/users/records/" + bob.Id, bobToken, map[string]any{"handle": "alice"}, "handle"},
		{"javascript: link on a profile", "PATCH", "/api/collections/users/records/" + alice.Id, aliceToken, map[string]any{"link_1": "javascript:alert(1)"}, "link_1"},
		{"javascript:// link on a profile", "PATCH", "/api/collections/users/records/" + alice.Id, aliceToken, map[string]any{"link_2": "javascript://example.com/%0aalert(1)"}, "link_2"},
		{"data: product link", "POST", "/api/collections/products/records", aliceToken, map[string]any{"name": "Tangerines", "link": "data:text/html,hi"}, "link"},
		{"javascript: product link", "POST", "/api/collections/products/records", aliceToken, map[string]any{"name": "Tangerines", "link": "javascript:alert(1)"}, "link"},
		{"11 tags", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": "hi", "tags": tags11}, "tags"},
		{"a 31-character tag", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": "hi", "tags": []string{strings.Repeat("가", 31)}}, "tags"},
		{"an empty tag", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": "hi", "tags": []string{"#"}}, "tags"},
		{"tags not an array of strings", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": "hi", "tags": []any{1, 2}}, "tags"},
		{"11 product tags", "POST", "/api/collections/products/records", aliceToken, map[string]any{"name": "Tangerines", "link": "https://shop.example.com/1", "tags": tags11}, "tags"},
		{"empty post text", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": ""}, "text"},
		{"someone else's category", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": "hi", "category": bobCategory.Id}, "category"},
		{"self-follow", "POST", "/api/collections/follows/records", aliceToken, map[string]any{"following": alice.Id}, "following"},
		{"duplicate follow", "POST", "/api/collections/follows/records", aliceToken, map[string]any{"following": bob.Id}, "following"},
		{"duplicate like", "POST", "/api/collections/post_likes/records", aliceToken, map[string]any{"post": post.Id}, "post"},
		{"reply to a reply", "POST", "/api/collections/comments/records", aliceToken, map[string]any{"post": post.Id, "parent": reply.Id, "content": "deep"}, "parent"},
		{"reply whose parent is on another post", "POST", "/api/collections/comments/records", aliceToken, map[string]any{"post": post.Id, "parent": onOther.Id, "content": "cross"}, "parent"},
		{"client-sent likes_count", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": "hi", "likes_count": 1000}, "likes_count"},
		{"client-sent likes_count on update", "PATCH", "/api/collections/posts/records/" + post.Id, bobToken, map[string]any{"likes_count": 1000}, "likes_count"},
		{"client-sent likes_count+ modifier", "PATCH", "/api/collections/posts/records/" + post.Id, bobToken, map[string]any{"likes_count+": 1}, "likes_count"},
		{"client-sent status by the author", "PATCH", "/api/collections/posts/records/" + post.Id, bobToken, map[string]any{"status": "published"}, "status"},
		{"client-sent role", "PATCH", "/api/collections/users/records/" + alice.Id, aliceToken, map[string]any{"role": "moderator"}, "role"},
		{"client-sent role on sign-up", "POST", "/api/collections/users/records", "", signUp(map[string]any{"role": "moderator"}), "role"},
		{"client-sent followers_count", "PATCH", "/api/collections/users/records/" + alice.Id, aliceToken, map[string]any{"followers_count": 5}, "followers_count"},
		{"post user that is not the auth user", "POST", "/api/collections/posts/records", aliceToken, map[string]any{"text": "hi", "user": bob.Id}, "user"},
		{"like user that is not the auth user", "POST", "/api/collections/post_likes/records", aliceToken, map[string]any{"post": other.Id, "user": bob.Id}, "user"},
		{"follower that is not the auth user", "POST", "/api/collections/follows/records", bobToken, map[string]any{"following": alice.Id, "follower": alice.Id}, "follower"},
		{"changing a post's owner", "PATCH", "/api/collections/posts/records/" + post.Id, bobToken, map[string]any{"user": alice.Id}, "user"},
		{"moving a comment to another post", "PATCH", "/api/collections/comments/records/" + top.Id, bobToken, map[string]any{"post": other.Id}, "post"},
		{"dwell_ms out of range", "POST", "/api/posts/" + post.Id + "/views", aliceToken, map[string]any{"dwell_ms": 3_600_001}, "dwell_ms"},
		{"dwell_ms negative", "POST", "/api/posts/" + post.Id + "/views", aliceToken, map[string]any{"dwell_ms": -1}, "dwell_ms"},
		{"price above the limit", "POST", "/api/collections/products/records", aliceToken, map[string]any{"name": "Gold", "link": "https://shop.example.com/g", "price": 1e13}, "price"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			status, body := testapp.Do(t, srv, s.method, s.path, s.token, s.body)
			if status != http.StatusBadRequest {
				t.Fatalf("Expected 400, got %d %v", status, body)
			}
			if fieldCode(body, s.field) == "" {
				t.Fatalf("Expected the error to name %q, got %v", s.field, body["data"])
			}
		})
	}

	// nothing above changed the data
	if got := testapp.Reload(t, app, post).GetInt("likes_count"); got != 1 {
		t.Errorf("Expected likes_count to stay 1, got %d", got)
	}
	if got := testapp.Reload(t, app, alice).GetString("role"); got != "member" {
		t.Errorf("Expected alice to stay a member, got %q", got)
	}
}

func TestGoodInputIsNormalised(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)
	alice := testapp.CreateUser(t, app, "alice")
	token := testapp.Token(t, alice)

	status, body := testapp.Do(t, srv, "POST", "/api/collections/posts/records", token,
		map[string]any{"text": "hi", "user": alice.Id, "tags": []string{" #Jeju ", "jeju", "감귤", "#감귤"}})
	if status != http.StatusOK {
		t.Fatalf("Expected the post to be created, got %d %v", status, body)
	}
	tags, _ := body["tags"].([]any)
	if len(tags) != 2 || tags[0] != "jeju" || tags[1] != "감귤" {
		t.Fatalf("Expected tags [jeju 감귤], got %v", body["tags"])
	}
	var rows []string
	if err := app.DB().Select("tag").From("post_tags").Where(dbxHash("post", body["id"])).OrderBy("tag").Column(&rows); err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows, ",") != "jeju,감귤" {
		t.Fatalf("Expected post_tags rows jeju and 감귤, got %v", rows)
	}

	// editing the tags moves post_tags with them
	status, _ = testapp.Do(t, srv, "PATCH", "/api/collections/posts/records/"+body["id"].(string), token,
		map[string]any{"tags": []string{"Seogwipo"}})
	if status != http.StatusOK {
		t.Fatalf("Expected the edit to succeed, got %d", status)
	}
	rows = nil
	_ = app.DB().Select("tag").From("post_tags").Where(dbxHash("post", body["id"])).Column(&rows)
	if strings.Join(rows, ",") != "seogwipo" {
		t.Fatalf("Expected post_tags to follow the edit, got %v", rows)
	}

	status, body = testapp.Do(t, srv, "POST", "/api/collections/products/records", token,
		map[string]any{"name": "Hallabong box", "link": "https://shop.example.com/hallabong", "price": 25000})
	if status != http.StatusOK || body["currency"] != "KRW" || body["status"] != "published" {
		t.Fatalf("Expected a product with defaults KRW and published, got %d %v", status, body)
	}
}
