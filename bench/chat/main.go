// Command chat benchmarks Tangerine's chat WebSocket (/api/chat/ws) with the in-process broker
// and with Apache Pulsar, against PocketBase's own realtime SSE subscription on chat_messages
// with sends through the records API, under the same load.
//
// It migrates a fresh data directory (`tangerine migrate up`), seeds users, rooms of
// -room-size and their memberships straight through SQL, mints a token per user, and then,
// for each target, starts `tangerine serve` on loopback (rate limiter off), connects -clients
// clients (one per user; every user is in one room), measures the server's RSS with them
// idle, sends -rate messages/s in total for -duration from a bounded, paced set of senders,
// and measures the delivery latency (send to receive: the send time is in the text), the
// messages lost (expected deliveries - received), the server's CPU and RSS. With -search it
// then steps the rate up (-steps, or -sse-steps for the baseline) until p99 exceeds -p99-max
// or a delivery is lost; the highest passing rate is the target's sustainable rate (for the
// WebSocket hub: the knee). It prints a markdown table for docs/BENCHMARKS.md.
//
// Full scale (see bench/run.sh; Pulsar must run for ws-pulsar: bash scripts/pulsar.sh start):
//
//	go run ./bench/chat -clients 5000 -room-size 10 -rate 2000 -duration 60s -search
//
// A quick development run:
//
//	go run ./bench/chat -clients 500 -rate 200 -duration 5s -targets ws-memory,sse
package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/tangerine-market/tangerine/bench/internal/benchkit"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	clients      int
	roomSize     int
	rate         int
	duration     time.Duration
	senders      int
	perSenderMax float64
	drain        time.Duration
	warmup       time.Duration
	targets      []string
	search       bool
	steps        []int
	sseSteps     []int
	stepDuration time.Duration
	p99Max       time.Duration
	pulsarURL    string
	connectConc  int
	settle       time.Duration
}

