package recommend_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendtest"
)

func TestMemoryStoreExact(t *testing.T) {
	t.Parallel()
	recommendtest.RunStoreTests(t, func(t *testing.T) recommend.VectorStore {
		return recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 64, ExactThreshold: -1})
	})
}

func TestMemoryStoreApproximate(t *testing.T) {
	t.Parallel()
	// a low threshold puts the larger subtests (recall, narrow filter) on the IVF index,
	// retrained as they grow, while the small ones stay exact
	recommendtest.RunStoreTests(t, func(t *testing.T) recommend.VectorStore {
		return recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 64, ExactThreshold: 500})
	})
}

func TestMemoryStoreDefaultConfig(t *testing.T) {
	t.Parallel()
	recommendtest.RunStoreTests(t, func(t *testing.T) recommend.VectorStore {
		return recommend.NewMemoryStore(recommend.MemoryStoreConfig{})
	})
}

// TestMemoryStoreConcurrent runs writers and searchers together; run with -race.
func TestMemoryStoreConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 16, ExactThreshold: 300})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 400 {
				v := recommendtest.RandomUnit(rng, 16)
				id := itemId(w*1000 + i)
				if err := s.Upsert(ctx, recommend.Item{Id: id, Kind: recommend.KindPost, Vector: v}); err != nil {
					t.Errorf("Upsert failed: %v", err)
					return
				}
				if _, err := s.Search(ctx, v, recommend.SearchOptions{K: 5}); err != nil {
					t.Errorf("Search failed: %v", err)
					return
				}
				if i%4 == 0 {
					if err := s.Delete(ctx, id); err != nil {
						t.Errorf("Delete failed: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if c, _ := s.Count(ctx); c != 4*300 {
		t.Fatalf("Expected %d items, got %d", 4*300, c)
	}
}

func itemId(i int) string {
	return fmt.Sprintf("item%06d", i)
}
