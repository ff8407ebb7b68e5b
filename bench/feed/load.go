package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	id        string
	following int
	token     string
}

// homeFilter is the home feed of user id written as a records API filter with a back-relation
// on follows. PocketBase lets only superusers use @request.* in a client filter ("Only
// superusers can filter by @request."), so a client spells its own id out, as here.
func homeFilter(id string) string {
	return fmt.Sprintf(`(user.follows_via_following.follower ?= %q || user = %q) && status = "published"`, id, id)
}

// feedTarget is one way of asking for the home feed.
type feedTarget struct {
	name string
	// pageURL returns the URL of the page after prev (nil: the first page); page counts from 1.
	pageURL func(u benchUser, page int, prev []byte) (string, bool)
}

func customFeed(base string, limit int) feedTarget {
	return feedTarget{name: "custom", pageURL: func(_ benchUser, page int, prev []byte) (string, bool) {
		u := fmt.Sprintf("%s/api/feed/home?limit=%d", base, limit)
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

func recordsFeed(base string, limit int) feedTarget {
	return feedTarget{name: "records API", pageURL: func(u benchUser, page int, prev []byte) (string, bool) {
		q := url.Values{}
		q.Set("filter", homeFilter(u.id))
		q.Set("sort", "-created,-id")
		q.Set("perPage", fmt.Sprint(limit))
		q.Set("page", fmt.Sprint(page))
		q.Set("skipTotal", "1")
		q.Set("expand", "user")
		if page > 1 && prev != nil && benchkit.CountItems(prev) < limit {
			return "", false
		}
		return base + "/api/collections/posts/records?" + q.Encode(), true
	}}
}

// pageIds decodes the post ids of a page (for the equality check).
func pageIds(body []byte) ([]string, error) {
	var v struct {
		Items []struct {
			Id     string `json:"id"`
			Expand struct {
				User struct {
					Id string `json:"id"`
				} `json:"user"`
			} `json:"expand"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	ids := make([]string, len(v.Items))
	for i, it := range v.Items {
		if it.Expand.User.Id == "" {
			return nil, fmt.Errorf("item %s has no expand.user", it.Id)
		}
		ids[i] = it.Id
	}
	return ids, nil
}

// walk fetches up to pages pages of the feed for u and returns each page's ids.
func walk(c *http.Client, t feedTarget, u benchUser, pages int) ([][]string, error) {
	var out [][]string
	var prev []byte
	buf := &bytes.Buffer{}
	for p := 1; p <= pages; p++ {
		link, ok := t.pageURL(u, p, prev)
		if !ok {
			break
		}
		t0 := time.Now()
		code, err := benchkit.Get(context.Background(), c, link, u.token, buf)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			if code == http.StatusBadRequest && time.Since(t0) >= queryTimeoutSeen {
				return nil, errServerTimeout
			}
			return nil, fmt.Errorf("%s page %d: HTTP %d: %.300s", t.name, p, code, buf.String())
		}
		ids, err := pageIds(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s page %d: %w", t.name, p, err)
		}
		if len(ids) == 0 {
			break
		}
		out = append(out, ids)
		prev = slices.Clone(buf.Bytes())
	}
	return out, nil
}

// PocketBase answers a list query that ran into its 30 s query timeout (core.DefaultQueryTimeout)
// with the same generic 400 as any other list error; a 400 that took this long is that timeout.
const queryTimeoutSeen = 25 * time.Second

var errServerTimeout = errors.New("the server's query timeout (30 s) expired")

// sample is one timed request.
type sample struct {
	d     time.Duration
	deep  bool // page 2 or later
	heavy bool // the user follows at least fanoutThreshold accounts
	ok    bool
	user  int32 // index into the sampled users
	page  int16
}

type loadResult struct {
	target    string
	samples   []sample
	elapsed   time.Duration
	errs      []string
	serverCPU time.Duration // CPU time the server process used during the timed load
	serverRSS int64         // the server's resident set when the timed load ended, bytes
	loadavg   string        // /proc/loadavg when the timed load ended (other work on the machine)
}

type loadConfig struct {
	clients     int
	duration    time.Duration
	warmup      time.Duration
	maxRequests int64
	deepShare   float64 // share of sessions that go on past the first page
	maxDepth    int     // deepest page a session reaches
	heavyFrom   int     // follow count from which a user counts as "heavy"
	seed        uint64
}

// run drives target with cfg.clients concurrent clients. Each client repeatedly picks a
// sampled user and reads the first page; a cfg.deepShare of those sessions go on through
// next pages (2..cfg.maxDepth). No request starts after the deadline or past maxRequests.
func run(c *http.Client, t feedTarget, users []benchUser, cfg loadConfig, timed bool) loadResult {
	dur := cfg.duration
	if !timed {
		dur = cfg.warmup
	}
	var issued atomic.Int64
	deadline := time.Now().Add(dur)
	res := loadResult{target: t.name}
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
				ui := rng.IntN(len(users))
				u := users[ui]
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
					mine = append(mine, sample{d: d, deep: p > 1, heavy: u.following >= cfg.heavyFrom, ok: okReq, user: int32(ui), page: int16(p)})
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

// stats summarises the samples that pass keep.
type stats struct {
	n, errors          int
	rps                float64
	p50, p90, p99, max time.Duration
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
