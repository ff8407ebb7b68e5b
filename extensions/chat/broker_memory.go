package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Redelivery delays of [MemoryBroker]: the first retry of an envelope whose Handler failed
// comes after memoryRedeliveryDelay, each later one after twice the previous delay, at most
// memoryRedeliveryMaxDelay, so a handler that keeps failing does not spin.
const (
	memoryRedeliveryDelay    = 100 * time.Millisecond
	memoryRedeliveryMaxDelay = 5 * time.Second
)

// compile-time check that MemoryBroker implements Broker
var _ Broker = (*MemoryBroker)(nil)

// MemoryBroker is the in-process [Broker], the default when no other broker is configured.
// It connects the publishers and subscribers of one process only, which is all a single
// tangerine process needs.
//
// Every subscription owns a queue and a goroutine that calls its Handler, so a slow Handler
// delays only its own subscription: publishers and other subscriptions go on at full speed.
// The queues are unbounded on purpose: bounding them would force Publish either to drop
// envelopes or to block behind the slowest subscriber, and the Broker contract allows neither.
// Memory is the bound, as disk is for a Pulsar subscription's backlog; the hub's Handler only
// hands envelopes on to bounded per-connection queues, so it keeps up.
//
// All subscriptions of a topic see its envelopes in one order (the order in which Publish
// calls took the topic), so envelopes with the same Key arrive in publish order.
//
// An envelope whose Handler returns an error is queued again, at the back of its
// subscription's queue, after a short delay that doubles on every failure (100ms up to 5s);
// it is retried until the Handler returns nil or the subscription ends. NB! The retry is
// delivered after envelopes published meanwhile, including ones with the same Key: per-Key
// order is relaxed for redelivered envelopes only, as with a Pulsar nack.
//
// The zero value is not usable; create one with [NewMemoryBroker].
type MemoryBroker struct {
	mu     sync.RWMutex
	closed bool
	topics map[string]*memoryTopic
	subs   map[*memorySub]struct{}
	wg     sync.WaitGroup // one per running subscription goroutine
}

// memoryTopic holds the subscriptions of one topic. Its mutex serialises the fan-out of
// concurrent Publish calls, so every subscription queues envelopes in the same order.
type memoryTopic struct {
	mu   sync.Mutex
	subs map[*memorySub]struct{}
}

// NewMemoryBroker creates a ready to use in-process broker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{
		topics: make(map[string]*memoryTopic),
		subs:   make(map[*memorySub]struct{}),
	}
}

// Publish queues env for every current subscription of topic and returns without waiting for
// any Handler. A publish to a topic without subscriptions is accepted and dropped, as a
// broker drops messages that no subscription retains.
//
// Publish keeps its own copy of env.Data, so the caller may reuse the slice; Handlers share
// that copy and must not modify it.
//
// It returns ctx.Err() when ctx is already done and [ErrClosed] after [MemoryBroker.Close].
func (b *MemoryBroker) Publish(ctx context.Context, topic string, env Envelope) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	env.Data = bytes.Clone(env.Data)

	b.mu.RLock()
	defer b.mu.RUnlock()

	if b.closed {
		return ErrClosed
	}

	t := b.topics[topic]
	if t == nil {
		return nil
	}

	t.mu.Lock()
	for s := range t.subs {
		s.push(memoryItem{env: env})
	}
	t.mu.Unlock()

	return nil
}

// Subscribe starts delivering the envelopes published to topic after it returns to h, one at
// a time, on a goroutine of the subscription's own.
//
// ctx bounds the Subscribe call only. Each Handler call gets a context that is cancelled when
// the subscription ends (unsubscribe or Close).
//
// The returned unsubscribe func stops delivery: it cancels the context of a Handler call in
// progress, waits for that call to return and drops the envelopes still queued; no Handler call
// starts after it returns. Calling it again, or after Close, returns nil. NB! Don't call it
// from inside the subscription's own Handler: it would wait for itself.
//
// It returns ctx.Err() when ctx is already done and [ErrClosed] after [MemoryBroker.Close].
func (b *MemoryBroker) Subscribe(ctx context.Context, topic string, h Handler) (func() error, error) {
	if h == nil {
		return nil, errors.New("chat: subscribe: nil handler")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	b.mu.Lock()
	defer b.mu.Unlock()

	if b.closed {
		return nil, ErrClosed
	}

	t := b.topics[topic]
	if t == nil {
		t = &memoryTopic{subs: make(map[*memorySub]struct{})}
		b.topics[topic] = t
	}

	s := newMemorySub(topic, h)
	// note: taken under b.mu, which Publish holds (read) while fanning out, so an envelope
	// is either queued before the subscription exists or reaches it
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	b.subs[s] = struct{}{}

	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		s.run()
	}()

	return func() error {
		b.remove(s)
		s.stop()
		<-s.done
		return nil
	}, nil
}

