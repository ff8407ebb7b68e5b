package recommend

import (
	"context"
	"fmt"
	"sync"
)

// Defaults of [MemoryStoreConfig].
const (
	// DefaultExactThreshold is the item count up to which [MemoryStore] scans every vector.
	// note: a 256-dimension inner product costs 0.13-0.25 µs on one core of the project's
	// busy 2-core machine, so an exact search over 8,192 items takes 1-2 ms, leaving room in
	// the 5 ms p99 budget for filters and a loaded CPU; the IVF index is faster from there on.
	DefaultExactThreshold = 8192
)

// MemoryStoreConfig configures a [MemoryStore].
type MemoryStoreConfig struct {
	// Dim is the vector dimension. Default: [DefaultHashDim].
	Dim int

	// ExactThreshold is the item count at which the store builds its approximate index; below
	// it every search is exact. Default: [DefaultExactThreshold]. A negative value never builds
	// the index (always exact).
	ExactThreshold int

	// NProbe is how many inverted lists an approximate search scans at least (more when a
	// filter drops most items). Default: 0, meaning 1/32 of the lists and at least 24 (24 at
	// 100k items, 50 at 1M), which keeps recall@10 near 1 on topic-structured data at about
	// 5 ms of CPU per search at 1M (see bench/vectors). Flat data made of thousands of
	// unrelated tight clusters needs more; raise it or use Milvus.
	NProbe int

	// Seed makes index training reproducible. Default: 1.
	Seed uint64
}

// MemoryStore is the embedded [VectorStore]: vectors in memory, persisted by the caller through
// [MemoryStore.WriteTo] and [MemoryStore.ReadFrom] (Tangerine keeps the snapshot in SQLite).
//
// Up to [MemoryStoreConfig.ExactThreshold] items every search scans all vectors, so results are
// exact. Above it the store trains an IVF-flat index: a two-level spherical k-means tree of
// about 2·sqrt(n) leaf centroids partitions the vectors into inverted lists, and a search scans
// the lists whose centroids are nearest to the query. Filters are checked while scanning, and
// scanning continues into further lists until at least 64·K items passed the filter, so a
// narrow filter costs time but neither results nor recall. The index is retrained from scratch
// whenever the item count has doubled since the last training, keeping lists short; vectors
// added in between go to the list of their nearest centroid.
//
// NB! Training runs inside the [MemoryStore.Upsert] call that crosses the threshold and holds
// the write lock: searches wait for it. It takes about 0.1 s at 16k items and several seconds
// at 1M (see docs/BENCHMARKS.md); bulk loads should upsert in large batches.
//
// A MemoryStore is safe for concurrent use: searches run in parallel, writes exclusively.
type MemoryStore struct {
	mu     sync.RWMutex
	cfg    MemoryStoreConfig
	closed bool

	slots []slot  // item attributes by slot number
	free  []int32 // reusable slot numbers of deleted items
	byId  map[string]int32
	lists []invList // one list (exact mode) or one per leaf centroid
	index *ivfIndex // nil in exact mode

	// kinds and owners are interned to small integers for the scan loop; the tables only
	// grow (by the number of distinct kinds and owners ever stored, i.e. users).
	kindCodes  map[string]int32
	ownerCodes map[string]int32
}

var _ VectorStore = (*MemoryStore)(nil)

// slot holds one item's attributes and where its vector lives.
type slot struct {
	id        string
	kind      string
	owner     string
	created   int64
	list      int32 // index in MemoryStore.lists
	pos       int32 // position inside that list
	published bool
}

// invList keeps its vectors, and the attributes filters test, contiguous so that a scan reads
// memory sequentially instead of chasing each item's slot (a cache miss per item).
type invList struct {
	slots []int32
	attrs []attr
	vecs  []float32
}

