package chat

import (
	"context"
	"errors"
)

// ErrClosed is returned by [Broker] methods called after [Broker.Close].
var ErrClosed = errors.New("chat: broker closed")

// Envelope is one chat event moving between tangerine processes: a committed message, a
// membership change, a read cursor, a typing notice or a removal. The broker treats Data as
// opaque bytes; the hub encodes and decodes it.
type Envelope struct {
	// Key orders envelopes: two envelopes published to one topic with the same Key are
	// delivered to every subscriber in publish order. The hub uses the room id.
	Key string

	// Data is the encoded event.
	Data []byte
}

// Handler receives envelopes from a subscription, one at a time per subscription. ctx ends
// when the subscription does (unsubscribe or [Broker.Close]). env.Data is shared: don't modify it.
//
// Returning nil acknowledges the envelope. Returning an error asks the broker to deliver it
// again later (the Pulsar broker nacks it); handlers should therefore be idempotent and return
// errors only for transient failures. NB! A redelivered envelope may arrive after envelopes
// with the same Key that were published after it, and the Pulsar broker may also deliver the
// envelopes that followed it again.
type Handler func(ctx context.Context, env Envelope) error

// Broker moves chat envelopes between tangerine processes. The local hub publishes every event
// and receives, through one subscription per process, the events of every process (its own
// included).
//
// Contract every implementation keeps (checked by chattest.RunBrokerTests):
//   - Publish returns only once the broker has accepted the envelope (for Pulsar: the broker
//     acknowledged the send), or an error; a cancelled ctx aborts the wait with ctx.Err().
//     An error does not prove the envelope is lost: a Pulsar send that timed out may still
//     go through.
//   - Every live subscription of a topic receives every envelope published to that topic after
//     Subscribe returned, once (barring redelivery after a Handler error), and envelopes with
//     the same Key in publish order.
//   - Subscriptions are independent: a slow Handler on one subscription does not block another.
//   - Subscribe's unsubscribe func stops delivery; the Handler is not called after it returns.
//     It cancels the ctx of a Handler call in progress and waits for that call to return, so
//     NB! it must not be called from inside its own Handler. Calling it twice is harmless.
//   - Close unsubscribes everything, waits (bounded by ctx) for running handlers, and makes later
//     calls return [ErrClosed]. Closing twice is harmless.
type Broker interface {
	// Publish sends env to topic.
	Publish(ctx context.Context, topic string, env Envelope) error

	// Subscribe starts delivering the envelopes published to topic to h.
	Subscribe(ctx context.Context, topic string, h Handler) (unsubscribe func() error, err error)

	// Ping reports whether the broker is reachable; /api/status uses it.
	Ping(ctx context.Context) error

	// Close releases the broker's resources.
	Close(ctx context.Context) error
}