// remove detaches s from its topic, so that Publish stops queueing for it.
func (b *MemoryBroker) remove(s *memorySub) {
	b.mu.Lock()
	defer b.mu.Unlock()

	delete(b.subs, s)

	t := b.topics[s.topic]
	if t == nil {
		return
	}

	t.mu.Lock()
	delete(t.subs, s)
	empty := len(t.subs) == 0
	t.mu.Unlock()

	if empty {
		delete(b.topics, s.topic)
	}
}

// Ping reports whether the broker is usable: ctx.Err() when ctx is done, [ErrClosed] after
// [MemoryBroker.Close], else nil.
func (b *MemoryBroker) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	b.mu.RLock()
	defer b.mu.RUnlock()

	if b.closed {
		return ErrClosed
	}

	return nil
}

// Close ends every subscription (cancelling the contexts of Handler calls in progress and
// dropping queued envelopes) and waits until their Handlers have returned. If ctx ends first
// it returns an error wrapping ctx.Err(); the Handlers still running stop by themselves once
// they return.
//
// After Close every method returns [ErrClosed]. Closing again returns nil at once.
func (b *MemoryBroker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = make(map[*memorySub]struct{})
	b.topics = make(map[string]*memoryTopic)
	b.mu.Unlock()

	for s := range subs {
		s.stop()
	}

	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()

	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("chat: close memory broker: handlers still running: %w", ctx.Err())
	}
}

// -------------------------------------------------------------------

// memoryItem is a queued envelope; attempt counts its failed deliveries.
type memoryItem struct {
	env     Envelope
	attempt int
}

// memorySub is one subscription: a FIFO queue drained by run.
type memorySub struct {
	topic   string
	handler Handler

	ctx    context.Context // passed to every Handler call, cancelled by stop
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu      sync.Mutex
	queue   []memoryItem
	head    int // index of the next item in queue
	stopped bool
	wake    chan struct{} // capacity 1: "the queue may have items"
	timers  map[*time.Timer]struct{}
}

func newMemorySub(topic string, h Handler) *memorySub {
	ctx, cancel := context.WithCancel(context.Background())

	return &memorySub{
		topic:   topic,
		handler: h,
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		timers:  make(map[*time.Timer]struct{}),
	}
}

// push appends item to the queue; it never blocks.
func (s *memorySub) push(item memoryItem) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, item)
	s.mu.Unlock()

	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pop waits for the next item; ok is false once the subscription is stopped.
func (s *memorySub) pop() (item memoryItem, ok bool) {
	for {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return memoryItem{}, false
		}
		if s.head < len(s.queue) {
			item = s.queue[s.head]
			s.queue[s.head] = memoryItem{} // let the envelope's data be collected
			s.head++
			s.compact()
			s.mu.Unlock()
			return item, true
		}
		s.mu.Unlock()

		select {
		case <-s.wake:
		case <-s.ctx.Done():
			return memoryItem{}, false
		}
	}
}

// compact keeps the queue's backing array from growing without end while the consumer never
// quite catches up. The caller holds s.mu.
func (s *memorySub) compact() {
	switch {
	case s.head == len(s.queue):
		s.queue = s.queue[:0]
		s.head = 0
	case s.head >= 1024 && s.head*2 >= len(s.queue):
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
}

// run delivers the queued envelopes one at a time until the subscription stops.
func (s *memorySub) run() {
	defer close(s.done)

	for {
		item, ok := s.pop()
		if !ok {
			return
		}

		if err := s.handler(s.ctx, item.env); err != nil {
			s.redeliverLater(item)
		}
	}
}

// redeliverLater queues item again after a delay that doubles with every failed attempt.
func (s *memorySub) redeliverLater(item memoryItem) {
	delay := memoryRedeliveryDelay << min(item.attempt, 10)
	if delay > memoryRedeliveryMaxDelay {
		delay = memoryRedeliveryMaxDelay
	}
	item.attempt++

	s.mu.Lock()
	defer s.mu.Unlock()

	if s.stopped {
		return
	}

	var timer *time.Timer
	timer = time.AfterFunc(delay, func() {
		s.mu.Lock()
		delete(s.timers, timer)
		s.mu.Unlock()
		s.push(item)
	})
	s.timers[timer] = struct{}{}
}

// stop ends the subscription: no Handler call starts afterwards and queued and scheduled
// envelopes are dropped. It does not wait for run; wait on s.done for that.
func (s *memorySub) stop() {
	s.mu.Lock()
	s.stopped = true
	s.queue = nil
	s.head = 0
	for timer := range s.timers {
		timer.Stop()
	}
	clear(s.timers)
	s.mu.Unlock()

	s.cancel()
}
