//go:build integration

package chatintegration_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	_ "modernc.org/sqlite"
)

const password = "integration-password-123"

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error

	// serverErrors counts API calls that answered 5xx (each also fails its test)
	serverErrors atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// repoRoot is the module root, found from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// pulsarURL returns TANGERINE_PULSAR_URL and fails the test when it is unset: an integration
// run without its service must not pass quietly.
func pulsarURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("TANGERINE_PULSAR_URL")
	if url == "" {
		t.Fatal("TANGERINE_PULSAR_URL is not set: start Pulsar with scripts/pulsar.sh start and export TANGERINE_PULSAR_URL=pulsar://127.0.0.1:6650")
	}
	return url
}

// tangerineBinary builds the real binary once per test run (`go build .` at the repo root).
func tangerineBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tangerine-chatintegration-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "tangerine")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = repoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is one `tangerine serve` process.
type server struct {
	name string
	base string
	log  string
}

// startServers migrates a fresh pb_data and starts n `tangerine serve` processes on it, each
// with the Pulsar broker and the rate limiter off. They are stopped when the test ends; the
// logs of a failed test are printed.
func startServers(t *testing.T, n int) []*server {
	t.Helper()
	url := pulsarURL(t)
	bin := tangerineBinary(t)
	work := t.TempDir()
	dir := filepath.Join(work, "pb_data")

	// migrate first, so that the processes don't race to apply the migrations
	migStart := time.Now()
	// note: --dev=false, because a binary under the temp dir looks like `go run` to PocketBase,
	// which would then print every SQL statement
	if out, err := exec.Command(bin, "migrate", "up", "--dir", dir, "--dev=false").CombinedOutput(); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, out)
	}
	t.Logf("migrated in %s", time.Since(migStart).Round(time.Millisecond))
	// runs after the processes stopped (cleanups run last-registered first)
	t.Cleanup(func() { logSummary(t, dir) })

	var servers []*server
	for i := range n {
		name := string(rune('A' + i))
		port := freePort(t)
		s := &server{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port), log: filepath.Join(work, "serve-"+name+".log")}
		logFile, err := os.Create(s.log)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", fmt.Sprintf("--http=127.0.0.1:%d", port), "--dir", dir, "--dev=false")
		cmd.Dir = work
		cmd.Env = append(os.Environ(),
			"TANGERINE_BROKER=pulsar",
			"TANGERINE_PULSAR_URL="+url,
			"TANGERINE_RATE_LIMITS=off",
		)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("serve %s: %v", name, err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			logFile.Close()
			close(exited)
		}()
		t.Cleanup(func() {
			stopStart := time.Now()
			defer func() { t.Logf("process %s stopped in %s", name, time.Since(stopStart).Round(time.Millisecond)) }()
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("--- log of process %s (tail):\n%s", name, tail(s.log, 6000))
			}
		})
		servers = append(servers, s)
	}
	start := time.Now()
	for _, s := range servers {
		waitHealthy(t, s)
	}
	t.Logf("%d processes healthy in %s", n, time.Since(start).Round(time.Millisecond))
	return servers
}

// logSummary prints the warnings and errors both processes logged (PocketBase keeps its log
// in pb_data/auxiliary.db), grouped, so that a run shows how often publishing failed or
// SQLite was busy.
func logSummary(t *testing.T, dir string) {
	db, err := sql.Open("sqlite", filepath.Join(dir, "auxiliary.db")+"?mode=ro")
	if err != nil {
		t.Logf("log summary: %v", err)
		return
	}
	defer db.Close()
	rows, err := db.Query(`SELECT message, substr(coalesce(json_extract(data, '$.error'), ''), 1, 160), count(*)
		FROM _logs WHERE level >= 4 GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 15`)
	if err != nil {
		t.Logf("log summary: %v", err)
		return
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var msg, cause string
		var n int
		if err := rows.Scan(&msg, &cause, &n); err != nil {
			t.Logf("log summary: %v", err)
			return
		}
		lines = append(lines, fmt.Sprintf("  %4d × %s: %s", n, msg, cause))
	}
	if len(lines) == 0 {
		t.Logf("server log: no warnings or errors")
		return
	}
	t.Logf("server log, warnings and errors of both processes:\n%s", strings.Join(lines, "\n"))
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHealthy(t *testing.T, s *server) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("process %s did not become healthy; log:\n%s", s.name, tail(s.log, 6000))
}