// attr is what a filter needs of an item, interned.
type attr struct {
	kind      int32
	owner     int32
	published bool
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(cfg MemoryStoreConfig) *MemoryStore {
	if cfg.Dim <= 0 {
		cfg.Dim = DefaultHashDim
	}
	if cfg.ExactThreshold == 0 {
		cfg.ExactThreshold = DefaultExactThreshold
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	s := &MemoryStore{cfg: cfg}
	s.reset()
	return s
}

func (s *MemoryStore) reset() {
	s.slots = nil
	s.free = nil
	s.byId = make(map[string]int32)
	s.lists = make([]invList, 1)
	s.index = nil
	s.kindCodes = make(map[string]int32)
	s.ownerCodes = make(map[string]int32)
}

// attrOf interns the filter attributes of it.
func (s *MemoryStore) attrOf(it Item) attr {
	return attr{kind: intern(s.kindCodes, it.Kind), owner: intern(s.ownerCodes, it.Owner), published: it.Published}
}

func intern(codes map[string]int32, v string) int32 {
	c, ok := codes[v]
	if !ok {
		c = int32(len(codes))
		codes[v] = c
	}
	return c
}

// Dim implements [VectorStore.Dim].
func (s *MemoryStore) Dim() int {
	return s.cfg.Dim
}

// Approximate reports whether searches currently use the approximate index.
func (s *MemoryStore) Approximate() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index != nil
}

// Upsert implements [VectorStore.Upsert]. Items are validated first, so an invalid item
// leaves the store unchanged. Vectors are copied.
func (s *MemoryStore) Upsert(ctx context.Context, items ...Item) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recommend: upsert: %w", err)
	}
	for _, it := range items {
		if err := it.Validate(s.cfg.Dim); err != nil {
			return err
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, it := range items {
		n, ok := s.byId[it.Id]
		if ok {
			s.removeVector(n)
		} else {
			n = s.allocSlot()
			s.byId[it.Id] = n
		}
		s.slots[n] = slot{
			id:        it.Id,
			kind:      it.Kind,
			owner:     it.Owner,
			created:   it.CreatedUnix,
			published: it.Published,
		}
		s.addVector(n, it.Vector, s.attrOf(it))
	}
	s.maybeTrain()
	return nil
}

// Delete implements [VectorStore.Delete].
func (s *MemoryStore) Delete(ctx context.Context, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recommend: delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, id := range ids {
		n, ok := s.byId[id]
		if !ok {
			continue
		}
		s.removeVector(n)
		delete(s.byId, id)
		s.slots[n] = slot{}
		s.free = append(s.free, n)
	}
	return nil
}

// Count implements [VectorStore.Count].
func (s *MemoryStore) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("recommend: count: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	return len(s.byId), nil
}

// Ping implements [VectorStore.Ping]; it fails only after Close.
func (s *MemoryStore) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recommend: ping: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Close implements [VectorStore.Close]; it drops the vectors from memory, so take a snapshot
// with [MemoryStore.WriteTo] first if they must survive.
func (s *MemoryStore) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.reset()
	return nil
}

// ----------------------------------------------------------------------------------------

// allocSlot returns a free slot number.
func (s *MemoryStore) allocSlot() int32 {
	if k := len(s.free); k > 0 {
		n := s.free[k-1]
		s.free = s.free[:k-1]
		return n
	}
	s.slots = append(s.slots, slot{})
	return int32(len(s.slots) - 1)
}

// addVector appends the vector of slot n to the list its nearest centroid owns.
func (s *MemoryStore) addVector(n int32, v []float32, a attr) {
	l := int32(0)
	if s.index != nil {
		l = s.index.assign(v)
	}
	list := &s.lists[l]
	s.slots[n].list = l
	s.slots[n].pos = int32(len(list.slots))
	list.slots = append(list.slots, n)
	list.attrs = append(list.attrs, a)
	list.vecs = append(list.vecs, v...)
}

// removeVector takes the vector of slot n out of its list by moving the list's last vector
// into its place.
func (s *MemoryStore) removeVector(n int32) {
	dim := s.cfg.Dim
	sl := &s.slots[n]
	list := &s.lists[sl.list]
	last := int32(len(list.slots) - 1)
	if sl.pos != last {
		moved := list.slots[last]
		list.slots[sl.pos] = moved
		list.attrs[sl.pos] = list.attrs[last]
		copy(list.vecs[int(sl.pos)*dim:], list.vecs[int(last)*dim:int(last+1)*dim])
		s.slots[moved].pos = sl.pos
	}
	list.slots = list.slots[:last]
	list.attrs = list.attrs[:last]
	list.vecs = list.vecs[:int(last)*dim]
}

// attrOfSlot returns the interned attributes of slot n.
func (s *MemoryStore) attrOfSlot(n int32) attr {
	sl := &s.slots[n]
	return s.lists[sl.list].attrs[sl.pos]
}

// vectorOf returns the stored vector of slot n (not a copy).
func (s *MemoryStore) vectorOf(n int32) []float32 {
	dim := s.cfg.Dim
	sl := &s.slots[n]
	return s.lists[sl.list].vecs[int(sl.pos)*dim : int(sl.pos+1)*dim]
}

var _ VectorReader = (*MemoryStore)(nil)

// ReadVectors implements [VectorReader]: it reads the vectors in place, under the read lock
// (writes move vectors inside their lists, so a vector may not be used after it returns).
func (s *MemoryStore) ReadVectors(ctx context.Context, ids []string, fn func(i int, vec []float32)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recommend: read vectors: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	for i, id := range ids {
		if n, ok := s.byId[id]; ok {
			fn(i, s.vectorOf(n))
		}
	}
	return nil
}
