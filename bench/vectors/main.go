// Command vectors benchmarks Tangerine's vector stores: for each size it loads random but
// clustered unit vectors (a stand-in for embeddings of posts: items around topics around
// categories, see recommendtest.Topical; -categories 0 gives flat unrelated topics, the worst
// case for an IVF index) into the embedded MemoryStore, and optionally into Milvus, then
// measures indexing throughput, memory, query latency (p50/p99 wall clock and p99 thread CPU
// time, one query at a time, plain and filtered) and recall@10 against exact search. Results go
// to docs/BENCHMARKS.md.
//
// Usage:
//
//	go run ./bench/vectors                                  # 100,000 and 1,000,000 vectors
//	go run ./bench/vectors -sizes 20000 -queries 200        # a quick run
//	go run ./bench/vectors -milvus 127.0.0.1:19530          # Milvus too (up to -milvus-max)
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/milvusstore"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendtest"
	"golang.org/x/sys/unix"
)

type config struct {
	sizes         []int
	dim           int
	queries       int
	recallQueries int
	k             int
	clusterSize   int
	categories    int
	spread        float64
	batch         int
	nprobes       []int
	exactMax      int
	milvusAddr    string
	milvusMax     int
	seed          uint64
}

func main() {
	log.SetFlags(0)
	var cfg config
	var sizes string
	flag.StringVar(&sizes, "sizes", "100000,1000000", "comma-separated store sizes")
	flag.IntVar(&cfg.dim, "dim", recommend.DefaultHashDim, "vector dimension (the hashing embedder's by default)")
	flag.IntVar(&cfg.queries, "queries", 1000, "timed queries per store")
	flag.IntVar(&cfg.recallQueries, "recall-queries", 200, "queries whose exact top-k is computed for recall")
	flag.IntVar(&cfg.k, "k", 10, "hits per query")
	flag.IntVar(&cfg.clusterSize, "cluster-size", 100, "average vectors per topic")
	flag.IntVar(&cfg.categories, "categories", 100, "categories the topics belong to; 0 for flat, unrelated topics (IVF's worst case)")
	flag.Float64Var(&cfg.spread, "spread", 1.0, "noise length relative to the cluster centre (1.0: cosine ~0.5 within a cluster, ~0 across)")
	flag.IntVar(&cfg.batch, "batch", 1000, "items per Upsert call")
	var nprobes string
	flag.StringVar(&nprobes, "nprobe", "0", "comma-separated MemoryStore NProbe values to time over one load (0: the store's default)")
	flag.IntVar(&cfg.exactMax, "exact-max", 100000, "also time exact search (no index) up to this size")
	flag.StringVar(&cfg.milvusAddr, "milvus", "", "Milvus address; empty skips Milvus")
	flag.IntVar(&cfg.milvusMax, "milvus-max", 100000, "largest size also loaded into Milvus")
	flag.Uint64Var(&cfg.seed, "seed", 1, "data seed")
	flag.Parse()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			log.Fatalf("bad -sizes entry %q", s)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	for _, s := range strings.Split(nprobes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			log.Fatalf("bad -nprobe entry %q", s)
		}
		cfg.nprobes = append(cfg.nprobes, n)
	}
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

// result is one row of the report.
type result struct {
	store      string
	n          int
	loadSecs   float64
	heapMiB    float64
	rssMiB     float64
	p50, p99   time.Duration
	cpu99      time.Duration // p99 of the CPU time the querying thread used
	fp50, fp99 time.Duration // filtered queries
	recall     float64
	fRecall    float64
}

