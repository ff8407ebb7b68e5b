// Command recommend benchmarks Tangerine's "for you" posts (GET /api/recommend/posts) end to
// end, against two baselines measured in the same run with the same clients: the cheapest
// custom feed (GET /api/feed/latest) and the records API's newest posts list
// (GET /api/collections/posts/records?sort=-created&perPage=20&expand=user).
//
// It migrates a fresh data directory with the app's own migrations (`tangerine migrate up`),
// seeds users (each with two favourite topics), posts written from the recommendation
// evaluation corpus's topic vocabulary (Korean and English), follows, and topic-biased likes
// and views straight through SQL, builds the vector index with `tangerine reindex` (timed),
// starts `tangerine serve` on loopback with the rate limiter off, waits until /api/status
// reports the vector store up with no indexer lag, mints auth tokens for a sample of users,
// checks that recommendations are on the users' topics, then loads each route with closed-loop
// clients at each concurrency and prints a markdown table for docs/BENCHMARKS.md.
//
// Full scale (see bench/run.sh):
//
//	go run ./bench/recommend -users 20000 -posts 100000 -clients 32,8,1 -duration 30s
//
// A quick development run:
//
//	go run ./bench/recommend -users 2000 -posts 10000 -duration 5s
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/tangerine-market/tangerine/bench/internal/benchkit"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

const (
	benchPassword  = "bench-password-123"
	superuserEmail = "bench-root@bench.tangerine.test"
)

