package chat

import "encoding/json"

// MessageEnvelope encodes a message event of room carrying record, as the hooks publish it,
// for tests that feed a connection through the broker directly.
func MessageEnvelope(room string, record any) Envelope {
	raw, err := json.Marshal(record)
	if err != nil {
		panic(err)
	}
	return Envelope{Key: room, Data: mustJSON(event{Kind: eventMessage, Room: room, Record: raw})}
}
