package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/security"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// newApp returns a test app with Tangerine's schema and hooks and the chat extension with
// cfg (on purpose not testapp.New, so that the tests choose the chat config).
func newApp(t testing.TB, cfg chat.Config) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatalf("Failed to create the test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	if err := hooks.Register(app, hooks.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := chat.Register(app, cfg); err != nil {
		t.Fatal(err)
	}
	return app
}

// createRoom makes a room owned by owner with members, through the app (no API).
func createRoom(t testing.TB, app core.App, owner *core.Record, members ...*core.Record) *core.Record {
	t.Helper()
	room := testapp.Create(t, app, collections.ChatRooms, map[string]any{"name": "room", "owner": owner.Id})
	testapp.Create(t, app, collections.ChatMembers, map[string]any{"room": room.Id, "user": owner.Id, "role": "owner"})
	for _, m := range members {
		testapp.Create(t, app, collections.ChatMembers, map[string]any{"room": room.Id, "user": m.Id})
	}
	return room
}

// expiredToken mints an auth token of r that expired a minute ago.
func expiredToken(t testing.TB, r *core.Record) string {
	t.Helper()
	token, err := security.NewJWT(jwt.MapClaims{
		core.TokenClaimType:         core.TokenTypeAuth,
		core.TokenClaimId:           r.Id,
		core.TokenClaimCollectionId: r.Collection().Id,
		core.TokenClaimRefreshable:  true,
	}, r.TokenKey()+r.Collection().AuthToken.Secret, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// -------------------------------------------------------------------
// WebSocket test client

const waitFor = 5 * time.Second

type frame map[string]any

func (f frame) str(key string) string { s, _ := f[key].(string); return s }

func (f frame) msg() frame { m, _ := f["message"].(map[string]any); return frame(m) }

type client struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan frame
	done   chan error // receives the read error (the close) once
}

func wsURL(httpURL string) string {
	return "ws" + strings.TrimPrefix(httpURL, "http") + "/api/chat/ws"
}

// dialRaw opens a WebSocket with an optional Authorization header and does not read.
func dialRaw(t testing.TB, baseURL, headerToken string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if headerToken != "" {
		opts.HTTPHeader.Set("Authorization", headerToken)
	}
	ws, _, err := websocket.Dial(ctx, wsURL(baseURL), opts)
	if err != nil {
		t.Fatalf("Failed to dial: %v", err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws
}

// dial opens a WebSocket and reads its frames into a channel.
func dial(t testing.TB, baseURL, headerToken string) *client {
	t.Helper()
	c := &client{t: t, ws: dialRaw(t, baseURL, headerToken), frames: make(chan frame, 4096), done: make(chan error, 1)}
	go func() {
		for {
			_, data, err := c.ws.Read(context.Background())
			if err != nil {
				c.done <- err
				return
			}
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				c.done <- err
				return
			}
			c.frames <- f
		}
	}()
	return c
}

// connect dials with a header token and waits for ready.
func connect(t testing.TB, baseURL string, user *core.Record) *client {
	t.Helper()
	c := dial(t, baseURL, testapp.Token(t, user))
	c.expect("ready")
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		c.t.Fatalf("Failed to write: %v", err)
	}
}

// next returns the next frame, failing after waitFor.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case err := <-c.done:
		c.t.Fatalf("Expected a frame, got the connection closed: %v", err)
	case <-time.After(waitFor):
		c.t.Fatalf("Expected a frame within %s, got none", waitFor)
	}
	return nil
}

// expect returns the next frame and fails unless it has that type.
func (c *client) expect(typ string) frame {
	c.t.Helper()
	f := c.next()
	if f.str("type") != typ {
		c.t.Fatalf("Expected a %q frame, got %v", typ, f)
	}
	return f
}

// skipTo returns the next frame of that type, skipping frames of other types.
func (c *client) skipTo(typ string) frame {
	c.t.Helper()
	for {
		if f := c.next(); f.str("type") == typ {
			return f
		}
	}
}

// expectClose waits for the close and checks its code; frames before it are returned.
func (c *client) expectClose(code websocket.StatusCode) []frame {
	c.t.Helper()
	var before []frame
	deadline := time.After(2 * waitFor)
	for {
		select {
		case f := <-c.frames:
			before = append(before, f)
		case err := <-c.done:
			// drain what was read before the close
			for len(c.frames) > 0 {
				before = append(before, <-c.frames)
			}
			if got := websocket.CloseStatus(err); got != code {
				c.t.Fatalf("Expected close code %d, got %d (%v)", code, got, err)
			}
			return before
		case <-deadline:
			c.t.Fatalf("Expected the connection closed with %d, it stayed open", code)
			return nil
		}
	}
}

// barrier sends a ping and returns the frames received before the pong: the server answers
// frames in order, so everything queued for c before the ping has arrived.
func (c *client) barrier() []frame {
	c.t.Helper()
	c.send(map[string]string{"type": "ping"})
	var before []frame
	for {
		f := c.next()
		if f.str("type") == "pong" {
			return before
		}
		before = append(before, f)
	}
}

// -------------------------------------------------------------------

func TestRegisterStopsTheBrokerOnTerminate(t *testing.T) {
	broker := chat.NewMemoryBroker()
	app := newApp(t, chat.Config{Broker: broker})
	srv := testapp.Serve(t, app)
	_ = srv

	if err := broker.Ping(context.Background()); err != nil {
		t.Fatalf("Expected a live broker while serving, got %v", err)
	}
	if err := app.OnTerminate().Trigger(&core.TerminateEvent{App: app}); err != nil {
		t.Fatal(err)
	}
	if err := broker.Ping(context.Background()); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected the broker closed after terminate, got %v", err)
	}
}

// stallingBroker is a MemoryBroker whose Publish, once stall is set, waits until release is
// closed, like Pulsar while it restarts.
type stallingBroker struct {
	*chat.MemoryBroker
	stall   atomic.Bool
	release chan struct{}
}

func (b *stallingBroker) Publish(ctx context.Context, topic string, env chat.Envelope) error {
	if !b.stall.Load() {
		return b.MemoryBroker.Publish(ctx, topic, env)
	}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.MemoryBroker.Publish(ctx, topic, env)
}

// TestWSAckDoesNotWaitForTheBroker checks that a send is acked once it is stored, while the
// broker does not take the event, and that the event is delivered, in order, once it does.
func TestWSAckDoesNotWaitForTheBroker(t *testing.T) {
	t.Parallel()
	broker := &stallingBroker{MemoryBroker: chat.NewMemoryBroker(), release: make(chan struct{})}
	app := newApp(t, chat.Config{Broker: broker, PublishTimeout: time.Minute})
	alice := testapp.CreateUser(t, app, "alice")
	room := createRoom(t, app, alice)
	srv := testapp.Serve(t, app)
	a := connect(t, srv.URL, alice)
	broker.stall.Store(true)

	start := time.Now()
	for _, cid := range []string{"one", "two", "three"} {
		a.send(map[string]string{"type": "send", "room": room.Id, "text": cid, "client_id": cid})
		if f := a.expect("ack"); f.str("client_id") != cid {
			t.Fatalf("Expected the ack of %s, got %v", cid, f)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Expected the acks without waiting for the broker, took %s", took)
	}

	close(broker.release)
	for _, want := range []string{"one", "two", "three"} {
		if m := a.expect("message").msg(); m.str("text") != want {
			t.Fatalf("Expected message %q next, got %v", want, m)
		}
	}
}
