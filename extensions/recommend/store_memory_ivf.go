package recommend

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// maxLeaves caps the number of inverted lists (reached at 16.7M items).
const maxLeaves = 8192

// ivfIndex is the coarse quantizer of [MemoryStore]'s approximate mode: leaf centroids, one per
// inverted list, grouped under top centroids so that placing a vector costs about
// 2·sqrt(leaves) inner products instead of one per leaf.
type ivfIndex struct {
	dim        int
	tops       []float32 // len(children) × dim
	children   [][]int32 // leaf numbers under each top
	leaves     []float32 // nleaf × dim
	leafParent []int32   // top of each leaf (kept for snapshots)
	trainedAt  int       // item count at training
}

func (x *ivfIndex) nleaf() int {
	return len(x.leafParent)
}

// assignTops is how many of the nearest top centroids assign searches for a vector's leaf.
// note: taking only the nearest top misroutes vectors near a top boundary into a leaf whose
// centroid is not their nearest; searches, which rank all leaves, then miss them. Three tops
// bring the result close to an exhaustive assignment for about 2.5 times the work of one.
const assignTops = 3

// assign returns the leaf (inverted list) for v: the best leaf under the nearest tops.
func (x *ivfIndex) assign(v []float32) int32 {
	dim := x.dim
	var tops [8]int32
	var topScores [8]float32
	m := min(assignTops, len(x.children), len(tops))
	nt := 0
	for t := range x.children {
		sc := float32(0)
		if len(x.children) > 1 {
			sc = Dot(v, x.tops[t*dim:(t+1)*dim])
		}
		// insertion into the small sorted array of the best m tops
		if nt < m {
			nt++
		} else if sc <= topScores[m-1] {
			continue
		}
		i := nt - 1
		for ; i > 0 && topScores[i-1] < sc; i-- {
			tops[i], topScores[i] = tops[i-1], topScores[i-1]
		}
		tops[i], topScores[i] = int32(t), sc
	}
	best, bestScore := x.children[tops[0]][0], float32(math.Inf(-1))
	for _, t := range tops[:nt] {
		for _, l := range x.children[t] {
			if sc := Dot(v, x.leaves[int(l)*dim:int(l+1)*dim]); sc > bestScore {
				best, bestScore = l, sc
			}
		}
	}
	return best
}

// probeOrder returns every leaf, nearest to q first. Scoring all leaves (not only those under
// the nearest tops) keeps recall independent of the tree's coarser first level.
func (x *ivfIndex) probeOrder(q []float32) []int32 {
	dim := x.dim
	n := x.nleaf()
	scores := make([]float32, n)
	order := make([]int32, n)
	for l := range n {
		scores[l] = Dot(q, x.leaves[l*dim:(l+1)*dim])
		order[l] = int32(l)
	}
	slices.SortFunc(order, func(a, b int32) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return int(a - b)
	})
	return order
}

// maybeTrain (re)builds the index when the store crossed the exact threshold or doubled since
// the last training. The caller holds the write lock.
func (s *MemoryStore) maybeTrain() {
	n := len(s.byId)
	switch {
	case s.cfg.ExactThreshold < 0:
		return
	case s.index == nil && n < s.cfg.ExactThreshold:
		return
	case s.index != nil && n < 2*s.index.trainedAt:
		return
	}
	s.train()
}

