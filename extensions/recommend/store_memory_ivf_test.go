package recommend_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendtest"
)

func TestMemoryStoreBuildsIndexAboveThreshold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 32, ExactThreshold: 1000})
	rng := rand.New(rand.NewPCG(1, 2))
	data := recommendtest.Clustered(rng, 32, 1000, 20, 0.7)
	for i, v := range data {
		if s.Approximate() {
			t.Fatalf("Expected exact mode below the threshold, approximate at %d items", i)
		}
		if err := s.Upsert(ctx, recommend.Item{Id: itemId(i), Kind: recommend.KindPost, Vector: v}); err != nil {
			t.Fatalf("Upsert failed: %v", err)
		}
	}
	if !s.Approximate() {
		t.Fatal("Expected the approximate index at the threshold")
	}
}

// TestMemoryStoreDeleteAfterIndexing checks that deletes and updates keep the inverted lists
// consistent: every remaining item is still found as its own nearest neighbour.
func TestMemoryStoreDeleteAfterIndexing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 3000
	s := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 32, ExactThreshold: 1000})
	rng := rand.New(rand.NewPCG(3, 4))
	data := recommendtest.Clustered(rng, 32, n, 25, 0.7)
	items := make([]recommend.Item, n)
	for i, v := range data {
		items[i] = recommend.Item{Id: itemId(i), Kind: recommend.KindPost, Vector: v}
	}
	if err := s.Upsert(ctx, items...); err != nil {
		t.Fatalf("Upsert failed: %v", err)
	}
	var deleted []string
	for i := 0; i < n; i += 3 {
		deleted = append(deleted, items[i].Id)
	}
	if err := s.Delete(ctx, deleted...); err != nil {
		t.Fatalf("Delete failed: %v", err)
	}
	for i := 1; i < n; i += 3 {
		items[i].Vector = recommendtest.RandomUnit(rng, 32)
		if err := s.Upsert(ctx, items[i]); err != nil {
			t.Fatalf("Upsert failed: %v", err)
		}
	}
	if c, _ := s.Count(ctx); c != n-len(deleted) {
		t.Fatalf("Expected %d items, got %d", n-len(deleted), c)
	}
	for i, it := range items {
		hits, err := s.Search(ctx, it.Vector, recommend.SearchOptions{K: 1})
		if err != nil {
			t.Fatalf("Search failed: %v", err)
		}
		gone := i%3 == 0
		if gone && len(hits) > 0 && hits[0].Id == it.Id {
			t.Fatalf("Expected deleted item %q to be gone", it.Id)
		}
		if !gone && (len(hits) != 1 || hits[0].Id != it.Id) {
			t.Fatalf("Expected item %q to be its own nearest neighbour, got %+v", it.Id, hits)
		}
	}
}

// TestMemoryStoreRetrainKeepsRecall grows an indexed store past two retrainings (the index is
// rebuilt whenever the store doubles) and checks recall against brute force after each step,
// so a bad retraining or a misrouted assignment of new vectors shows up as lost neighbours.
func TestMemoryStoreRetrainKeepsRecall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const dim = 32
	s := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: dim, ExactThreshold: 1000})
	rng := rand.New(rand.NewPCG(7, 8))
	data := recommendtest.Clustered(rng, dim, 6000+40, 120, 0.9)
	queries := data[6000:]
	var items []recommend.Item
	for _, size := range []int{1500, 3000, 6000} {
		added := len(items)
		for i := added; i < size; i++ {
			items = append(items, recommend.Item{Id: itemId(i), Kind: recommend.KindPost, Vector: data[i]})
		}
		// one item at a time, as the indexer writes: between retrainings new vectors are
		// routed to lists by the existing centroids
		for _, it := range items[added:] {
			if err := s.Upsert(ctx, it); err != nil {
				t.Fatalf("Upsert failed: %v", err)
			}
		}
		var sum float64
		for _, q := range queries {
			got, err := s.Search(ctx, q, recommend.SearchOptions{K: 10})
			if err != nil {
				t.Fatalf("Search failed: %v", err)
			}
			sum += recommendtest.Recall(got, recommendtest.BruteForce(items, q, recommend.SearchOptions{K: 10}))
		}
		if recall := sum / float64(len(queries)); recall < recommendtest.MinRecall {
			t.Fatalf("At %d items: expected recall@10 >= %v, got %.3f", size, recommendtest.MinRecall, recall)
		}
	}
}
