package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// newTestHub returns a hub and a registered, active connection of user "u" in rooms, with
// the ready frame taken off its queue. No socket: the tests drive the queue directly.
func newTestHub(t *testing.T, rooms ...string) (*hub, *conn) {
	t.Helper()
	p := &plugin{}
	p.cfg.setDefaults()
	p.hub = newHub(p)
	p.hub.logger = slog.Default
	c := newConn(p, nil)
	c.q.start = nil // no socket, so no writer: the tests take the frames off the queue
	c.user = "u"
	if !p.hub.register(c) {
		t.Fatal("Expected the hub to take the connection")
	}
	p.hub.activate(c, rooms)
	if it, ok := c.next(); !ok || !strings.Contains(string(it.data), `"type":"ready"`) {
		t.Fatalf("Expected the ready frame first, got %s", it.data)
	}
	return p.hub, c
}

func handleEvent(t *testing.T, h *hub, ev event) {
	t.Helper()
	if err := h.handle(context.Background(), Envelope{Key: ev.Room, Data: mustJSON(ev)}); err != nil {
		t.Fatal(err)
	}
}

func drain(c *conn) []string {
	var out []string
	for {
		it, ok := c.next()
		if !ok {
			return out
		}
		out = append(out, string(it.data))
	}
}

func TestHubDropsQueuedFramesOfALeftRoom(t *testing.T) {
	h, c := newTestHub(t, "r1", "r2")
	msg := func(room, text string) event {
		return event{Kind: eventMessage, Room: room, Record: json.RawMessage(`{"text":"` + text + `"}`)}
	}
	handleEvent(t, h, msg("r1", "queued-1"))
	handleEvent(t, h, msg("r2", "other-room"))
	handleEvent(t, h, msg("r1", "queued-2"))
	// the frames above are still queued when the user is removed
	handleEvent(t, h, event{Kind: eventMemberLeft, Room: "r1", User: "u"})
	handleEvent(t, h, msg("r1", "after"))

	got := strings.Join(drain(c), "\n")
	if strings.Contains(got, "queued-") || strings.Contains(got, "after") {
		t.Fatalf("Expected no frame of r1 after the removal, got\n%s", got)
	}
	if !strings.Contains(got, "other-room") || !strings.Contains(got, `"type":"room_left"`) {
		t.Fatalf("Expected the r2 message and room_left, got\n%s", got)
	}
}

func TestHubAppliesMembershipChangesSeenWhileLoading(t *testing.T) {
	p := &plugin{}
	p.cfg.setDefaults()
	h := newHub(p)
	h.logger = slog.Default
	c := newConn(p, nil)
	c.q.start = nil // no socket, so no writer: the tests take the frames off the queue
	c.user = "u"
	h.register(c)

	// committed after the rooms were read from the database, delivered before activate
	handleEvent(t, h, event{Kind: eventMemberJoined, Room: "new", User: "u", Record: json.RawMessage(`{}`)})
	handleEvent(t, h, event{Kind: eventMemberLeft, Room: "old", User: "u"})
	h.activate(c, []string{"old", "kept"})

	frames := drain(c)
	if len(frames) != 1 || !strings.Contains(frames[0], `"rooms":["kept","new"]`) {
		t.Fatalf("Expected only ready with rooms kept and new, got %v", frames)
	}
	if !h.inRoom(c, "new") || h.inRoom(c, "old") {
		t.Fatal("Expected the hub's rooms to follow the pending changes")
	}
}

func TestHubTypingAndReadSkipTheirAuthor(t *testing.T) {
	h, c := newTestHub(t, "r1")
	handleEvent(t, h, event{Kind: eventTyping, Room: "r1", User: "u"})
	handleEvent(t, h, event{Kind: eventRead, Room: "r1", User: "u", Message: "m"})
	handleEvent(t, h, event{Kind: eventTyping, Room: "r1", User: "someone"})
	frames := drain(c)
	if len(frames) != 1 || !strings.Contains(frames[0], `"user":"someone"`) {
		t.Fatalf("Expected only someone's typing, got %v", frames)
	}
}

func TestHubDropsUnreadableEvents(t *testing.T) {
	h, c := newTestHub(t, "r1")
	for _, data := range []string{`not json`, `{"kind":"message"}`, `{"kind":"unknown","room":"r1"}`} {
		if err := h.handle(context.Background(), Envelope{Key: "r1", Data: []byte(data)}); err != nil {
			t.Fatalf("Expected %q dropped without a redelivery request, got %v", data, err)
		}
	}
	if frames := drain(c); len(frames) != 0 {
		t.Fatalf("Expected no frame, got %v", frames)
	}
}
