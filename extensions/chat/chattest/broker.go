// Package chattest holds the conformance suite that every [chat.Broker] implementation passes,
// so that the hub behaves the same whichever broker a tangerine process uses.
//
// The suite is an ordinary package, not a _test.go file, because the implementations live in
// different packages: the in-process broker in chat, the Pulsar one in chat/pulsarbroker.
//
// Example usage:
//
//	func TestMemoryBroker(t *testing.T) {
//		chattest.RunBrokerTests(t, func(t *testing.T) chat.Broker {
//			return chat.NewMemoryBroker()
//		})
//	}
package chattest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/chat"
)

// WaitTimeout bounds every wait of the suite for an envelope to arrive. It is generous because
// a real broker on a shared two-core machine can pause for seconds (JIT, GC, ledger rollover);
// a passing run waits only as long as delivery takes.
const WaitTimeout = 30 * time.Second

// quietPeriod is how long the suite watches for an envelope that must not arrive, after an
// envelope published later has already arrived elsewhere.
const quietPeriod = 300 * time.Millisecond

// RunBrokerTests runs the [chat.Broker] contract against the brokers that newBroker returns.
//
// newBroker is called once per subtest and must return a new, ready broker; the suite closes
// it (Close is idempotent, so the factory may also register its own cleanup). Every subtest
// uses topics with a random suffix, so the suite can run again and again against one long-lived
// broker server without seeing envelopes from earlier runs.
func RunBrokerTests(t *testing.T, newBroker func(t *testing.T) chat.Broker) {
	t.Helper()

	tests := []struct {
		name string
		run  func(t *testing.T, b chat.Broker)
	}{
		{"PublishSubscribe", testPublishSubscribe},
		{"EverySubscriptionReceivesEverything", testEverySubscriptionReceivesEverything},
		{"PerKeyOrderUnderConcurrentPublishers", testPerKeyOrder},
		{"UnsubscribeStopsDelivery", testUnsubscribe},
		{"HandlerErrorRedelivers", testHandlerErrorRedelivers},
		{"SlowSubscriberDoesNotBlockOthers", testSlowSubscriber},
		{"TopicIsolation", testTopicIsolation},
		{"ContextCancellation", testContextCancellation},
		{"CloseReturnsErrClosed", testClose},
		{"CloseWaitsForHandlers", testCloseWaitsForHandlers},
		{"CloseIsBoundedByContext", testCloseBounded},
	}

	for i, s := range tests {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			b := newBroker(t)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
				defer cancel()
				if err := b.Close(ctx); err != nil {
					t.Errorf("Expected Close to succeed, got %v", err)
				}
			})
			s.run(t, b)
		})
	}
}

// -------------------------------------------------------------------

func testPublishSubscribe(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("pubsub")
	rec := newRecorder()
	subscribe(t, b, topic, rec.handler)

	if err := b.Ping(opCtx(t)); err != nil {
		t.Fatalf("Expected Ping to succeed, got %v", err)
	}

	want := []chat.Envelope{
		{Key: "room1", Data: []byte("hello")},
		{Key: "room2", Data: []byte(`{"type":"typing"}`)},
		{Key: "room1", Data: []byte("world")},
	}
	for _, env := range want {
		publish(t, b, topic, env)
	}

	got := rec.waitN(t, len(want))
	for i := range want {
		if got[i].Key != want[i].Key || string(got[i].Data) != string(want[i].Data) {
			t.Fatalf("Expected envelope %d to be %q/%q, got %q/%q",
				i, want[i].Key, want[i].Data, got[i].Key, got[i].Data)
		}
	}

	rec.expectNoMore(t, len(want))
}

func testEverySubscriptionReceivesEverything(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("fanout")
	recs := []*recorder{newRecorder(), newRecorder()}
	for _, rec := range recs {
		subscribe(t, b, topic, rec.handler)
	}

	const n = 50
	for i := 0; i < n; i++ {
		publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte(strconv.Itoa(i))})
	}

	for r, rec := range recs {
		got := rec.waitN(t, n)
		for i, env := range got {
			if string(env.Data) != strconv.Itoa(i) {
				t.Fatalf("Expected subscription %d to receive %d at position %d, got %q", r, i, i, env.Data)
			}
		}
		rec.expectNoMore(t, n)
	}
}