func main() {
	log.SetFlags(log.Ltime)
	var (
		dir         = flag.String("dir", "", "pb_data directory to seed and serve (default: a new temp dir, removed afterwards)")
		reuse       = flag.Bool("reuse", false, "use an already seeded -dir as it is (skip migrate and seed)")
		reindex     = flag.Bool("reindex", true, "run `tangerine reindex` before serving (with -reuse: false keeps the stored index)")
		keep        = flag.Bool("keep", false, "keep the temp data dir")
		bin         = flag.String("bin", "", "a prebuilt tangerine binary (default: go build the module at -repo)")
		repo        = flag.String("repo", ".", "the module root to build tangerine from")
		users       = flag.Int("users", 20_000, "users to seed")
		posts       = flag.Int("posts", 100_000, "posts to seed")
		active      = flag.Float64("active", 0.8, "share of users who like and view posts")
		likes       = flag.Int("likes", 20, "likes per active user")
		views       = flag.Int("views", 30, "post views per active user")
		followsMean = flag.Float64("follows", 20, "mean follows per user")
		noFollow    = flag.Float64("no-follow", 0.5, "share of inactive users who follow nobody either (cold start: the popular list)")
		onTopic     = flag.Float64("on-topic", 0.85, "share of likes, views and own posts in a user's two topics")
		days        = flag.Int("days", 90, "posts are spread over this many past days")
		seedN       = flag.Uint64("seed", 1, "random seed")
		sampleN     = flag.Int("tokens", 20000, "users sampled uniformly and given tokens (more than the plugin's 16,384-entry taste cache, so most first pages compute a taste)")
		clientsList = flag.String("clients", "32,8,1", "concurrent clients: one load pass per comma-separated value")
		duration    = flag.Duration("duration", 30*time.Second, "timed load per route and concurrency")
		warmup      = flag.Duration("warmup", 3*time.Second, "untimed load per route and concurrency before timing")
		maxReq      = flag.Int64("max-requests", 200_000, "most requests per route and concurrency")
		limit       = flag.Int("limit", 20, "page size")
		deepShare   = flag.Float64("deep", 0.25, "share of sessions that follow next_cursor past the first page")
		maxDepth    = flag.Int("depth", 3, "deepest page those sessions read")
		checkN      = flag.Int("check", 30, "sampled users whose first page is checked (visible, not their own, on their topics) before timing")
		targetP99   = flag.Duration("target-p99", 30*time.Millisecond, "the p99 target of /api/recommend/posts")
		skipBase    = flag.Bool("skip-baseline", false, "time only /api/recommend/posts")
		seedOnly    = flag.Bool("seed-only", false, "migrate, seed and reindex -dir, then stop (load it later with -reuse -reindex=false)")
	)
	flag.Parse()
	cmdLine := "go run ./bench/recommend " + strings.Join(os.Args[1:], " ")
	var concurrency []int
	for _, s := range strings.Split(*clientsList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1024 {
			log.Fatalf("-clients: %q is not a client count", s)
		}
		concurrency = append(concurrency, n)
	}

	if err := os.Setenv("GOTOOLCHAIN", envOr("GOTOOLCHAIN", "go1.27.3")); err != nil {
		log.Fatal(err)
	}

	work, err := os.MkdirTemp("", "tangerine-bench-recommend-")
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
			users: *users, posts: *posts, active: *active, likes: *likes, views: *views,
			followsMean: *followsMean, noFollow: *noFollow, onTopic: *onTopic,
			zipfS: 1.05, zipfV: 100, days: *days, seed: *seedN,
		}, true)
		if err != nil {
			fail("seed: %v", err)
		}
		log.Printf("seeded in %s: %d users (%d active, %d cold), %d posts, %d follows, %d likes, %d views",
			st.duration.Round(time.Second), st.users, st.activeUsers, st.coldUsers, st.posts, st.follows, st.likes, st.views)
	} else {
		st, err = readStats(dbPath)
		if err != nil {
			fail("reading the seeded data: %v", err)
		}
	}

	// 3. the vector index, built the way an operator would
	var ix indexStats
	if *reindex {
		t := time.Now()
		cmd := exec.Command(tangerine, "reindex", "--dir", *dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			fail("reindex: %v\n%s", err, out)
		}
		ix.took = time.Since(t)
	}
	if err := ix.read(dbPath); err != nil {
		fail("reading the index: %v", err)
	}
	if ix.vectors == 0 {
		fail("the vector index is empty: run without -reindex=false")
	}
	if *reindex {
		log.Printf("reindex: %d vectors and %d keyword entries in %s (%.0f items/s)", ix.vectors, ix.docs, ix.took.Round(time.Millisecond), ix.rate())
	}
	if *seedOnly {
		if tempData {
			*keep = true
		}
		log.Printf("seeded and indexed %s", *dir)
		return
	}

	// 4. tokens for a uniform sample of users and for a superuser (/api/status)
	sampled, rootToken, err := mintTokens(*dir, *sampleN, *seedN)
	if err != nil {
		fail("tokens: %v", err)
	}

	// 5. the server
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
	serveStart := time.Now()
	srv := exec.Command(tangerine, "serve", fmt.Sprintf("--http=127.0.0.1:%d", port), "--dir", *dir)
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
	maxClients := 1
	for _, c := range concurrency {
		maxClients = max(maxClients, c)
	}
	client := benchkit.NewClient(maxClients)
	ready, err := waitReady(client, base, rootToken, 5*time.Minute)
	if err != nil {
		stop()
		out, _ := os.ReadFile(logPath)
		fail("server not ready: %v\n%s", err, out)
	}
	ix.ready = time.Since(serveStart)
	log.Printf("serving on %s, ready in %s (%s) (log: %s)", base, ix.ready.Round(time.Millisecond), ready, logPath)

	recommend := cursorTarget("recommend", "`GET /api/recommend/posts`", base, "/api/recommend/posts", *limit)
	latest := cursorTarget("latest", "baseline: `GET /api/feed/latest`", base, "/api/feed/latest", *limit)
	records := recordsTarget(base, *limit)
	targets := []target{recommend}
	if !*skipBase {
		targets = append(targets, latest, records)
	}

	// 6. every route answers; recommendations are visible, not the user's own, and on topic
	var chk checkStats
	if err := check(client, targets, sampled, st, *checkN, &chk); err != nil {
		stop()
		fail("check: %v", err)
	}

	// 7. load: every route at each concurrency, routes interleaved so that they see the same
	// machine
	var results []loadResult
	loadBefore := benchkit.LoadAvg()
	for _, c := range concurrency {
		lc := loadConfig{clients: c, duration: *duration, warmup: *warmup, maxRequests: *maxReq,
			deepShare: *deepShare, maxDepth: *maxDepth, seed: *seedN}
		for _, t := range targets {
			if *warmup > 0 {
				run(client, t, sampled, lc, false)
			}
			cpu0 := benchkit.ProcCPU(srv.Process.Pid)
			r := run(client, t, sampled, lc, true)
			r.serverCPU = benchkit.ProcCPU(srv.Process.Pid) - cpu0
			r.loadavg = benchkit.LoadAvg()
			s := summarize(r, func(sample) bool { return true })
			log.Printf("%s, %d clients: %d requests in %s, p50 %s, p99 %s, %d errors; load %s",
				t.name, c, s.n, r.elapsed.Round(time.Millisecond), ms(s.p50), ms(s.p99), s.errors, r.loadavg)
			for _, e := range r.errs {
				log.Printf("%s: error: %s", t.name, e)
			}
			results = append(results, r)
		}
	}
	stop()

	errorsSeen := report(os.Stdout, cmdLine, st, ix, chk, sampled, results, loadBefore, *limit, *deepShare, *maxDepth, *duration, *warmup, *targetP99)
	if errorsSeen > 0 {
		log.Printf("FAIL: %d requests did not answer 200", errorsSeen)
		if !*keep {
			os.RemoveAll(work)
		}
		os.Exit(1)
	}
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

