package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPreview(t *testing.T) {
	for _, s := range []struct {
		in   string
		want int // runes
	}{
		{"short", 5},
		{strings.Repeat("가", 140), 140},
		{strings.Repeat("가", 141), 140},
		{strings.Repeat("a", 2000), 140},
	} {
		got := preview(s.in)
		if n := utf8.RuneCountInString(got); n != s.want || !utf8.ValidString(got) || !strings.HasPrefix(s.in, got) {
			t.Fatalf("Expected a valid %d-rune prefix, got %d runes", s.want, n)
		}
	}
}

func TestFrames(t *testing.T) {
	if got := string(roomFrame("read", "r", "u", "m")); got != `{"message":"m","room":"r","type":"read","user":"u"}` {
		t.Fatalf("Unexpected read frame %s", got)
	}
	if got := string(errorFrame(codeNotMember, "No.", "c1")); got != `{"code":"not_member","message":"No.","ref":"c1","type":"error"}` {
		t.Fatalf("Unexpected error frame %s", got)
	}
}
