package jsonenc_test

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"strings"
	"testing"

	"github.com/tangerine-market/tangerine/internal/jsonenc"
)

// pocketbase encodes s as Record.MarshalJSON does.
func pocketbase(t *testing.T, s string) []byte {
	t.Helper()
	b, err := json.Marshal(s, json.Deterministic(true), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendStringIsPocketBasesEncoding(t *testing.T) {
	cases := []string{
		"", "plain", `quote " and \ backslash`, "<b>html</b> & ampersand", "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "한국어 텍스트", "emoji 🍊 and \u2028 \u2029", "bad \xff utf8 \xe2\x82", "\xc0\xaf",
		strings.Repeat("x", 2000) + "\"",
	}
	for c := range 256 {
		cases = append(cases, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"z")
	}
	for _, s := range cases {
		want := pocketbase(t, s)
		if got := jsonenc.AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
		if got := jsonenc.AppendStringBytes([]byte("x"), []byte(s)); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("%q (bytes): got %s, want x%s", s, got, want)
		}
	}
}
