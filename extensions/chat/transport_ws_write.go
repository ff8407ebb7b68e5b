package chat

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pocketbase/pocketbase/core"
)

// Close codes of the chat WebSocket (API.md, Chat WebSocket).
const (
	statusUnauthorized websocket.StatusCode = 4001
	statusSlowConsumer websocket.StatusCode = 4008
	statusGoingAway                         = websocket.StatusGoingAway
	statusTooBig                            = websocket.StatusMessageTooBig
	statusUnsupported                       = websocket.StatusUnsupportedData
)

// conn is one authenticated WebSocket connection: a reader goroutine, a writer goroutine that
// runs only while frames wait in its bounded queue, a ping timer, and at most one sync
// goroutine. An idle connection thus holds one goroutine (its reader) and small buffers.
type conn struct {
	p   *plugin
	ws  *websocket.Conn
	q   *outQueue
	lim tokenBucket

	user  string
	token string

	// guarded by hub.mu
	rooms   map[string]struct{}
	loading bool
	pending []memberOp

	ctx       context.Context // done once the connection is closing
	cancel    context.CancelFunc
	closeOnce sync.Once
	syncing   atomic.Bool
	pinger    atomic.Pointer[time.Timer]

	// the write guard (writeLoop's): when the frame being written started (clock(); 0: none),
	// and the timer that closes the connection when one takes longer than WriteTimeout
	writeStart atomic.Int64
	writeGuard *time.Timer
}

func newConn(p *plugin, ws *websocket.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		p:      p,
		ws:     ws,
		q:      newOutQueue(p.cfg.QueueSize),
		lim:    tokenBucket{rate: p.cfg.SendRate, burst: float64(p.cfg.SendBurst)},
		ctx:    ctx,
		cancel: cancel,
	}
	c.q.start = func() { go c.writeLoop() }
	return c
}

// enqueue queues a frame without blocking; a full queue marks a slow consumer, which is
// closed with 4008 and must sync after it reconnects.
func (c *conn) enqueue(it outItem) {
	if !c.q.push(it) {
		c.close(statusSlowConsumer, "slow consumer")
	}
}

// close starts the closing handshake with code, once. The writer stops taking frames, but a
// write in progress completes first, so the close frame follows the frames already written.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.cancel()
		go func() { _ = c.ws.Close(code, reason) }()
	})
}

// writeNow writes one frame at once, outside the queue: only for the last frame before a
// close, from the reader.
func (c *conn) writeNow(data []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), c.p.cfg.WriteTimeout)
	defer cancel()
	_ = c.ws.Write(ctx, websocket.MessageText, data)
}

// writeLoop writes queued frames until the queue is empty or the connection closes, skipping
// the frames of rooms the user is no longer in. The queue starts it when a frame arrives and
// no writer runs; it ends when it finds the queue empty, so idle connections hold no writer.
// On a closing connection it stops for good (the queue believes it still runs, so none
// starts again).
//
// A frame whose write takes longer than WriteTimeout (a peer that stopped reading, its TCP
// window full) gets the connection closed by the write guard: one timer per connection, armed
// for each frame. Writes take no deadline context: one per frame (a context, a timer and the
// library's AfterFunc) was a sixth of the chat's allocations at 20,000 deliveries/s.
func (c *conn) writeLoop() {
	if c.writeGuard == nil { // one writeLoop runs at a time
		c.writeGuard = time.AfterFunc(time.Hour, c.writeExpired)
		c.writeGuard.Stop()
	}
	defer c.writeGuard.Stop()
	for {
		if c.ctx.Err() != nil {
			return
		}
		it, ok := c.next()
		if !ok {
			return
		}
		c.writeStart.Store(clock())
		c.writeGuard.Reset(c.p.cfg.WriteTimeout)
		// note: not c.ctx, whose cancellation would cut the connection without a close frame
		err := c.ws.Write(context.Background(), websocket.MessageText, it.data)
		c.writeStart.Store(0)
		if err != nil {
			c.close(statusGoingAway, "write failed")
			return
		}
	}
}

// writeExpired is the write guard's timer: it closes the connection when the frame being
// written has taken WriteTimeout, and re-arms itself for the rest of the time otherwise (the
// timer of an earlier frame, which Reset could not stop before it fired).
func (c *conn) writeExpired() {
	start := c.writeStart.Load()
	if start == 0 {
		return
	}
	if left := c.p.cfg.WriteTimeout - time.Duration(clock()-start); left > 0 {
		c.writeGuard.Reset(left)
		return
	}
	c.cancel()
	_ = c.ws.CloseNow() // the blocked Write fails, and the writer ends
}

// clockBase anchors clock.
var clockBase = time.Now()

// clock is a monotonic time in nanoseconds, for the write guard.
func clock() int64 { return int64(time.Since(clockBase)) }

// next takes the next frame to write, dropping the frames of rooms the user is no longer in;
// false means the queue is empty and the writer must end.
func (c *conn) next() (outItem, bool) {
	for {
		it, ok := c.q.popOrIdle()
		if !ok || it.room == "" || c.p.hub.inRoom(c, it.room) {
			return it, ok
		}
	}
}

// startPings pings the connection every PingInterval, on a timer (no goroutine waits for it),
// until the connection closes; stopPings ends that. The first ping comes after firstPing.
func (c *conn) startPings() {
	c.pinger.Store(time.AfterFunc(firstPing(c.p.cfg.PingInterval), c.pingTick))
}