// call sends a JSON request and decodes the JSON answer into out (when not nil). A 5xx answer
// fails the test (SQLite busy between the two processes, say, would reach users as a 500);
// any other status is returned as it is.
func (s *server) call(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, s.name, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		serverErrors.Add(1)
		t.Errorf("%s %s on %s answered %d: %s", method, path, s.name, resp.StatusCode, data)
	}
	if out != nil && resp.StatusCode < 300 && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s on %s: decoding %s: %v", method, path, s.name, data, err)
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 500 {
		t.Logf("%s %s on %s answered %d: %s", method, path, s.name, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// user is a signed-up user with an auth token.
type user struct {
	id, handle, token string
}

// signUp creates a user through the records API of s and signs in.
func signUp(t *testing.T, s *server, handle string) user {
	t.Helper()
	email := handle + "@example.com"
	var rec struct {
		Id string `json:"id"`
	}
	if st := s.call(t, http.MethodPost, "/api/collections/users/records", "", map[string]any{
		"email": email, "password": password, "passwordConfirm": password, "handle": handle,
	}, &rec); st != http.StatusOK {
		t.Fatalf("Expected sign-up of %s to answer 200, got %d", handle, st)
	}
	var auth struct {
		Token string `json:"token"`
	}
	if st := s.call(t, http.MethodPost, "/api/collections/users/auth-with-password", "", map[string]any{
		"identity": email, "password": password,
	}, &auth); st != http.StatusOK || auth.Token == "" {
		t.Fatalf("Expected sign-in of %s to answer 200 with a token, got %d", handle, st)
	}
	return user{id: rec.Id, handle: handle, token: auth.Token}
}

// createRoom creates a group room owned by owner with members, through s.
func createRoom(t *testing.T, s *server, owner user, members ...user) string {
	t.Helper()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.id
	}
	var room struct {
		Id string `json:"id"`
	}
	st := s.call(t, http.MethodPost, "/api/chat/rooms", owner.token, map[string]any{"name": "it room", "members": ids}, &room)
	if st != http.StatusOK && st != http.StatusCreated || room.Id == "" {
		t.Fatalf("Expected the room to be created, got %d", st)
	}
	return room.Id
}

// -------------------------------------------------------------------
// WebSocket client

// frame is one decoded server frame.
type frame map[string]any

func (f frame) str(key string) string {
	s, _ := f[key].(string)
	return s
}

// msg returns the message object of a message or ack frame.
func (f frame) msg() frame {
	m, _ := f["message"].(map[string]any)
	return m
}

// wsClient is a chat WebSocket connection whose frames are read into a channel.
type wsClient struct {
	t      *testing.T
	name   string
	ws     *websocket.Conn
	frames chan frame
	closed chan struct{} // closed when the reader stops
	err    error         // why the reader stopped
}

// dial opens /api/chat/ws on s with the token in the header and waits for ready.
func dial(t *testing.T, s *server, u user) *wsClient {
	t.Helper()
	wsURL := "ws" + strings.TrimPrefix(s.base, "http") + "/api/chat/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": []string{u.token}},
	})
	if err != nil {
		t.Fatalf("Failed to dial %s as %s: %v", wsURL, u.handle, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &wsClient{t: t, name: u.handle + "@" + s.name, ws: ws, frames: make(chan frame, 100_000), closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { _ = ws.Close(websocket.StatusNormalClosure, "") })
	c.expect(10*time.Second, func(f frame) bool { return f.str("type") == "ready" })
	return c
}

func (c *wsClient) read() {
	defer close(c.closed)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err = fmt.Errorf("undecodable frame %q: %w", data, err)
			return
		}
		c.frames <- f
	}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.trySend(v); err != nil {
		c.t.Fatal(err)
	}
}

// trySend is send for goroutines other than the test's: it returns the error.
func (c *wsClient) trySend(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("%s: write: %w", c.name, err)
	}
	return nil
}

// expect waits for the first frame that match accepts, skipping others; it fails the test on
// timeout or when the connection closes.
func (c *wsClient) expect(timeout time.Duration, match func(frame) bool) frame {
	c.t.Helper()
	deadline := time.After(timeout)
	var skipped []string
	for {
		select {
		case f := <-c.frames:
			if match(f) {
				return f
			}
			skipped = append(skipped, f.str("type"))
		case <-c.closed:
			c.t.Fatalf("%s: connection closed while waiting (skipped %v): %v", c.name, skipped, c.err)
		case <-deadline:
			c.t.Fatalf("%s: timed out after %s waiting for a frame (skipped %v)", c.name, timeout, skipped)
		}
	}
}

// expectMessage waits for a live message frame with the given text.
func (c *wsClient) expectMessage(timeout time.Duration, text string) frame {
	c.t.Helper()
	f := c.expect(timeout, func(f frame) bool { return f.str("type") == "message" && f.msg().str("text") == text })
	return f.msg()
}
