package chat

import (
	"context"
	"testing"
	"time"
)

func TestOutQueueIsBounded(t *testing.T) {
	q := newOutQueue(2)
	if !q.push(outItem{data: []byte("1")}) || !q.push(outItem{data: []byte("2")}) {
		t.Fatal("Expected two items to fit")
	}
	if q.push(outItem{data: []byte("3")}) {
		t.Fatal("Expected the third push to report a full queue")
	}
	for _, want := range []string{"1", "2"} {
		if it, ok := q.pop(); !ok || string(it.data) != want {
			t.Fatalf("Expected %s, got %s (%v)", want, it.data, ok)
		}
	}
	if _, ok := q.pop(); ok {
		t.Fatal("Expected an empty queue")
	}
}

func TestOutQueuePushWaitLeavesRoomForLiveFrames(t *testing.T) {
	q := newOutQueue(4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.pushWait(ctx, outItem{data: []byte("a")}, 2); err != nil {
		t.Fatal(err)
	}
	if err := q.pushWait(ctx, outItem{data: []byte("b")}, 2); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- q.pushWait(ctx, outItem{data: []byte("c")}, 2) }()
	select {
	case err := <-done:
		t.Fatalf("Expected pushWait to wait while 2 items are queued, got %v", err)
	case <-q.wake:
		// the wake from the first pushes; the third must still be waiting
	}
	if !q.push(outItem{data: []byte("live")}) {
		t.Fatal("Expected a live frame to fit beside a waiting sync")
	}
	q.pop()
	q.pop()
	if err := <-done; err != nil {
		t.Fatalf("Expected pushWait to go on once items were taken, got %v", err)
	}

	cancelled, stop := context.WithCancel(context.Background())
	stop()
	if err := q.pushWait(cancelled, outItem{}, 0); err == nil {
		t.Fatal("Expected pushWait to give up when its context ends")
	}
}

func TestTokenBucket(t *testing.T) {
	b := tokenBucket{rate: 20, burst: 40}
	now := time.Now()
	for i := range 40 {
		if !b.allow(now) {
			t.Fatalf("Expected the burst to allow frame %d", i)
		}
	}
	if b.allow(now) {
		t.Fatal("Expected the 41st frame at once to be refused")
	}
	if !b.allow(now.Add(50 * time.Millisecond)) {
		t.Fatal("Expected a token back after 50ms at 20/s")
	}
	if b.allow(now.Add(50 * time.Millisecond)) {
		t.Fatal("Expected only one token back after 50ms")
	}
	if n := countAllowed(&b, now.Add(time.Hour)); n != 40 {
		t.Fatalf("Expected the bucket capped at 40, got %d", n)
	}
}

func countAllowed(b *tokenBucket, at time.Time) int {
	n := 0
	for b.allow(at) {
		n++
	}
	return n
}

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	cfg.setDefaults()
	if cfg.Broker == nil || cfg.Topic != "tangerine-chat" || cfg.SendRate != 20 || cfg.SendBurst != 40 ||
		cfg.QueueSize != 256 || cfg.PingInterval != 30*time.Second || cfg.AuthTimeout != 10*time.Second ||
		cfg.MaxFrame != 16<<10 || cfg.CommitWindow != time.Millisecond {
		t.Fatalf("Unexpected defaults %+v", cfg)
	}
}

func TestOutQueueGrowsInOrderUpToItsBound(t *testing.T) {
	q := newOutQueue(10)
	next, want := 0, 0
	push := func(n int) {
		for range n {
			if !q.push(outItem{data: []byte{byte(next)}}) {
				t.Fatalf("Expected item %d to fit (%d queued)", next, q.n)
			}
			next++
		}
	}
	pop := func(n int) {
		for range n {
			it, ok := q.pop()
			if !ok || it.data[0] != byte(want) {
				t.Fatalf("Expected item %d, got %v (%v)", want, it.data, ok)
			}
			want++
		}
	}
	if len(q.buf) > outQueueStart {
		t.Fatalf("Expected a new queue to start with at most %d slots, got %d", outQueueStart, len(q.buf))
	}
	// wrap the ring around before it grows, so that growing must keep the order
	push(3)
	pop(2)
	push(9)
	if q.push(outItem{}) {
		t.Fatal("Expected the queue to refuse an 11th item")
	}
	if len(q.buf) != 10 {
		t.Fatalf("Expected the ring to have grown to its bound of 10, got %d", len(q.buf))
	}
	pop(10)
	if _, ok := q.pop(); ok {
		t.Fatal("Expected an empty queue")
	}
}

// TestFirstPingsAreSpread: connections opened at once get their first ping spread over an
// interval (between a half and one and a half intervals), not all at the same moment.
func TestFirstPingsAreSpread(t *testing.T) {
	const interval = 30 * time.Second
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for range 1000 {
		d := firstPing(interval)
		if d < interval/2 || d >= interval*3/2 {
			t.Fatalf("Expected the first ping within [%s, %s), got %s", interval/2, interval*3/2, d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if hi-lo < interval*9/10 {
		t.Fatalf("Expected 1,000 first pings spread over about an interval, they span %s", hi-lo)
	}
}
