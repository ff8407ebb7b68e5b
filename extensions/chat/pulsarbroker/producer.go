package pulsarbroker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/tangerine-market/tangerine/extensions/chat"
)

// producerEntry is the cached producer of one topic. ready is closed once creation ended;
// then producer or err is set. inUse and lastUsed are guarded by Broker.mu.
type producerEntry struct {
	topic    string
	ready    chan struct{}
	producer pulsar.Producer
	err      error
	inUse    int
	lastUsed time.Time
}

// acquireProducer returns the producer of topic, creating it on first use. Concurrent callers
// share one creation. The caller must pass the entry to releaseProducer when done, which keeps
// the idle janitor from closing a producer in use.
func (b *Broker) acquireProducer(ctx context.Context, topic, fullTopic string) (*producerEntry, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, chat.ErrClosed
	}
	e := b.producers[topic]
	if e == nil {
		e = &producerEntry{topic: topic, ready: make(chan struct{})}
		b.producers[topic] = e
		// note: not tied to ctx: CreateProducer takes no context, and a producer that arrives
		// after this caller gave up still serves the next Publish
		go b.createProducer(e, fullTopic)
	}
	e.inUse++
	b.mu.Unlock()

	select {
	case <-e.ready:
	case <-ctx.Done():
		b.releaseProducer(e)
		return nil, ctx.Err()
	}

	if e.err != nil {
		b.releaseProducer(e)
		return nil, e.err
	}
	return e, nil
}

// releaseProducer ends one use of e.
func (b *Broker) releaseProducer(e *producerEntry) {
	b.mu.Lock()
	e.inUse--
	e.lastUsed = time.Now()
	b.mu.Unlock()
}

// createProducer creates e's producer; on failure it forgets e, so the next Publish tries again.
func (b *Broker) createProducer(e *producerEntry, fullTopic string) {
	p, err := b.client.CreateProducer(pulsar.ProducerOptions{
		Topic:             fullTopic,
		SendTimeout:       b.cfg.PublishTimeout,
		BackOffPolicyFunc: b.reconnectBackoff,
	})
	if err != nil {
		// note: the client returns a typed nil producer with its error
		p, err = nil, fmt.Errorf("create producer: %w", err)
	}

	b.mu.Lock()
	e.producer, e.err = p, err
	e.lastUsed = time.Now()
	if err != nil && b.producers[e.topic] == e {
		delete(b.producers, e.topic)
	}
	close(e.ready)
	b.mu.Unlock()
}

// evictIdleProducers closes, until Close, the producers that nothing used for
// Config.ProducerIdleTimeout.
func (b *Broker) evictIdleProducers() {
	defer b.janitor.Done()

	interval := min(b.cfg.ProducerIdleTimeout/2, time.Minute)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		select {
		case <-b.ctx.Done():
			return
		case now := <-ticker.C:
			for _, p := range b.takeIdleProducers(now) {
				p.Close()
			}
		}
	}
}

// takeIdleProducers removes the idle producers from the cache and returns them for closing.
func (b *Broker) takeIdleProducers(now time.Time) []pulsar.Producer {
	b.mu.Lock()
	defer b.mu.Unlock()

	var idle []pulsar.Producer
	for topic, e := range b.producers {
		select {
		case <-e.ready:
		default:
			continue // still being created
		}
		if e.inUse == 0 && e.producer != nil && now.Sub(e.lastUsed) >= b.cfg.ProducerIdleTimeout {
			delete(b.producers, topic)
			idle = append(idle, e.producer)
		}
	}
	return idle
}

// producerGone reports whether a Send error means the producer is closed for good (the client
// gives up reconnecting when the topic was deleted, terminated or the producer fenced), so
// the next Publish must create a new one.
func producerGone(err error) bool {
	return errors.Is(err, pulsar.ErrProducerClosed) ||
		errors.Is(err, pulsar.ErrTopicNotfound) ||
		errors.Is(err, pulsar.ErrTopicTerminated) ||
		errors.Is(err, pulsar.ErrProducerFenced)
}

// forgetProducer drops e from the cache and closes its producer once nobody uses it.
func (b *Broker) forgetProducer(e *producerEntry) {
	b.mu.Lock()
	if b.producers[e.topic] == e {
		delete(b.producers, e.topic)
	}
	b.mu.Unlock()

	// note: Close on a closed producer is a no-op; concurrent users get ErrProducerClosed and
	// retry on a new one
	e.producer.Close()
}
