package recommendtest

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

func (su *suite) testFilters(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(5, 5))
	items := su.randomItems(t, rng, s.Dim(), 120)
	mustUpsert(t, s, items...)

	query := randomUnit(rng, s.Dim())
	scenarios := []struct {
		name string
		opts recommend.SearchOptions
	}{
		{"kind post", recommend.SearchOptions{K: 15, Kind: recommend.KindPost}},
		{"kind product", recommend.SearchOptions{K: 15, Kind: recommend.KindProduct}},
		{"only published", recommend.SearchOptions{K: 15, OnlyPublished: true}},
		{"exclude ids", recommend.SearchOptions{K: 15, ExcludeIds: []string{items[0].Id, items[1].Id, items[2].Id, items[50].Id}}},
		{"exclude owners", recommend.SearchOptions{K: 15, ExcludeOwners: []string{"owner_0", "owner_2"}}},
		{"everything", recommend.SearchOptions{K: 15, Kind: recommend.KindPost, OnlyPublished: true,
			ExcludeIds: []string{items[4].Id, items[8].Id}, ExcludeOwners: []string{"owner_1"}}},
		{"more than match", recommend.SearchOptions{K: 200, Kind: recommend.KindProduct, OnlyPublished: true}},
	}
	for i, sc := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, sc.name), func(t *testing.T) {
			// 120 items with K=15: a store that cut the top K before filtering would return
			// fewer hits or different ones
			want := BruteForce(items, query, sc.opts)
			hits, err := s.Search(ctx, query, sc.opts)
			if err != nil {
				t.Fatalf("Search failed: %v", err)
			}
			if got, wantIds := hitIds(hits), hitIds(want); !slices.Equal(got, wantIds) {
				t.Fatalf("Expected %v, got %v", wantIds, got)
			}
		})
	}
}

func (su *suite) testTopKExact(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(6, 6))
	items := su.randomItems(t, rng, s.Dim(), 300)
	mustUpsert(t, s, items...)
	for q := range 20 {
		query := randomUnit(rng, s.Dim())
		want := BruteForce(items, query, recommend.SearchOptions{K: 10})
		hits, err := s.Search(ctx, query, recommend.SearchOptions{K: 10})
		if err != nil {
			t.Fatalf("Search failed: %v", err)
		}
		if !slices.Equal(hitIds(hits), hitIds(want)) {
			t.Fatalf("Query %d: expected %v, got %v", q, hitIds(want), hitIds(hits))
		}
		for i := range hits {
			if math.Abs(float64(hits[i].Score-want[i].Score)) > 1e-3 {
				t.Fatalf("Query %d: expected score %v for %q, got %v", q, want[i].Score, want[i].Id, hits[i].Score)
			}
		}
	}
}

func (su *suite) testRecall(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(7, 7))
	const n = 4000
	data := Clustered(rng, s.Dim(), n+50, 40, 0.7)
	items := make([]recommend.Item, n)
	for i := range items {
		items[i] = su.item(t, i, data[i])
	}
	for lo := 0; lo < n; lo += 1000 {
		mustUpsert(t, s, items[lo:min(lo+1000, n)]...)
	}
	mustCount(t, s, n)

	var found, total int
	for _, query := range data[n:] {
		want := BruteForce(items, query, recommend.SearchOptions{K: 10})
		hits, err := s.Search(ctx, query, recommend.SearchOptions{K: 10})
		if err != nil {
			t.Fatalf("Search failed: %v", err)
		}
		if len(hits) != 10 {
			t.Fatalf("Expected 10 hits, got %d", len(hits))
		}
		found += overlap(hitIds(hits), hitIds(want))
		total += len(want)
	}
	if recall := float64(found) / float64(total); recall < MinRecall {
		t.Fatalf("Expected recall@10 >= %v, got %.3f", MinRecall, recall)
	}
}

func (su *suite) testNarrowFilter(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(8, 8))
	const n = 3000
	data := Clustered(rng, s.Dim(), n+20, 30, 0.7)
	items := make([]recommend.Item, n)
	for i := range items {
		items[i] = su.item(t, i, data[i])
		items[i].Published = i%50 == 0 // 60 published items spread over every cluster
	}
	for lo := 0; lo < n; lo += 1000 {
		mustUpsert(t, s, items[lo:min(lo+1000, n)]...)
	}
	opts := recommend.SearchOptions{K: 10, OnlyPublished: true}
	var found int
	for _, query := range data[n:] {
		want := BruteForce(items, query, opts)
		hits, err := s.Search(ctx, query, opts)
		if err != nil {
			t.Fatalf("Search failed: %v", err)
		}
		if len(hits) != 10 {
			t.Fatalf("Expected 10 published hits although only 2%% of items are published, got %d", len(hits))
		}
		for _, h := range hits {
			if !items[indexOf(t, su, h.Id)].Published {
				t.Fatalf("Expected only published hits, got %q", h.Id)
			}
		}
		found += overlap(hitIds(hits), hitIds(want))
	}
	if recall := float64(found) / float64(10*20); recall < MinRecall {
		t.Fatalf("Expected filtered recall@10 >= %v, got %.3f", MinRecall, recall)
	}
}
