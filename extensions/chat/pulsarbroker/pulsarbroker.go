// Package pulsarbroker implements [chat.Broker] on Apache Pulsar, so that several tangerine
// processes share one stream of chat events: every process publishes the events of its own
// WebSocket connections and receives, through its own subscription, the events of all of them.
//
// Topics and subscriptions:
//   - A chat topic "rooms" is the non-partitioned Pulsar topic Config.TopicPrefix+"rooms"
//     (by default persistent://public/default/tangerine-rooms), created on first use.
//     Envelope.Key becomes the message key.
//   - Every Subscribe call opens its own Exclusive, non-durable subscription, named after
//     Config.SubscriptionName (unique per process), starting at the latest message. Exclusive
//     on one non-partitioned topic means one consumer reads the topic in publish order, so
//     envelopes with the same Key arrive in order; non-durable means the subscription exists
//     only while its consumer is connected.
//
// Retention: the database is the source of truth and clients catch up with a "sync" frame
// after a reconnect, so Pulsar is only a pipe. A non-durable subscription holds no backlog:
// when a process stops, crashes or loses its connection for good, Pulsar drops its
// subscription and nothing piles up (a durable subscription left behind by a crashed process
// would keep every later message forever, under the default unlimited backlog quota). With the
// namespace's default retention (none), a message is kept only until the ledger holding it
// rolls over and no durable subscription needs it, and a topic with no producers and no
// subscriptions is deleted by the broker's inactive-topic cleanup (scripts/pulsar.sh sets it
// to ten minutes). While the connection is briefly lost, the client resubscribes from the
// last message it received, so short broker restarts lose nothing that Pulsar still stores.
//
// Failures: the Pulsar client reconnects by itself, with a backoff capped at
// Config.ReconnectMaxBackoff. While Pulsar cannot be reached, Publish fails at once with an
// error wrapping [ErrUnavailable] instead of waiting for a reconnect (the first Publish that
// meets the outage fails when its context or Config.PublishTimeout ends); Ping reports the
// same. Subscriptions resume delivery on their own once Pulsar is back.
//
// Example usage:
//
//	b, err := pulsarbroker.New(pulsarbroker.Config{URL: "pulsar://127.0.0.1:6650"})
//	if err != nil {
//		return err
//	}
//	chat.MustRegister(app, chat.Config{Broker: b})
package pulsarbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/tangerine-market/tangerine/extensions/chat"
)

// ErrUnavailable is wrapped by the errors of Publish and Ping while Pulsar cannot be reached.
var ErrUnavailable = errors.New("pulsarbroker: pulsar is unreachable")

// compile-time check that Broker implements chat.Broker
var _ chat.Broker = (*Broker)(nil)

