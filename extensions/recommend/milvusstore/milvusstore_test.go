package milvusstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

func TestFilterExpr(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		opts recommend.SearchOptions
		want string
	}{
		{recommend.SearchOptions{}, ""},
		{recommend.SearchOptions{Kind: recommend.KindPost}, `kind == "post"`},
		{recommend.SearchOptions{OnlyPublished: true}, `published == true`},
		{
			recommend.SearchOptions{Kind: recommend.KindProduct, OnlyPublished: true, ExcludeIds: []string{"a", "b"}, ExcludeOwners: []string{"u1"}},
			`kind == "product" and published == true and id not in ["a", "b"] and owner not in ["u1"]`,
		},
		// quotes and backslashes cannot break out of the literal
		{recommend.SearchOptions{ExcludeIds: []string{`x" or id != "`, `a\`}}, `id not in ["x\" or id != \"", "a\\"]`},
	}
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			if got := filterExpr(s.opts); got != s.want {
				t.Fatalf("Expected %s, got %s", s.want, got)
			}
		})
	}
}

func TestNewRequiresDim(t *testing.T) {
	t.Parallel()
	if _, err := New(context.Background(), Config{}); err == nil {
		t.Fatal("Expected New without a dimension to fail")
	}
}

func TestClosedStoreFailsFast(t *testing.T) {
	t.Parallel()
	// no server is needed: a closed store answers ErrClosed before any call
	s := &Store{cfg: Config{Dim: 4, Collection: "c"}}
	s.closed.Store(true)
	if err := s.Ping(context.Background()); !errors.Is(err, recommend.ErrClosed) {
		t.Fatalf("Expected ErrClosed, got %v", err)
	}
	if _, err := s.Search(context.Background(), make([]float32, 4), recommend.SearchOptions{}); !errors.Is(err, recommend.ErrClosed) {
		t.Fatalf("Expected ErrClosed, got %v", err)
	}
}
