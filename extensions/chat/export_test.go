package chat

import (
	"encoding/json"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// MaxCommitBatch is the largest batch of WebSocket sends that app's chat stored in one
// transaction.
func MaxCommitBatch(app core.App) int64 {
	return app.Store().Get(pluginStoreKey).(*plugin).commits.maxBatch.Load()
}

// MessageEnvelope encodes a message event of room carrying record, as the hooks publish it,
// for tests that feed a connection through the broker directly.
func MessageEnvelope(room string, record any) Envelope {
	raw, err := json.Marshal(record)
	if err != nil {
		panic(err)
	}
	return Envelope{Key: room, Data: appendEvent(nil, event{Kind: eventMessage, Room: room, Record: raw})}
}

// AppendMessage is the encoder of the messages of WebSocket sends.
func AppendMessage(b []byte, m *core.Record) []byte { return appendMessage(b, m) }

// EventJSON encodes an event as publish does and decodes it as the hub does.
func EventJSON(kind, room, user, message string, record json.RawMessage) (data []byte, back map[string]any, err error) {
	data = appendEvent(nil, event{Kind: kind, Room: room, User: user, Message: message, Record: record})
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return data, nil, err
	}
	return data, map[string]any{"kind": ev.Kind, "room": ev.Room, "user": ev.User, "message": ev.Message, "record": string(ev.Record)}, nil
}

// SetMessageIds replaces the id generator of app's chat (WebSocket sends).
func SetMessageIds(app core.App, next func() string) {
	app.Store().Get(pluginStoreKey).(*plugin).newId = func(time.Time) string { return next() }
}

// PendingSends is the number of WebSocket sends of app's chat waiting for a batch.
func PendingSends(app core.App) int {
	g := &app.Store().Get(pluginStoreKey).(*plugin).commits
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}
