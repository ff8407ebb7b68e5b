package imageproc

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// trackingReader serves data and records how many readers are inside the pool at once: Process
// reads its input only after it has won a worker slot, and reads it to EOF before decoding.
type trackingReader struct {
	r              *bytes.Reader
	active, maxAct *atomic.Int32
	started        bool
	hold           time.Duration
}

func (tr *trackingReader) Read(b []byte) (int, error) {
	if !tr.started {
		tr.started = true
		n := tr.active.Add(1)
		for {
			m := tr.maxAct.Load()
			if n <= m || tr.maxAct.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(tr.hold) // widen the window in which an unbounded pool would overlap
	}
	n, err := tr.r.Read(b)
	if err != nil {
		tr.active.Add(-1)
	}
	return n, err
}

func TestPoolBoundsConcurrency(t *testing.T) {
	t.Parallel()

	data := encodePNG(t, photoImage(32, 32))
	for _, workers := range []int{1, 2} {
		pool := NewPool(workers, Options{})
		if pool.Workers() != workers {
			t.Fatalf("Workers() = %d, want %d", pool.Workers(), workers)
		}

		var active, maxAct atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &trackingReader{r: bytes.NewReader(data), active: &active, maxAct: &maxAct, hold: 20 * time.Millisecond}
				if _, err := pool.Process(context.Background(), r); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := maxAct.Load(); got != int32(workers) {
			t.Errorf("%d workers: at most %d images were in process at once, want exactly %d", workers, got, workers)
		}
	}
}

// blockingReader blocks its first Read until release is closed.
type blockingReader struct {
	entered chan struct{}
	release chan struct{}
	r       *bytes.Reader
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if b.entered != nil {
		close(b.entered)
		b.entered = nil
		<-b.release
	}
	return b.r.Read(p)
}

func TestPoolQueueWaitEndsWithContext(t *testing.T) {
	t.Parallel()

	data := encodePNG(t, photoImage(32, 32))
	pool := NewPool(1, Options{})

	busy := &blockingReader{entered: make(chan struct{}), release: make(chan struct{}), r: bytes.NewReader(data)}
	entered := busy.entered
	done := make(chan error, 1)
	go func() {
		_, err := pool.Process(context.Background(), busy)
		done <- err
	}()
	<-entered // the only worker is now taken

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	var queuedRead atomic.Bool
	_, err := pool.Process(ctx, readerFunc(func([]byte) (int, error) {
		queuedRead.Store(true)
		return 0, errors.New("must not be read")
	}))
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrBusy wrapping context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("waited %v for a 30ms context", waited)
	}
	if queuedRead.Load() {
		t.Fatal("a queued request read its input before getting a worker")
	}

	close(busy.release)
	if err := <-done; err != nil {
		t.Fatalf("the running job failed: %v", err)
	}

	// the slot is free again
	if _, err := pool.Process(context.Background(), bytes.NewReader(data)); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestPoolDefaults(t *testing.T) {
	t.Parallel()

	pool := NewPool(0, Options{})
	if pool.Workers() != runtime.GOMAXPROCS(0) {
		t.Errorf("Workers() = %d, want GOMAXPROCS %d", pool.Workers(), runtime.GOMAXPROCS(0))
	}
	o := pool.Options()
	if o.MaxBytes != 15<<20 || o.MaxPixels != 40_000_000 || o.MaxEdge != 2048 || o.JPEGQuality != 82 ||
		o.AnimatedGIFMaxBytes != 2<<20 || o.AnimatedGIFMaxEdge != 1080 {
		t.Errorf("defaults = %+v", o)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pool.Process(ctx, bytes.NewReader(nil)); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want ErrBusy wrapping context.Canceled", err)
	}
}

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) {
	return f(b)
}
