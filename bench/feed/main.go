// Command feed benchmarks Tangerine's home feed (GET /api/feed/home) against the same feed
// through PocketBase's records API with a back-relation filter on follows.
//
// It migrates a fresh data directory with the app's own migrations (`tangerine migrate up`),
// seeds users, posts, a power-law follow graph and likes straight through SQL, starts
// `tangerine serve` on loopback with the rate limiter off, mints auth tokens for a sample of
// users, checks that both ways return the same posts, then loads each with concurrent clients
// and prints a markdown table for docs/BENCHMARKS.md.
//
// Full scale (see bench/run.sh):
//
//	go run ./bench/feed -users 100000 -posts 1000000 -duration 30s
//
// A quick development run:
//
//	go run ./bench/feed -users 5000 -posts 50000 -duration 5s
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"github.com/tangerine-market/tangerine/bench/internal/benchkit"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

const benchPassword = "bench-password-123"

func main() {
	log.SetFlags(log.Ltime)
	var (
		dir         = flag.String("dir", "", "pb_data directory to seed and serve (default: a new temp dir, removed afterwards)")
		reuse       = flag.Bool("reuse", false, "use an already seeded -dir as it is (skip migrate and seed)")
		keep        = flag.Bool("keep", false, "keep the temp data dir")
		bin         = flag.String("bin", "", "a prebuilt tangerine binary (default: go build the module at -repo)")
		repo        = flag.String("repo", ".", "the module root to build tangerine from")
		users       = flag.Int("users", 100_000, "users to seed")
		posts       = flag.Int("posts", 1_000_000, "posts to seed")
		followsMean = flag.Float64("follows", 150, "mean follows per user")
		followSigma = flag.Float64("follow-sigma", 1.2, "sigma of the log-normal follows-per-user distribution")
		followCap   = flag.Int("follow-cap", 5000, "most follows of one user")
		zipfS       = flag.Float64("zipf-s", 1.05, "Zipf exponent of who is followed and who posts (> 1)")
		zipfV       = flag.Float64("zipf-v", 100, "Zipf offset v: P(rank k) ∝ (v+k)^-s")
		likesMean   = flag.Float64("likes", 10, "mean likes per user")
		months      = flag.Int("months", 6, "posts are spread over this many past months")
		analyze     = flag.Bool("analyze", true, "run ANALYZE after seeding")
		seedN       = flag.Uint64("seed", 1, "random seed")
		sampleN     = flag.Int("tokens", 1000, "users sampled (uniformly, so their follow counts follow the graph) and given tokens")
		clients     = flag.Int("clients", 32, "concurrent clients")
		duration    = flag.Duration("duration", 30*time.Second, "timed load per target")
		warmup      = flag.Duration("warmup", 3*time.Second, "untimed load per target before timing")
		maxReq      = flag.Int64("max-requests", 200_000, "most requests per target")
		limit       = flag.Int("limit", 20, "page size")
		deepShare   = flag.Float64("deep", 0.25, "share of sessions that read past the first page")
		maxDepth    = flag.Int("depth", 4, "deepest page those sessions read")
		fanout      = flag.Int("fanout", 300, "follow count from which the feed takes its many-authors path (feed.Config.FanoutThreshold), for the split in the report")
		verifyN     = flag.Int("verify", 6, "users whose first pages are compared between the two ways before timing")
		skipBase    = flag.Bool("skip-baseline", false, "time only the custom feed")
		explainMode = flag.Bool("explain", false, "print EXPLAIN QUERY PLAN and timings of the feed's SQL (and candidate rewrites) for a few sampled users, then stop")
		calib       = flag.Duration("calibrate", 10*time.Second, "also load GET /api/health (no DB, no auth work) this long, as the machine's ceiling; 0: skip")
		explainIdx  = flag.Bool("explain-index", false, "with -explain: also build a (user, status, created, id) index on posts in -dir and time the candidates that use it (changes the bench database)")
		seedOnly    = flag.Bool("seed-only", false, "migrate and seed -dir, then stop (load it later with -reuse)")
	)
	flag.Parse()
	cmdLine := "go run ./bench/feed " + strings.Join(os.Args[1:], " ")

	if err := os.Setenv("GOTOOLCHAIN", envOr("GOTOOLCHAIN", "go1.27.3")); err != nil {
		log.Fatal(err)
	}

	work, err := os.MkdirTemp("", "tangerine-bench-feed-")
	if err != nil {
		log.Fatal(err)
	}
	tempData := *dir == ""
	if tempData {
		*dir = filepath.Join(work, "pb_data")
	}
	defer func() {
		if *keep {
			log.Printf("kept %s", work)
			return
		}
		os.RemoveAll(work)
	}()
	fail := func(format string, args ...any) {
		log.Printf(format, args...)
		if !*keep {
			os.RemoveAll(work)
		}
		os.Exit(1)
	}

	// 1. the binary
	tangerine := *bin
	if tangerine == "" {
		tangerine = filepath.Join(work, "tangerine")
		if err := benchkit.Build(*repo, tangerine); err != nil {
			fail("go build: %v", err)
		}
	}

	// 2. schema and data
	dbPath := filepath.Join(*dir, "data.db")
	var st *seedStats
	if !*reuse {
		if _, err := os.Stat(dbPath); err == nil {
			fail("%s exists: give a fresh -dir, or -reuse", dbPath)
		}
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fail("%v", err)
		}
		mig := exec.Command(tangerine, "migrate", "up", "--dir", *dir)
		if out, err := mig.CombinedOutput(); err != nil {
			fail("migrate up: %v\n%s", err, out)
		}
		st, err = seed(dbPath, seedConfig{
			users: *users, posts: *posts, followsMean: *followsMean, followSigma: *followSigma,
			followCap: *followCap, zipfS: *zipfS, zipfV: *zipfV, likesMean: *likesMean,
			months: *months, seed: *seedN,
		}, *analyze)
		if err != nil {
			fail("seed: %v", err)
		}
		log.Printf("seeded in %s: %d users, %d posts, %d follows, %d likes", st.duration.Round(time.Second), st.users, st.posts, st.follows, st.likes)
		// the seed writes through SQL, around the hooks that index posts for recommendations
		// and search as they are written; without this, the server would backfill the index
		// during the load (a steady write load and a page cache wiped on every batch)
		t := time.Now()
		if out, err := exec.Command(tangerine, "reindex", "--dir", *dir, "--dev=false").CombinedOutput(); err != nil {
			fail("reindex: %v\n%s", err, out)
		}
		log.Printf("recommendation index built in %s", time.Since(t).Round(time.Second))
		if *seedOnly {
			if tempData {
				*keep = true
			}
			log.Printf("seeded %s", *dir)
			return
		}
	} else {
		st, err = readStats(dbPath)
		if err != nil {
			fail("reading the seeded data: %v", err)
		}
	}

	// 3. tokens for a uniform sample of users, minted by PocketBase's own code with the
	// collection's secret and each user's tokenKey
	sample, err := mintTokens(*dir, *sampleN, *seedN)
	if err != nil {
		fail("tokens: %v", err)
	}

	if *explainMode {
		if err := explain(os.Stdout, dbPath, explainUsers(sample, *fanout), *fanout, *explainIdx); err != nil {
			fail("explain: %v", err)
		}
		return
	}

	// 4. the server
	port, err := freePort()
	if err != nil {
		fail("%v", err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	logPath := filepath.Join(work, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		fail("%v", err)
	}
	// --dev=false: PocketBase takes a binary under the temp dir for `go run` and turns dev mode
	// on, which prints every SQL statement (a regexp pass and a write per query)
	srv := exec.Command(tangerine, "serve", fmt.Sprintf("--http=127.0.0.1:%d", port), "--dir", *dir, "--dev=false")
	srv.Env = append(os.Environ(), "TANGERINE_RATE_LIMITS=off")
	srv.Stdout, srv.Stderr = logFile, logFile
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		fail("serve: %v", err)
	}
	stop := func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
		logFile.Close()
	}
	client := benchkit.NewClient(*clients)
	if err := waitHealthy(client, base, 90*time.Second); err != nil {
		stop()
		out, _ := os.ReadFile(logPath)
		fail("server did not start: %v\n%s", err, out)
	}
	log.Printf("serving on %s (log: %s)", base, logPath)
	// the embedded vector store loads (and may train its index) in the background after the
	// start: measure only once the server is idle
	t0 := time.Now()
	for time.Since(t0) < 5*time.Minute {
		c0 := benchkit.ProcCPU(srv.Process.Pid)
		time.Sleep(2 * time.Second)
		if busy := (benchkit.ProcCPU(srv.Process.Pid) - c0).Seconds() / 2; busy < 0.05 {
			break
		}
	}
	log.Printf("server idle %s after it answered", time.Since(t0).Round(time.Second))

	custom := customFeed(base, *limit)
	records := recordsFeed(base, *limit)

	// 5. the same posts both ways, for light and heavy followers
	if err := verify(client, custom, records, sample, *verifyN, *fanout, *skipBase); err != nil {
		stop()
		fail("verify: %v", err)
	}

	// 6. load
	lc := loadConfig{clients: *clients, duration: *duration, warmup: *warmup, maxRequests: *maxReq,
		deepShare: *deepShare, maxDepth: *maxDepth, heavyFrom: *fanout, seed: *seedN}
	var results []loadResult
	targets := []feedTarget{custom}
	if !*skipBase {
		targets = append(targets, records)
	}
	if *calib > 0 {
		targets = append(targets, feedTarget{name: "health", pageURL: func(benchUser, int, []byte) (string, bool) {
			return base + "/api/health", true
		}})
	}
	for _, t := range targets {
		lc := lc
		if t.name == "health" {
			lc.duration, lc.deepShare = *calib, 0
		}
		if *warmup > 0 {
			log.Printf("%s: warm-up %s", t.name, *warmup)
			run(client, t, sample, lc, false)
		}
		log.Printf("%s: %d clients for %s (at most %d requests)", t.name, *clients, *duration, *maxReq)
		cpu0 := benchkit.ProcCPU(srv.Process.Pid)
		r := run(client, t, sample, lc, true)
		r.serverCPU = benchkit.ProcCPU(srv.Process.Pid) - cpu0
		r.serverRSS = benchkit.ProcRSS(srv.Process.Pid)
		r.loadavg = benchkit.LoadAvg()
		log.Printf("%s: %d requests in %s", t.name, len(r.samples), r.elapsed.Round(time.Millisecond))
		for _, e := range r.errs {
			log.Printf("%s: error: %s", t.name, e)
		}
		results = append(results, r)
	}
	stop()

	report(os.Stdout, cmdLine, st, sample, results, lc, *limit)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHealthy(c *http.Client, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/health", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			cancel()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("HTTP %d", resp.StatusCode)
		} else {
			cancel()
			last = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no healthy answer within %s: %v", timeout, last)
}

