package pulsarbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/tangerine-market/tangerine/extensions/chat"
)

// subscription is one Subscribe: a consumer and the goroutine that feeds its Handler.
type subscription struct {
	consumer pulsar.Consumer
	handler  chat.Handler

	ctx    context.Context // passed to every Handler call; cancelled to stop
	cancel context.CancelFunc
	done   chan struct{} // closed when the receive loop returns

	once sync.Once
	err  error
}

// Subscribe opens a new Exclusive, non-durable subscription on topic, positioned at the latest
// message, and delivers what is published after it returns to h, one envelope at a time, in
// topic order. A nil Handler result acks the message; an error nacks it and Pulsar delivers it
// again after Config.RedeliveryDelay. NB! On an Exclusive subscription a redelivery rewinds
// the subscription to the oldest unacknowledged message, so the envelopes that followed the
// failed one may be delivered again too, in order: Handlers must be idempotent.
//
// ctx bounds the creation of the consumer (which waits for Pulsar while it is unreachable);
// each Handler call gets a context that ends when the subscription does.
//
// The returned unsubscribe func cancels the context of a Handler call in progress, waits for
// that call to return, then closes the consumer (which removes the non-durable subscription
// from Pulsar); no Handler call starts after it returns. Calling it again returns the first
// result. NB! Don't call it from inside the subscription's own Handler: it would wait for itself.
//
// It returns [chat.ErrClosed] after [Broker.Close].
func (b *Broker) Subscribe(ctx context.Context, topic string, h chat.Handler) (func() error, error) {
	if h == nil {
		return nil, errors.New("pulsarbroker: subscribe: nil handler")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fullTopic, err := b.pulsarTopic(topic)
	if err != nil {
		return nil, err
	}

	if b.isClosed() {
		return nil, chat.ErrClosed
	}

	consumer, err := b.newConsumer(ctx, fullTopic)
	if err != nil {
		return nil, fmt.Errorf("pulsarbroker: subscribe to %q: %w", topic, err)
	}

	subCtx, cancel := context.WithCancel(context.Background())
	s := &subscription{
		consumer: consumer,
		handler:  h,
		ctx:      subCtx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		cancel()
		consumer.Close()
		return nil, chat.ErrClosed
	}
	b.subs[s] = struct{}{}
	b.loops.Add(1)
	b.mu.Unlock()

	go func() {
		defer b.loops.Done()
		s.run()
	}()

	return func() error { return b.unsubscribe(s) }, nil
}

// newConsumer creates the consumer of one subscription, giving up when ctx ends. The client's
// Subscribe takes no context, so it runs aside; a consumer that arrives too late is closed.
func (b *Broker) newConsumer(ctx context.Context, fullTopic string) (pulsar.Consumer, error) {
	opts := pulsar.ConsumerOptions{
		Topic:                       fullTopic,
		SubscriptionName:            b.subscriptionName(),
		Type:                        pulsar.Exclusive,
		SubscriptionMode:            pulsar.NonDurable,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionLatest,
		NackRedeliveryDelay:         b.cfg.RedeliveryDelay,
		ReceiverQueueSize:           b.cfg.ReceiverQueueSize,
		BackOffPolicyFunc:           b.reconnectBackoff,
	}

	type result struct {
		consumer pulsar.Consumer
		err      error
	}
	done := make(chan result, 1)
	go func() {
		c, err := b.client.Subscribe(opts)
		if err != nil {
			c = nil // the client returns a typed nil consumer with its error
		}
		done <- result{c, err}
	}()

	select {
	case r := <-done:
		if r.err != nil {
			b.health.failed(r.err)
		}
		return r.consumer, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.consumer != nil {
				r.consumer.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// run feeds the Handler until the subscription is cancelled or its consumer closed.
func (s *subscription) run() {
	defer close(s.done)

	for {
		msg, err := s.consumer.Receive(s.ctx)
		if err != nil {
			var perr *pulsar.Error
			if s.ctx.Err() != nil || (errors.As(err, &perr) && perr.Result() == pulsar.ConsumerClosed) {
				return
			}
			// Receive fails only on close or cancellation today; don't spin if that changes
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if s.ctx.Err() != nil {
			// stopped while receiving: leave it unacknowledged, the subscription goes away
			return
		}

		env := chat.Envelope{Key: msg.Key(), Data: msg.Payload()}
		if err := s.handler(s.ctx, env); err != nil {
			s.consumer.Nack(msg)
			continue
		}
		// note: acks are batched by the client and only move this subscription's cursor; a
		// lost ack means a redelivery, which Handlers tolerate
		_ = s.consumer.Ack(msg)
	}
}

// unsubscribe stops s, waits for its loop, then closes its consumer within OperationTimeout.
func (b *Broker) unsubscribe(s *subscription) error {
	s.once.Do(func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()

		s.cancel()
		<-s.done

		closed := make(chan struct{})
		go func() {
			s.consumer.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(b.cfg.OperationTimeout):
			s.err = fmt.Errorf("pulsarbroker: unsubscribe: closing the consumer took over %s", b.cfg.OperationTimeout)
		}
	})
	return s.err
}
