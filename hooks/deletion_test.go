package hooks_test

import (
	"net/http"
	"testing"

	"github.com/pocketbase/dbx"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

// TestDeletingAnAccount checks API.md's deletion semantics: a user's posts, comments, likes,
// follows, products, views and filed reports go with the account; their chat messages stay
// with sender emptied; the other side's counters follow.
func TestDeletingAnAccount(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)

	gone := testapp.CreateUser(t, app, "leaving")
	stay := testapp.CreateUser(t, app, "staying")

	post := testapp.Create(t, app, "posts", map[string]any{"user": gone.Id, "text": "bye"})
	stayPost := testapp.Create(t, app, "posts", map[string]any{"user": stay.Id, "text": "hello"})
	testapp.Create(t, app, "comments", map[string]any{"user": gone.Id, "post": stayPost.Id, "content": "nice"})
	testapp.Create(t, app, "post_likes", map[string]any{"user": gone.Id, "post": stayPost.Id})
	testapp.Create(t, app, "follows", map[string]any{"follower": gone.Id, "following": stay.Id})
	testapp.Create(t, app, "follows", map[string]any{"follower": stay.Id, "following": gone.Id})
	testapp.Create(t, app, "products", map[string]any{"user": gone.Id, "name": "Box", "link": "https://shop.example.com/box"})
	testapp.Create(t, app, "post_views", map[string]any{"user": gone.Id, "post": stayPost.Id, "dwell_ms": 10})
	testapp.Create(t, app, "reports", map[string]any{"reporter": gone.Id, "target_type": "post", "target_id": stayPost.Id, "reason": "spam", "target_user": stay.Id})
	room := testapp.Create(t, app, "chat_rooms", map[string]any{"name": "r", "owner": gone.Id})
	testapp.Create(t, app, "chat_members", map[string]any{"room": room.Id, "user": gone.Id, "role": "owner"})
	testapp.Create(t, app, "chat_members", map[string]any{"room": room.Id, "user": stay.Id})
	msg := testapp.Create(t, app, "chat_messages", map[string]any{"room": room.Id, "sender": gone.Id, "text": "hi"})

	status, _ := testapp.Do(t, srv, http.MethodDelete, "/api/collections/users/records/"+gone.Id, testapp.Token(t, gone), nil)
	if status != http.StatusNoContent {
		t.Fatalf("Expected the account to be deleted, got %d", status)
	}

	for _, c := range []struct {
		table string
		where dbx.HashExp
	}{
		{"posts", dbx.HashExp{"user": gone.Id}},
		{"comments", dbx.HashExp{"user": gone.Id}},
		{"post_likes", dbx.HashExp{"user": gone.Id}},
		{"follows", dbx.HashExp{"follower": gone.Id}},
		{"follows", dbx.HashExp{"following": gone.Id}},
		{"products", dbx.HashExp{"user": gone.Id}},
		{"post_views", dbx.HashExp{"user": gone.Id}},
		{"reports", dbx.HashExp{"reporter": gone.Id}},
		{"post_tags", dbx.HashExp{"post": post.Id}},
		{"chat_members", dbx.HashExp{"user": gone.Id}},
	} {
		var n int
		if err := app.DB().Select("count(*)").From(c.table).Where(c.where).Row(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("Expected no %s rows left for the deleted user (%v), got %d", c.table, c.where, n)
		}
	}

	kept := testapp.Reload(t, app, msg)
	if kept.GetString("sender") != "" || kept.GetString("text") != "hi" {
		t.Errorf("Expected the chat message kept with sender emptied, got sender=%q text=%q", kept.GetString("sender"), kept.GetString("text"))
	}
	stay = testapp.Reload(t, app, stay)
	stayPost = testapp.Reload(t, app, stayPost)
	if stay.GetInt("followers_count") != 0 || stay.GetInt("following_count") != 0 {
		t.Errorf("Expected the other side's follow counters back to 0, got %d/%d", stay.GetInt("followers_count"), stay.GetInt("following_count"))
	}
	if stayPost.GetInt("likes_count") != 0 || stayPost.GetInt("comments_count") != 0 {
		t.Errorf("Expected the post's counters back to 0, got likes=%d comments=%d", stayPost.GetInt("likes_count"), stayPost.GetInt("comments_count"))
	}
}

func TestDeletingACommentDeletesItsReplies(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)
	author := testapp.CreateUser(t, app, "author")
	other := testapp.CreateUser(t, app, "other")
	post := testapp.Create(t, app, "posts", map[string]any{"user": author.Id, "text": "p"})
	top := testapp.Create(t, app, "comments", map[string]any{"user": other.Id, "post": post.Id, "content": "top"})
	for i := 0; i < 3; i++ {
		testapp.Create(t, app, "comments", map[string]any{"user": author.Id, "post": post.Id, "parent": top.Id, "content": "reply"})
	}
	testapp.Create(t, app, "comments", map[string]any{"user": other.Id, "post": post.Id, "content": "second"})
	if got := testapp.Reload(t, app, post).GetInt("comments_count"); got != 5 {
		t.Fatalf("Expected comments_count to count comments and replies (5), got %d", got)
	}

	// the post's author may delete a comment on their post
	status, _ := testapp.Do(t, srv, http.MethodDelete, "/api/collections/comments/records/"+top.Id, testapp.Token(t, author), nil)
	if status != http.StatusNoContent {
		t.Fatalf("Expected the post's author to delete the comment, got %d", status)
	}
	var n int
	_ = app.DB().Select("count(*)").From("comments").Where(dbx.HashExp{"parent": top.Id}).Row(&n)
	if n != 0 {
		t.Fatalf("Expected the replies to go with the comment, %d left", n)
	}
	if got := testapp.Reload(t, app, post).GetInt("comments_count"); got != 1 {
		t.Fatalf("Expected comments_count 1 after deleting a comment with 3 replies, got %d", got)
	}
}
