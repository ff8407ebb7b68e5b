package chat

import (
	"context"
	"encoding/json"
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

// publish sends ev to every process's hub. A failure is logged, not returned: the event's
// database change is committed already, and clients recover missed messages with sync.
func (p *plugin) publish(ev event) {
	data, err := json.Marshal(ev)
	if err != nil {
		p.app.Logger().Error("Failed to encode a chat event", "error", err, "kind", ev.Kind, "room", ev.Room)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.PublishTimeout)
	defer cancel()
	if err := p.cfg.Broker.Publish(ctx, p.cfg.Topic, Envelope{Key: ev.Room, Data: data}); err != nil {
		p.app.Logger().Error("Failed to publish a chat event", "error", err, "kind", ev.Kind, "room", ev.Room)
	}
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

func messageFrame(record json.RawMessage) []byte {
	return mustJSON(map[string]any{"type": "message", "message": record})
}

func ackFrame(clientId string, record json.RawMessage) []byte {
	return mustJSON(map[string]any{"type": "ack", "client_id": clientId, "message": record})
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
