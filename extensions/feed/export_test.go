package feed

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// WaitHomeIndex waits until app's home feed index has loaded (at least loads times) and is
// ready, and fails t after 10 s.
func WaitHomeIndex(t testing.TB, app core.App, loads int64) {
	t.Helper()
	h, _ := app.Store().Get(homeIndexKey).(*homeIndex)
	if h == nil {
		t.Fatal("no home feed index")
	}
	for deadline := time.Now().Add(10 * time.Second); !h.ready.Load() || h.loads.Load() < loads; {
		if time.Now().After(deadline) {
			t.Fatal("the home feed index did not load in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// HomeIndexLoads is how many times app's home feed index has loaded.
func HomeIndexLoads(app core.App) int64 {
	h, _ := app.Store().Get(homeIndexKey).(*homeIndex)
	return h.loads.Load()
}

// HomeIndexServed is how many home feed pages app's index has served.
func HomeIndexServed(app core.App) int64 {
	h, _ := app.Store().Get(homeIndexKey).(*homeIndex)
	return h.served.Load()
}

// OnHomeIndexLoad makes app's home feed index call fn at the start of each load, with the
// context that stopping the index cancels. Set it before the app serves.
func OnHomeIndexLoad(app core.App, fn func(ctx context.Context)) {
	h, _ := app.Store().Get(homeIndexKey).(*homeIndex)
	h.loadStarted = fn
}

// ItemCacheCounts is how many posts app's home feed found in its item cache, and did not.
func ItemCacheCounts(app core.App) (hits, misses int64) {
	h, _ := app.Store().Get(homeIndexKey).(*homeIndex)
	return h.items.hits.Load(), h.items.misses.Load()
}

// WithoutItemCache makes app's home feed render from its rows until the returned func is
// called. No page may be in flight meanwhile.
func WithoutItemCache(app core.App) (restore func()) {
	h, _ := app.Store().Get(homeIndexKey).(*homeIndex)
	items := h.items
	h.items = nil
	return func() { h.items = items }
}
