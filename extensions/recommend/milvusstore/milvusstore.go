// Package milvusstore is a [recommend.VectorStore] on Milvus, for when the vectors outgrow one
// process or several tangerine processes must share them. It talks to Milvus through the
// official Go client (github.com/milvus-io/milvus/client/v2) over gRPC.
//
// The store keeps one collection with the fields id (varchar primary key), kind, owner
// (varchar), published (bool), created (int64) and vector (float vector, HNSW index, inner
// product metric). Filters become Milvus boolean expressions evaluated inside the search, so
// a search returns K results however many items the filters drop. Reads use strong
// consistency, so a search sees every write that returned before it.
//
// Example usage:
//
//	store, err := milvusstore.New(ctx, milvusstore.Config{
//		Addr: os.Getenv("TANGERINE_MILVUS_ADDR"), // 127.0.0.1:19530 when empty
//		Dim:  embedder.Dim(),
//	})
//	if err != nil {
//		return err
//	}
//	defer store.Close(context.Background())
//
//	hits, err := store.Search(ctx, vec, recommend.SearchOptions{K: 20, OnlyPublished: true})
package milvusstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

// Defaults of [Config].
const (
	DefaultAddr        = "127.0.0.1:19530"
	DefaultCollection  = "tangerine_items"
	DefaultDialTimeout = 10 * time.Second
	DefaultCallTimeout = 15 * time.Second
	DefaultBatchSize   = 1000
)

// Field names of the collection.
const (
	fieldId        = "id"
	fieldKind      = "kind"
	fieldOwner     = "owner"
	fieldPublished = "published"
	fieldCreated   = "created"
	fieldVector    = "vector"
)

// HNSW build parameters: M=16 and efConstruction=200 are Milvus' documented middle ground
// between memory, build time and recall; searches use ef = max(64, 2K).
const (
	hnswM              = 16
	hnswEfConstruction = 200
)

// Config configures a [Store].
type Config struct {
	// Addr is the Milvus gRPC address, host:port. Default: [DefaultAddr].
	Addr string

	// Username and Password authenticate when Milvus has authentication enabled. Default: none.
	Username string
	Password string

	// Collection is the collection name; New creates it when missing. Default:
	// [DefaultCollection].
	Collection string

	// Dim is the vector dimension, the embedder's. Required. New fails with
	// [recommend.ErrDimensionMismatch] when an existing collection has another dimension
	// (after switching embedders: drop it with [Store.Drop] and reindex).
	Dim int

	// DialTimeout bounds connecting and preparing the collection in New. Default:
	// [DefaultDialTimeout].
	DialTimeout time.Duration

	// CallTimeout bounds each call to Milvus when the caller's ctx allows longer. Default:
	// [DefaultCallTimeout].
	CallTimeout time.Duration

	// BatchSize is the most items sent in one insert or delete request (gRPC messages are
	// limited in size). Default: [DefaultBatchSize].
	BatchSize int
}

// Store is a [recommend.VectorStore] backed by a Milvus collection. It is safe for concurrent
// use (the gRPC client multiplexes calls on one connection).
type Store struct {
	cfg    Config
	client *milvusclient.Client
	closed atomic.Bool
}

// Store keeps the recommend.VectorStore contract (checked by the integration test).
var _ recommend.VectorStore = (*Store)(nil)

// New connects to Milvus and makes sure the collection exists with its index and is loaded for
// search, creating what is missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Dim <= 0 {
		return nil, errors.New("milvusstore: the vector dimension is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Collection == "" {
		cfg.Collection = DefaultCollection
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	client, err := milvusclient.New(ctx, &milvusclient.ClientConfig{
		Address:  cfg.Addr,
		Username: cfg.Username,
		Password: cfg.Password,
	})
	if err != nil {
		return nil, fmt.Errorf("milvusstore: connect to %s: %w", cfg.Addr, err)
	}
	s := &Store{cfg: cfg, client: client}
	if err := s.prepare(ctx); err != nil {
		client.Close(context.Background())
		return nil, err
	}
	return s, nil
}

// prepare creates the collection and its index when missing, checks the dimension of an
// existing one, and loads it.
func (s *Store) prepare(ctx context.Context) error {
	name := s.cfg.Collection
	has, err := s.client.HasCollection(ctx, milvusclient.NewHasCollectionOption(name))
	if err != nil {
		return fmt.Errorf("milvusstore: check collection %s: %w", name, err)
	}
	if has {
		coll, err := s.client.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
		if err != nil {
			return fmt.Errorf("milvusstore: describe collection %s: %w", name, err)
		}
		if err := s.checkSchema(coll.Schema); err != nil {
			return err
		}
	} else {
		// note: the client's CreateCollection with index options ignores a failed index build,
		// so the index is created, and awaited, separately below.
		opt := milvusclient.NewCreateCollectionOption(name, s.schema()).
			WithConsistencyLevel(entity.ClStrong)
		if err := s.client.CreateCollection(ctx, opt); err != nil {
			return fmt.Errorf("milvusstore: create collection %s: %w", name, err)
		}
	}

	if _, err := s.client.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, fieldVector)); err != nil {
		idx := index.NewHNSWIndex(entity.IP, hnswM, hnswEfConstruction)
		task, err := s.client.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, fieldVector, idx).WithIndexName(fieldVector))
		if err != nil {
			return fmt.Errorf("milvusstore: create index on %s: %w", name, err)
		}
		if err := task.Await(ctx); err != nil {
			return fmt.Errorf("milvusstore: build index on %s: %w", name, err)
		}
	}

	task, err := s.client.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		return fmt.Errorf("milvusstore: load collection %s: %w", name, err)
	}
	if err := task.Await(ctx); err != nil {
		return fmt.Errorf("milvusstore: wait for collection %s to load: %w", name, err)
	}
	return nil
}