func testPerKeyOrder(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("order")
	rec := newRecorder()
	subscribe(t, b, topic, rec.handler)

	const keys, perKey = 4, 40

	var wg sync.WaitGroup
	errs := make(chan error, keys)
	for k := 0; k < keys; k++ {
		wg.Add(1)
		go func(key string) {
			defer wg.Done()
			for i := 0; i < perKey; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
				err := b.Publish(ctx, topic, chat.Envelope{Key: key, Data: []byte(strconv.Itoa(i))})
				cancel()
				if err != nil {
					errs <- fmt.Errorf("publish %s/%d: %w", key, i, err)
					return
				}
			}
		}("room" + strconv.Itoa(k))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Expected every publish to succeed, got %v", err)
	}

	got := rec.waitN(t, keys*perKey)
	next := map[string]int{}
	for _, env := range got {
		seq, err := strconv.Atoi(string(env.Data))
		if err != nil {
			t.Fatalf("Expected a sequence number, got %q", env.Data)
		}
		if seq != next[env.Key] {
			t.Fatalf("Expected %s #%d next, got #%d", env.Key, next[env.Key], seq)
		}
		next[env.Key]++
	}
	if len(next) != keys {
		t.Fatalf("Expected envelopes of %d keys, got %d", keys, len(next))
	}
	rec.expectNoMore(t, keys*perKey)
}

func testUnsubscribe(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("unsub")
	stopped, kept := newRecorder(), newRecorder()
	unsubscribe := subscribe(t, b, topic, stopped.handler)
	subscribe(t, b, topic, kept.handler)

	publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte("before")})
	stopped.waitN(t, 1)
	kept.waitN(t, 1)

	if err := unsubscribe(); err != nil {
		t.Fatalf("Expected unsubscribe to succeed, got %v", err)
	}
	if err := unsubscribe(); err != nil {
		t.Fatalf("Expected a second unsubscribe to be harmless, got %v", err)
	}

	for i := 0; i < 5; i++ {
		publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte("after")})
	}
	// the subscription that is still there shows the envelopes went out
	kept.waitN(t, 6)

	stopped.expectNoMore(t, 1)
}

func testHandlerErrorRedelivers(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("redeliver")

	var mu sync.Mutex
	failed := false
	rec := newRecorder()
	subscribe(t, b, topic, func(ctx context.Context, env chat.Envelope) error {
		mu.Lock()
		fail := string(env.Data) == "flaky" && !failed
		if fail {
			failed = true
		}
		mu.Unlock()

		if fail {
			return errors.New("transient failure")
		}
		return rec.handler(ctx, env)
	})

	publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte("flaky")})
	publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte("steady")})

	// redelivery may reorder the failed envelope and may repeat others: look for both
	rec.waitFor(t, "the failed envelope to come again", func(got []chat.Envelope) bool {
		return count(got, "flaky") >= 1 && count(got, "steady") >= 1
	})

	mu.Lock()
	defer mu.Unlock()
	if !failed {
		t.Fatal("Expected the handler to have failed once")
	}
}

func testSlowSubscriber(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("slow")

	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }

	slowStarted := make(chan struct{}, 1)
	unsubscribeSlow := subscribe(t, b, topic, func(ctx context.Context, env chat.Envelope) error {
		select {
		case slowStarted <- struct{}{}:
		default:
		}
		<-release // ignores ctx on purpose: the worst kind of slow handler
		return nil
	})
	// note: registered after subscribe, so that on failure it runs before the unsubscribe
	// cleanup, which waits for the handler
	t.Cleanup(unblock)
	fast := newRecorder()
	subscribe(t, b, topic, fast.handler)

	const n = 20
	start := time.Now()
	for i := 0; i < n; i++ {
		publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte(strconv.Itoa(i))})
	}
	fast.waitN(t, n)

	select {
	case <-slowStarted:
	case <-time.After(WaitTimeout):
		t.Fatal("Expected the slow handler to have been called")
	}
	t.Logf("%d envelopes reached the fast subscription in %s while the slow one was stuck", n, time.Since(start))

	unblock()
	if err := unsubscribeSlow(); err != nil {
		t.Fatalf("Expected unsubscribe to succeed, got %v", err)
	}
}

