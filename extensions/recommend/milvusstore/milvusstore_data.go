package milvusstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

// Upsert implements [recommend.VectorStore.Upsert]. Items go out in batches of
// [Config.BatchSize]; a failure part-way leaves the earlier batches written, which a retry of
// the same call repairs.
func (s *Store) Upsert(ctx context.Context, items ...recommend.Item) error {
	ctx, cancel, err := s.begin(ctx, "upsert")
	if err != nil {
		return err
	}
	defer cancel()
	for _, it := range items {
		if err := it.Validate(s.cfg.Dim); err != nil {
			return err
		}
	}

	// a repeated id keeps its last occurrence: Milvus does not define which of two rows with
	// one primary key in a request wins
	last := make(map[string]int, len(items))
	for i, it := range items {
		last[it.Id] = i
	}
	unique := make([]recommend.Item, 0, len(last))
	for i, it := range items {
		if last[it.Id] == i {
			unique = append(unique, it)
		}
	}

	for lo := 0; lo < len(unique); lo += s.cfg.BatchSize {
		batch := unique[lo:min(lo+s.cfg.BatchSize, len(unique))]
		n := len(batch)
		ids, kinds, owners := make([]string, n), make([]string, n), make([]string, n)
		published, created, vectors := make([]bool, n), make([]int64, n), make([][]float32, n)
		for i, it := range batch {
			ids[i], kinds[i], owners[i] = it.Id, it.Kind, it.Owner
			published[i], created[i], vectors[i] = it.Published, it.CreatedUnix, it.Vector
		}
		opt := milvusclient.NewColumnBasedInsertOption(s.cfg.Collection).
			WithVarcharColumn(fieldId, ids).
			WithVarcharColumn(fieldKind, kinds).
			WithVarcharColumn(fieldOwner, owners).
			WithBoolColumn(fieldPublished, published).
			WithInt64Column(fieldCreated, created).
			WithFloatVectorColumn(fieldVector, s.cfg.Dim, vectors)
		if _, err := s.client.Upsert(ctx, opt); err != nil {
			return s.fail(ctx, "upsert", err)
		}
	}
	return nil
}

// Delete implements [recommend.VectorStore.Delete].
func (s *Store) Delete(ctx context.Context, ids ...string) error {
	ctx, cancel, err := s.begin(ctx, "delete")
	if err != nil {
		return err
	}
	defer cancel()
	for lo := 0; lo < len(ids); lo += s.cfg.BatchSize {
		batch := ids[lo:min(lo+s.cfg.BatchSize, len(ids))]
		if _, err := s.client.Delete(ctx, milvusclient.NewDeleteOption(s.cfg.Collection).WithStringIDs(fieldId, batch)); err != nil {
			return s.fail(ctx, "delete", err)
		}
	}
	return nil
}

// Count implements [recommend.VectorStore.Count] with a strongly consistent count(*) query.
func (s *Store) Count(ctx context.Context) (int, error) {
	ctx, cancel, err := s.begin(ctx, "count")
	if err != nil {
		return 0, err
	}
	defer cancel()
	rs, err := s.client.Query(ctx, milvusclient.NewQueryOption(s.cfg.Collection).
		WithOutputFields("count(*)").
		WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		return 0, s.fail(ctx, "count", err)
	}
	col := rs.GetColumn("count(*)")
	if col == nil || col.Len() != 1 {
		return 0, fmt.Errorf("milvusstore: count on %s: no count(*) in the answer", s.cfg.Collection)
	}
	n, err := col.GetAsInt64(0)
	if err != nil {
		return 0, fmt.Errorf("milvusstore: count on %s: %w", s.cfg.Collection, err)
	}
	return int(n), nil
}

// Search implements [recommend.VectorStore.Search]. The filters become one boolean expression
// that Milvus applies during the HNSW search.
func (s *Store) Search(ctx context.Context, vec []float32, opts recommend.SearchOptions) ([]recommend.Hit, error) {
	ctx, cancel, err := s.begin(ctx, "search")
	if err != nil {
		return nil, err
	}
	defer cancel()
	opts, err = opts.Validate()
	if err != nil {
		return nil, err
	}
	if len(vec) != s.cfg.Dim {
		return nil, fmt.Errorf("%w: query has %d dimensions, the store %d", recommend.ErrDimensionMismatch, len(vec), s.cfg.Dim)
	}

	opt := milvusclient.NewSearchOption(s.cfg.Collection, opts.K, []entity.Vector{entity.FloatVector(vec)}).
		WithANNSField(fieldVector).
		WithOutputFields(fieldKind, fieldOwner, fieldCreated).
		WithConsistencyLevel(entity.ClStrong).
		WithAnnParam(index.NewHNSWAnnParam(max(64, 2*opts.K)))
	if expr := filterExpr(opts); expr != "" {
		opt = opt.WithFilter(expr)
	}
	results, err := s.client.Search(ctx, opt)
	if err != nil {
		return nil, s.fail(ctx, "search", err)
	}
	if len(results) != 1 {
		return nil, fmt.Errorf("milvusstore: search on %s: %d result sets for one query", s.cfg.Collection, len(results))
	}
	rs := results[0]
	if rs.Err != nil {
		return nil, s.fail(ctx, "search", rs.Err)
	}
	kinds, owners, created := rs.GetColumn(fieldKind), rs.GetColumn(fieldOwner), rs.GetColumn(fieldCreated)
	if rs.IDs == nil || kinds == nil || owners == nil || created == nil {
		return nil, fmt.Errorf("milvusstore: search on %s: answer lacks ids or output fields", s.cfg.Collection)
	}
	hits := make([]recommend.Hit, rs.ResultCount)
	for i := range hits {
		h := &hits[i]
		var errs [4]error
		h.Id, errs[0] = rs.IDs.GetAsString(i)
		h.Kind, errs[1] = kinds.GetAsString(i)
		h.Owner, errs[2] = owners.GetAsString(i)
		h.CreatedUnix, errs[3] = created.GetAsInt64(i)
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("milvusstore: search on %s: read hit %d: %w", s.cfg.Collection, i, err)
			}
		}
		h.Score = rs.Scores[i]
	}
	return hits, nil
}

// filterExpr turns opts into a Milvus boolean expression, "" for no filter.
func filterExpr(opts recommend.SearchOptions) string {
	var parts []string
	if opts.Kind != "" {
		parts = append(parts, fieldKind+" == "+quote(opts.Kind))
	}
	if opts.OnlyPublished {
		parts = append(parts, fieldPublished+" == true")
	}
	if len(opts.ExcludeIds) > 0 {
		parts = append(parts, fieldId+" not in "+quoteList(opts.ExcludeIds))
	}
	if len(opts.ExcludeOwners) > 0 {
		parts = append(parts, fieldOwner+" not in "+quoteList(opts.ExcludeOwners))
	}
	return strings.Join(parts, " and ")
}
