package recommend_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendtest"
)

func TestMemoryStoreSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, threshold := range []int{-1, 500} {
		src := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 16, ExactThreshold: threshold})
		rng := rand.New(rand.NewPCG(5, 6))
		data := recommendtest.Clustered(rng, 16, 1200, 10, 0.7)
		for i, v := range data {
			it := recommend.Item{Id: itemId(i), Kind: recommend.KindProduct, Vector: v, Owner: "u" + itemId(i%7), Published: i%2 == 0, CreatedUnix: int64(i)}
			if err := src.Upsert(ctx, it); err != nil {
				t.Fatalf("Upsert failed: %v", err)
			}
		}
		var buf bytes.Buffer
		n, err := src.WriteTo(&buf)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("WriteTo: expected %d bytes and no error, got %d, %v", buf.Len(), n, err)
		}
		snapshot := slices.Clone(buf.Bytes())

		dst := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 16, ExactThreshold: threshold})
		if _, err := dst.ReadFrom(&buf); err != nil {
			t.Fatalf("ReadFrom failed: %v", err)
		}
		if dst.Approximate() != src.Approximate() {
			t.Fatalf("Expected approximate=%v after loading, got %v", src.Approximate(), dst.Approximate())
		}
		for q := range 30 {
			query := data[q*37]
			opts := recommend.SearchOptions{K: 7, OnlyPublished: q%2 == 1}
			want, _ := src.Search(ctx, query, opts)
			got, _ := dst.Search(ctx, query, opts)
			if !slices.Equal(got, want) {
				t.Fatalf("Expected the loaded store to answer like the original: %+v vs %+v", got, want)
			}
		}

		// a damaged or truncated snapshot is rejected and leaves the store as it was
		before, _ := dst.Count(ctx)
		bad := slices.Clone(snapshot)
		bad[len(bad)/2] ^= 0xff
		for name, data := range map[string][]byte{"flipped": bad, "truncated": snapshot[:len(snapshot)-9], "empty": nil} {
			if _, err := dst.ReadFrom(bytes.NewReader(data)); !errors.Is(err, recommend.ErrBadSnapshot) {
				t.Fatalf("Expected ErrBadSnapshot for a %s snapshot, got %v", name, err)
			}
		}
		if after, _ := dst.Count(ctx); after != before {
			t.Fatalf("Expected a failed load to keep %d items, got %d", before, after)
		}
		other := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: 8})
		if _, err := other.ReadFrom(bytes.NewReader(snapshot)); !errors.Is(err, recommend.ErrDimensionMismatch) {
			t.Fatalf("Expected ErrDimensionMismatch loading a 16-d snapshot into an 8-d store, got %v", err)
		}
	}
}