func testTopicIsolation(t *testing.T, b chat.Broker) {
	topicA, topicB := uniqueTopic("isoa"), uniqueTopic("isob")
	recA, recB := newRecorder(), newRecorder()
	subscribe(t, b, topicA, recA.handler)
	subscribe(t, b, topicB, recB.handler)

	publish(t, b, topicA, chat.Envelope{Key: "room", Data: []byte("a")})
	publish(t, b, topicB, chat.Envelope{Key: "room", Data: []byte("b")})

	if got := recA.waitN(t, 1); string(got[0].Data) != "a" {
		t.Fatalf("Expected topic A to receive %q, got %q", "a", got[0].Data)
	}
	if got := recB.waitN(t, 1); string(got[0].Data) != "b" {
		t.Fatalf("Expected topic B to receive %q, got %q", "b", got[0].Data)
	}
	recA.expectNoMore(t, 1)
	recB.expectNoMore(t, 1)
}

func testContextCancellation(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("ctx")

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	if err := b.Publish(cancelled, topic, chat.Envelope{Key: "room", Data: []byte("x")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Expected Publish with a cancelled context to fail with context.Canceled, got %v", err)
	}
	if unsubscribe, err := b.Subscribe(cancelled, topic, newRecorder().handler); !errors.Is(err, context.Canceled) {
		if err == nil {
			_ = unsubscribe()
		}
		t.Fatalf("Expected Subscribe with a cancelled context to fail with context.Canceled, got %v", err)
	}
	if err := b.Ping(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Expected Ping with a cancelled context to fail with context.Canceled, got %v", err)
	}

	// unsubscribe cancels the context of the Handler call in progress and waits for it
	entered := make(chan struct{})
	returned := make(chan struct{})
	unsubscribe := subscribe(t, b, topic, func(ctx context.Context, env chat.Envelope) error {
		close(entered)
		<-ctx.Done()
		close(returned)
		return ctx.Err()
	})
	publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte("block")})
	waitClosed(t, entered, "the handler to start")

	if err := unsubscribe(); err != nil {
		t.Fatalf("Expected unsubscribe to succeed, got %v", err)
	}
	select {
	case <-returned:
	default:
		t.Fatal("Expected unsubscribe to return only after the handler it cancelled")
	}
}

func testClose(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("close")
	unsubscribe := subscribe(t, b, topic, newRecorder().handler)

	if err := b.Close(opCtx(t)); err != nil {
		t.Fatalf("Expected Close to succeed, got %v", err)
	}
	if err := b.Close(opCtx(t)); err != nil {
		t.Fatalf("Expected a second Close to be harmless, got %v", err)
	}

	if err := b.Publish(opCtx(t), topic, chat.Envelope{Key: "room", Data: []byte("x")}); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected Publish after Close to fail with ErrClosed, got %v", err)
	}
	if _, err := b.Subscribe(opCtx(t), topic, newRecorder().handler); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected Subscribe after Close to fail with ErrClosed, got %v", err)
	}
	if err := b.Ping(opCtx(t)); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected Ping after Close to fail with ErrClosed, got %v", err)
	}
	if err := unsubscribe(); err != nil {
		t.Fatalf("Expected unsubscribe after Close to be harmless, got %v", err)
	}
}

func testCloseWaitsForHandlers(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("closewait")

	entered := make(chan struct{})
	returned := make(chan struct{})
	subscribe(t, b, topic, func(ctx context.Context, env chat.Envelope) error {
		close(entered)
		<-ctx.Done() // Close cancels it
		time.Sleep(50 * time.Millisecond)
		close(returned)
		return nil
	})
	publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte("x")})
	waitClosed(t, entered, "the handler to start")

	if err := b.Close(opCtx(t)); err != nil {
		t.Fatalf("Expected Close to succeed, got %v", err)
	}
	select {
	case <-returned:
	default:
		t.Fatal("Expected Close to return only after the running handler")
	}
}

