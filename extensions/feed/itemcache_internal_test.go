package feed

import (
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// TestItemCacheStoresOnlyWhatNoAppliedChangeCouldHaveChanged: an entry read at a change log
// position before the cache's is refused (a change applied meanwhile may have made it stale,
// and nothing would drop it later); one read at or past it is kept until a change drops it,
// it expires, or the encoders change. The cache stays within its size.
func TestItemCacheStoresOnlyWhatNoAppliedChangeCouldHaveChanged(t *testing.T) {
	enc := &itemEncoders{}
	c := newItemCache(10*entryOverhead, time.Minute)
	now := c.now()
	entry := func() map[string]*cachedPost {
		return map[string]*cachedPost{"a": {expires: now + int64(time.Minute)}}
	}
	cached := func(e *itemEncoders, at int64) bool {
		got := make([]*cachedPost, 1)
		c.lookup(e, []string{"a"}, got, at)
		return got[0] != nil
	}

	c.invalidate(nil, 5)
	c.store(enc, 4, entry(), nil)
	if cached(enc, now) {
		t.Fatal("Expected an entry read at position 4 refused by a cache at 5")
	}
	c.store(enc, 5, entry(), nil)
	if !cached(enc, now) {
		t.Fatal("Expected an entry read at the cache's position kept")
	}
	c.invalidate([]change{{seq: 6, kind: "c", newId: sql.NullString{String: "a", Valid: true}}}, 6)
	if cached(enc, now) {
		t.Fatal("Expected a content change to drop the entry")
	}
	c.store(enc, 8, entry(), nil) // the reader's snapshot is ahead of the cache: the catch-up drops it if needed
	if !cached(enc, now) {
		t.Fatal("Expected an entry read past the cache's position kept")
	}
	if cached(enc, now+int64(2*time.Minute)) {
		t.Fatal("Expected the entry expired after its TTL")
	}
	if cached(&itemEncoders{}, now) {
		t.Fatal("Expected no entry for other encoders")
	}

	// the budget holds 10 entries of entryOverhead bytes: expired ones go first, then random
	// ones, and the bytes held stay within it
	c.store(enc, 8, map[string]*cachedPost{"old": {expires: now - 1}}, nil)
	for i := range 5 {
		batch := map[string]*cachedPost{}
		for j := range 4 {
			batch[fmt.Sprint(i, "-", j)] = &cachedPost{expires: now + int64(time.Minute)}
		}
		c.store(enc, 8, batch, nil)
		if c.used > c.budget || len(c.posts) > 10 {
			t.Fatalf("Expected at most %d bytes in 10 entries, got %d bytes in %d", c.budget, c.used, len(c.posts))
		}
		if i == 2 && c.posts["old"] != nil {
			t.Fatal("Expected the expired entry evicted first")
		}
	}
	var sum int64
	for _, e := range c.posts {
		sum += e.size()
	}
	if sum != c.used {
		t.Fatalf("Expected the bytes held (%d) to be the entries' sizes (%d)", c.used, sum)
	}
	c.reset(3)
	if len(c.posts) != 0 || c.seq != 3 {
		t.Fatalf("Expected reset to empty the cache at position 3, got %d entries at %d", len(c.posts), c.seq)
	}
}