func run(cfg config) error {
	fmt.Printf("# bench/vectors: dim %d, k %d, %d timed queries, recall over %d, %d categories, topic size %d, spread %.2f, GOMAXPROCS %d, %s, load average at start %s\n\n",
		cfg.dim, cfg.k, cfg.queries, cfg.recallQueries, cfg.categories, cfg.clusterSize, cfg.spread, runtime.GOMAXPROCS(0), runtime.Version(), loadAvg())
	var rows []result
	for _, n := range cfg.sizes {
		log.Printf("generating %d vectors", n)
		rng := rand.New(rand.NewPCG(cfg.seed, uint64(n)))
		topics := max(1, n/cfg.clusterSize)
		var all [][]float32
		if cfg.categories > 0 {
			all = recommendtest.Topical(rng, cfg.dim, n+cfg.queries, cfg.categories, topics, cfg.spread)
		} else {
			all = recommendtest.Clustered(rng, cfg.dim, n+cfg.queries, topics, cfg.spread)
		}
		// attributes are drawn independently of the clusters (2/3 posts, 90% published,
		// 50,000 owners), as in a real feed where every topic has drafts and products
		items := make([]recommend.Item, n)
		for i := range items {
			kind := recommend.KindPost
			if rng.IntN(3) == 0 {
				kind = recommend.KindProduct
			}
			items[i] = recommend.Item{
				Id:          fmt.Sprintf("p%09d", i),
				Kind:        kind,
				Vector:      all[i],
				Owner:       fmt.Sprintf("u%06d", rng.IntN(50000)),
				Published:   rng.IntN(10) != 0,
				CreatedUnix: 1_700_000_000 + int64(i),
			}
		}
		queries := all[n:]
		filter := recommend.SearchOptions{K: cfg.k, Kind: recommend.KindPost, OnlyPublished: true,
			ExcludeOwners: []string{"u000001", "u000002"}}
		log.Printf("computing exact top-%d for %d queries", cfg.k, cfg.recallQueries)
		truth := groundTruth(items, queries[:cfg.recallQueries], recommend.SearchOptions{K: cfg.k})
		fTruth := groundTruth(items, queries[:cfg.recallQueries], filter)

		stores := []struct {
			name string
			open func() (recommend.VectorStore, error)
		}{
			{"embedded (IVF)", func() (recommend.VectorStore, error) {
				return recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: cfg.dim}), nil
			}},
		}
		if n <= cfg.exactMax {
			stores = append(stores, struct {
				name string
				open func() (recommend.VectorStore, error)
			}{"embedded (exact)", func() (recommend.VectorStore, error) {
				return recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: cfg.dim, ExactThreshold: -1}), nil
			}})
		}
		if cfg.milvusAddr != "" && n <= cfg.milvusMax {
			stores = append(stores, struct {
				name string
				open func() (recommend.VectorStore, error)
			}{"milvus", func() (recommend.VectorStore, error) {
				return milvusstore.New(context.Background(), milvusstore.Config{
					Addr: cfg.milvusAddr, Collection: fmt.Sprintf("tangerine_bench_%d_%d", n, time.Now().Unix()), Dim: cfg.dim,
					CallTimeout: 10 * time.Minute,
				})
			}})
		}
		for _, st := range stores {
			rs, err := measure(cfg, st.name, st.open, items, queries, filter, truth, fTruth)
			if err != nil {
				return fmt.Errorf("%s at %d: %w", st.name, n, err)
			}
			printRows(rs, len(rows) == 0)
			rows = append(rows, rs...)
		}
	}
	fmt.Println()
	printRows(rows, true)
	return nil
}

// measure loads items into a store and times the queries, once per -nprobe value for the
// approximate MemoryStore and once for any other store.
func measure(cfg config, name string, open func() (recommend.VectorStore, error), items []recommend.Item,
	queries [][]float32, filter recommend.SearchOptions, truth, fTruth [][]recommend.Hit) ([]result, error) {
	ctx := context.Background()
	r := result{store: name, n: len(items)}
	heapBefore := heapInUse()

	s, err := open()
	if err != nil {
		return nil, err
	}
	defer func() {
		if ms, ok := s.(*milvusstore.Store); ok {
			ms.Drop(ctx)
		}
		s.Close(ctx)
	}()

	log.Printf("%s: loading %d vectors", name, len(items))
	start := time.Now()
	for lo := 0; lo < len(items); lo += cfg.batch {
		if err := s.Upsert(ctx, items[lo:min(lo+cfg.batch, len(items))]...); err != nil {
			return nil, err
		}
	}
	if f, ok := s.(interface{ Flush(context.Context) error }); ok {
		// a reindex ends the same way: sealed segments get the server's index
		if err := f.Flush(ctx); err != nil {
			return nil, err
		}
	}
	r.loadSecs = time.Since(start).Seconds()
	r.heapMiB = float64(heapInUse()-heapBefore) / (1 << 20)
	r.rssMiB = rssMiB()
	if _, err := s.Search(ctx, queries[0], recommend.SearchOptions{K: cfg.k}); err != nil { // warm up
		return nil, err
	}

	nprobes := []int{0}
	ms, sweep := s.(*recommend.MemoryStore)
	if sweep && ms.Approximate() {
		nprobes = cfg.nprobes
	}
	var out []result
	for _, np := range nprobes {
		if sweep {
			ms.SetNProbe(np)
			if np > 0 {
				r.store = fmt.Sprintf("%s nprobe=%d", name, np)
			}
		}
		log.Printf("%s: timing %d queries", r.store, len(queries))
		var hits, fHits [][]recommend.Hit
		r.p50, r.p99, r.cpu99, hits, err = timeQueries(ctx, s, queries, recommend.SearchOptions{K: cfg.k})
		if err != nil {
			return nil, err
		}
		r.fp50, r.fp99, _, fHits, err = timeQueries(ctx, s, queries, filter)
		if err != nil {
			return nil, err
		}
		r.recall, r.fRecall = meanRecall(hits, truth), meanRecall(fHits, fTruth)
		out = append(out, r)
	}
	return out, nil
}