// topicNamePattern is what a chat topic may contain: it becomes the last part of a Pulsar
// topic name, where "/" would change the namespace.
var topicNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.=-]{1,200}$`)

// Broker is a [chat.Broker] on Apache Pulsar. Create it with [New]; it is safe for concurrent
// use.
type Broker struct {
	cfg    Config
	client pulsar.Client
	health *health

	ctx    context.Context // ends on Close; stops the background goroutines
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	producers map[string]*producerEntry
	subs      map[*subscription]struct{}
	subSeq    int

	loops   sync.WaitGroup // one per subscription's receive loop
	janitor sync.WaitGroup // the idle producer eviction
}

// New creates a Broker from cfg. It does not contact Pulsar (the client connects lazily), so
// it succeeds while Pulsar is down; call [Broker.Ping] to check that Pulsar answers.
func New(cfg Config) (*Broker, error) {
	cfg = cfg.withDefaults()

	addrs, err := serviceAddrs(cfg.URL)
	if err != nil {
		return nil, err
	}

	client, err := pulsar.NewClient(pulsar.ClientOptions{
		URL:               cfg.URL,
		ConnectionTimeout: cfg.ConnectionTimeout,
		OperationTimeout:  cfg.OperationTimeout,
		Logger:            pulsarlog.NewLoggerWithSlog(slog.New(levelHandler{cfg.Logger.Handler(), cfg.ClientLogLevel})),
	})
	if err != nil {
		return nil, fmt.Errorf("pulsarbroker: create client for %q: %w", cfg.URL, err)
	}

	ctx, cancel := context.WithCancel(context.Background())

	b := &Broker{
		cfg:       cfg,
		client:    client,
		ctx:       ctx,
		cancel:    cancel,
		producers: make(map[string]*producerEntry),
		subs:      make(map[*subscription]struct{}),
	}
	b.health = newHealth(ctx, addrs, cfg.ConnectionTimeout)

	b.janitor.Add(1)
	go b.evictIdleProducers()

	return b, nil
}

// pulsarTopic maps a chat topic to its full Pulsar topic name.
func (b *Broker) pulsarTopic(topic string) (string, error) {
	if !topicNamePattern.MatchString(topic) {
		return "", fmt.Errorf("pulsarbroker: invalid topic %q: use 1-200 letters, digits, '_', '.', '=' or '-'", topic)
	}
	return b.cfg.TopicPrefix + topic, nil
}

// Publish sends env to topic and returns once Pulsar has stored it (the producer got the
// send receipt). The wait is bounded by ctx and by Config.PublishTimeout; on timeout or
// cancellation the envelope may still be delivered later, when the client's queued send goes
// through, so an error does not prove that nobody got it.
//
// While Pulsar is known to be unreachable it fails at once with an error wrapping
// [ErrUnavailable]. It returns [chat.ErrClosed] after [Broker.Close].
func (b *Broker) Publish(ctx context.Context, topic string, env chat.Envelope) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return chat.ErrClosed
	}
	fullTopic, err := b.pulsarTopic(topic)
	if err != nil {
		return err
	}
	if err := b.health.err(); err != nil {
		return fmt.Errorf("pulsarbroker: publish to %q: %w", topic, err)
	}

	ctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
	defer cancel()

	entry, err := b.acquireProducer(ctx, topic, fullTopic)
	if err != nil {
		if !errors.Is(err, chat.ErrClosed) {
			b.health.failed(err)
		}
		return fmt.Errorf("pulsarbroker: publish to %q: %w", topic, err)
	}
	defer b.releaseProducer(entry)

	_, err = entry.producer.Send(ctx, &pulsar.ProducerMessage{Key: env.Key, Payload: env.Data})
	if err != nil {
		if producerGone(err) {
			b.forgetProducer(entry)
		}
		b.health.failed(err)
		return fmt.Errorf("pulsarbroker: publish to %q: %w", topic, err)
	}

	return nil
}

// Ping reports whether Pulsar answers a topic lookup within ctx. It fails at once with an error
// wrapping [ErrUnavailable] while Pulsar is known to be unreachable and returns
// [chat.ErrClosed] after [Broker.Close].
func (b *Broker) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}

	if b.isClosed() {
		return chat.ErrClosed
	}

	if err := b.health.err(); err != nil {
		return fmt.Errorf("pulsarbroker: ping: %w", err)
	}

	done := make(chan error, 1)
	go func() {
		// a lookup is the cheapest call that needs a working broker, not only an open socket
		_, err := b.client.TopicPartitions(b.cfg.TopicPrefix + "ping")
		done <- err
	}()

	select {
	case err := <-done:
		if err != nil {
			b.health.failed(err)
			return fmt.Errorf("pulsarbroker: ping %q: %w", b.cfg.URL, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pulsarbroker: ping %q: %w", b.cfg.URL, ctx.Err())
	}
}

// Close ends every subscription (cancelling the contexts of Handler calls in progress), waits
// for their Handlers, then closes the consumers, the producers and the client. If ctx ends
// first it returns an error wrapping ctx.Err() and the rest is released in the background once
// the Handlers return.
//
// After Close every method returns [chat.ErrClosed]. Closing again returns nil at once.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	producers := make([]*producerEntry, 0, len(b.producers))
	for _, e := range b.producers {
		producers = append(producers, e)
	}
	b.subs = make(map[*subscription]struct{})
	b.producers = make(map[string]*producerEntry)
	b.mu.Unlock()

	b.cancel()
	for _, s := range subs {
		s.cancel()
	}

	released := make(chan struct{})
	go func() {
		defer close(released)

		b.loops.Wait()
		for _, s := range subs {
			s.consumer.Close()
		}
		for _, e := range producers {
			// note: waits for a producer still being created, which OperationTimeout bounds
			<-e.ready
			if e.producer != nil {
				e.producer.Close()
			}
		}
		b.janitor.Wait()
		b.client.Close()
	}()

	select {
	case <-released:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pulsarbroker: close: %w", ctx.Err())
	}
}

// -------------------------------------------------------------------

// subscriptionName returns the next unique subscription name of this process.
func (b *Broker) subscriptionName() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.subSeq++
	return b.cfg.SubscriptionName + "-" + strconv.Itoa(b.subSeq)
}

// isClosed reports whether Close was called.
func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}