// mintTokens samples n users uniformly and mints a PocketBase auth token for each.
func mintTokens(dir string, n int, seed uint64) ([]benchUser, error) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return nil, err
	}
	defer app.ResetBootstrapState()

	var all []struct {
		Id        string `db:"id"`
		Following int    `db:"following_count"`
	}
	if err := app.DB().Select("id", "following_count").From("users").OrderBy("rowid").All(&all); err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, errors.New("no users")
	}
	rng := rand.New(rand.NewPCG(seed, 0x70c))
	n = min(n, len(all))
	out := make([]benchUser, 0, n)
	for _, i := range rng.Perm(len(all))[:n] {
		rec, err := app.FindRecordById("users", all[i].Id)
		if err != nil {
			return nil, err
		}
		tok, err := rec.NewAuthToken()
		if err != nil {
			return nil, err
		}
		out = append(out, benchUser{id: rec.Id, following: all[i].Following, token: tok})
	}
	return out, nil
}

// readStats describes an already seeded database (for -reuse).
func readStats(dbPath string) (*seedStats, error) {
	db, err := sql.Open("sqlite", dbPath+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st := &seedStats{}
	for _, q := range []struct {
		sql string
		dst *int
	}{
		{"SELECT count(*) FROM users", &st.users},
		{"SELECT count(*) FROM posts", &st.posts},
		{"SELECT count(*) FROM posts WHERE status = 'published'", &st.published},
		{"SELECT count(*) FROM follows", &st.follows},
		{"SELECT count(*) FROM post_likes", &st.likes},
		{"SELECT max(followers_count) FROM users", &st.inDegMax},
		{"SELECT max(posts_count) FROM users", &st.postsPerUserMax},
	} {
		if err := db.QueryRow(q.sql).Scan(q.dst); err != nil {
			return nil, err
		}
	}
	rows, err := db.Query("SELECT following_count FROM users ORDER BY following_count")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d int
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		st.outDeg = append(st.outDeg, d)
	}
	return st, rows.Err()
}

