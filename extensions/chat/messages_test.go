package chat_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

func TestMessagesCreatedStrictlyIncreasingPerRoom(t *testing.T) {
	t.Parallel()
	f := newRoomFixture(t)
	var prev time.Time
	for i := range 50 {
		m := testapp.Create(t, f.app, collections.ChatMessages, map[string]any{"room": f.room.Id, "sender": f.bob.Id, "text": fmt.Sprint(i)})
		created := m.GetDateTime("created").Time()
		if !created.After(prev) {
			t.Fatalf("Expected message %d created after %v, got %v", i, prev, created)
		}
		prev = created
	}
	if got := testapp.Reload(t, f.app, f.room).GetString("last_message_text"); got != "49" {
		t.Fatalf("Expected last_message_text 49, got %q", got)
	}
}

func TestWSRecordsAPISendDeliveredLive(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	room := createRoom(t, app, alice, bob)
	srv := testapp.Serve(t, app)
	b := connect(t, srv.URL, bob)

	status, res := testapp.Do(t, srv, http.MethodPost, "/api/collections/chat_messages/records", testapp.Token(t, alice),
		map[string]any{"room": room.Id, "text": "from the records API"})
	if status != http.StatusOK {
		t.Fatalf("Expected 200, got %d %v", status, res)
	}
	m := b.expect("message").msg()
	if m.str("id") != res["id"] || m.str("sender") != alice.Id || m.str("text") != "from the records API" {
		t.Fatalf("Expected the records API message live, got %v", m)
	}
	fresh := testapp.Reload(t, app, room)
	if fresh.GetString("last_message_text") != "from the records API" || fresh.GetString("last_message_at") != m.str("created") {
		t.Fatalf("Expected the room's last message moved, got %q at %q", fresh.GetString("last_message_text"), fresh.GetString("last_message_at"))
	}
}

func TestMessageDeletionIsDeliveredAsMessageRemoved(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	room := createRoom(t, app, alice, bob)
	srv := testapp.Serve(t, app)
	b := connect(t, srv.URL, bob)

	m := testapp.Create(t, app, collections.ChatMessages, map[string]any{"room": room.Id, "sender": alice.Id, "text": "spam"})
	b.expect("message")
	if err := app.Delete(m); err != nil {
		t.Fatal(err)
	}
	if f := b.expect("message_removed"); f.str("room") != room.Id || f.str("message") != m.Id {
		t.Fatalf("Expected message_removed of the message, got %v", f)
	}
}
