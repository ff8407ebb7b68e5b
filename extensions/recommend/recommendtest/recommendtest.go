// Package recommendtest holds the conformance suite that every [recommend.VectorStore] passes:
// the in-memory store in plain `go test`, Milvus in the integration tests. Behaviour must not
// depend on which store is in use, so both run the same subtests.
//
// Example usage:
//
//	func TestMemoryStore(t *testing.T) {
//		recommendtest.RunStoreTests(t, func(t *testing.T) recommend.VectorStore {
//			return recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 64})
//		})
//	}
package recommendtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

// MinRecall is the recall@10 against exact search that approximate stores must reach.
const MinRecall = 0.95

// RunStoreTests runs the [recommend.VectorStore] contract against stores made by newStore.
//
// newStore is called once per subtest and must return an empty-looking store: either really
// empty, or (for a persistent server) one whose other contents do not share the ids this suite
// generates. Ids carry a random per-run prefix, so reruns against a persistent server do not
// collide; the suite compares against its own brute force only when it owns every item, so a
// factory for a shared collection should create a fresh collection per call. newStore should
// register the store's cleanup with t.Cleanup; the suite calls Close itself only in the
// "Close" subtest.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) recommend.VectorStore) {
	t.Helper()
	run := &suite{prefix: randomPrefix(t)}
	tests := []struct {
		name string
		fn   func(t *testing.T, s recommend.VectorStore)
	}{
		{"UpsertThenSearchFindsItself", run.testUpsertSearch},
		{"UpsertReplacesVectorAndAttributes", run.testUpdate},
		{"UpsertRepeatedIdKeepsLast", run.testRepeatedId},
		{"DeleteRemovesAndIgnoresMissing", run.testDelete},
		{"FiltersApplyBeforeTopK", run.testFilters},
		{"TopKEqualsBruteForce", run.testTopKExact},
		{"RecallAgainstBruteForce", run.testRecall},
		{"NarrowFilterStillReturnsK", run.testNarrowFilter},
		{"DimensionMismatch", run.testDimensionMismatch},
		{"InvalidInput", run.testInvalidInput},
		{"CancelledContext", run.testCancelled},
		{"Close", run.testClose},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%d_%s", i, tc.name), func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

type suite struct {
	prefix string
}

func randomPrefix(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("Failed to read random bytes: %v", err)
	}
	return "t" + hex.EncodeToString(b[:])
}

// id returns a unique id for item i of the named subtest.
func (su *suite) id(t *testing.T, i int) string {
	name := t.Name()
	if k := strings.LastIndexByte(name, '/'); k >= 0 {
		name = name[k+1:]
	}
	if k := strings.IndexByte(name, '_'); k >= 0 {
		name = name[:k]
	}
	return fmt.Sprintf("%s_%s_%d", su.prefix, name, i)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (su *suite) testUpsertSearch(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(1, 1))
	items := su.randomItems(t, rng, s.Dim(), 20)
	mustUpsert(t, s, items...)
	mustCount(t, s, len(items))

	for _, it := range items[:5] {
		hits, err := s.Search(ctx, it.Vector, recommend.SearchOptions{K: 3})
		if err != nil {
			t.Fatalf("Search failed: %v", err)
		}
		if len(hits) != 3 {
			t.Fatalf("Expected 3 hits, got %d", len(hits))
		}
		h := hits[0]
		if h.Id != it.Id || h.Kind != it.Kind || h.Owner != it.Owner || h.CreatedUnix != it.CreatedUnix {
			t.Fatalf("Expected first hit %+v to be the item %q itself with its attributes", h, it.Id)
		}
		if math.Abs(float64(h.Score)-1) > 1e-3 {
			t.Fatalf("Expected self score 1 (inner product of a unit vector), got %v", h.Score)
		}
		for i := 1; i < len(hits); i++ {
			if hits[i].Score > hits[i-1].Score {
				t.Fatalf("Expected hits by descending score, got %+v", hits)
			}
		}
	}

	hits, err := s.Search(ctx, items[0].Vector, recommend.SearchOptions{})
	if err != nil {
		t.Fatalf("Search with zero options failed: %v", err)
	}
	if len(hits) != recommend.DefaultSearchK {
		t.Fatalf("Expected K=0 to mean %d hits, got %d", recommend.DefaultSearchK, len(hits))
	}
}