// timeQueries runs the queries one after another and returns the wall-clock p50 and p99 and
// the p99 of the CPU time the querying thread spent. On a shared machine the wall clock
// includes waiting for a CPU; the thread CPU time shows what the search itself costs (for the
// embedded store; for Milvus it only covers the client side).
func timeQueries(ctx context.Context, s recommend.VectorStore, queries [][]float32, opts recommend.SearchOptions) (p50, p99, cpu99 time.Duration, hits [][]recommend.Hit, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]time.Duration, len(queries))
	cpu := make([]time.Duration, len(queries))
	hits = make([][]recommend.Hit, len(queries))
	for i, q := range queries {
		cpuStart := threadCPU()
		start := time.Now()
		hits[i], err = s.Search(ctx, q, opts)
		lat[i] = time.Since(start)
		cpu[i] = threadCPU() - cpuStart
		if err != nil {
			return 0, 0, 0, nil, err
		}
	}
	slices.Sort(lat)
	slices.Sort(cpu)
	return lat[len(lat)/2], percentile99(lat), percentile99(cpu), hits, nil
}

func percentile99(sorted []time.Duration) time.Duration {
	return sorted[(len(sorted)*99+99)/100-1]
}

// threadCPU returns the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// groundTruth computes the exact answers with one goroutine per CPU.
func groundTruth(items []recommend.Item, queries [][]float32, opts recommend.SearchOptions) [][]recommend.Hit {
	out := make([][]recommend.Hit, len(queries))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i] = exactTopK(items, queries[i], opts)
			}
		})
	}
	for i := range queries {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// exactTopK is recommendtest.BruteForce without its allocation per item, which at 1,000,000
// items would dominate the run.
func exactTopK(items []recommend.Item, q []float32, opts recommend.SearchOptions) []recommend.Hit {
	top := make([]recommend.Hit, 0, opts.K+1)
	for _, it := range items {
		if (opts.Kind != "" && it.Kind != opts.Kind) || (opts.OnlyPublished && !it.Published) ||
			slices.Contains(opts.ExcludeOwners, it.Owner) {
			continue
		}
		score := recommend.Dot(q, it.Vector)
		if len(top) == opts.K && score <= top[len(top)-1].Score {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, score, func(h recommend.Hit, s float32) int { return cmp.Compare(s, h.Score) })
		top = slices.Insert(top, i, recommend.Hit{Id: it.Id, Score: score})
		if len(top) > opts.K {
			top = top[:opts.K]
		}
	}
	return top
}

func meanRecall(got, want [][]recommend.Hit) float64 {
	var sum float64
	for i := range want {
		sum += recommendtest.Recall(got[i], want[i])
	}
	return sum / float64(len(want))
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// rssMiB reads the process's resident set from /proc (Linux); 0 elsewhere.
func rssMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// loadAvg returns the 1-minute load average (Linux), which says how much the wall-clock figures
// suffered from other work on the machine.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(raw))[0]
}

func printRows(rows []result, header bool) {
	if header {
		fmt.Println("| store | vectors | load s | inserts/s | store heap MiB | process RSS MiB | p50 ms | p99 ms | p99 CPU ms | recall@10 | filtered p50 ms | filtered p99 ms | filtered recall@10 |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	for _, r := range rows {
		fmt.Printf("| %s | %d | %.1f | %.0f | %.0f | %.0f | %s | %s | %s | %.3f | %s | %s | %.3f |\n",
			r.store, r.n, r.loadSecs, float64(r.n)/r.loadSecs, r.heapMiB, r.rssMiB,
			ms(r.p50), ms(r.p99), ms(r.cpu99), r.recall, ms(r.fp50), ms(r.fp99), r.fRecall)
	}
}