// verify checks, for a few light and heavy followers, that the custom feed and the records
// API return the same post ids over the first pages.
func verify(c *http.Client, custom, records feedTarget, sample []benchUser, n, fanout int, skipBase bool) error {
	var light, heavy []benchUser
	for _, u := range sample {
		if u.following >= fanout {
			heavy = append(heavy, u)
		} else {
			light = append(light, u)
		}
	}
	pick := append(heavy[:min(len(heavy), n/2)], light[:min(len(light), n-n/2)]...)
	verified := 0
	for _, u := range pick {
		a, err := walk(c, custom, u, 2)
		if err != nil {
			return fmt.Errorf("user %s: %w", u.id, err)
		}
		if len(a) == 0 {
			return fmt.Errorf("user %s (follows %d): empty custom feed", u.id, u.following)
		}
		if skipBase {
			continue
		}
		t := time.Now()
		b, err := walk(c, records, u, 2)
		if errors.Is(err, errServerTimeout) {
			log.Printf("verify: user %s (follows %d): the records API did not answer within its query timeout (%s); not compared", u.id, u.following, time.Since(t).Round(time.Millisecond))
			continue
		}
		if err != nil {
			return fmt.Errorf("user %s: %w", u.id, err)
		}
		fa, fb := slices.Concat(a...), slices.Concat(b...)
		if !slices.Equal(fa, fb) {
			return fmt.Errorf("user %s (follows %d): the feeds differ:\ncustom:  %v\nrecords: %v", u.id, u.following, fa, fb)
		}
		verified++
		log.Printf("verify: user %s (follows %d): %d posts over %d pages, same ids both ways (records API: %s)", u.id, u.following, len(fa), len(a), time.Since(t).Round(time.Millisecond))
	}
	if !skipBase && verified == 0 {
		return errors.New("no user could be compared: the records API timed out for every one")
	}
	return nil
}