// train builds a new index over all stored vectors and redistributes them into its lists.
func (s *MemoryStore) train() {
	dim := s.cfg.Dim
	n := len(s.byId)
	all := make([]int32, 0, n)
	for _, l := range s.lists {
		all = append(all, l.slots...)
	}
	if n == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(s.cfg.Seed, uint64(n)))

	// note: 2·sqrt(n) lists of about sqrt(n)/2 vectors balance the two costs of a search,
	// scoring the leaf centroids and scanning the probed lists.
	nleaf := min(max(int(2*math.Sqrt(float64(n))), 8), maxLeaves, n)
	ntop := 1
	if nleaf > 64 {
		ntop = int(math.Ceil(math.Sqrt(float64(nleaf))))
	}

	// k-means runs on a sample: 40 points per leaf are plenty for centroids and keep training
	// linear in the number of leaves rather than in n·leaves.
	sampleSize := min(n, 40*nleaf)
	perm := rng.Perm(n)[:sampleSize]
	sample := make([]float32, sampleSize*dim)
	for i, p := range perm {
		copy(sample[i*dim:], s.vectorOf(all[p]))
	}

	x := &ivfIndex{dim: dim, trainedAt: n}
	x.tops = kmeans(sample, dim, ntop, rng)
	topOf := assignAll(sample, dim, x.tops)
	groups := make([][]float32, ntop)
	for i, t := range topOf {
		groups[t] = append(groups[t], sample[i*dim:(i+1)*dim]...)
	}
	x.children = make([][]int32, ntop)
	for t, g := range groups {
		members := len(g) / dim
		k := max(1, min(members, int(math.Round(float64(nleaf)*float64(members)/float64(sampleSize)))))
		var cs []float32
		if members == 0 {
			cs = slices.Clone(x.tops[t*dim : (t+1)*dim])
		} else {
			cs = kmeans(g, dim, k, rng)
		}
		for c := range len(cs) / dim {
			x.children[t] = append(x.children[t], int32(x.nleaf()))
			x.leafParent = append(x.leafParent, int32(t))
			x.leaves = append(x.leaves, cs[c*dim:(c+1)*dim]...)
		}
	}
	s.rebucket(x, all)
}

// rebucket moves every vector into the lists of the new index x.
func (s *MemoryStore) rebucket(x *ivfIndex, all []int32) {
	dim := s.cfg.Dim
	assigned := make([]int32, len(all))
	parallel(len(all), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			assigned[i] = x.assign(s.vectorOf(all[i]))
		}
	})
	sizes := make([]int, x.nleaf())
	for _, l := range assigned {
		sizes[l]++
	}
	lists := make([]invList, x.nleaf())
	for l := range lists {
		lists[l] = invList{
			slots: make([]int32, 0, sizes[l]),
			attrs: make([]attr, 0, sizes[l]),
			vecs:  make([]float32, 0, sizes[l]*dim),
		}
	}
	for i, n := range all {
		l := assigned[i]
		lists[l].slots = append(lists[l].slots, n)
		lists[l].attrs = append(lists[l].attrs, s.attrOfSlot(n))
		lists[l].vecs = append(lists[l].vecs, s.vectorOf(n)...)
	}
	// slots still point into the old lists until here: update them only now.
	for l := range lists {
		for pos, n := range lists[l].slots {
			s.slots[n].list, s.slots[n].pos = int32(l), int32(pos)
		}
	}
	s.lists, s.index = lists, x
}

// kmeans returns k unit-length centroids of the n = len(data)/dim points in data by spherical
// k-means (assign by inner product, centroid = normalised mean). k is capped at n.
func kmeans(data []float32, dim, k int, rng *rand.Rand) []float32 {
	const iterations = 10
	n := len(data) / dim
	k = min(k, n)
	cents := make([]float32, k*dim)
	for c, p := range rng.Perm(n)[:k] {
		copy(cents[c*dim:], data[p*dim:(p+1)*dim])
	}
	var prev []int32
	for range iterations {
		assign := assignAll(data, dim, cents)
		if slices.Equal(assign, prev) {
			break
		}
		prev = assign
		counts := make([]int, k)
		clear(cents)
		for i, c := range assign {
			counts[c]++
			row := cents[int(c)*dim : int(c+1)*dim]
			for j, v := range data[i*dim : (i+1)*dim] {
				row[j] += v
			}
		}
		for c := range k {
			row := cents[c*dim : (c+1)*dim]
			if counts[c] == 0 {
				// an empty cluster restarts at a random point instead of wasting a list
				p := rng.IntN(n)
				copy(row, data[p*dim:(p+1)*dim])
			}
			Normalize(row)
		}
	}
	return cents
}

// assignAll returns, for each point of data, the centroid of cents with the largest inner product.
func assignAll(data []float32, dim int, cents []float32) []int32 {
	n, k := len(data)/dim, len(cents)/dim
	out := make([]int32, n)
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := data[i*dim : (i+1)*dim]
			best, bestScore := 0, float32(math.Inf(-1))
			for c := range k {
				if sc := Dot(v, cents[c*dim:(c+1)*dim]); sc > bestScore {
					best, bestScore = c, sc
				}
			}
			out[i] = int32(best)
		}
	})
	return out
}

// parallel splits [0, n) into one chunk per available CPU; training is the only place the
// store uses more than the caller's goroutine.
func parallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		wg.Go(func() { fn(lo, min(lo+chunk, n)) })
	}
	wg.Wait()
}
