package chat_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

var trickyTexts = []string{
	"hi", `"quoted" \ back`, "<b>html</b> & more", "tab\tline\nfeed\r\x00\x1f\x7f", "한국어 🍊 \u2028",
	"bad \xff utf8 \xe2\x82", strings.Repeat("긴", 2000), "",
}

// TestAppendMessageIsMarshalJSON: the messages of WebSocket sends are written by hand; the
// bytes are Record.MarshalJSON's, for the chat_messages collection, a collection with a hidden
// field (left out) and one with a number field (which the encoder leaves to MarshalJSON).
func TestAppendMessageIsMarshalJSON(t *testing.T) {
	app := testapp.New(t)
	messages, err := app.FindCollectionByNameOrId(collections.ChatMessages)
	if err != nil {
		t.Fatal(err)
	}
	hidden := core.NewBaseCollection("hidden")
	hidden.Fields.Add(
		&core.TextField{Name: "text"},
		&core.TextField{Name: "secret", Hidden: true},
		&core.AutodateField{Name: "created", OnCreate: true},
	)
	number := core.NewBaseCollection("number")
	number.Fields.Add(&core.TextField{Name: "text"}, &core.NumberField{Name: "n"})
	created, _ := types.ParseDateTime(time.Date(2026, 12, 7, 3, 4, 5, 678e6, time.UTC))
	for _, text := range trickyTexts {
		for _, coll := range []*core.Collection{messages, hidden, number} {
			m := core.NewRecord(coll)
			m.Id = "abcdefghij12345"
			m.Set("room", "room12345678901")
			m.Set("sender", "user12345678901")
			m.Set("text", text)
			m.Set("client_id", text)
			m.Set("secret", "not shown")
			m.Set("n", 4.5)
			m.SetRaw("created", created)
			want, err := m.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if got := chat.AppendMessage([]byte("x"), m); !bytes.Equal(got, append([]byte("x"), want...)) {
				t.Errorf("%s %q:\ngot  %s\nwant x%s", coll.Name, text, got, want)
			}
		}
	}
}

// TestEventEncodingRoundTrips: an event written by hand reads back as it was written.
func TestEventEncodingRoundTrips(t *testing.T) {
	for _, s := range trickyTexts {
		for _, record := range []string{"", `{"id":"x","text":"<a> \"q\""}`} {
			data, back, err := chat.EventJSON("message", s, s, s, []byte(record))
			if err != nil {
				t.Fatalf("%q: %s does not decode: %v", s, data, err)
			}
			want := validUTF8(s)
			if back["kind"] != "message" || back["room"] != want || back["user"] != want || back["message"] != want || back["record"] != record {
				t.Fatalf("%q: %s decoded to %v", s, data, back)
			}
		}
	}
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 with U+FFFD, as
// PocketBase's encoder does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