func main() {
	log.SetFlags(log.Ltime)
	var (
		o            options
		bin          = flag.String("bin", "", "a prebuilt tangerine binary (default: go build the module at -repo)")
		repo         = flag.String("repo", ".", "the module root to build tangerine from")
		keep         = flag.Bool("keep", false, "keep the temp work dir (pb_data, server logs)")
		targets      = flag.String("targets", "ws-memory,ws-pulsar,sse", "targets, in order: ws-memory (chat WebSocket, in-process broker), ws-pulsar (chat WebSocket, TANGERINE_BROKER=pulsar), sse (PocketBase realtime SSE + records API)")
		steps        = flag.String("steps", "500,1000,2000,4000,6000,8000,12000", "total message rates (msg/s) tried by -search for the WebSocket targets")
		sseSteps     = flag.String("sse-steps", "1,2,5,10,20,50,100,200,500,1000,2000", "total message rates (msg/s) tried by -search for the SSE baseline")
		maxRunFactor = flag.Duration("max-run", 45*time.Minute, "stop starting new measurements after this long")
	)
	flag.IntVar(&o.clients, "clients", 5000, "concurrent clients (users), each in one room")
	flag.IntVar(&o.roomSize, "room-size", 10, "members per room")
	flag.IntVar(&o.rate, "rate", 2000, "messages per second, in total, of the main run")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "length of the main run")
	flag.IntVar(&o.senders, "senders", 0, "clients that send (0: enough that none sends over -per-sender msg/s, at least one per room)")
	flag.Float64Var(&o.perSenderMax, "per-sender", 10, "most messages/s one sender sends (the chat allows 20/s per connection)")
	flag.DurationVar(&o.warmup, "warmup", 10*time.Second, "load at the main rate before the WebSocket targets' measurements, not reported (0: none)")
	flag.DurationVar(&o.drain, "drain", 10*time.Second, "how long after the last send deliveries may still arrive")
	flag.BoolVar(&o.search, "search", false, "after the main run, step the rate up to find the sustainable rate of each target")
	flag.DurationVar(&o.stepDuration, "step-duration", 15*time.Second, "length of each -search step")
	flag.DurationVar(&o.p99Max, "p99-max", 100*time.Millisecond, "a rate is sustainable when p99 stays at or below this with nothing lost")
	flag.StringVar(&o.pulsarURL, "pulsar-url", envOr("TANGERINE_PULSAR_URL", "pulsar://127.0.0.1:6650"), "Pulsar service URL for ws-pulsar")
	flag.IntVar(&o.connectConc, "connect-concurrency", 64, "connections opened at once")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "pause before each RSS reading, so the server's memory settles")
	flag.Parse()
	cmdLine := "go run ./bench/chat " + strings.Join(os.Args[1:], " ")
	o.targets = strings.Split(*targets, ",")
	var err error
	if o.steps, err = parseInts(*steps); err != nil {
		log.Fatalf("-steps: %v", err)
	}
	if o.sseSteps, err = parseInts(*sseSteps); err != nil {
		log.Fatalf("-sse-steps: %v", err)
	}
	if o.clients < o.roomSize || o.roomSize < 2 {
		log.Fatal("-clients must be at least -room-size, and -room-size at least 2")
	}
	if err := os.Setenv("GOTOOLCHAIN", envOr("GOTOOLCHAIN", "go1.27.3")); err != nil {
		log.Fatal(err)
	}
	raiseFileLimit(2*o.clients + 1000)
	deadline := time.Now().Add(*maxRunFactor)

	work, err := os.MkdirTemp("", "tangerine-bench-chat-")
	if err != nil {
		log.Fatal(err)
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

	// 2. schema, data and tokens
	dir := filepath.Join(work, "pb_data")
	// note: --dev=false: a binary in the temp dir looks like `go run` to PocketBase, whose dev
	// mode prints every SQL statement
	if out, err := exec.Command(tangerine, "migrate", "up", "--dir", dir, "--dev=false").CombinedOutput(); err != nil {
		fail("migrate up: %v\n%s", err, out)
	}
	t0 := time.Now()
	rooms, err := seed(filepath.Join(dir, "data.db"), o.clients, o.roomSize)
	if err != nil {
		fail("seed: %v", err)
	}
	users, err := mintTokens(dir, rooms)
	if err != nil {
		fail("tokens: %v", err)
	}
	log.Printf("seeded %d users in %d rooms of %d, with tokens, in %s", len(users), len(rooms), o.roomSize, time.Since(t0).Round(time.Millisecond))

	// 3. the targets, one server each
	var report []targetReport
	for _, target := range o.targets {
		if time.Now().After(deadline) {
			log.Printf("-max-run reached: skipping %s", target)
			continue
		}
		env := []string{"TANGERINE_RATE_LIMITS=off"}
		switch target {
		case "ws-memory", "sse":
			env = append(env, "TANGERINE_BROKER=memory")
		case "ws-pulsar":
			if err := checkPulsar(o.pulsarURL); err != nil {
				fail("ws-pulsar: %v (start it with bash scripts/pulsar.sh start)", err)
			}
			env = append(env, "TANGERINE_BROKER=pulsar", "TANGERINE_PULSAR_URL="+o.pulsarURL)
		default:
			fail("unknown target %q", target)
		}
		srv, err := startServer(tangerine, dir, filepath.Join(work, "serve-"+target+".log"), env)
		if err != nil {
			fail("%s: %v", target, err)
		}
		if target == "ws-pulsar" {
			srv.brokerPid = pulsarPid(*repo)
		}
		rep, err := runTarget(target, srv, users, rooms, o, deadline)
		srv.stop()
		if err != nil {
			fail("%s: %v", target, err)
		}
		report = append(report, rep)
	}

	printReport(os.Stdout, report, o, cmdLine)
}

// -------------------------------------------------------------------
// one target

// targetReport is what one target measured.
type targetReport struct {
	target     string
	conns      int
	rssBase    int64 // server RSS before any client, bytes
	rssIdle    int64 // with every client connected and idle
	rssHalf    int64 // with the first half of the clients connected and idle
	half       int   // clients in that first half
	connectDur time.Duration
	main       stepResult
	steps      []stepResult
}

// perIdleConn is the server memory per idle connection, bytes.
func (r targetReport) perIdleConn() float64 {
	if r.conns == 0 {
		return 0
	}
	return float64(r.rssIdle-r.rssBase) / float64(r.conns)
}

// marginalPerIdleConn is the server memory that the second half of the clients added, per
// connection, bytes: unlike perIdleConn it leaves out what the first connections cost once
// (the database pool growing under the connect storm's auth queries, caches, buffers).
func (r targetReport) marginalPerIdleConn() float64 {
	if r.conns <= r.half || r.rssHalf == 0 {
		return 0
	}
	return float64(r.rssIdle-r.rssHalf) / float64(r.conns-r.half)
}

// sustainable is the highest passing rate of the search (0 when none passed or no search).
func (r targetReport) sustainable() (int, bool) {
	best, found := 0, false
	for _, s := range r.steps {
		if s.pass {
			best, found = s.rate, true
		}
	}
	return best, found
}