// waitReady polls /api/status as a superuser until the vector store answers and the indexer has
// nothing queued. The embedded store is loaded from SQLite in OnServe, before the server
// listens, so a first answer already means the vectors are in memory.
func waitReady(c *http.Client, base, rootToken string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	var last error
	buf := &bytes.Buffer{}
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		code, err := benchkit.Get(ctx, c, base+"/api/status", rootToken, buf)
		cancel()
		switch {
		case err != nil:
			last = err
		case code != http.StatusOK:
			last = fmt.Errorf("/api/status: HTTP %d: %.200s", code, buf.String())
		default:
			var v struct {
				Vectors struct {
					Kind  string `json:"kind"`
					Ok    bool   `json:"ok"`
					Lag   *int   `json:"lag"`
					Error string `json:"error"`
				} `json:"vectors"`
			}
			if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
				return "", fmt.Errorf("/api/status: %w", err)
			}
			if v.Vectors.Ok && v.Vectors.Lag != nil && *v.Vectors.Lag == 0 {
				return fmt.Sprintf("vectors: %s, ok, lag 0", v.Vectors.Kind), nil
			}
			last = fmt.Errorf("vectors: %s", buf.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	return "", fmt.Errorf("not ready within %s: %v", timeout, last)
}

// mintTokens samples n users uniformly and mints a PocketBase auth token for each, and one for a
// bench superuser (created when missing).
func mintTokens(dir string, n int, seed uint64) ([]benchUser, string, error) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return nil, "", err
	}
	defer app.ResetBootstrapState()

	root, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, superuserEmail)
	if err != nil {
		col, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
		if err != nil {
			return nil, "", err
		}
		root = core.NewRecord(col)
		root.SetEmail(superuserEmail)
		root.SetPassword(benchPassword)
		if err := app.Save(root); err != nil {
			return nil, "", fmt.Errorf("superuser: %w", err)
		}
	}
	rootToken, err := root.NewAuthToken()
	if err != nil {
		return nil, "", err
	}

	var all []string
	if err := app.DB().Select("id").From("users").OrderBy("rowid").Column(&all); err != nil {
		return nil, "", err
	}
	if len(all) == 0 {
		return nil, "", errors.New("no users")
	}
	rng := rand.New(rand.NewPCG(seed, 0x70c))
	n = min(n, len(all))
	out := make([]benchUser, 0, n)
	for _, i := range rng.Perm(len(all))[:n] {
		rec, err := app.FindRecordById("users", all[i])
		if err != nil {
			return nil, "", err
		}
		tok, err := rec.NewAuthToken()
		if err != nil {
			return nil, "", err
		}
		out = append(out, benchUser{id: rec.Id, token: tok})
	}
	return out, rootToken, nil
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
		{"SELECT count(*) FROM post_views", &st.views},
		{"SELECT count(DISTINCT user) FROM (SELECT user FROM post_likes UNION SELECT user FROM post_views)", &st.activeUsers},
	} {
		if err := db.QueryRow(q.sql).Scan(q.dst); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// indexStats describes the vector and keyword index.
type indexStats struct {
	vectors, docs int
	took          time.Duration // `tangerine reindex`, 0 when not run
	ready         time.Duration // serve start until /api/status reported the vectors loaded and no lag
}

func (x *indexStats) read(dbPath string) error {
	db, err := sql.Open("sqlite", dbPath+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.QueryRow("SELECT count(*) FROM _recommend_vectors").Scan(&x.vectors); err != nil {
		return err
	}
	return db.QueryRow("SELECT count(*) FROM _recommend_docs").Scan(&x.docs)
}

// rate is the items (posts and users) indexed per second.
func (x *indexStats) rate() float64 {
	if x.took <= 0 {
		return 0
	}
	return float64(x.docs) / x.took.Seconds()
}

// checkStats is what check saw.
type checkStats struct {
	users, items, onTopic int
	coldUsers             int // checked users whose page had nothing on their topics: popular-list fallbacks
}

// check asks every target once, then the first page of /api/recommend/posts for up to n sampled
// users: every item must be published, carry expand.user and not be the user's own; when this
// run seeded the data, it counts the items on the user's two topics (about 1 in 10 by chance).
func check(c *http.Client, targets []target, sample []benchUser, st *seedStats, n int, out *checkStats) error {
	buf := &bytes.Buffer{}
	u0 := sample[0]
	for _, t := range targets {
		link, _ := t.pageURL(u0, 1, nil)
		code, err := benchkit.Get(context.Background(), c, link, u0.token, buf)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if code != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d: %.300s", t.name, code, buf.String())
		}
		ids, _, err := pageItems(buf.Bytes())
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if len(ids) == 0 {
			return fmt.Errorf("%s: empty first page", t.name)
		}
	}
	rec := targets[0]
	for _, u := range sample[:min(n, len(sample))] {
		link, _ := rec.pageURL(u, 1, nil)
		code, err := benchkit.Get(context.Background(), c, link, u.token, buf)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("user %s: HTTP %d: %.300s", u.id, code, buf.String())
		}
		ids, authors, err := pageItems(buf.Bytes())
		if err != nil {
			return fmt.Errorf("user %s: %w", u.id, err)
		}
		if len(ids) == 0 {
			return fmt.Errorf("user %s: no recommendations", u.id)
		}
		for _, a := range authors {
			if a == u.id {
				return fmt.Errorf("user %s: own post recommended", u.id)
			}
		}
		if st.postTopic == nil {
			continue
		}
		tp := st.userTopics[u.id]
		on := 0
		for _, id := range ids {
			if pt, ok := st.postTopic[id]; ok && (pt == tp[0] || pt == tp[1]) {
				on++
			}
		}
		out.users++
		out.items += len(ids)
		out.onTopic += on
		if on == 0 {
			out.coldUsers++
		}
	}
	if out.users > 0 {
		log.Printf("check: %d users' first pages: %d of %d recommended posts (%.0f%%) on the user's two topics (by chance: ~10%%); %d pages had none (cold start: the popular list)",
			out.users, out.onTopic, out.items, 100*float64(out.onTopic)/float64(max(1, out.items)), out.coldUsers)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func passFail(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**NOT met**"
}

// report prints the markdown section and returns the number of failed requests.
func report(w io.Writer, cmdLine string, st *seedStats, ix indexStats, chk checkStats, sampled []benchUser,
	results []loadResult, loadBefore string, limit int, deepShare float64, maxDepth int, dur, warm, targetP99 time.Duration) int {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n## \"For you\" posts end to end (`bench/recommend`)\n\n")
	fmt.Fprintf(w, "Command: `%s`\n\n", cmdLine)
	fmt.Fprintf(w, "Machine: %s, %d CPUs (shared; load generator and server on the same machine), %s/%s, %s. Load average before the load: %s.\n\n",
		host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadBefore)
	fmt.Fprintf(w, "Data: %d users (%d like and view posts", st.users, st.activeUsers)
	if st.coldUsers > 0 {
		fmt.Fprintf(w, ", %d with no signal at all", st.coldUsers)
	}
	fmt.Fprintf(w, "), %d posts (%d published) in Korean and English on the 20 topics of the evaluation corpus, %d follows, %d likes, %d views; likes, views and own posts mostly on each user's two topics.",
		st.posts, st.published, st.follows, st.likes, st.views)
	if st.duration > 0 {
		fmt.Fprintf(w, " Seeded through SQL (migrations excluded) in %s.", st.duration.Round(time.Second))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	embedder := envOr("TANGERINE_EMBEDDER", "hash")
	if ix.took > 0 {
		fmt.Fprintf(w, "Index: `tangerine reindex` (embedder %s, embedded store) wrote %d vectors and %d keyword entries in %s: %.0f items/s.",
			embedder, ix.vectors, ix.docs, ix.took.Round(time.Millisecond), ix.rate())
	} else {
		fmt.Fprintf(w, "Index: %d vectors and %d keyword entries, kept from an earlier run.", ix.vectors, ix.docs)
	}
	fmt.Fprintf(w, " `tangerine serve` loaded them and reported no indexer lag on /api/status %s after start.\n\n", ix.ready.Round(time.Millisecond))
	if chk.users > 0 {
		fmt.Fprintf(w, "Check: the first pages of %d sampled users held %d posts, %.0f%% of them on the user's two topics (by chance: about 10%%; %d pages had none: cold starts served the popular list); none hidden, removed or their own.\n\n",
			chk.users, chk.items, 100*float64(chk.onTopic)/float64(max(1, chk.items)), chk.coldUsers)
	}
	fmt.Fprintf(w, "Load: closed-loop clients over loopback as %d sampled users with tokens, %s per route and concurrency after a %s warm-up, routes interleaved; limit=%d; %.0f%% of sessions follow next_cursor (records API: ?page=) to pages 2..%d. CPU is the server process's user+system time (/proc/<pid>/stat) per successful request; ratios are against `GET /api/feed/latest` at the same concurrency.\n\n",
		len(sampled), dur, warm, limit, deepShare*100, maxDepth)

	fmt.Fprintln(w, "| Route | Clients | Requests | Errors | Requests/s | p50 | p90 | p99 | max | CPU ms/req | p99 vs baseline | CPU/req vs baseline |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	all := func(sample) bool { return true }
	cpuPer := func(r loadResult, s stats) float64 {
		if ok := s.n - s.errors; ok > 0 {
			return float64(r.serverCPU.Microseconds()) / 1000 / float64(ok)
		}
		return 0
	}
	baseline := map[int]loadResult{}
	for _, r := range results {
		if r.target == "latest" {
			baseline[r.clients] = r
		}
	}
	ratio := func(a, b float64) string {
		if b <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	errorsSeen, timeouts := 0, 0
	for _, r := range results {
		s := summarize(r, all)
		if r.target == "records" { // the baseline that can outlast the query timeout
			errorsSeen += s.errors - s.timeouts
			timeouts += s.timeouts
		} else {
			errorsSeen += s.errors
		}
		errCell := strconv.Itoa(s.errors)
		if s.timeouts > 0 {
			errCell = fmt.Sprintf("%d (%d query timeouts)", s.errors, s.timeouts)
		}
		p99r, cpur := "–", "–"
		if b, ok := baseline[r.clients]; ok {
			bs := summarize(b, all)
			p99r = ratio(float64(s.p99), float64(bs.p99))
			cpur = ratio(cpuPer(r, s), cpuPer(b, bs))
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %.1f | %s | %s | %s | %s | %.2f | %s | %s |\n",
			r.label, r.clients, s.n, errCell, s.rps, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), cpuPer(r, s), p99r, cpur)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		if r.target != "recommend" {
			continue
		}
		first := summarize(r, func(x sample) bool { return !x.deep })
		deep := summarize(r, func(x sample) bool { return x.deep })
		s := summarize(r, all)
		little := "–"
		if s.rps > 0 {
			little = ms(time.Duration(float64(r.clients) / s.rps * float64(time.Second)))
		}
		fmt.Fprintf(w, "- recommend, %d clients: first pages (rank a fresh list) %d requests, p50 %s, p99 %s; pages 2+ (cached list) %d requests, p50 %s, p99 %s; clients ÷ throughput = %s (closed loop: the mean latency is mostly queueing once the CPUs are busy); server CPU %.1f s over %.1f s; load average at the end %s\n",
			r.clients, first.n, ms(first.p50), ms(first.p99), deep.n, ms(deep.p50), ms(deep.p99), little, r.serverCPU.Seconds(), r.elapsed.Seconds(), r.loadavg)
	}
	for _, r := range results {
		if r.target != "recommend" {
			continue
		}
		s := summarize(r, all)
		fmt.Fprintf(w, "- `/api/recommend/posts` p99 at %d clients: %s — target ≤ %s %s\n",
			r.clients, ms(s.p99), ms(targetP99), passFail(s.p99 <= targetP99 && s.errors == 0))
	}
	if timeouts > 0 {
		fmt.Fprintf(w, "- %d records API requests ran into PocketBase's 30 s query timeout (a 400 after ≥ %s): reported, but they do not fail the run; any other non-200 does\n", timeouts, queryTimeoutSeen)
	}
	fmt.Fprintln(w)
	return errorsSeen
}
