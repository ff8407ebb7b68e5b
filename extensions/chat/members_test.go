package chat_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

func TestRoomsLastMemberLeavesDeletesTheRoom(t *testing.T) {
	t.Parallel()
	f := newRoomFixture(t)
	srv := testapp.Serve(t, f.app)
	for _, u := range []*core.Record{f.bob, f.alice, f.carol} {
		if status, res := testapp.Do(t, srv, http.MethodPost, "/api/chat/rooms/"+f.room.Id+"/leave", testapp.Token(t, u), nil); status != 204 {
			t.Fatalf("Expected 204, got %d %v", status, res)
		}
	}
	if _, err := f.app.FindRecordById(collections.ChatRooms, f.room.Id); err == nil {
		t.Fatal("Expected the room deleted after its last member left")
	}
	if n, _ := f.app.CountRecords(collections.ChatMessages, dbx.HashExp{"room": f.room.Id}); n != 0 {
		t.Fatalf("Expected the room's messages deleted, got %d", n)
	}
}

func TestRoomDeletedByTheOwnerSendsRoomLeft(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	room := createRoom(t, app, alice, bob)
	for i := range 3 {
		testapp.Create(t, app, collections.ChatMessages, map[string]any{"room": room.Id, "sender": alice.Id, "text": fmt.Sprint(i)})
	}
	srv := testapp.Serve(t, app)
	b := connect(t, srv.URL, bob)

	status, res := testapp.Do(t, srv, http.MethodDelete, "/api/collections/chat_rooms/records/"+room.Id, testapp.Token(t, alice), nil)
	if status != http.StatusNoContent {
		t.Fatalf("Expected 204, got %d %v", status, res)
	}
	if f := b.expect("room_left"); f.str("room") != room.Id {
		t.Fatalf("Expected room_left, got %v", f)
	}
	// the messages went with one statement, not one message_removed each
	b.send(map[string]string{"type": "send", "room": room.Id, "text": "x", "client_id": "x"})
	if f := b.expect("error"); f.str("code") != "not_member" {
		t.Fatalf("Expected nothing but not_member after room_left, got %v", f)
	}
	if n, _ := app.CountRecords(collections.ChatMessages, dbx.HashExp{"room": room.Id}); n != 0 {
		t.Fatalf("Expected the messages deleted, got %d", n)
	}
}