func runTarget(target string, srv *server, users []benchUser, rooms [][]int, o options, deadline time.Time) (targetReport, error) {
	rep := targetReport{target: target}
	time.Sleep(o.settle)
	rep.rssBase = srv.rss()

	log.Printf("%s: connecting %d clients", target, len(users))
	t := time.Now()
	// in two halves, with a reading between them (see marginalPerIdleConn)
	connect := func(users []benchUser) ([]client, error) {
		if target == "sse" {
			return connectSSE(srv.base, users, o.connectConc)
		}
		return connectWS(srv.base, users, o.connectConc)
	}
	rep.half = len(users) / 2
	clients, err := connect(users[:rep.half])
	first := time.Since(t)
	if err == nil {
		time.Sleep(o.settle)
		rep.rssHalf = srv.rss()
		t = time.Now()
		var more []client
		more, err = connect(users[rep.half:])
		clients = append(clients, more...)
	}
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	if err != nil {
		return rep, err
	}
	rep.connectDur = first + time.Since(t)
	rep.conns = len(clients)
	time.Sleep(o.settle)
	rep.rssIdle = srv.rss()
	log.Printf("%s: %d connected in %s; server RSS %s idle (%s before, %s at half), %.1f KiB per idle connection (marginal %.1f KiB)",
		target, len(clients), rep.connectDur.Round(time.Millisecond), mib(rep.rssIdle), mib(rep.rssBase), mib(rep.rssHalf),
		rep.perIdleConn()/1024, rep.marginalPerIdleConn()/1024)

	senders := pickSenders(rooms, o)
	stepNo := 0
	run := func(rate int, d time.Duration) stepResult {
		stepNo++
		// note: the step id starts every client_id, and the targets share one database, where
		// a client_id already used by the same sender makes the send an idempotent repeat (acked
		// with the stored message, delivered to nobody): the id must be unique per target
		r := runStep(fmt.Sprintf("%s-%d", target, stepNo), srv, clients, senders, rate, d, o)
		r.target = target
		log.Printf("%s: %s", target, r.summary())
		return r
	}

	// the WebSocket targets warm up first at the main rate (not reported): a Pulsar broker
	// that was just started compiles its hot paths during its first seconds of load (p99 of
	// the first 5 s window ~280 ms against ~50 ms after), which says nothing about its steady
	// state; the SSE baseline gets no warm-up, as it is overloaded at the main rate
	if o.warmup > 0 && target != "sse" {
		run(o.rate, o.warmup)
		log.Printf("%s: that was the warm-up (%s), not reported", target, o.warmup)
	}

	// the search first, from the lowest rate up, so that an overloaded main run (the SSE
	// baseline at the full rate) leaves no backlog behind in the steps
	if o.search {
		rates := o.steps
		if target == "sse" {
			rates = o.sseSteps
		}
		for _, rate := range rates {
			if time.Now().After(deadline) {
				log.Printf("%s: -max-run reached, search stopped", target)
				break
			}
			s := run(rate, o.stepDuration)
			rep.steps = append(rep.steps, s)
			if !s.pass {
				break
			}
		}
	}
	rep.main = run(o.rate, o.duration)
	return rep, nil
}

// pickSenders returns the client indexes that send: one member of each room in turn, more per
// room while one sender would send over -per-sender msg/s at the highest rate to be run.
func pickSenders(rooms [][]int, o options) []int {
	top := o.rate
	if o.search {
		top = max(top, slices.Max(o.steps))
	}
	n := o.senders
	if n <= 0 {
		n = max(len(rooms), int(float64(top)/o.perSenderMax+0.999))
	}
	var out []int
	for k := 0; len(out) < n && k < len(rooms[0]); k++ {
		for _, r := range rooms {
			if len(out) == n {
				break
			}
			if k < len(r) {
				out = append(out, r[k])
			}
		}
	}
	return out
}

// -------------------------------------------------------------------
// a timed step

// step is the state of the step in progress that the clients' readers update.
type step struct {
	id   string
	hist *histogram
	// windows holds a histogram per window of the send phase (by send time), so that a
	// tail made by a few stalls can be told from a steady one
	start    time.Time
	windows  []*histogram
	received atomic.Int64 // message deliveries of this step
	acked    atomic.Int64 // sends the server accepted
	errors   atomic.Int64 // sends the server refused (error frame, HTTP status)
	stale    atomic.Int64 // deliveries of an earlier step
	firstErr atomic.Value
}

