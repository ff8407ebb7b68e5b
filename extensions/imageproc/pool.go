package imageproc

import (
	"context"
	"io"
	"runtime"
)

// Pool runs [Process] on at most a fixed number of images at once, so that a burst of uploads
// queues instead of decoding every image together.
//
// Memory per worker, worst case: the input (at most 15 MB), the decoded image (40 MP x 4 bytes
// = 160 MB for 8-bit RGBA; a 4:2:0 JPEG takes 1.5 bytes per pixel, 60 MB; a 16-bit PNG takes 8,
// 320 MB), the horizontal resize pass (2048 x the short edge x 4 bytes, at most about 45 MB)
// and the output (a few MB). Budget about 40 MP x 4 bytes x 2 = 320 MB per worker, and size
// the pool to the memory you can give it. Decoding and resizing are CPU-bound (the resize
// already spreads over GOMAXPROCS), so more workers than cores only add memory.
//
// A Pool is safe for concurrent use; its zero value is not usable, use [NewPool].
type Pool struct {
	slots chan struct{}
	opts  Options
}

// NewPool returns a Pool of the given number of workers (runtime.GOMAXPROCS(0) when workers <= 0)
// that processes images with opts.
func NewPool(workers int, opts Options) *Pool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	return &Pool{
		slots: make(chan struct{}, workers),
		opts:  opts.withDefaults(),
	}
}

// Workers returns the number of images the pool processes at once.
func (p *Pool) Workers() int {
	return cap(p.slots)
}

// Options returns the options (defaults filled in) the pool processes images with.
func (p *Pool) Options() Options {
	return p.opts
}

// Process waits for a free worker and then runs [Process] on r. r is not read before a worker
// is free, so queued uploads hold no decoded memory.
//
// When ctx ends before a worker frees up it returns ErrBusy wrapped with ctx.Err(); once started,
// processing runs to completion (the decoders cannot be interrupted) and ctx is not consulted.
func (p *Pool) Process(ctx context.Context, r io.Reader) (*Result, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, wrap(ErrBusy, ctx.Err())
	}
	defer func() { <-p.slots }()

	// A slot may have been won in the same instant the context ended; don't start heavy work
	// for a request that is already gone.
	if err := ctx.Err(); err != nil {
		return nil, wrap(ErrBusy, err)
	}

	return Process(r, p.opts)
}
