package chat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

func TestWSSyncAfterDisconnect(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	room := createRoom(t, app, alice, bob)
	srv := testapp.Serve(t, app)
	a := connect(t, srv.URL, alice)

	b := connect(t, srv.URL, bob)
	a.send(map[string]string{"type": "send", "room": room.Id, "text": "m1", "client_id": "1"})
	seen := b.expect("message").msg().str("id")
	_ = b.ws.Close(websocket.StatusNormalClosure, "")

	var missed []string
	for i := 2; i <= 4; i++ {
		a.send(map[string]string{"type": "send", "room": room.Id, "text": fmt.Sprintf("m%d", i), "client_id": fmt.Sprint(i)})
	}
	for len(missed) < 3 {
		if f := a.next(); f.str("type") == "ack" && f.msg().str("text") != "m1" {
			missed = append(missed, f.msg().str("id"))
		}
	}

	b = connect(t, srv.URL, bob)
	b.send(map[string]string{"type": "sync", "since": seen})
	var got []string
	for {
		f := b.next()
		if f.str("type") == "synced" {
			break
		}
		if f.str("type") != "message" {
			t.Fatalf("Expected only messages before synced, got %v", f)
		}
		got = append(got, f.msg().str("id"))
	}
	if strings.Join(got, ",") != strings.Join(missed, ",") {
		t.Fatalf("Expected exactly the missed messages %v, got %v", missed, got)
	}

	b.send(map[string]string{"type": "sync", "since": ""})
	got = nil
	for f := b.next(); f.str("type") != "synced"; f = b.next() {
		got = append(got, f.msg().str("text"))
	}
	if strings.Join(got, ",") != "m1,m2,m3,m4" {
		t.Fatalf("Expected the last 7 days m1..m4, got %v", got)
	}
}
