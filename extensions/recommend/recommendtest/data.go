package recommendtest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

// BruteForce returns the exact answer to a search over items: every item passing opts, ranked
// by inner product with query (ties by ascending id), cut to opts.K (0 meaning
// [recommend.DefaultSearchK]). It is the reference the stores are compared with.
func BruteForce(items []recommend.Item, query []float32, opts recommend.SearchOptions) []recommend.Hit {
	if opts.K == 0 {
		opts.K = recommend.DefaultSearchK
	}
	var hits []recommend.Hit
	for _, it := range items {
		if (opts.Kind != "" && it.Kind != opts.Kind) ||
			(opts.OnlyPublished && !it.Published) ||
			slices.Contains(opts.ExcludeIds, it.Id) ||
			slices.Contains(opts.ExcludeOwners, it.Owner) {
			continue
		}
		hits = append(hits, recommend.Hit{
			Id: it.Id, Kind: it.Kind, Owner: it.Owner, CreatedUnix: it.CreatedUnix,
			Score: recommend.Dot(query, it.Vector),
		})
	}
	slices.SortFunc(hits, func(a, b recommend.Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Id, b.Id)
	})
	return hits[:min(opts.K, len(hits))]
}

// RandomUnit returns a uniformly random unit vector.
func RandomUnit(rng *rand.Rand, dim int) []float32 {
	return randomUnit(rng, dim)
}

func randomUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return recommend.Normalize(v)
}

// Clustered returns n unit vectors drawn around `clusters` random centres, a stand-in for
// embeddings of posts about a limited number of topics: each vector is its centre plus
// Gaussian noise of relative length spread (0.7 puts a vector about 35 degrees from its centre,
// cosine about 0.67 to its cluster-mates and about 0 to other clusters), normalised. Point i
// belongs to cluster i % clusters.
func Clustered(rng *rand.Rand, dim, n, clusters int, spread float64) [][]float32 {
	centres := make([][]float32, clusters)
	for c := range centres {
		centres[c] = randomUnit(rng, dim)
	}
	scale := spread / math.Sqrt(float64(dim))
	out := make([][]float32, n)
	for i := range out {
		c := centres[i%clusters]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + float32(scale*rng.NormFloat64())
		}
		out[i] = recommend.Normalize(v)
	}
	return out
}

// Topical returns n unit vectors with two levels of structure, closer to real text embeddings
// than [Clustered]: `categories` random directions (say food, electronics, fashion), topics
// spread around them (tangerines, laptops) and items spread around their topic, each level
// adding Gaussian noise of relative length spread before normalising. With spread 1, items of
// one topic have cosine about 0.5, items of sibling topics about 0.25, others about 0. Point i
// belongs to topic i % topics, and topic t to category t % categories.
func Topical(rng *rand.Rand, dim, n, categories, topics int, spread float64) [][]float32 {
	cats := make([][]float32, categories)
	for c := range cats {
		cats[c] = randomUnit(rng, dim)
	}
	scale := spread / math.Sqrt(float64(dim))
	around := func(centre []float32) []float32 {
		v := make([]float32, dim)
		for j := range v {
			v[j] = centre[j] + float32(scale*rng.NormFloat64())
		}
		return recommend.Normalize(v)
	}
	centres := make([][]float32, topics)
	for t := range centres {
		centres[t] = around(cats[t%categories])
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = around(centres[i%topics])
	}
	return out
}

// Recall returns the fraction of want's ids that got contains.
func Recall(got, want []recommend.Hit) float64 {
	if len(want) == 0 {
		return 1
	}
	return float64(overlap(hitIds(got), hitIds(want))) / float64(len(want))
}

func hitIds(hits []recommend.Hit) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Id
	}
	return ids
}

func overlap(got, want []string) int {
	n := 0
	for _, id := range want {
		if slices.Contains(got, id) {
			n++
		}
	}
	return n
}

// item returns test item i with vector v and attributes that cycle, so filters always have
// something to keep and something to drop.
func (su *suite) item(t *testing.T, i int, v []float32) recommend.Item {
	kind := recommend.KindPost
	if i%3 == 2 {
		kind = recommend.KindProduct
	}
	return recommend.Item{
		Id:          su.id(t, i),
		Kind:        kind,
		Vector:      v,
		Owner:       fmt.Sprintf("owner_%d", i%4),
		Published:   i%5 != 0,
		CreatedUnix: 1_700_000_000 + int64(i),
	}
}

func (su *suite) randomItems(t *testing.T, rng *rand.Rand, dim, n int) []recommend.Item {
	items := make([]recommend.Item, n)
	for i := range items {
		items[i] = su.item(t, i, randomUnit(rng, dim))
	}
	return items
}

func indexOf(t *testing.T, su *suite, id string) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(id[strings.LastIndexByte(id, '_')+1:], "%d", &i); err != nil || !strings.HasPrefix(id, su.prefix) {
		t.Fatalf("Unexpected id %q not made by this suite: %v", id, err)
	}
	return i
}

func mustUpsert(t *testing.T, s recommend.VectorStore, items ...recommend.Item) {
	t.Helper()
	if err := s.Upsert(ctxFor(t), items...); err != nil {
		t.Fatalf("Upsert of %d items failed: %v", len(items), err)
	}
}

func mustCount(t *testing.T, s recommend.VectorStore, want int) {
	t.Helper()
	n, err := s.Count(ctxFor(t))
	if err != nil {
		t.Fatalf("Count failed: %v", err)
	}
	if n != want {
		t.Fatalf("Expected Count %d, got %d", want, n)
	}
}
