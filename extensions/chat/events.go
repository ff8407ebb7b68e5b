package chat

import (
	"context"
	"encoding/json"
	"sync"
	"unicode/utf8"
)

// Event kinds carried in Envelope.Data between processes.
const (
	eventMessage        = "message"         // Record: the message record
	eventMessageRemoved = "message_removed" // Message: the removed message id
	eventMemberJoined   = "member_joined"   // User joined; Record: the room record
	eventMemberLeft     = "member_left"     // User left or was removed
	eventRoomDeleted    = "room_deleted"
	eventRead           = "read" // User read up to Message
	eventTyping         = "typing"
)

// event is one chat event as encoded in [Envelope.Data] (JSON, so that processes of
// different versions can read each other's events; unknown kinds are dropped).
type event struct {
	Kind    string          `json:"kind"`
	Room    string          `json:"room"`
	User    string          `json:"user,omitempty"`
	Message string          `json:"message,omitempty"`
	Record  json.RawMessage `json:"record,omitempty"`
}

// publish hands ev to the broker for every process's hub. Once the app serves, it does not
// wait for the broker: the event's database change is committed already, the caller (a send
// waiting for its ack, a request, a hook holding the room's lock) must not wait behind a
// broker that is slow or away, and clients recover missed messages with sync. Events of one room are published one
// after another in the order publish was called, so per-room order holds; see [publisher].
func (p *plugin) publish(ev event) {
	env := Envelope{Key: ev.Room, Data: appendEvent(nil, ev)}
	if !p.serving.Load() {
		// not serving (a CLI command, a migration, tests before Serve): publish at once, so
		// that nothing is left queued when the process ends or shows up after the hub starts
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.PublishTimeout)
		defer cancel()
		if err := p.cfg.Broker.Publish(ctx, p.cfg.Topic, env); err != nil {
			p.app.Logger().Error("Failed to publish a chat event", "error", err, "kind", ev.Kind, "room", ev.Room)
		}
		return
	}
	p.pub.enqueue(env, ev.Kind)
}

// maxPendingPerRoom bounds the events of one room waiting for the broker; more are dropped
// (logged), as a failed publish is: the database has them and sync returns them.
const maxPendingPerRoom = 1024

// publisher publishes events off the caller's path, in order per room: a room with events
// waiting has exactly one goroutine that publishes them one at a time and ends once the room's
// queue is empty. Rooms don't wait for each other, so one slow publish delays only its room.
// A failed publish is logged and not retried (the broker may have taken it after all, and a
// retry could deliver it twice); while the broker is away a room's queue drains at the speed
// at which Publish fails, and overflows are dropped, never blocking the caller.
type publisher struct {
	p *plugin

	mu      sync.Mutex
	rooms   map[string]*pendingEvents
	stopped bool
}

type pendingEvents struct {
	items []pendingEvent
}

type pendingEvent struct {
	env  Envelope
	kind string
}

func newPublisher(p *plugin) *publisher {
	return &publisher{p: p, rooms: make(map[string]*pendingEvents)}
}

// enqueue queues env for publishing; it never blocks.
func (pb *publisher) enqueue(env Envelope, kind string) {
	pb.mu.Lock()
	if pb.stopped {
		pb.mu.Unlock()
		return
	}
	q := pb.rooms[env.Key]
	if q == nil {
		q = &pendingEvents{}
		pb.rooms[env.Key] = q
		go pb.drain(env.Key, q)
	}
	if len(q.items) >= maxPendingPerRoom {
		pb.mu.Unlock()
		pb.p.app.Logger().Error("Dropped a chat event: the broker is not keeping up", "kind", kind, "room", env.Key)
		return
	}
	q.items = append(q.items, pendingEvent{env: env, kind: kind})
	pb.mu.Unlock()
}

// drain publishes the events of one room until its queue is empty.
func (pb *publisher) drain(room string, q *pendingEvents) {
	for {
		pb.mu.Lock()
		if len(q.items) == 0 || pb.stopped {
			delete(pb.rooms, room)
			pb.mu.Unlock()
			return
		}
		it := q.items[0]
		q.items[0] = pendingEvent{}
		q.items = q.items[1:]
		pb.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), pb.p.cfg.PublishTimeout)
		err := pb.p.cfg.Broker.Publish(ctx, pb.p.cfg.Topic, it.env)
		cancel()
		if err != nil && !pb.isStopped() {
			pb.p.app.Logger().Error("Failed to publish a chat event", "error", err, "kind", it.kind, "room", room)
		}
	}
}

// stop drops the queued events and makes enqueue a no-op; a publish in progress completes.
func (pb *publisher) stop() {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	pb.stopped = true
}

func (pb *publisher) isStopped() bool {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.stopped
}

// -------------------------------------------------------------------
// server -> client frames

// Error codes of error frames (API.md, Chat WebSocket). codeInternal is for server faults
// (the database failing), which are neither the client's fault nor retried by it.
const (
	codeBadRequest   = "bad_request"
	codeNotMember    = "not_member"
	codeRateLimited  = "rate_limited"
	codeTooLarge     = "too_large"
	codeUnauthorized = "unauthorized"
	codeInternal     = "internal"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// only maps and structs of strings and raw JSON are encoded here
		panic(err)
	}
	return b
}

func errorFrame(code, message, ref string) []byte {
	return mustJSON(map[string]string{"type": "error", "code": code, "message": message, "ref": ref})
}

func readyFrame(user string, rooms []string) []byte {
	return mustJSON(map[string]any{"type": "ready", "user": user, "rooms": rooms})
}

func roomJoinedFrame(room json.RawMessage) []byte {
	return mustJSON(map[string]any{"type": "room_joined", "room": room})
}

// roomFrame builds the frames that name a room and possibly a user and a message:
// room_left, member_joined, member_left, message_removed, read, typing.
func roomFrame(typ, room, user, message string) []byte {
	f := map[string]string{"type": typ, "room": room}
	if user != "" {
		f["user"] = user
	}
	if message != "" {
		f["message"] = message
	}
	return mustJSON(f)
}

var (
	pongFrame   = []byte(`{"type":"pong"}`)
	syncedFrame = []byte(`{"type":"synced"}`)
)

// preview cuts text to the first maxPreview runes for chat_rooms.last_message_text.
func preview(text string) string {
	if utf8.RuneCountInString(text) <= maxPreview {
		return text
	}
	n := 0
	for i := range text {
		if n == maxPreview {
			return text[:i]
		}
		n++
	}
	return text
}
