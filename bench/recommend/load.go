package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/tangerine-market/tangerine/bench/internal/benchkit"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// benchUser is a sampled user with a minted auth token.
type benchUser struct {
	id    string
	token string
}

// target is one route under load.
type target struct {
	name  string // short name, used in the log
	label string // the report's row label
	// pageURL returns the URL of the page after prev (nil: the first page); page counts from 1.
	pageURL func(u benchUser, page int, prev []byte) (string, bool)
}

// cursorTarget is a custom list route that pages with ?cursor=next_cursor.
func cursorTarget(name, label, base, path string, limit int) target {
	return target{name: name, label: label, pageURL: func(_ benchUser, page int, prev []byte) (string, bool) {
		u := fmt.Sprintf("%s%s?limit=%d", base, path, limit)
		if page == 1 {
			return u, true
		}
		c := benchkit.NextCursor(prev)
		if c == "" {
			return "", false
		}
		return u + "&cursor=" + url.QueryEscape(c), true
	}}
}

// recordsTarget is the records API's newest posts list, paged with ?page=.
func recordsTarget(base string, limit int) target {
	return target{name: "records", label: "records API `posts?sort=-created&expand=user`", pageURL: func(_ benchUser, page int, prev []byte) (string, bool) {
		q := url.Values{}
		q.Set("sort", "-created")
		q.Set("perPage", fmt.Sprint(limit))
		q.Set("page", fmt.Sprint(page))
		q.Set("expand", "user")
		if page > 1 && prev != nil && benchkit.CountItems(prev) < limit {
			return "", false
		}
		return base + "/api/collections/posts/records?" + q.Encode(), true
	}}
}

// pageItems decodes the post ids and authors of a page.
func pageItems(body []byte) (ids, authors []string, err error) {
	var v struct {
		Items []struct {
			Id     string `json:"id"`
			User   string `json:"user"`
			Status string `json:"status"`
			Expand struct {
				User struct {
					Id string `json:"id"`
				} `json:"user"`
			} `json:"expand"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, nil, err
	}
	for _, it := range v.Items {
		if it.Expand.User.Id == "" {
			return nil, nil, fmt.Errorf("item %s has no expand.user", it.Id)
		}
		if it.Status != "published" {
			return nil, nil, fmt.Errorf("item %s is %q", it.Id, it.Status)
		}
		ids = append(ids, it.Id)
		authors = append(authors, it.User)
	}
	return ids, authors, nil
}

// sample is one timed request.
type sample struct {
	d       time.Duration
	deep    bool // page 2 or later
	ok      bool
	timeout bool // a 400 after the server's query timeout (counted apart from other errors)
}

// queryTimeoutSeen is how long a request that hit PocketBase's 30 s query timeout took at least.
const queryTimeoutSeen = 25 * time.Second

type loadResult struct {
	target    string
	label     string
	clients   int
	samples   []sample
	elapsed   time.Duration
	errs      []string
	serverCPU time.Duration // CPU time the server process used during the timed load
	loadavg   string        // /proc/loadavg when the timed load ended (other work on the machine)
}

type loadConfig struct {
	clients     int
	duration    time.Duration
	warmup      time.Duration
	maxRequests int64
	deepShare   float64 // share of sessions that go on past the first page
	maxDepth    int     // deepest page a session reaches
	seed        uint64
}

// run drives t with cfg.clients closed-loop clients. Each client repeatedly picks a sampled
// user and reads the first page; a cfg.deepShare of those sessions go on through next pages
// (2..cfg.maxDepth), as a client scrolling would. No request starts after the deadline or past
// maxRequests.
func run(c *http.Client, t target, users []benchUser, cfg loadConfig, timed bool) loadResult {
	dur := cfg.duration
	if !timed {
		dur = cfg.warmup
	}
	var issued atomic.Int64
	deadline := time.Now().Add(dur)
	res := loadResult{target: t.name, label: t.label, clients: cfg.clients}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cfg.clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(w)+1))
			buf := &bytes.Buffer{}
			var mine []sample
			var errs []string
			for time.Now().Before(deadline) {
				u := users[rng.IntN(len(users))]
				pages := 1
				if rng.Float64() < cfg.deepShare {
					pages = 2 + rng.IntN(max(1, cfg.maxDepth-1))
				}
				var prev []byte
				for p := 1; p <= pages && time.Now().Before(deadline); p++ {
					link, ok := t.pageURL(u, p, prev)
					if !ok {
						break
					}
					if issued.Add(1) > cfg.maxRequests {
						goto done
					}
					t0 := time.Now()
					code, err := benchkit.Get(context.Background(), c, link, u.token, buf)
					d := time.Since(t0)
					okReq := err == nil && code == http.StatusOK
					if !okReq && len(errs) < 5 {
						if err != nil {
							errs = append(errs, err.Error())
						} else {
							errs = append(errs, fmt.Sprintf("HTTP %d: %.200s", code, buf.String()))
						}
					}
					// PocketBase answers a list query that ran into its 30 s query timeout
					// (core.DefaultQueryTimeout) with a generic 400; one that took this long is that
					timeout := err == nil && code == http.StatusBadRequest && d >= queryTimeoutSeen
					mine = append(mine, sample{d: d, deep: p > 1, ok: okReq, timeout: timeout})
					if !okReq {
						break
					}
					if p < pages {
						prev = append(prev[:0], buf.Bytes()...)
					}
				}
			}
		done:
			mu.Lock()
			res.samples = append(res.samples, mine...)
			if len(res.errs) < 10 {
				res.errs = append(res.errs, errs...)
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// stats summarises the samples that pass keep. errors counts every failed request, timeouts
// those of them that were the server's query timeout.
type stats struct {
	n, errors, timeouts int
	rps                 float64
	p50, p90, p99, max  time.Duration
}

func summarize(r loadResult, keep func(sample) bool) stats {
	var ds []time.Duration
	s := stats{}
	for _, x := range r.samples {
		if !keep(x) {
			continue
		}
		s.n++
		if !x.ok {
			s.errors++
			if x.timeout {
				s.timeouts++
			}
			continue
		}
		ds = append(ds, x.d)
	}
	if r.elapsed > 0 {
		s.rps = float64(s.n-s.errors) / r.elapsed.Seconds()
	}
	if len(ds) == 0 {
		return s
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration {
		i := int(float64(len(ds))*p+0.5) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	s.p50, s.p90, s.p99, s.max = pct(0.50), pct(0.90), pct(0.99), ds[len(ds)-1]
	return s
}
