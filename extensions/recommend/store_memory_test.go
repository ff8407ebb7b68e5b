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

// TestMemoryStoreReadVectors reads stored vectors in place by position, repeated and unknown
// ids included, also after a delete moved vectors inside their list.
func TestMemoryStoreReadVectors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 4, ExactThreshold: -1})
	vec := func(x float32) []float32 { return []float32{x, x + 1, x + 2, x + 3} }
	for i := range 5 {
		if err := s.Upsert(ctx, recommend.Item{Id: fmt.Sprint("i", i), Kind: recommend.KindPost, Vector: vec(float32(10 * i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "i1"); err != nil { // moves i4's vector into i1's place
		t.Fatal(err)
	}
	ids := []string{"i4", "nope", "i1", "i0", "i4"}
	got := map[int][]float32{}
	var order []int
	err := s.ReadVectors(ctx, ids, func(i int, v []float32) {
		order = append(order, i)
		got[i] = append([]float32(nil), v...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(order) != "[0 3 4]" {
		t.Fatalf("Expected positions [0 3 4], got %v", order)
	}
	for i, want := range map[int][]float32{0: vec(40), 3: vec(0), 4: vec(40)} {
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Errorf("Position %d: expected %v, got %v", i, want, got[i])
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.ReadVectors(cctx, ids, func(int, []float32) {}); err == nil {
		t.Error("Expected an error for a cancelled context")
	}
	_ = s.Close(ctx)
	if err := s.ReadVectors(ctx, ids, func(int, []float32) {}); err == nil {
		t.Error("Expected an error after Close")
	}
}
