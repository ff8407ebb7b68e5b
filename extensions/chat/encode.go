package chat

import (
	"encoding/json"
	"slices"
	"sync/atomic"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/internal/jsonenc"
)

// The hot path of a message (store, publish, fan out, ack) writes its JSON by appending
// instead of through encoding/json, which would encode the record through a map, then
// validate and copy the result again for every frame it is embedded in.

// messageKeys is the sorted key list of one collection's public record JSON.
type messageKeys struct {
	coll *core.Collection
	keys []string // field names, core.FieldNameCollectionId, core.FieldNameCollectionName
}

var lastMessageKeys atomic.Pointer[messageKeys]

func messageKeysOf(coll *core.Collection) *messageKeys {
	if k := lastMessageKeys.Load(); k != nil && k.coll == coll {
		return k
	}
	k := &messageKeys{coll: coll, keys: []string{core.FieldNameCollectionId, core.FieldNameCollectionName}}
	for _, f := range coll.Fields {
		if !f.GetHidden() {
			k.keys = append(k.keys, f.GetName())
		}
	}
	slices.Sort(k.keys)
	lastMessageKeys.Store(k)
	return k
}

// appendMessage appends m's public JSON, the bytes of m.MarshalJSON(), for a record that
// sendMessage made: a record of a base collection without expand, custom data or
// per-field visibility, so that its public fields are the collection's visible ones. Values
// other than text and datetimes (a field added later in the dashboard, say) go through
// MarshalJSON.
func appendMessage(b []byte, m *core.Record) []byte {
	coll := m.Collection()
	if coll.IsAuth() {
		return appendMarshalled(b, m)
	}
	start := len(b)
	b = append(b, '{')
	for i, k := range messageKeysOf(coll).keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, k)
		b = append(b, ':')
		switch k {
		case core.FieldNameCollectionId:
			b = jsonenc.AppendString(b, coll.Id)
			continue
		case core.FieldNameCollectionName:
			b = jsonenc.AppendString(b, coll.Name)
			continue
		}
		switch v := m.Get(k).(type) {
		case string:
			b = jsonenc.AppendString(b, v)
		case types.DateTime:
			b = jsonenc.AppendString(b, v.String())
		default:
			return appendMarshalled(b[:start], m)
		}
	}
	return append(b, '}')
}

func appendMarshalled(b []byte, m *core.Record) []byte {
	raw, err := m.MarshalJSON()
	if err != nil {
		// only a record whose values cannot be encoded at all, which its save refuses
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// appendEvent appends ev's JSON, what json.Marshal(ev) writes up to escaping (the record is
// written as it is: it is JSON already).
func appendEvent(b []byte, ev event) []byte {
	b = append(b, `{"kind":`...)
	b = jsonenc.AppendString(b, ev.Kind)
	b = append(b, `,"room":`...)
	b = jsonenc.AppendString(b, ev.Room)
	if ev.User != "" {
		b = append(b, `,"user":`...)
		b = jsonenc.AppendString(b, ev.User)
	}
	if ev.Message != "" {
		b = append(b, `,"message":`...)
		b = jsonenc.AppendString(b, ev.Message)
	}
	if len(ev.Record) > 0 {
		b = append(b, `,"record":`...)
		b = append(b, ev.Record...)
	}
	return append(b, '}')
}

// messageFrame is {"message": record, "type": "message"}; record is valid JSON (an event's,
// which json.Unmarshal checked, or one this process wrote).
func messageFrame(record json.RawMessage) []byte {
	b := make([]byte, 0, len(record)+32)
	b = append(b, `{"message":`...)
	b = append(b, record...)
	return append(b, `,"type":"message"}`...)
}

// ackFrame is {"client_id": clientId, "message": record, "type": "ack"}.
func ackFrame(clientId string, record json.RawMessage) []byte {
	b := make([]byte, 0, len(record)+len(clientId)+48)
	b = append(b, `{"client_id":`...)
	b = jsonenc.AppendString(b, clientId)
	b = append(b, `,"message":`...)
	b = append(b, record...)
	return append(b, `,"type":"ack"}`...)
}
