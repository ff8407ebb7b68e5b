package pulsarbroker_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/extensions/chat/pulsarbroker"
)

// closedPort returns a loopback address that refuses connections.
func closedPort(t *testing.T) string {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Expected a free port, got %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("Expected the listener to close, got %v", err)
	}
	return addr
}

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()

	for _, url := range []string{"127.0.0.1:6650", "ftp://127.0.0.1", "pulsar://"} {
		if b, err := pulsarbroker.New(pulsarbroker.Config{URL: url}); err == nil {
			_ = b.Close(context.Background())
			t.Fatalf("Expected New(%q) to fail", url)
		}
	}
}

// TestBrokerUnreachable checks, without a Pulsar server, that Publish fails within its
// deadline when nothing listens, then at once with ErrUnavailable, and that the broker notices
// when the address accepts connections again.
func TestBrokerUnreachable(t *testing.T) {
	t.Parallel()

	addr := closedPort(t)
	b, err := pulsarbroker.New(pulsarbroker.Config{
		URL:              "pulsar://" + addr,
		PublishTimeout:   time.Second,
		OperationTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatalf("Expected New to succeed while Pulsar is down, got %v", err)
	}
	defer b.Close(context.Background())

	env := chat.Envelope{Key: "room", Data: []byte("x")}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.Publish(ctx, "rooms", env); err == nil {
		t.Fatal("Expected Publish to fail while nothing listens")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Expected Publish to give up within PublishTimeout (1s), took %s", took)
	}

	start = time.Now()
	if err := b.Publish(ctx, "rooms", env); !errors.Is(err, pulsarbroker.ErrUnavailable) {
		t.Fatalf("Expected the next Publish to fail with ErrUnavailable, got %v", err)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Fatalf("Expected the next Publish to fail at once, took %s", took)
	}
	if err := b.Ping(ctx); !errors.Is(err, pulsarbroker.ErrUnavailable) {
		t.Fatalf("Expected Ping to fail with ErrUnavailable, got %v", err)
	}

	subCtx, subCancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer subCancel()
	if _, err := b.Subscribe(subCtx, "rooms", func(context.Context, chat.Envelope) error { return nil }); err == nil {
		t.Fatal("Expected Subscribe to fail while nothing listens")
	}

	// something accepts connections again: the probe clears the outage
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("Could not listen on %s again to end the outage: %v", addr, err)
	}
	defer ln.Close()

	deadline := time.Now().Add(10 * time.Second)
	for {
		pingCtx, pingCancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := b.Ping(pingCtx)
		pingCancel()
		if !errors.Is(err, pulsarbroker.ErrUnavailable) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the outage to end once the address accepts connections, got %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrokerClosed(t *testing.T) {
	t.Parallel()

	b, err := pulsarbroker.New(pulsarbroker.Config{URL: "pulsar://" + closedPort(t)})
	if err != nil {
		t.Fatalf("Expected New to succeed, got %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := b.Close(ctx); err != nil {
		t.Fatalf("Expected Close to succeed, got %v", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Expected a second Close to be harmless, got %v", err)
	}
	if err := b.Publish(ctx, "rooms", chat.Envelope{Key: "k"}); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected Publish after Close to fail with ErrClosed, got %v", err)
	}
	if _, err := b.Subscribe(ctx, "rooms", func(context.Context, chat.Envelope) error { return nil }); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected Subscribe after Close to fail with ErrClosed, got %v", err)
	}
	if err := b.Ping(ctx); !errors.Is(err, chat.ErrClosed) {
		t.Fatalf("Expected Ping after Close to fail with ErrClosed, got %v", err)
	}
}

func TestBrokerRejectsInvalidTopics(t *testing.T) {
	t.Parallel()

	b, err := pulsarbroker.New(pulsarbroker.Config{URL: "pulsar://" + closedPort(t)})
	if err != nil {
		t.Fatalf("Expected New to succeed, got %v", err)
	}
	defer b.Close(context.Background())

	for _, topic := range []string{"", "a/b", "with space", "persistent://public/default/x"} {
		if err := b.Publish(context.Background(), topic, chat.Envelope{Key: "k"}); err == nil || errors.Is(err, pulsarbroker.ErrUnavailable) {
			t.Fatalf("Expected Publish to reject topic %q, got %v", topic, err)
		}
		if _, err := b.Subscribe(context.Background(), topic, func(context.Context, chat.Envelope) error { return nil }); err == nil {
			t.Fatalf("Expected Subscribe to reject topic %q", topic)
		}
	}
}
