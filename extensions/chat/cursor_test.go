package chat

import "testing"

func TestCursorRoundTrip(t *testing.T) {
	c := cursor{Key: "2025-01-02 03:04:05.678Z", Id: "abcdefghijklmno"}
	got, err := decodeCursor(c.encode())
	if err != nil || got != c {
		t.Fatalf("Expected %v back, got %v (%v)", c, got, err)
	}
	for _, bad := range []string{"", "junk!", cursor{Key: "x", Id: "abcdefghijklmno"}.encode(), cursor{Key: c.Key, Id: "short"}.encode()} {
		if _, err := decodeCursor(bad); err == nil {
			t.Fatalf("Expected %q to be refused", bad)
		}
	}
}
