//go:build integration

package chatintegration_test

import (
	"net/http"
	"testing"
	"time"
)

// TestTwoProcesses runs two `tangerine serve` processes on one pb_data with the Pulsar broker:
// what happens on one (a WebSocket send, a records API create, adding a member) reaches the
// members connected to the other.
func TestTwoProcesses(t *testing.T) {
	servers := startServers(t, 2)
	a, b := servers[0], servers[1]
	before := serverErrors.Load()
	t.Cleanup(func() { t.Logf("API calls that answered 5xx: %d", serverErrors.Load()-before) })

	alice := signUp(t, b, "alice_mp")
	bob := signUp(t, a, "bob_mp")
	carol := signUp(t, b, "carol_mp")
	room := createRoom(t, b, alice, bob)

	bobA := dial(t, a, bob)
	aliceB := dial(t, b, alice)
	const wait = 30 * time.Second

	t.Run("WebSocket send on B reaches a member on A", func(t *testing.T) {
		aliceB.t, bobA.t = t, t
		aliceB.send(map[string]any{"type": "send", "room": room, "text": "hello from B", "client_id": "mp-1"})
		ack := aliceB.expect(wait, func(f frame) bool { return f.str("type") == "ack" && f.str("client_id") == "mp-1" })
		got := bobA.expectMessage(wait, "hello from B")
		if got.str("id") != ack.msg().str("id") || got.str("sender") != alice.id || got.str("room") != room {
			t.Fatalf("Expected bob on A to get the acked message %s from alice, got %v", ack.msg().str("id"), got)
		}
	})

	t.Run("records API create on B reaches a member on A", func(t *testing.T) {
		bobA.t = t
		var rec struct {
			Id string `json:"id"`
		}
		st := b.call(t, http.MethodPost, "/api/collections/chat_messages/records", alice.token,
			map[string]any{"room": room, "text": "records API on B", "client_id": "mp-2"}, &rec)
		if st != http.StatusOK {
			t.Fatalf("Expected the records API create to answer 200, got %d", st)
		}
		got := bobA.expectMessage(wait, "records API on B")
		if got.str("id") != rec.Id || got.str("sender") != alice.id {
			t.Fatalf("Expected bob on A to get message %s from alice, got %v", rec.Id, got)
		}
	})

	t.Run("WebSocket send on A reaches a member on B", func(t *testing.T) {
		aliceB.t, bobA.t = t, t
		bobA.send(map[string]any{"type": "send", "room": room, "text": "hello from A", "client_id": "mp-3"})
		bobA.expect(wait, func(f frame) bool { return f.str("type") == "ack" && f.str("client_id") == "mp-3" })
		if got := aliceB.expectMessage(wait, "hello from A"); got.str("sender") != bob.id {
			t.Fatalf("Expected alice on B to get bob's message, got %v", got)
		}
	})

	t.Run("room_joined reaches a user on A when B adds them", func(t *testing.T) {
		carolA := dial(t, a, carol)
		aliceB.t, bobA.t = t, t
		st := b.call(t, http.MethodPost, "/api/chat/rooms/"+room+"/members", alice.token, map[string]any{"users": []string{carol.id}}, nil)
		if st != http.StatusOK && st != http.StatusNoContent {
			t.Fatalf("Expected adding carol to answer 2xx, got %d", st)
		}
		joined := carolA.expect(wait, func(f frame) bool { return f.str("type") == "room_joined" })
		if r, _ := joined["room"].(map[string]any); r["id"] != room {
			t.Fatalf("Expected room_joined of %s, got %v", room, joined)
		}
		// the other members hear of it too, on both processes
		for _, c := range []*wsClient{bobA, aliceB} {
			c.expect(wait, func(f frame) bool {
				return f.str("type") == "member_joined" && f.str("room") == room && f.str("user") == carol.id
			})
		}

		// and the membership takes effect on A at once: the next message on B reaches carol
		// without a reconnect
		aliceB.send(map[string]any{"type": "send", "room": room, "text": "welcome carol", "client_id": "mp-4"})
		if got := carolA.expectMessage(wait, "welcome carol"); got.str("sender") != alice.id {
			t.Fatalf("Expected carol on A to get alice's message, got %v", got)
		}
	})
}
