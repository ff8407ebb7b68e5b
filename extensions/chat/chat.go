// Package chat adds Tangerine's real-time chat: the room routes under /api/chat/rooms, one
// WebSocket per user at /api/chat/ws carrying all of that user's rooms, and the record hooks
// that keep chat_rooms' last message preview in step and deliver messages created through the
// records API live, exactly like WebSocket sends.
//
// Every chat event (a committed message, a membership change, a read cursor, a typing notice,
// a removal) goes through a [Broker] on one topic with the room id as the envelope key. Each
// process's hub subscribes once and hands the events on to its local connections of that
// room, so several tangerine processes can share the load with a networked broker. The
// database stays the source of truth: history and sync read it, never the broker.
//
// Example usage:
//
//	app := pocketbase.New()
//	chat.MustRegister(app, chat.Config{
//		// nil means the in-process broker; pass a pulsarbroker.Broker to share rooms
//		// between processes
//		Broker: nil,
//	})
package chat

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Config configures the chat extension. The zero value is usable: every field has a default.
type Config struct {
	// Broker moves chat events between processes. Default: [NewMemoryBroker]. The extension
	// owns it and closes it when the app terminates.
	Broker Broker

	// Topic is the one broker topic that carries every chat event. Default "tangerine-chat".
	// Every process sharing a database must use the same topic.
	Topic string

	// SendRate and SendBurst bound the frames that fan out (send, read, typing) per
	// WebSocket connection: a token bucket of SendBurst tokens refilled at SendRate per
	// second. Defaults 20 and 40.
	SendRate  float64
	SendBurst int

	// QueueSize is the number of frames one connection may have waiting to be written. A
	// connection whose queue overflows is a slow consumer and is closed with code 4008.
	// Default 256.
	QueueSize int

	// PingInterval is how often the server pings each connection; a connection that does not
	// answer within the next interval is dropped. The token is checked again on every ping,
	// so a suspended account is disconnected. Default 30 seconds.
	PingInterval time.Duration

	// AuthTimeout is how long a connection without an Authorization header has to send its
	// auth frame. Default 10 seconds.
	AuthTimeout time.Duration

	// MaxFrame is the largest client frame in bytes. Default 16 KiB.
	MaxFrame int

	// WriteTimeout bounds one frame write to a connection. Default 10 seconds.
	WriteTimeout time.Duration

	// CommitWindow is how long a batch of WebSocket sends waits for more sends before it is
	// stored, when the last batch held more than one message (see groupCommit); a lone send
	// is stored at once. Default 1 ms; negative: never wait.
	CommitWindow time.Duration

	// PublishTimeout bounds one Broker.Publish call. Publishing never holds up a send's ack
	// or a request: events wait in a queue per room (see publisher). Default 5 seconds.
	PublishTimeout time.Duration
}

// Limits of the room routes.
const (
	maxRoomMembers   = 500 // members of one room
	maxListedMembers = 100 // users listed in one create or add request
	maxRoomName      = 100 // runes
	maxPreview       = 140 // runes of last_message_text
	maxMessageText   = 2000
	maxClientId      = 64
	listMembers      = 10 // members shown per room in GET /api/chat/rooms
)

func (cfg *Config) setDefaults() {
	if cfg.Broker == nil {
		cfg.Broker = NewMemoryBroker()
	}
	if cfg.Topic == "" {
		cfg.Topic = "tangerine-chat"
	}
	if cfg.SendRate <= 0 {
		cfg.SendRate = 20
	}
	if cfg.SendBurst <= 0 {
		cfg.SendBurst = 40
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = 10 * time.Second
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = 16 << 10
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 5 * time.Second
	}
	if cfg.CommitWindow == 0 {
		cfg.CommitWindow = time.Millisecond
	}
}

// Register binds the chat routes, the WebSocket endpoint and the chat record hooks to app.
// The broker subscription starts in OnServe and stops, with the broker, in OnTerminate.
func Register(app core.App, cfg Config) error {
	cfg.setDefaults()
	p := &plugin{app: app, cfg: cfg, roomLocks: newKeyedMutex()}
	p.commits.store, p.commits.window = p.storeBatch, cfg.CommitWindow
	p.newId = timeOrderedId
	p.hub = newHub(p)
	p.pub = newPublisher(p)
	app.Store().Set(pluginStoreKey, p)

	bindMessageHooks(p)
	bindMemberHooks(p)

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := p.start(); err != nil {
			return err
		}
		bindRoomRoutes(p, se)
		se.Router.GET("/api/chat/ws", p.chatConnect)
		return se.Next()
	})

	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		p.stop()
		return e.Next()
	})
	return nil
}

// MustRegister is like [Register] but panics on error.
func MustRegister(app core.App, cfg Config) {
	if err := Register(app, cfg); err != nil {
		panic(err)
	}
}

// pluginStoreKey is where Register keeps the plugin in the app's store (tests read it).
const pluginStoreKey = "tangerine.chat"

// plugin is the state of one registered chat extension.
type plugin struct {
	app core.App
	cfg Config
	hub *hub
	pub *publisher // hands events to the broker off the caller's path, in order per room

	// serving is set once the hub is subscribed: from then on events are published through
	// pub; before (CLI commands, migrations) they are published synchronously
	serving atomic.Bool

	// roomLocks serialise message inserts and their publish per room (see messages.go)
	roomLocks *keyedMutex
	held      sync.Map // *core.Record -> room id whose lock the record's create holds

	commits groupCommit            // batches the inserts of WebSocket sends (commit.go)
	sending sync.Map               // *core.Record -> *commitReq of a WebSocket send being stored
	newId   func(time.Time) string // message ids (timeOrderedId; tests replace it)

	mu          sync.Mutex
	started     bool
	stopped     bool
	unsubscribe func() error
}

// start subscribes the hub to the chat topic, once: OnServe may fire more than once.
func (p *plugin) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.stopped {
		return nil
	}
	// note: retried for a minute, because a broker that has just started (Pulsar loading the
	// namespace of a new topic, say) may take longer than one attempt's own timeout
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var unsub func() error
	for {
		var err error
		if unsub, err = p.cfg.Broker.Subscribe(ctx, p.cfg.Topic, p.hub.handle); err == nil {
			break
		}
		p.app.Logger().Warn("Failed to subscribe the chat hub; retrying", "error", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
	p.unsubscribe = unsub
	p.started = true
	p.serving.Store(true)
	return nil
}

// stop unsubscribes, closes the local connections (1001 going away) and the broker, within
// 10 seconds.
func (p *plugin) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	p.pub.stop()
	if p.unsubscribe != nil {
		if err := p.unsubscribe(); err != nil {
			p.app.Logger().Warn("Failed to unsubscribe the chat hub", "error", err)
		}
	}
	p.hub.closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.cfg.Broker.Close(ctx); err != nil && !errors.Is(err, ErrClosed) {
		p.app.Logger().Warn("Failed to close the chat broker", "error", err)
	}
}

// -------------------------------------------------------------------

// keyedMutex is a mutex per key whose entries go away when nobody holds or waits for them.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func newKeyedMutex() *keyedMutex {
	return &keyedMutex{m: make(map[string]*keyedEntry)}
}

func (k *keyedMutex) lock(key string) {
	k.mu.Lock()
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
}

func (k *keyedMutex) unlock(key string) {
	k.mu.Lock()
	e := k.m[key]
	e.refs--
	if e.refs == 0 {
		delete(k.m, key)
	}
	k.mu.Unlock()
	e.mu.Unlock()
}
