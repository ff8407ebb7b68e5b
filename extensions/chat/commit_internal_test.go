package chat

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGroupCommitWindow: a lone send is stored at once; once a batch held more than one
// send, the next batch waits the window for more, and a send that arrives within it shares
// the batch (without the window it gets one of its own).
func TestGroupCommitWindow(t *testing.T) {
	for _, window := range []time.Duration{-1, 300 * time.Millisecond} {
		var mu sync.Mutex
		var sizes []int
		started, release := make(chan struct{}), make(chan struct{})
		g := &groupCommit{window: window, store: func(batch []*commitReq) {
			mu.Lock()
			sizes = append(sizes, len(batch))
			first := len(sizes) == 1
			mu.Unlock()
			if first {
				close(started)
				<-release // the first batch stores slowly, so that two sends queue behind it
			}
		}}
		var wg sync.WaitGroup
		send := func() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := g.save(&commitReq{}); err != nil {
					t.Error(err)
				}
			}()
		}
		waitPending := func(n int) {
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				g.mu.Lock()
				got := len(g.pending)
				g.mu.Unlock()
				if got == n {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("window %s: expected %d pending sends, have %d", window, n, got)
				}
			}
		}

		start := time.Now()
		send()
		<-started // the first is being stored, alone and at once
		send()
		send()
		waitPending(2)
		close(release) // then the two waiting ones go as one batch
		wg.Wait()
		if lone := time.Since(start); lone > 200*time.Millisecond && window < 0 {
			t.Fatalf("Expected no wait without a window, took %s", lone)
		}

		send() // the last batch held two: with a window, this one waits for the next
		time.Sleep(20 * time.Millisecond)
		send()
		wg.Wait()

		want := []int{1, 2, 1, 1}
		if window > 0 {
			want = []int{1, 2, 2}
		}
		if !slices.Equal(sizes, want) {
			t.Fatalf("window %s: expected batches %v, got %v", window, want, sizes)
		}
	}
}

// TestTimeOrderedIds: ids are 15 characters of [a-z0-9] (what chat_messages' id field takes),
// sort in the order of their milliseconds, and differ within one.
func TestTimeOrderedIds(t *testing.T) {
	base := time.Date(2026, 12, 7, 4, 5, 6, 0, time.UTC)
	prev := ""
	seen := map[string]bool{}
	for i := range 3000 {
		// steps of 1 ms, with carries through several base-36 digits
		id := timeOrderedId(base.Add(time.Duration(i*i) * time.Millisecond))
		if len(id) != 15 || strings.Trim(id, idAlphabet) != "" {
			t.Fatalf("Expected 15 characters of [a-z0-9], got %q", id)
		}
		if id <= prev {
			t.Fatalf("Expected %q (%d ms later) to sort after %q", id, i, prev)
		}
		prev = id
		seen[id] = true
	}
	for range 1000 {
		id := timeOrderedId(base)
		if seen[id] {
			t.Fatalf("Expected ids of one millisecond to differ, got %q twice", id)
		}
		seen[id] = true
	}
	if ms, err := strconv.ParseInt(timeOrderedId(base)[:9], 36, 64); err != nil || ms != base.UnixMilli() {
		t.Fatalf("Expected the first 9 characters to be the milliseconds %d, got %d (%v)", base.UnixMilli(), ms, err)
	}
}
