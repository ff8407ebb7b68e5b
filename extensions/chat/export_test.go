package chat

import (
	"encoding/json"

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
	return Envelope{Key: room, Data: mustJSON(event{Kind: eventMessage, Room: room, Record: raw})}
}
