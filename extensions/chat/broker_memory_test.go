package chat_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/extensions/chat/chattest"
)

func TestMemoryBroker(t *testing.T) {
	t.Parallel()

	chattest.RunBrokerTests(t, func(t *testing.T) chat.Broker {
		return chat.NewMemoryBroker()
	})
}

func TestMemoryBrokerPublishCopiesData(t *testing.T) {
	t.Parallel()

	b := chat.NewMemoryBroker()
	defer b.Close(context.Background())

	got := make(chan []byte, 1)
	unsubscribe, err := b.Subscribe(context.Background(), "rooms", func(_ context.Context, env chat.Envelope) error {
		got <- env.Data
		return nil
	})
	if err != nil {
		t.Fatalf("Expected Subscribe to succeed, got %v", err)
	}
	defer unsubscribe()

	buf := []byte("hello")
	if err := b.Publish(context.Background(), "rooms", chat.Envelope{Key: "room", Data: buf}); err != nil {
		t.Fatalf("Expected Publish to succeed, got %v", err)
	}
	copy(buf, "HELLO") // the publisher reuses its buffer at once

	select {
	case data := <-got:
		if string(data) != "hello" {
			t.Fatalf("Expected the envelope as published, %q, got %q", "hello", data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Timed out waiting for the envelope")
	}
}

func TestMemoryBrokerRedeliversUntilSuccess(t *testing.T) {
	t.Parallel()

	b := chat.NewMemoryBroker()
	defer b.Close(context.Background())

	var mu sync.Mutex
	var attempts []time.Time
	done := make(chan struct{})
	unsubscribe, err := b.Subscribe(context.Background(), "rooms", func(_ context.Context, env chat.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, time.Now())
		if len(attempts) < 4 {
			return errors.New("transient failure")
		}
		close(done)
		return nil
	})
	if err != nil {
		t.Fatalf("Expected Subscribe to succeed, got %v", err)
	}
	defer unsubscribe()

	if err := b.Publish(context.Background(), "rooms", chat.Envelope{Key: "room", Data: []byte("x")}); err != nil {
		t.Fatalf("Expected Publish to succeed, got %v", err)
	}

	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Timed out waiting for the fourth attempt")
	}

	mu.Lock()
	defer mu.Unlock()
	// the pauses double: 100ms, 200ms, 400ms
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		if pause := attempts[i+1].Sub(attempts[i]); pause < want {
			t.Fatalf("Expected pause %d to be at least %s, got %s", i, want, pause)
		}
	}
}

// TestMemoryBrokerLongBacklog queues thousands of envelopes behind a stuck handler while more
// keep coming, and checks that none is lost or reordered.
func TestMemoryBrokerLongBacklog(t *testing.T) {
	t.Parallel()

	b := chat.NewMemoryBroker()
	defer b.Close(context.Background())

	const n = 6000
	release := make(chan struct{})
	var mu sync.Mutex
	var got []int
	all := make(chan struct{})
	unsubscribe, err := b.Subscribe(context.Background(), "rooms", func(_ context.Context, env chat.Envelope) error {
		<-release
		seq, err := strconv.Atoi(string(env.Data))
		if err != nil {
			return err
		}
		mu.Lock()
		got = append(got, seq)
		if len(got) == n {
			close(all)
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Expected Subscribe to succeed, got %v", err)
	}
	defer unsubscribe()

	publish := func(from, to int) {
		for i := from; i < to; i++ {
			if err := b.Publish(context.Background(), "rooms", chat.Envelope{Key: "room", Data: []byte(strconv.Itoa(i))}); err != nil {
				t.Errorf("Expected Publish to succeed, got %v", err)
				return
			}
		}
	}

	publish(0, n/2)
	close(release)
	publish(n/2, n)

	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatal("Timed out waiting for the backlog to drain")
	}

	mu.Lock()
	defer mu.Unlock()
	for i, seq := range got {
		if seq != i {
			t.Fatalf("Expected envelope %d at position %d, got %d", i, i, seq)
		}
	}
}
