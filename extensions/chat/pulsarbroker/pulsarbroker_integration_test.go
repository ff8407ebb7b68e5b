//go:build integration

package pulsarbroker_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/extensions/chat/chattest"
	"github.com/tangerine-market/tangerine/extensions/chat/pulsarbroker"
)

// pulsarURL returns TANGERINE_PULSAR_URL and fails the test when it is unset: an integration
// run without its service must not pass quietly.
func pulsarURL(t *testing.T) string {
	t.Helper()

	url := os.Getenv("TANGERINE_PULSAR_URL")
	if url == "" {
		t.Fatal("TANGERINE_PULSAR_URL is not set: start Pulsar with scripts/pulsar.sh start and export TANGERINE_PULSAR_URL=pulsar://127.0.0.1:6650")
	}
	return url
}

func newBroker(t *testing.T, cfg pulsarbroker.Config) *pulsarbroker.Broker {
	t.Helper()

	b, err := pulsarbroker.New(cfg)
	if err != nil {
		t.Fatalf("Expected New to succeed, got %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Expected Pulsar at %s to answer, got %v", cfg.URL, err)
	}
	return b
}

func TestBrokerConformance(t *testing.T) {
	url := pulsarURL(t)

	chattest.RunBrokerTests(t, func(t *testing.T) chat.Broker {
		return newBroker(t, pulsarbroker.Config{URL: url, RedeliveryDelay: 200 * time.Millisecond})
	})
}

// TestBrokerTwoProcesses checks the reason the broker exists: two brokers (two tangerine
// processes) on one topic each get every envelope, their own included.
func TestBrokerTwoProcesses(t *testing.T) {
	url := pulsarURL(t)

	a := newBroker(t, pulsarbroker.Config{URL: url})
	b := newBroker(t, pulsarbroker.Config{URL: url})
	topic := "it-twoproc-" + time.Now().Format("150405.000000000")

	got := map[string]chan string{"a": make(chan string, 10), "b": make(chan string, 10)}
	for name, br := range map[string]*pulsarbroker.Broker{"a": a, "b": b} {
		ch := got[name]
		unsubscribe, err := br.Subscribe(context.Background(), topic, func(_ context.Context, env chat.Envelope) error {
			ch <- string(env.Data)
			return nil
		})
		if err != nil {
			t.Fatalf("Expected Subscribe to succeed, got %v", err)
		}
		t.Cleanup(func() { _ = unsubscribe() })
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Publish(ctx, topic, chat.Envelope{Key: "room", Data: []byte("from-a")}); err != nil {
		t.Fatalf("Expected Publish to succeed, got %v", err)
	}
	if err := b.Publish(ctx, topic, chat.Envelope{Key: "room", Data: []byte("from-b")}); err != nil {
		t.Fatalf("Expected Publish to succeed, got %v", err)
	}

	for name, ch := range got {
		for _, want := range []string{"from-a", "from-b"} {
			select {
			case data := <-ch:
				if data != want {
					t.Fatalf("Expected process %s to receive %q, got %q", name, want, data)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("Timed out waiting for process %s to receive %q", name, want)
			}
		}
	}
}

func TestBrokerRejectsBadTopics(t *testing.T) {
	b := newBroker(t, pulsarbroker.Config{URL: pulsarURL(t)})

	for _, topic := range []string{"", "a/b", "with space"} {
		err := b.Publish(context.Background(), topic, chat.Envelope{Key: "k", Data: []byte("x")})
		if err == nil {
			t.Fatalf("Expected Publish to topic %q to fail", topic)
		}
	}
}

// TestBrokerOutage stops the real broker with scripts/pulsar.sh (only with
// TANGERINE_PULSAR_FAULT=1, since it takes the shared broker away for a minute) and checks
// that Publish fails within its context while Pulsar is down, fails at once after the first
// failure, and that publishing and delivery work again after Pulsar comes back, without a new
// Broker.
func TestBrokerOutage(t *testing.T) {
	url := pulsarURL(t)
	if os.Getenv("TANGERINE_PULSAR_FAULT") != "1" {
		t.Skip("set TANGERINE_PULSAR_FAULT=1 to stop and restart the broker with scripts/pulsar.sh")
	}

	b := newBroker(t, pulsarbroker.Config{URL: url})
	topic := "it-outage-" + time.Now().Format("150405.000000000")

	received := make(chan string, 100)
	unsubscribe, err := b.Subscribe(context.Background(), topic, func(_ context.Context, env chat.Envelope) error {
		received <- string(env.Data)
		return nil
	})
	if err != nil {
		t.Fatalf("Expected Subscribe to succeed, got %v", err)
	}
	t.Cleanup(func() { _ = unsubscribe() })

	publish := func(data string, timeout time.Duration) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		err := b.Publish(ctx, topic, chat.Envelope{Key: "room", Data: []byte(data)})
		return time.Since(start), err
	}
	expect := func(want string) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case data := <-received:
				if data == want {
					return
				}
			case <-deadline:
				t.Fatalf("Timed out waiting for %q", want)
			}
		}
	}

	if _, err := publish("before", 10*time.Second); err != nil {
		t.Fatalf("Expected Publish before the outage to succeed, got %v", err)
	}
	expect("before")

	pulsarScript(t, "stop")
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			pulsarScript(t, "start")
		}
	})

	took, err := publish("during-1", 2*time.Second)
	if err == nil {
		t.Fatal("Expected Publish while Pulsar is down to fail")
	}
	if took > 3*time.Second {
		t.Fatalf("Expected Publish to give up within its 2s context, took %s", took)
	}
	t.Logf("first Publish during the outage failed after %s: %v", took, err)

	took, err = publish("during-2", 10*time.Second)
	if !errors.Is(err, pulsarbroker.ErrUnavailable) {
		t.Fatalf("Expected the next Publish to fail with ErrUnavailable, got %v", err)
	}
	if took > 500*time.Millisecond {
		t.Fatalf("Expected the next Publish to fail at once, took %s", took)
	}
	if err := b.Ping(context.Background()); !errors.Is(err, pulsarbroker.ErrUnavailable) {
		t.Fatalf("Expected Ping to report ErrUnavailable, got %v", err)
	}

	pulsarScript(t, "start")
	restarted = true

	// the client reconnects by itself: publishing works again within a few backoff rounds
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := publish("after", 5*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected Publish to work again after Pulsar came back, last error: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	expect("after")
}

// pulsarScript runs scripts/pulsar.sh with the given command from the repository root.
func pulsarScript(t *testing.T, command string) {
	t.Helper()

	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")

	cmd := exec.Command("bash", filepath.Join(root, "scripts", "pulsar.sh"), command)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/pulsar.sh %s failed: %v\n%s", command, err, out)
	}
	t.Logf("scripts/pulsar.sh %s: %s", command, out)
}
