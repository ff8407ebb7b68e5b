package recommendtest

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

func (su *suite) testDimensionMismatch(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(9, 9))
	good := su.randomItems(t, rng, s.Dim(), 2)
	bad := good[1]
	bad.Vector = randomUnit(rng, s.Dim()+1)

	if err := s.Upsert(ctx, good[0], bad); !errors.Is(err, recommend.ErrDimensionMismatch) {
		t.Fatalf("Expected ErrDimensionMismatch from Upsert, got %v", err)
	}
	mustCount(t, s, 0)
	if _, err := s.Search(ctx, randomUnit(rng, s.Dim()-1), recommend.SearchOptions{}); !errors.Is(err, recommend.ErrDimensionMismatch) {
		t.Fatalf("Expected ErrDimensionMismatch from Search, got %v", err)
	}
}

func (su *suite) testInvalidInput(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(10, 10))
	it := su.randomItems(t, rng, s.Dim(), 1)[0]

	noId := it
	noId.Id = ""
	noKind := it
	noKind.Kind = ""
	for _, bad := range []recommend.Item{noId, noKind} {
		if err := s.Upsert(ctx, bad); !errors.Is(err, recommend.ErrInvalidItem) {
			t.Fatalf("Expected ErrInvalidItem for %+v, got %v", bad, err)
		}
	}
	for _, k := range []int{-1, recommend.MaxSearchK + 1} {
		if _, err := s.Search(ctx, it.Vector, recommend.SearchOptions{K: k}); !errors.Is(err, recommend.ErrInvalidOptions) {
			t.Fatalf("Expected ErrInvalidOptions for K=%d, got %v", k, err)
		}
	}
	if err := s.Upsert(ctx); err != nil {
		t.Fatalf("Expected Upsert of nothing to succeed, got %v", err)
	}
	mustCount(t, s, 0)
}

func (su *suite) testCancelled(t *testing.T, s recommend.VectorStore) {
	rng := mrand.New(mrand.NewPCG(11, 11))
	it := su.randomItems(t, rng, s.Dim(), 1)[0]
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Upsert(ctx, it); !errors.Is(err, context.Canceled) {
		t.Fatalf("Expected Upsert to fail with context.Canceled, got %v", err)
	}
	if _, err := s.Search(ctx, it.Vector, recommend.SearchOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Expected Search to fail with context.Canceled, got %v", err)
	}
	if err := s.Delete(ctx, it.Id); !errors.Is(err, context.Canceled) {
		t.Fatalf("Expected Delete to fail with context.Canceled, got %v", err)
	}
	if _, err := s.Count(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Expected Count to fail with context.Canceled, got %v", err)
	}
}

func (su *suite) testClose(t *testing.T, s recommend.VectorStore) {
	ctx := ctxFor(t)
	rng := mrand.New(mrand.NewPCG(12, 12))
	it := su.randomItems(t, rng, s.Dim(), 1)[0]
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Expected Ping on an open store to succeed, got %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close failed: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Expected a second Close to be harmless, got %v", err)
	}
	checks := map[string]error{
		"Ping":   s.Ping(ctx),
		"Upsert": s.Upsert(ctx, it),
		"Delete": s.Delete(ctx, it.Id),
	}
	_, checks["Search"] = s.Search(ctx, it.Vector, recommend.SearchOptions{})
	_, checks["Count"] = s.Count(ctx)
	for name, err := range checks {
		if !errors.Is(err, recommend.ErrClosed) {
			t.Fatalf("Expected %s after Close to fail with ErrClosed, got %v", name, err)
		}
	}
}