var current atomic.Pointer[step]

// delivered is called by a client's reader with the text of a message it received.
func delivered(text string, now time.Time) {
	st := current.Load()
	id, rest, ok := strings.Cut(text, "|")
	if !ok {
		return
	}
	if st == nil || id != st.id {
		if st != nil {
			st.stale.Add(1)
		}
		return
	}
	_, ts, _ := strings.Cut(rest, "|")
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return
	}
	st.received.Add(1)
	lat := now.Sub(time.Unix(0, sent))
	st.hist.add(lat)
	if w := int(time.Unix(0, sent).Sub(st.start) / windowLen); w >= 0 && w < len(st.windows) {
		st.windows[w].add(lat)
	}
}

// windowLen is the length of the windows whose p99 the summary lists.
const windowLen = 5 * time.Second

// accepted and refused are called for each send's outcome.
func accepted() {
	if st := current.Load(); st != nil {
		st.acked.Add(1)
	}
}

func refused(err error) {
	if st := current.Load(); st != nil {
		st.errors.Add(1)
		st.firstErr.CompareAndSwap(nil, err.Error())
	}
}

// stepResult is what one step measured.
type stepResult struct {
	target            string
	rate              int
	duration          time.Duration
	sent, skipped     int64 // sends made, and those skipped because the sender was behind
	acked, errors     int64
	expected          int64 // acked × room size
	received          int64
	lost              int64
	p50, p99, maxLat  time.Duration
	windowP99         []time.Duration // p99 of the deliveries of messages sent in each window
	cpu               float64         // server CPU cores used during the sends
	clientCPU         float64         // this load generator's CPU cores, same window
	brokerCPU         float64         // the Pulsar broker's (JVM) CPU cores, same window; -1: not known
	rss               int64
	achieved          float64 // acked messages per second
	pass              bool
	firstErr          string
	deliveriesPerSec  float64
	sendWindowElapsed time.Duration
}

func (r stepResult) summary() string {
	s := fmt.Sprintf("%d msg/s for %s: sent %d (skipped %d), accepted %d, refused %d, deliveries %d/%d (lost %d), p50 %s p99 %s max %s, CPU %.2f cores, RSS %s -> %s",
		r.rate, r.duration, r.sent, r.skipped, r.acked, r.errors, r.received, r.expected, r.lost,
		ms(r.p50), ms(r.p99), ms(r.maxLat), r.cpu, mib(r.rss), map[bool]string{true: "pass", false: "FAIL"}[r.pass])
	s += fmt.Sprintf(" [clients CPU %.2f cores", r.clientCPU)
	if r.brokerCPU >= 0 {
		s += fmt.Sprintf(", Pulsar broker CPU %.2f cores", r.brokerCPU)
	}
	s += "]"
	if r.firstErr != "" {
		s += " (first error: " + r.firstErr + ")"
	}
	if len(r.windowP99) > 1 {
		s += fmt.Sprintf("; p99 per %s of sends:", windowLen)
		for _, p := range r.windowP99 {
			s += " " + ms(p)
		}
	}
	return s
}