func testCloseBounded(t *testing.T, b chat.Broker) {
	topic := uniqueTopic("closebound")

	release := make(chan struct{})
	entered := make(chan struct{})
	subscribe(t, b, topic, func(ctx context.Context, env chat.Envelope) error {
		close(entered)
		<-release // ignores ctx: Close must not wait for it past its own ctx
		return nil
	})
	// note: registered after subscribe, so that it runs before the unsubscribe cleanup, which
	// waits for the handler
	t.Cleanup(func() { close(release) })
	publish(t, b, topic, chat.Envelope{Key: "room", Data: []byte("x")})
	waitClosed(t, entered, "the handler to start")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()

	start := time.Now()
	err := b.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Expected Close to give up with context.DeadlineExceeded, got %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("Expected Close to return soon after its context ended, took %s", elapsed)
	}
	if err := b.Publish(opCtx(t), topic, chat.Envelope{Key: "room", Data: []byte("y")}); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected Publish after an interrupted Close to fail with ErrClosed, got %v", err)
	}
}

// -------------------------------------------------------------------

// uniqueTopic returns a topic name no earlier run used: letters, digits and dashes only, which
// every broker accepts.
func uniqueTopic(name string) string {
	var buf [6]byte
	if _, err := rand.Read(buf[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "chattest-" + name + "-" + hex.EncodeToString(buf[:])
}

// opCtx is the context of one broker call.
func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func subscribe(t *testing.T, b chat.Broker, topic string, h chat.Handler) func() error {
	t.Helper()

	unsubscribe, err := b.Subscribe(opCtx(t), topic, h)
	if err != nil {
		t.Fatalf("Expected Subscribe(%q) to succeed, got %v", topic, err)
	}
	t.Cleanup(func() { _ = unsubscribe() })

	return unsubscribe
}

func publish(t *testing.T, b chat.Broker, topic string, env chat.Envelope) {
	t.Helper()

	if err := b.Publish(opCtx(t), topic, env); err != nil {
		t.Fatalf("Expected Publish(%q) to succeed, got %v", topic, err)
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()

	select {
	case <-ch:
	case <-time.After(WaitTimeout):
		t.Fatalf("Timed out after %s waiting for %s", WaitTimeout, what)
	}
}

func count(envs []chat.Envelope, data string) int {
	n := 0
	for _, env := range envs {
		if string(env.Data) == data {
			n++
		}
	}
	return n
}

// recorder is a Handler that keeps what it receives, for the suite to wait on.
type recorder struct {
	mu   sync.Mutex
	got  []chat.Envelope
	wake chan struct{}
}

func newRecorder() *recorder {
	return &recorder{wake: make(chan struct{}, 1)}
}

func (r *recorder) handler(_ context.Context, env chat.Envelope) error {
	r.mu.Lock()
	r.got = append(r.got, chat.Envelope{Key: env.Key, Data: append([]byte(nil), env.Data...)})
	r.mu.Unlock()

	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) snapshot() []chat.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Envelope(nil), r.got...)
}

// waitFor waits until cond holds for the envelopes received so far and returns them.
func (r *recorder) waitFor(t *testing.T, what string, cond func([]chat.Envelope) bool) []chat.Envelope {
	t.Helper()

	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()

	for {
		got := r.snapshot()
		if cond(got) {
			return got
		}
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("Timed out after %s waiting for %s; received %d envelopes", WaitTimeout, what, len(got))
		}
	}
}

// waitN waits for at least n envelopes and returns them all.
func (r *recorder) waitN(t *testing.T, n int) []chat.Envelope {
	t.Helper()

	return r.waitFor(t, fmt.Sprintf("%d envelopes", n), func(got []chat.Envelope) bool {
		return len(got) >= n
	})
}

// expectNoMore fails if more than n envelopes arrive within quietPeriod.
func (r *recorder) expectNoMore(t *testing.T, n int) {
	t.Helper()

	time.Sleep(quietPeriod)
	if got := r.snapshot(); len(got) != n {
		t.Fatalf("Expected exactly %d envelopes, got %d", n, len(got))
	}
}