// explainUsers picks a median and the largest light follower, and the smallest and largest
// heavy follower, of the sample.
func explainUsers(sample []benchUser, fanout int) []benchUser {
	var light, heavy []benchUser
	for _, u := range sample {
		if u.following >= fanout {
			heavy = append(heavy, u)
		} else {
			light = append(light, u)
		}
	}
	by := func(a, b benchUser) int { return a.following - b.following }
	slices.SortFunc(light, by)
	slices.SortFunc(heavy, by)
	var out []benchUser
	if len(light) > 0 {
		out = append(out, light[len(light)/2], light[len(light)-1])
	}
	if len(heavy) > 0 {
		out = append(out, heavy[0], heavy[len(heavy)-1])
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func report(w *os.File, cmdLine string, st *seedStats, sampled []benchUser, results []loadResult, lc loadConfig, limit int) {
	pctl := func(xs []int, p float64) int {
		if len(xs) == 0 {
			return 0
		}
		return xs[min(len(xs)-1, int(float64(len(xs))*p))]
	}
	heavyUsers := 0
	for _, u := range sampled {
		if u.following >= lc.heavyFrom {
			heavyUsers++
		}
	}
	meanDeg := 0.0
	if st.users > 0 {
		meanDeg = float64(st.follows) / float64(st.users)
	}
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n## Home feed (`bench/feed`)\n\n")
	fmt.Fprintf(w, "Command: `%s`\n\n", cmdLine)
	fmt.Fprintf(w, "Machine: %s, %d CPUs (shared; load generator and server on the same machine), %s/%s, %s.\n\n",
		host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(w, "Data: %d users, %d posts (%d published), %d follows (mean %.1f per user; median %d, p90 %d, p99 %d, max %d; most-followed account: %d followers), %d likes; max %d posts by one user.",
		st.users, st.posts, st.published, st.follows, meanDeg, pctl(st.outDeg, 0.5), pctl(st.outDeg, 0.9), pctl(st.outDeg, 0.99), pctl(st.outDeg, 1), st.inDegMax, st.likes, st.postsPerUserMax)
	if st.duration > 0 {
		fmt.Fprintf(w, " Seeded (migrations excluded) in %s.", st.duration.Round(time.Second))
	}
	fmt.Fprintf(w, "\n\nLoad: %d clients over loopback, %s per target after a %s warm-up (at most %d requests), limit=%d; %d sampled users with tokens (%d follow ≥ %d accounts); %.0f%% of sessions read pages 2..%d.\n\n",
		lc.clients, lc.duration, lc.warmup, lc.maxRequests, limit, len(sampled), heavyUsers, lc.heavyFrom, lc.deepShare*100, lc.maxDepth)

	fmt.Fprintln(w, "| Target | Requests | Errors | Requests/s | p50 | p90 | p99 | max |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	row := func(name string, s stats) {
		fmt.Fprintf(w, "| %s | %d | %d | %.1f | %s | %s | %s | %s |\n", name, s.n, s.errors, s.rps, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max))
	}
	all := func(sample) bool { return true }
	byName := map[string]stats{}
	for _, r := range results {
		label := map[string]string{"custom": "`GET /api/feed/home`", "records API": "records API, back-relation filter", "health": "`GET /api/health` (calibration: no DB)"}[r.target]
		s := summarize(r, all)
		byName[r.target] = s
		if r.target == "health" {
			row(label, s)
			continue
		}
		row(label+": all", s)
		row(label+": first pages", summarize(r, func(x sample) bool { return !x.deep }))
		row(label+": pages 2+", summarize(r, func(x sample) bool { return x.deep }))
		row(fmt.Sprintf("%s: users following < %d", label, lc.heavyFrom), summarize(r, func(x sample) bool { return !x.heavy }))
		row(fmt.Sprintf("%s: users following ≥ %d", label, lc.heavyFrom), summarize(r, func(x sample) bool { return x.heavy }))
	}
	fmt.Fprintln(w)
	for _, r := range results {
		s := summarize(r, all)
		per := 0.0
		if ok := s.n - s.errors; ok > 0 {
			per = float64(r.serverCPU.Microseconds()) / 1000 / float64(ok)
		}
		fmt.Fprintf(w, "- %s: server process CPU %.1f s over %.1f s of load = %.2f ms CPU per successful request; RSS at the end %d MiB; load average at the end: %s\n",
			r.target, r.serverCPU.Seconds(), r.elapsed.Seconds(), per, r.serverRSS>>20, r.loadavg)
	}
	for _, r := range results {
		if r.target != "custom" {
			continue
		}
		xs := slices.Clone(r.samples)
		slices.SortFunc(xs, func(a, b sample) int { return int(b.d - a.d) })
		fmt.Fprintf(w, "- custom: slowest requests:")
		for _, x := range xs[:min(5, len(xs))] {
			u := sampled[x.user]
			fmt.Fprintf(w, " %s (user %s following %d, page %d);", ms(x.d), u.id, u.following, x.page)
		}
		fmt.Fprintln(w)
	}
	if c, ok := byName["custom"]; ok {
		fmt.Fprintf(w, "- custom feed p99 %s: target ≤ 25 ms %s\n", ms(c.p99), passFail(c.p99 <= 25*time.Millisecond && c.errors == 0))
		if b, ok := byName["records API"]; ok {
			if b.rps > 0 {
				ratio := c.rps / b.rps
				fmt.Fprintf(w, "- custom feed / records API requests/s: %.1f× — target ≥ 10× %s\n", ratio, passFail(ratio >= 10))
			} else {
				fmt.Fprintf(w, "- custom feed / records API requests/s: the records API completed no request (%d of %d failed) — target ≥ 10× %s\n", b.errors, b.n, passFail(c.rps > 0))
			}
		}
	}
	fmt.Fprintln(w)
}

func passFail(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**NOT met**"
}