func (s *Store) schema() *entity.Schema {
	return entity.NewSchema().
		WithName(s.cfg.Collection).
		WithDescription("Tangerine post and product vectors").
		WithDynamicFieldEnabled(false).
		WithField(entity.NewField().WithName(fieldId).WithDataType(entity.FieldTypeVarChar).
			WithMaxLength(recommend.MaxIdLength).WithIsPrimaryKey(true).WithIsAutoID(false)).
		WithField(entity.NewField().WithName(fieldKind).WithDataType(entity.FieldTypeVarChar).
			WithMaxLength(recommend.MaxKindLength)).
		WithField(entity.NewField().WithName(fieldOwner).WithDataType(entity.FieldTypeVarChar).
			WithMaxLength(recommend.MaxOwnerLength)).
		WithField(entity.NewField().WithName(fieldPublished).WithDataType(entity.FieldTypeBool)).
		WithField(entity.NewField().WithName(fieldCreated).WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName(fieldVector).WithDataType(entity.FieldTypeFloatVector).
			WithDim(int64(s.cfg.Dim)))
}

// checkSchema verifies that an existing collection has the fields this store writes.
func (s *Store) checkSchema(sch *entity.Schema) error {
	want := map[string]entity.FieldType{
		fieldId: entity.FieldTypeVarChar, fieldKind: entity.FieldTypeVarChar, fieldOwner: entity.FieldTypeVarChar,
		fieldPublished: entity.FieldTypeBool, fieldCreated: entity.FieldTypeInt64, fieldVector: entity.FieldTypeFloatVector,
	}
	for _, f := range sch.Fields {
		typ, ok := want[f.Name]
		if !ok {
			continue
		}
		if f.DataType != typ {
			return fmt.Errorf("milvusstore: collection %s: field %s is %s, want %s", s.cfg.Collection, f.Name, f.DataType, typ)
		}
		if f.Name == fieldVector {
			dim, err := f.GetDim()
			if err != nil {
				return fmt.Errorf("milvusstore: collection %s: read vector dimension: %w", s.cfg.Collection, err)
			}
			if int(dim) != s.cfg.Dim {
				return fmt.Errorf("%w: collection %s has %d dimensions, configured %d", recommend.ErrDimensionMismatch, s.cfg.Collection, dim, s.cfg.Dim)
			}
		}
		delete(want, f.Name)
	}
	if len(want) > 0 {
		return fmt.Errorf("milvusstore: collection %s lacks fields %v; drop it and reindex", s.cfg.Collection, want)
	}
	return nil
}

// Dim implements [recommend.VectorStore.Dim].
func (s *Store) Dim() int {
	return s.cfg.Dim
}

// Collection returns the name of the collection the store uses.
func (s *Store) Collection() string {
	return s.cfg.Collection
}

// Ping implements [recommend.VectorStore.Ping]: the server answers and the collection exists.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel, err := s.begin(ctx, "ping")
	if err != nil {
		return err
	}
	defer cancel()
	has, err := s.client.HasCollection(ctx, milvusclient.NewHasCollectionOption(s.cfg.Collection))
	if err != nil {
		return s.fail(ctx, "ping", err)
	}
	if !has {
		return fmt.Errorf("milvusstore: ping: collection %s does not exist", s.cfg.Collection)
	}
	return nil
}

// Flush asks Milvus to seal the data written so far into indexed segments and waits for it.
// Writes are searchable without it (growing segments are searched by brute force); a bulk
// load such as a reindex calls it once at the end so that searches use the HNSW index.
func (s *Store) Flush(ctx context.Context) error {
	ctx, cancel, err := s.begin(ctx, "flush")
	if err != nil {
		return err
	}
	defer cancel()
	task, err := s.client.Flush(ctx, milvusclient.NewFlushOption(s.cfg.Collection))
	if err != nil {
		return s.fail(ctx, "flush", err)
	}
	if err := task.Await(ctx); err != nil {
		return s.fail(ctx, "flush", err)
	}
	return nil
}

// Drop deletes the collection and everything in it, then closes the store. Use it before a
// reindex with another embedder dimension, and in tests.
func (s *Store) Drop(ctx context.Context) error {
	ctx, cancel, err := s.begin(ctx, "drop")
	if err != nil {
		return err
	}
	defer cancel()
	if err := s.client.DropCollection(ctx, milvusclient.NewDropCollectionOption(s.cfg.Collection)); err != nil {
		return s.fail(ctx, "drop", err)
	}
	return s.Close(ctx)
}

// Close implements [recommend.VectorStore.Close]: it closes the connection; the collection
// stays in Milvus.
func (s *Store) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.client.Close(ctx); err != nil {
		return fmt.Errorf("milvusstore: close: %w", err)
	}
	return nil
}

// begin checks that the store is open and ctx alive, and bounds ctx by the call timeout.
func (s *Store) begin(ctx context.Context, op string) (context.Context, context.CancelFunc, error) {
	if s.closed.Load() {
		return nil, nil, fmt.Errorf("milvusstore: %s: %w", op, recommend.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("milvusstore: %s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	return ctx, cancel, nil
}

// fail wraps a client error; when ctx ended, its error is wrapped too, because gRPC status
// errors do not match context.Canceled or context.DeadlineExceeded with errors.Is.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("milvusstore: %s: %w: %w", op, recommend.ErrClosed, err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("milvusstore: %s: %w: %w", op, ctxErr, err)
	}
	return fmt.Errorf("milvusstore: %s on %s: %w", op, s.cfg.Collection, err)
}

// quote returns s as a Milvus expression string literal.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// quoteList returns values as a Milvus expression list of string literals.
func quoteList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quote(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
