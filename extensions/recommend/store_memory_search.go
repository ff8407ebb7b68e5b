package recommend

import (
	"context"
	"fmt"
	"slices"
)

// Search implements [VectorStore.Search].
func (s *MemoryStore) Search(ctx context.Context, vec []float32, opts SearchOptions) ([]Hit, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("recommend: search: %w", err)
	}
	opts, err := opts.Validate()
	if err != nil {
		return nil, err
	}
	if len(vec) != s.cfg.Dim {
		return nil, fmt.Errorf("%w: query has %d dimensions, the store %d", ErrDimensionMismatch, len(vec), s.cfg.Dim)
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}

	f := s.newFilter(opts)
	top := topK{k: opts.K, slots: s.slots}
	switch {
	case f.none:
	case s.index == nil:
		s.scan(&s.lists[0], vec, f, &top)
	default:
		// note: a filter that drops most items would leave the nearest nprobe lists with few
		// matching candidates, all of them poor. Scanning on until 64·K items passed the
		// filter (or as many as nprobe lists hold on average, if fewer) keeps filtered recall at
		// the unfiltered level; rejected items cost a few nanoseconds each, not an inner
		// product, and mild filters (most items pass) reach the target within nprobe lists.
		nprobe := s.nprobe()
		want := min(nprobe*len(s.byId)/len(s.lists), 64*opts.K)
		matched := 0
		for i, l := range s.index.probeOrder(vec) {
			if i >= nprobe && len(top.heap) == top.k && matched >= want {
				break
			}
			matched += s.scan(&s.lists[l], vec, f, &top)
		}
	}
	return top.hits(), nil
}

// SetNProbe changes [MemoryStoreConfig.NProbe] of a live store (0 restores the automatic
// value), trading search time for recall; bench/vectors uses it to sweep values over one load.
func (s *MemoryStore) SetNProbe(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.NProbe = max(n, 0)
}

// nprobe returns the configured or automatic number of lists a search scans at least.
func (s *MemoryStore) nprobe() int {
	if s.cfg.NProbe > 0 {
		return s.cfg.NProbe
	}
	return max(24, len(s.lists)/32)
}

// scan scores every vector of l that passes f and returns how many did.
func (s *MemoryStore) scan(l *invList, q []float32, f *filter, top *topK) int {
	dim := s.cfg.Dim
	if !f.active {
		for j, n := range l.slots {
			top.push(Dot(q, l.vecs[j*dim:(j+1)*dim]), n)
		}
		return len(l.slots)
	}

	attrs := l.attrs[:len(l.slots)]
	matched := 0
	for j, n := range l.slots {
		if f.pass(n, attrs[j]) {
			matched++
		}
	}
	if matched*4 < len(l.slots) {
		// few pass: score only those
		for j, n := range l.slots {
			if f.pass(n, attrs[j]) {
				top.push(Dot(q, l.vecs[j*dim:(j+1)*dim]), n)
			}
		}
		return matched
	}
	// note: when most items pass, scoring every vector and filtering only those good enough
	// for the heap is faster than skipping: on the project's machines reading vectors with gaps
	// defeats the hardware prefetcher and costs up to twice as much as reading all of them.
	for j, n := range l.slots {
		score := Dot(q, l.vecs[j*dim:(j+1)*dim])
		if len(top.heap) == top.k && score < top.heap[0].score {
			continue
		}
		if f.pass(n, attrs[j]) {
			top.push(score, n)
		}
	}
	return matched
}

// ----------------------------------------------------------------------------------------

// filter is SearchOptions compiled for the scan loop.
type filter struct {
	active        bool  // false: everything passes
	none          bool  // true: nothing can pass (a kind never stored)
	kind          int32 // -1: any
	onlyPublished bool
	excludeSlots  map[int32]struct{}
	excludeOwners []int32
}

func (s *MemoryStore) newFilter(opts SearchOptions) *filter {
	f := &filter{kind: -1, onlyPublished: opts.OnlyPublished}
	if opts.Kind != "" {
		c, ok := s.kindCodes[opts.Kind]
		f.kind, f.none = c, !ok
	}
	if len(opts.ExcludeIds) > 0 {
		f.excludeSlots = make(map[int32]struct{}, len(opts.ExcludeIds))
		for _, id := range opts.ExcludeIds {
			if n, ok := s.byId[id]; ok {
				f.excludeSlots[n] = struct{}{}
			}
		}
	}
	for _, o := range opts.ExcludeOwners {
		if c, ok := s.ownerCodes[o]; ok && !slices.Contains(f.excludeOwners, c) {
			f.excludeOwners = append(f.excludeOwners, c)
		}
	}
	f.active = f.kind >= 0 || f.onlyPublished || len(f.excludeSlots) > 0 || len(f.excludeOwners) > 0
	return f
}

func (f *filter) pass(n int32, a attr) bool {
	if (f.kind >= 0 && a.kind != f.kind) || (f.onlyPublished && !a.published) {
		return false
	}
	if f.excludeSlots != nil {
		if _, ok := f.excludeSlots[n]; ok {
			return false
		}
	}
	// note: excluded owners are few (the user themself, blocked users), so a linear scan of
	// int32s beats hashing
	return len(f.excludeOwners) == 0 || !slices.Contains(f.excludeOwners, a.owner)
}

// topK keeps the k best (score, slot) pairs in a min-heap whose root is the worst kept one.
type topK struct {
	k     int
	heap  []scored
	slots []slot
}

type scored struct {
	score float32
	slot  int32
}

// below reports whether a ranks below b: lower score, or equal score and larger id.
func (t *topK) below(a, b scored) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return t.slots[a.slot].id > t.slots[b.slot].id
}

func (t *topK) push(score float32, n int32) {
	c := scored{score, n}
	if len(t.heap) < t.k {
		t.heap = append(t.heap, c)
		for i := len(t.heap) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.below(t.heap[i], t.heap[p]) {
				break
			}
			t.heap[i], t.heap[p] = t.heap[p], t.heap[i]
			i = p
		}
		return
	}
	if !t.below(t.heap[0], c) {
		return
	}
	t.heap[0] = c
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(t.heap) && t.below(t.heap[l], t.heap[m]) {
			m = l
		}
		if r < len(t.heap) && t.below(t.heap[r], t.heap[m]) {
			m = r
		}
		if m == i {
			break
		}
		t.heap[i], t.heap[m] = t.heap[m], t.heap[i]
		i = m
	}
}

// hits returns the kept pairs best first.
func (t *topK) hits() []Hit {
	slices.SortFunc(t.heap, func(a, b scored) int {
		switch {
		case t.below(b, a):
			return -1
		case t.below(a, b):
			return 1
		}
		return 0
	})
	out := make([]Hit, len(t.heap))
	for i, c := range t.heap {
		sl := &t.slots[c.slot]
		out[i] = Hit{Id: sl.id, Kind: sl.kind, Owner: sl.owner, CreatedUnix: sl.created, Score: c.score}
	}
	return out
}
