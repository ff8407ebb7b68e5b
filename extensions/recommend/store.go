package recommend

import (
	"context"
	"errors"
	"fmt"
)

// Item kinds stored by the indexer. Stores accept any non-empty kind of at most [MaxKindLength]
// bytes; these are the ones Tangerine uses.
const (
	KindPost    = "post"
	KindProduct = "product"
)

// Limits every [VectorStore] enforces, so that behaviour does not depend on the backend (Milvus
// rejects longer varchar values and larger top-k).
const (
	// MaxIdLength is the longest item id (PocketBase ids are 15 characters).
	MaxIdLength = 64
	// MaxKindLength is the longest item kind.
	MaxKindLength = 32
	// MaxOwnerLength is the longest owner id.
	MaxOwnerLength = 64
	// MaxSearchK is the largest [SearchOptions.K].
	MaxSearchK = 1000
	// DefaultSearchK is used when [SearchOptions.K] is 0.
	DefaultSearchK = 10
)

// Errors returned (wrapped) by every [VectorStore] where its contract names them; test for them
// with errors.Is.
var (
	// ErrDimensionMismatch means a vector's length differs from the store's dimension.
	ErrDimensionMismatch = errors.New("recommend: vector dimension mismatch")
	// ErrInvalidItem means an item has an empty or too long id, kind or owner.
	ErrInvalidItem = errors.New("recommend: invalid item")
	// ErrInvalidOptions means [SearchOptions] are out of range.
	ErrInvalidOptions = errors.New("recommend: invalid search options")
	// ErrClosed is returned by calls made after [VectorStore.Close].
	ErrClosed = errors.New("recommend: vector store closed")
)

// Item is one indexed post or product: its vector plus the few attributes that searches filter
// on, so that filtering happens inside the index and a search still returns K results.
type Item struct {
	// Id is the record id; it is the item's identity in the store.
	Id string
	// Kind is [KindPost] or [KindProduct].
	Kind string
	// Vector is the item's embedding, of the store's dimension and L2-normalised (see
	// [Embedder]); stores keep it as given.
	Vector []float32
	// Owner is the id of the user who owns the record.
	Owner string
	// Published is false for drafts and for hidden and removed records, which
	// [SearchOptions.OnlyPublished] keeps out of results.
	Published bool
	// CreatedUnix is the record's creation time in Unix seconds, returned with hits for
	// recency ranking.
	CreatedUnix int64
}

// Hit is one search result.
type Hit struct {
	Id          string
	Kind        string
	Owner       string
	CreatedUnix int64
	// Score is the inner product of the query and the item's vector: the cosine similarity
	// for normalised vectors, in [-1, 1], higher is closer.
	Score float32
}

// SearchOptions narrows a search. The zero value asks for the [DefaultSearchK] nearest items of
// any kind, published or not.
type SearchOptions struct {
	// K is the number of hits wanted, 1..[MaxSearchK]; 0 means [DefaultSearchK].
	K int
	// Kind restricts hits to one kind; empty means any.
	Kind string
	// ExcludeIds are item ids that must not be returned (the item itself for "similar", posts
	// already liked or viewed for "for you").
	ExcludeIds []string
	// ExcludeOwners are owners whose items must not be returned (the user's own items).
	ExcludeOwners []string
	// OnlyPublished keeps items with Published == false out of the hits.
	OnlyPublished bool
}

// Validate checks the options against the store's limits and returns a copy with K filled in.
func (o SearchOptions) Validate() (SearchOptions, error) {
	if o.K == 0 {
		o.K = DefaultSearchK
	}
	if o.K < 0 || o.K > MaxSearchK {
		return o, fmt.Errorf("%w: k must be within 1..%d, got %d", ErrInvalidOptions, MaxSearchK, o.K)
	}
	return o, nil
}

// Validate checks that the item fits a store of dimension dim.
func (it Item) Validate(dim int) error {
	switch {
	case it.Id == "" || len(it.Id) > MaxIdLength:
		return fmt.Errorf("%w: id %q must be 1..%d bytes", ErrInvalidItem, it.Id, MaxIdLength)
	case it.Kind == "" || len(it.Kind) > MaxKindLength:
		return fmt.Errorf("%w: kind %q of item %q must be 1..%d bytes", ErrInvalidItem, it.Kind, it.Id, MaxKindLength)
	case len(it.Owner) > MaxOwnerLength:
		return fmt.Errorf("%w: owner of item %q is longer than %d bytes", ErrInvalidItem, it.Id, MaxOwnerLength)
	case len(it.Vector) != dim:
		return fmt.Errorf("%w: item %q has %d dimensions, the store %d", ErrDimensionMismatch, it.Id, len(it.Vector), dim)
	}
	return nil
}

// VectorStore keeps the vectors of posts and products and finds the nearest ones to a query.
//
// Contract every implementation keeps (checked by recommendtest.RunStoreTests):
//   - The metric is the inner product; vectors are expected L2-normalised, so scores are
//     cosine similarities. Stores do not normalise.
//   - Every vector has exactly [VectorStore.Dim] components; Upsert and Search reject others
//     with an error wrapping [ErrDimensionMismatch] and change nothing.
//   - Writes are visible to the next Search and Count once they return (read-your-writes).
//   - Filters are applied inside the search, not to its top K afterwards: a search returns
//     min(K, number of matching items) hits, ordered by descending score (ties by ascending id).
//     Exact stores return the true top K; approximate ones (an index above a size threshold)
//     keep recall@10 at or above 0.95 on clustered data.
//   - A cancelled or expired ctx aborts the call with an error wrapping ctx.Err() (in-memory
//     stores, whose calls take microseconds to milliseconds, check it on entry only).
//   - After Close every method returns an error wrapping [ErrClosed]; Close twice is harmless.
//   - All methods are safe for concurrent use.
type VectorStore interface {
	// Dim returns the vector dimension the store was created with.
	Dim() int

	// Upsert inserts items or replaces the items with the same ids (vector and attributes).
	// Within one call a repeated id keeps its last occurrence. The call is all or nothing when
	// validation fails (nothing is written); a backend failure may leave a prefix written,
	// which retrying the same call repairs because Upsert is idempotent.
	Upsert(ctx context.Context, items ...Item) error

	// Search returns the items nearest to vec that match opts.
	Search(ctx context.Context, vec []float32, opts SearchOptions) ([]Hit, error)

	// Delete removes the items with the given ids. Missing ids are ignored, so deleting twice
	// is harmless.
	Delete(ctx context.Context, ids ...string) error

	// Count returns the number of stored items of every kind, published or not.
	Count(ctx context.Context) (int, error)

	// Ping reports whether the store is usable; /api/status uses it.
	Ping(ctx context.Context) error

	// Close releases the store's resources. It does not delete stored data.
	Close(ctx context.Context) error
}

// VectorReader is an optional interface of a [VectorStore] that can hand out its stored vectors
// cheaply (from memory). Taste vectors read the vectors of a user's signals through it when the
// store implements it, and from the _recommend_vectors table otherwise (Milvus), which the
// indexer keeps in step with the store.
type VectorReader interface {
	// ReadVectors calls fn(i, vec) for each ids[i] the store holds, in ascending i; repeated ids
	// are reported at each of their positions. vec is the store's own memory, valid only during
	// the call: fn must not keep or modify it, nor call the store (fn runs under its read lock).
	// A cancelled ctx aborts the call with an error wrapping ctx.Err().
	ReadVectors(ctx context.Context, ids []string, fn func(i int, vec []float32)) error
}