func runStep(id string, srv *server, clients []client, senders []int, rate int, d time.Duration, o options) stepResult {
	start := time.Now().Add(100 * time.Millisecond)
	st := &step{id: id, hist: newHistogram(), start: start}
	for range (d + windowLen - 1) / windowLen {
		st.windows = append(st.windows, newCoarseHistogram())
	}
	current.Store(st)

	// each sender sends at rate/len(senders) per second, staggered, paced by its own clock;
	// a sender that is more than a second behind skips the late sends (counted)
	n := len(senders)
	if n > rate {
		n = max(1, rate) // fewer senders than one message each per second would be idle
	}
	interval := time.Duration(float64(time.Second) * float64(n) / float64(rate))
	var sent, skipped atomic.Int64
	var seq atomic.Int64
	end := start.Add(d)
	cpu0, self0, broker0 := srv.cpu(), benchkit.ProcCPU(os.Getpid()), benchkit.ProcCPU(srv.brokerPid)
	var wg sync.WaitGroup
	for i := range n {
		c := clients[senders[i]]
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := start.Add(time.Duration(int64(interval) * int64(i) / int64(n)))
			for next.Before(end) {
				if wait := time.Until(next); wait > 0 {
					time.Sleep(wait)
				} else if -wait > time.Second {
					skipped.Add(1)
					next = next.Add(interval)
					continue
				}
				k := seq.Add(1)
				text := fmt.Sprintf("%s|%d|%d", id, k, time.Now().UnixNano())
				if err := c.send(text, fmt.Sprintf("%s-%d", id, k)); err != nil {
					refused(err)
				}
				sent.Add(1)
				next = next.Add(interval)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, self1, broker1 := srv.cpu(), benchkit.ProcCPU(os.Getpid()), benchkit.ProcCPU(srv.brokerPid)
	rss := srv.rss()

	// deliveries still in flight: wait until all arrived, nothing arrived for a while, or
	// -drain ran out
	roomSize := int64(o.roomSize)
	drainEnd := time.Now().Add(o.drain)
	last, lastChange := st.received.Load(), time.Now()
	for time.Now().Before(drainEnd) {
		time.Sleep(100 * time.Millisecond)
		got := st.received.Load()
		if got >= st.acked.Load()*roomSize && st.acked.Load()+st.errors.Load() >= sent.Load() {
			break
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 3*time.Second && st.acked.Load()+st.errors.Load() >= sent.Load() {
			break
		}
	}
	current.Store(nil)

	r := stepResult{
		rate: rate, duration: d, sent: sent.Load(), skipped: skipped.Load(),
		acked: st.acked.Load(), errors: st.errors.Load(), received: st.received.Load(),
		cpu: (cpu1 - cpu0).Seconds() / elapsed.Seconds(), rss: rss, sendWindowElapsed: elapsed,
	}
	r.clientCPU = (self1 - self0).Seconds() / elapsed.Seconds()
	r.brokerCPU = -1
	if srv.brokerPid > 0 {
		r.brokerCPU = (broker1 - broker0).Seconds() / elapsed.Seconds()
	}
	r.expected = r.acked * roomSize
	r.lost = r.expected - r.received
	r.p50, r.p99, r.maxLat = st.hist.quantile(0.5), st.hist.quantile(0.99), st.hist.max()
	for _, w := range st.windows {
		r.windowP99 = append(r.windowP99, w.quantile(0.99))
	}
	r.achieved = float64(r.acked) / elapsed.Seconds()
	r.deliveriesPerSec = float64(r.received) / elapsed.Seconds()
	if e, ok := st.firstErr.Load().(string); ok {
		r.firstErr = e
	}
	// passing: nothing lost, p99 within bounds, every planned send made and accepted
	r.pass = r.lost == 0 && r.p99 <= o.p99Max && r.skipped == 0 && r.errors == 0 && r.acked > 0 && r.acked == r.sent
	return r
}

// -------------------------------------------------------------------
// the server

type server struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
	// the Pulsar broker's process (scripts/pulsar.sh's pid file), for its CPU; 0: none
	brokerPid int
}

func startServer(bin, dir, logPath string, env []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", fmt.Sprintf("--http=127.0.0.1:%d", port), "--dir", dir, "--dev=false")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("tangerine serve exited; see %s", logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
	s.stop()
	return nil, fmt.Errorf("tangerine serve not healthy in 60s; see %s", logPath)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// pulsarPid is the pid of the broker that scripts/pulsar.sh started from the repository at
// repo, or 0 when there is none (a broker started some other way).
func pulsarPid(repo string) int {
	b, err := os.ReadFile(filepath.Join(repo, ".run", "pulsar", "pulsar.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || benchkit.ProcCPU(pid) == 0 {
		return 0
	}
	return pid
}

// rss is the server's resident set (VmRSS), in bytes.
func (s *server) rss() int64 { return benchkit.ProcRSS(s.cmd.Process.Pid) }

// cpu is the server's CPU time so far (user + system).
func (s *server) cpu() time.Duration { return benchkit.ProcCPU(s.cmd.Process.Pid) }

// -------------------------------------------------------------------
// helpers

func raiseFileLimit(want int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Printf("getrlimit: %v", err)
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			log.Printf("setrlimit: %v", err)
		}
	}
	if int(lim.Cur) < want {
		log.Printf("warning: open files limit %d is below the %d this run needs (ulimit -n)", lim.Cur, want)
	}
}

func checkPulsar(url string) error {
	_, hostPort, _ := strings.Cut(url, "://")
	hostPort, _, _ = strings.Cut(hostPort, "/")
	c, err := net.DialTimeout("tcp", hostPort, 2*time.Second)
	if err != nil {
		return fmt.Errorf("pulsar at %s: %w", url, err)
	}
	return c.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("not a positive integer: %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string {
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// drainBody reads and closes a response body so that its connection is reused.
func drainBody(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, r)
	r.Close()
}