func (su *suite) testUpdate(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(2, 2))
	items := su.randomItems(t, rng, s.Dim(), 30)
	mustUpsert(t, s, items...)

	old := items[0]
	updated := old
	updated.Vector = randomUnit(rng, s.Dim())
	updated.Kind = recommend.KindProduct
	updated.Owner = "owner_changed"
	updated.Published = false
	updated.CreatedUnix = old.CreatedUnix + 99
	mustUpsert(t, s, updated)
	mustCount(t, s, len(items))

	hits, err := s.Search(ctx, updated.Vector, recommend.SearchOptions{K: 1})
	if err != nil {
		t.Fatalf("Search failed: %v", err)
	}
	want := recommend.Hit{Id: updated.Id, Kind: updated.Kind, Owner: updated.Owner, CreatedUnix: updated.CreatedUnix}
	if len(hits) != 1 || hits[0].Id != want.Id || hits[0].Kind != want.Kind || hits[0].Owner != want.Owner || hits[0].CreatedUnix != want.CreatedUnix {
		t.Fatalf("Expected the updated item %+v, got %+v", want, hits)
	}

	hits, err = s.Search(ctx, old.Vector, recommend.SearchOptions{K: 1})
	if err != nil {
		t.Fatalf("Search failed: %v", err)
	}
	if len(hits) == 1 && hits[0].Id == old.Id && hits[0].Score > 0.99 {
		t.Fatalf("Expected the old vector of %q to be gone, it still scores %v", old.Id, hits[0].Score)
	}

	hits, err = s.Search(ctx, updated.Vector, recommend.SearchOptions{K: 5, OnlyPublished: true})
	if err != nil {
		t.Fatalf("Search failed: %v", err)
	}
	if slices.ContainsFunc(hits, func(h recommend.Hit) bool { return h.Id == updated.Id }) {
		t.Fatalf("Expected the unpublished update of %q to be filtered out, got %+v", updated.Id, hits)
	}
}

func (su *suite) testRepeatedId(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(3, 3))
	first := su.randomItems(t, rng, s.Dim(), 1)[0]
	last := first
	last.Vector = randomUnit(rng, s.Dim())
	last.Owner = "last_owner"
	mustUpsert(t, s, first, last)
	mustCount(t, s, 1)
	hits, err := s.Search(ctx, last.Vector, recommend.SearchOptions{K: 1})
	if err != nil {
		t.Fatalf("Search failed: %v", err)
	}
	if len(hits) != 1 || hits[0].Owner != "last_owner" || hits[0].Score < 0.99 {
		t.Fatalf("Expected the last occurrence of %q to win, got %+v", first.Id, hits)
	}
}

func (su *suite) testDelete(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(4, 4))
	items := su.randomItems(t, rng, s.Dim(), 10)
	mustUpsert(t, s, items...)

	gone := []string{items[0].Id, items[3].Id}
	if err := s.Delete(ctx, gone[0], su.id(t, 999), gone[1]); err != nil {
		t.Fatalf("Expected Delete with a missing id to succeed, got %v", err)
	}
	if err := s.Delete(ctx, gone...); err != nil {
		t.Fatalf("Expected a second Delete of the same ids to succeed, got %v", err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Expected Delete of nothing to succeed, got %v", err)
	}
	mustCount(t, s, len(items)-2)

	for _, id := range gone {
		vec := items[slices.IndexFunc(items, func(it recommend.Item) bool { return it.Id == id })].Vector
		hits, err := s.Search(ctx, vec, recommend.SearchOptions{K: len(items)})
		if err != nil {
			t.Fatalf("Search failed: %v", err)
		}
		if len(hits) != len(items)-2 {
			t.Fatalf("Expected %d hits after deleting 2, got %d", len(items)-2, len(hits))
		}
		for _, h := range hits {
			if slices.Contains(gone, h.Id) {
				t.Fatalf("Expected deleted item %q to be gone, got it in %+v", h.Id, hits)
			}
		}
	}

	// a deleted id can come back
	mustUpsert(t, s, items[0])
	mustCount(t, s, len(items)-1)
}