// firstPing is a random time between half and one and a half ping intervals: connections
// opened together (every client reconnecting after a restart, say) would otherwise ping
// together, and their token checks and pings would come as one burst every interval, a
// stall of every connection's deliveries while it lasts.
func firstPing(interval time.Duration) time.Duration {
	return interval/2 + rand.N(interval)
}

func (c *conn) stopPings() {
	if t := c.pinger.Load(); t != nil {
		t.Stop()
	}
}

func (c *conn) pingTick() {
	if c.ctx.Err() != nil {
		return
	}
	c.ping()
	if t := c.pinger.Load(); t != nil && c.ctx.Err() == nil {
		t.Reset(c.p.cfg.PingInterval)
	}
}

// ping checks that the peer answers and that its token is still valid (a suspended account's
// tokens stop working); otherwise the connection is dropped.
func (c *conn) ping() {
	if _, err := authenticate(c.p.app, c.token); err != nil {
		c.close(statusUnauthorized, "token no longer valid")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.p.cfg.PingInterval)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		c.p.app.Logger().Debug("Dropped a dead chat connection", "user", c.user, "error", err)
		c.close(statusGoingAway, "ping timeout")
	}
}

// authenticate returns the active users record of an auth token.
func authenticate(app core.App, token string) (*core.Record, error) {
	r, err := app.FindAuthRecordByToken(token, core.TokenTypeAuth)
	if err != nil {
		return nil, err
	}
	if r.Collection().Name != "users" || r.GetString("status") != "active" {
		return nil, errNotChatUser
	}
	return r, nil
}

// -------------------------------------------------------------------

// outItem is a queued frame; room is set for frames of a room, which are dropped when the
// user has left it by the time the writer takes them.
type outItem struct {
	room string
	data []byte
}

// outQueue is a bounded FIFO of frames with a single consumer (the writer). Its ring starts
// small and doubles up to max as frames pile up, so that an idle connection does not hold a
// full-size buffer (256 entries are 10 KiB; most connections never have more than a few
// frames waiting).
type outQueue struct {
	mu    sync.Mutex
	buf   []outItem // ring, len(buf) <= max
	max   int
	head  int
	n     int
	wake  chan struct{} // capacity 1: "there may be items"
	space chan struct{} // capacity 1: "an item was taken"

	// start, when set, is called (outside the lock) by the push that finds no consumer
	// running; the consumer reports that it stopped through popOrIdle
	start   func()
	running bool
}

// outQueueStart is the ring size of a new queue.
const outQueueStart = 4

func newOutQueue(max int) *outQueue {
	return &outQueue{
		buf:   make([]outItem, min(max, outQueueStart)),
		max:   max,
		wake:  make(chan struct{}, 1),
		space: make(chan struct{}, 1),
	}
}

// appendLocked adds it if fewer than limit (at most max) items are queued, growing the ring
// when it is full. The caller holds q.mu.
func (q *outQueue) appendLocked(it outItem, limit int) bool {
	if q.n >= min(limit, q.max) {
		return false
	}
	if q.n == len(q.buf) {
		grown := make([]outItem, min(q.max, max(outQueueStart, 2*len(q.buf))))
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = it
	q.n++
	return true
}

// push appends it unless the queue is full.
func (q *outQueue) push(it outItem) bool {
	q.mu.Lock()
	ok := q.appendLocked(it, q.max)
	start := q.startLocked(ok)
	q.mu.Unlock()
	if ok {
		signal(q.wake)
	}
	if start {
		q.start()
	}
	return ok
}

// startLocked reports whether the caller, having appended an item (added), must start the
// consumer, and marks it running. The caller holds q.mu.
func (q *outQueue) startLocked(added bool) bool {
	if !added || q.running || q.start == nil {
		return false
	}
	q.running = true
	return true
}

// pushWait appends it once fewer than below items are queued, so that a long sync leaves
// room for live frames; it returns ctx.Err() if ctx ends first.
func (q *outQueue) pushWait(ctx context.Context, it outItem, below int) error {
	for {
		q.mu.Lock()
		ok := q.appendLocked(it, below)
		start := q.startLocked(ok)
		q.mu.Unlock()
		if ok {
			signal(q.wake)
			if start {
				q.start()
			}
			return nil
		}
		select {
		case <-q.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pop takes the oldest item, if any.
func (q *outQueue) pop() (outItem, bool) {
	return q.take(false)
}

// popOrIdle is pop for the consumer that start launched: when the queue is empty it also
// records that the consumer stops, so that the next push starts a new one.
func (q *outQueue) popOrIdle() (outItem, bool) {
	return q.take(true)
}

func (q *outQueue) take(idleWhenEmpty bool) (outItem, bool) {
	q.mu.Lock()
	if q.n == 0 {
		if idleWhenEmpty {
			q.running = false
		}
		q.mu.Unlock()
		return outItem{}, false
	}
	it := q.buf[q.head]
	q.buf[q.head] = outItem{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	q.mu.Unlock()
	signal(q.space)
	return it, true
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// -------------------------------------------------------------------

// tokenBucket limits the frames a connection fans out; only its reader uses it.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// allow takes a token if one is left.
func (b *tokenBucket) allow(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
