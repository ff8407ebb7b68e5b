package recommend

import (
	"testing"
	"time"
)

// TestLRUEvictsLeastRecentlyUsedAndExpires checks the bound and the TTL of the taste and list
// caches.
func TestLRUEvictsLeastRecentlyUsedAndExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newLRU[int](2, time.Minute)
	c.now = func() time.Time { return now }
	c.put("a", 1)
	c.put("b", 2)
	if _, ok := c.get("a"); !ok { // a is now the most recent
		t.Fatal("Expected a")
	}
	c.put("c", 3) // evicts b
	if _, ok := c.get("b"); ok {
		t.Error("Expected b evicted")
	}
	if v, ok := c.get("c"); !ok || v != 3 {
		t.Errorf("Expected c=3, got %v %v", v, ok)
	}
	now = now.Add(2 * time.Minute)
	if _, ok := c.get("a"); ok {
		t.Error("Expected a expired")
	}
	c.put("e", 5)
	c.remove("e")
	if _, ok := c.get("e"); ok {
		t.Error("Expected e removed")
	}
	c.putFor("f", 6, 10*time.Second) // its own, shorter lifetime
	c.putFor("g", 7, time.Hour)      // capped at the cache's ttl
	now = now.Add(30 * time.Second)
	if _, ok := c.get("f"); ok {
		t.Error("Expected f expired after its own lifetime")
	}
	if _, ok := c.get("g"); !ok {
		t.Error("Expected g")
	}
	now = now.Add(31 * time.Second)
	if _, ok := c.get("g"); ok {
		t.Error("Expected g expired after the cache's ttl")
	}
	c.put("d", 4)
	c.clear()
	if _, ok := c.get("d"); ok {
		t.Error("Expected the cache empty after clear")
	}
}

// TestCursorRoundTripAndRejectsGarbage checks the opaque cursor format.
func TestCursorRoundTripAndRejectsGarbage(t *testing.T) {
	c := cursor{gen: newGen(), offset: 40}
	got, err := decodeCursor(c.encode())
	if err != nil || got != c {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range []string{"", "zzzz", cursor{gen: "short", offset: 1}.encode(), cursor{gen: c.gen, offset: -1}.encode(), cursor{gen: c.gen, offset: maxOffset + 1}.encode()} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("Expected %q rejected", bad)
		}
	}
}
