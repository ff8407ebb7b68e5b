//go:build integration

package milvusstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/milvusstore"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendtest"
)

// milvusAddr returns TANGERINE_MILVUS_ADDR; integration tests fail rather than skip without it,
// so a misconfigured CI cannot pass by testing nothing.
func milvusAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("TANGERINE_MILVUS_ADDR")
	if addr == "" {
		t.Fatal("TANGERINE_MILVUS_ADDR is not set; start Milvus with scripts/milvus.sh start and export TANGERINE_MILVUS_ADDR=127.0.0.1:19530")
	}
	return addr
}

// newCollection opens a store on a fresh, uniquely named collection that is dropped when t
// ends, so runs never see each other's items.
func newCollection(t *testing.T, dim int) *milvusstore.Store {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("Failed to read random bytes: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := milvusstore.New(ctx, milvusstore.Config{
		Addr:       milvusAddr(t),
		Collection: "tangerine_test_" + hex.EncodeToString(b[:]),
		Dim:        dim,
		BatchSize:  400, // several requests per upsert in the recall subtests
	})
	if err != nil {
		t.Fatalf("New failed: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// the "Close" subtest closes the store; reopen to drop its collection
		if err := s.Ping(ctx); errors.Is(err, recommend.ErrClosed) {
			reopened, err := milvusstore.New(ctx, milvusstore.Config{Addr: milvusAddr(t), Collection: s.Collection(), Dim: dim})
			if err != nil {
				t.Errorf("Failed to reopen %s for dropping: %v", s.Collection(), err)
				return
			}
			s = reopened
		}
		if err := s.Drop(ctx); err != nil {
			t.Errorf("Failed to drop %s: %v", s.Collection(), err)
		}
	})
	return s
}

func TestMilvusStoreContract(t *testing.T) {
	recommendtest.RunStoreTests(t, func(t *testing.T) recommend.VectorStore {
		return newCollection(t, 64)
	})
}

func TestMilvusStoreReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	s := newCollection(t, 8)
	vec := recommend.Normalize([]float32{1, 2, 3, 4, 5, 6, 7, 8})
	if err := s.Upsert(ctx, recommend.Item{Id: "p1", Kind: recommend.KindPost, Vector: vec, Owner: "u1", Published: true}); err != nil {
		t.Fatalf("Upsert failed: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush failed: %v", err)
	}
	hits, err := s.Search(ctx, vec, recommend.SearchOptions{K: 1})
	if err != nil || len(hits) != 1 || hits[0].Id != "p1" {
		t.Fatalf("Expected the flushed item to be found, got %+v, %v", hits, err)
	}

	again, err := milvusstore.New(ctx, milvusstore.Config{Addr: milvusAddr(t), Collection: s.Collection(), Dim: 8})
	if err != nil {
		t.Fatalf("Reopening failed: %v", err)
	}
	defer again.Close(ctx)
	if n, err := again.Count(ctx); err != nil || n != 1 {
		t.Fatalf("Expected the reopened store to count 1 item, got %d, %v", n, err)
	}

	_, err = milvusstore.New(ctx, milvusstore.Config{Addr: milvusAddr(t), Collection: s.Collection(), Dim: 16})
	if !errors.Is(err, recommend.ErrDimensionMismatch) {
		t.Fatalf("Expected ErrDimensionMismatch opening an 8-d collection as 16-d, got %v", err)
	}
}

func TestMilvusStoreUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// port 1 on loopback refuses connections: New must fail within its dial timeout
	_, err := milvusstore.New(ctx, milvusstore.Config{Addr: "127.0.0.1:1", Dim: 8, DialTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("Expected New to fail against a closed port")
	}
}
