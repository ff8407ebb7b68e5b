package recommend_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendtest"
)

// TestMemoryStoreSearchFilterEdges covers filter values the store has never seen: an unknown
// kind matches nothing, unknown excluded ids and owners exclude nothing.
func TestMemoryStoreSearchFilterEdges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 8})
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 20 {
		it := recommend.Item{Id: itemId(i), Kind: recommend.KindPost, Owner: "u1", Published: true, Vector: recommendtest.RandomUnit(rng, 8)}
		if err := s.Upsert(ctx, it); err != nil {
			t.Fatalf("Upsert failed: %v", err)
		}
	}
	q := recommendtest.RandomUnit(rng, 8)
	hits, err := s.Search(ctx, q, recommend.SearchOptions{K: 5, Kind: "video"})
	if err != nil || len(hits) != 0 {
		t.Fatalf("Expected no hits for a kind never stored, got %v, %v", hits, err)
	}
	hits, err = s.Search(ctx, q, recommend.SearchOptions{K: 5, ExcludeIds: []string{"nope"}, ExcludeOwners: []string{"nobody"}})
	if err != nil || len(hits) != 5 {
		t.Fatalf("Expected unknown exclusions to exclude nothing, got %d hits, %v", len(hits), err)
	}
	hits, err = s.Search(ctx, q, recommend.SearchOptions{K: 5, ExcludeOwners: []string{"u1"}})
	if err != nil || len(hits) != 0 {
		t.Fatalf("Expected excluding the only owner to leave nothing, got %v, %v", hits, err)
	}
}

func BenchmarkMemoryStoreSearchExact20k(b *testing.B) {
	benchmarkSearch(b, 20000, -1)
}

func BenchmarkMemoryStoreSearchIVF100k(b *testing.B) {
	benchmarkSearch(b, 100000, 0)
}

// benchmarkSearch times plain and filtered searches; bench/vectors measures recall too.
func benchmarkSearch(b *testing.B, n, threshold int) {
	rng := rand.New(rand.NewPCG(1, 1))
	data := recommendtest.Clustered(rng, 256, n+100, n/200, 0.8)
	s := recommend.NewMemoryStore(recommend.MemoryStoreConfig{ExactThreshold: threshold})
	items := make([]recommend.Item, n)
	for i, v := range data[:n] {
		items[i] = recommend.Item{Id: fmt.Sprintf("p%09d", i), Kind: []string{"post", "post", "product"}[i%3], Owner: fmt.Sprintf("u%06d", i%50000), Published: i%10 != 0, Vector: v}
	}
	s.Upsert(context.Background(), items...)
	for _, sc := range []struct {
		name string
		opts recommend.SearchOptions
	}{
		{"plain", recommend.SearchOptions{K: 10}},
		{"filtered", recommend.SearchOptions{K: 10, Kind: "post", OnlyPublished: true, ExcludeOwners: []string{"u000001", "u000002"}}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				s.Search(context.Background(), data[n+i%100], sc.opts)
				i++
			}
		})
	}
}
