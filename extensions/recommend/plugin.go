package recommend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Defaults of [Config].
const (
	DefaultBatchSize    = 128
	DefaultPollInterval = 5 * time.Second
	DefaultEmbedTimeout = 30 * time.Second
	DefaultCandidates   = 500
	DefaultHalfLife     = 14 * 24 * time.Hour
	DefaultPopularPool  = 2000
	DefaultPopularTTL   = 30 * time.Second
	DefaultCacheSize    = 1024
	DefaultTasteCache   = 16384
	DefaultTasteTTL     = 5 * time.Minute
	DefaultListTTL      = 10 * time.Minute
	DefaultSearchMin    = 0.2
	DefaultStopTimeout  = 10 * time.Second
)

// Config configures the recommendation plugin. The zero value is the embedded default: the
// hashing embedder and a [MemoryStore] persisted in SQLite.
type Config struct {
	// Embedder turns posts, products and queries into vectors. Default: NewHashEmbedder(0).
	Embedder Embedder

	// EmbedderId names the embedder and its model (e.g. "http:all-minilm-l6-v2"); when it
	// differs from the one that produced the stored vectors, everything is re-embedded at start.
	// Default: the embedder's Go type and dimension.
	EmbedderId string

	// Store holds the vectors. Default: a [MemoryStore] of the embedder's dimension, loaded at
	// start from the _recommend_vectors table, which the indexer keeps in step whatever the
	// store.
	Store VectorStore

	// StoreKind is reported by [Plugin.Kind] ("embedded", "milvus"). Default: "embedded".
	StoreKind string

	// BatchSize is how many queued changes the indexer takes at once. Default 128.
	BatchSize int

	// PollInterval is how often the indexer looks at the queue when no change woke it (changes
	// made by other processes on the same database, retries after a failure). Default 5 s.
	PollInterval time.Duration

	// EmbedTimeout bounds one embedding call. Default 30 s.
	EmbedTimeout time.Duration

	// Candidates is how many nearest items a "for you" list ranks and pages through.
	// Default 500 (at most [MaxSearchK]).
	Candidates int

	// HalfLife is the time decay of taste signals and of popularity. Default 14 days.
	HalfLife time.Duration

	// PopularPool is how many of the newest published posts (products) the cold-start
	// "popular" list ranks by engagement with time decay. Default 2000.
	PopularPool int

	// CacheSize bounds the ranked list cache (entries; a list holds up to Candidates +
	// PopularPool ids, some 40 KB). Default 1024.
	CacheSize int

	// TasteCacheSize bounds the taste cache (entries: a vector of Dim floats plus the ids the
	// user liked or viewed, a few KB for most users and up to some 300 KB for one with
	// thousands). Default 16384.
	TasteCacheSize int

	// TasteTTL is how long a user's taste is reused. A taste is dropped at once when the user
	// likes, views, follows or writes something (or undoes it), so this bounds only what the
	// user does not cause: new posts of the people they follow, and edits or moderation of the
	// posts behind their signals. A taste that missed the vector of a signal not indexed yet
	// is kept at most 1 minute. Default 5 minutes.
	TasteTTL time.Duration

	// ListTTL is how long a ranked list stays available to next_cursor. Default 10 minutes.
	ListTTL time.Duration

	// SearchMinScore is the cosine similarity below which vector matches are left out of
	// search results (they are noise). Default 0.2.
	SearchMinScore float32

	// StopTimeout bounds the indexer's shutdown in OnTerminate. Default 10 s.
	StopTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Embedder == nil {
		c.Embedder = NewHashEmbedder(0)
	}
	if c.EmbedderId == "" {
		c.EmbedderId = fmt.Sprintf("%T/%d", c.Embedder, c.Embedder.Dim())
	}
	if c.Store == nil {
		c.Store = NewMemoryStore(MemoryStoreConfig{Dim: c.Embedder.Dim()})
		c.StoreKind = "embedded"
	}
	if c.StoreKind == "" {
		c.StoreKind = "embedded"
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.EmbedTimeout <= 0 {
		c.EmbedTimeout = DefaultEmbedTimeout
	}
	if c.Candidates <= 0 {
		c.Candidates = DefaultCandidates
	}
	c.Candidates = min(c.Candidates, MaxSearchK)
	if c.HalfLife <= 0 {
		c.HalfLife = DefaultHalfLife
	}
	if c.PopularPool <= 0 {
		c.PopularPool = DefaultPopularPool
	}
	if c.CacheSize <= 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.TasteCacheSize <= 0 {
		c.TasteCacheSize = DefaultTasteCache
	}
	if c.TasteTTL <= 0 {
		c.TasteTTL = DefaultTasteTTL
	}
	if c.ListTTL <= 0 {
		c.ListTTL = DefaultListTTL
	}
	if c.SearchMinScore == 0 {
		c.SearchMinScore = DefaultSearchMin
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
}

// Plugin is one registered recommendation extension: its indexer and its routes. main.go keeps
// it for /api/status ([Plugin.Kind], [Plugin.Ping], [Plugin.Lag]) and `tangerine reindex`
// ([Plugin.Reindex]).
type Plugin struct {
	app core.App
	cfg Config

	// procMu serialises queue processing (the worker, Sync and Reindex), so that two batches
	// never race on the same record.
	procMu sync.Mutex

	wake chan struct{}

	checkMu sync.Mutex
	checked bool // the stored vectors are known to come from cfg.Embedder

	lifeMu  sync.Mutex
	started bool
	stop    chan struct{}
	done    chan struct{}

	tastes *lru[*taste]
	// tasteChanged notes when each user's signals last changed (see forgetTaste)
	tasteChanged *lru[time.Time]
	lists        *lru[*rankedList]
	popular      *lru[[]string]
}

// Register binds the indexer hooks and the routes to app and returns the plugin. The stored
// vectors are loaded, the index reconciled with the records and the indexer started in OnServe;
// the indexer stops in OnTerminate (bounded by [Config.StopTimeout]).
func Register(app core.App, cfg Config) (*Plugin, error) {
	cfg.setDefaults()
	if cfg.Store.Dim() != cfg.Embedder.Dim() {
		return nil, fmt.Errorf("recommend: the store has %d dimensions, the embedder %d: %w",
			cfg.Store.Dim(), cfg.Embedder.Dim(), ErrDimensionMismatch)
	}
	p := &Plugin{
		app:     app,
		cfg:     cfg,
		wake:    make(chan struct{}, 1),
		tastes:  newLRU[*taste](cfg.TasteCacheSize, cfg.TasteTTL),
		lists:   newLRU[*rankedList](cfg.CacheSize, cfg.ListTTL),
		popular: newLRU[[]string](4, DefaultPopularTTL),
		// a taste computation takes milliseconds: a minute of memory covers it
		tasteChanged: newLRU[time.Time](cfg.TasteCacheSize, tasteRetryTTL),
	}
	p.bindQueueHooks()
	p.bindTasteHooks()

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := p.Start(se.App); err != nil {
			return err
		}
		p.bindRoutes(se)
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.StopTimeout)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			e.App.Logger().Warn("Failed to stop the recommendation indexer", "error", err)
		}
		return e.Next()
	})
	return p, nil
}

// MustRegister is like [Register] but panics on error.
func MustRegister(app core.App, cfg Config) *Plugin {
	p, err := Register(app, cfg)
	if err != nil {
		panic(err)
	}
	return p
}

// Start loads the stored vectors into the store when it lacks them, re-enqueues what the index
// misses (reconcile) and starts the indexer. It runs once; later calls do nothing. OnServe
// calls it; a command that never serves (reindex) does not need it.
func (p *Plugin) Start(app core.App) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.started {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := p.checkEmbedder(ctx); err != nil {
		return err
	}
	if err := p.loadStore(ctx); err != nil {
		return err
	}
	if err := p.reconcile(); err != nil {
		return err
	}
	p.started = true
	p.stop = make(chan struct{})
	p.done = make(chan struct{})
	go p.work(p.stop, p.done)
	return nil
}

// Stop stops the indexer, waiting for the batch in progress until ctx ends. Queued changes stay
// queued for the next start. The store stays open: whoever made it closes it.
func (p *Plugin) Stop(ctx context.Context) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if !p.started {
		return nil
	}
	p.started = false
	close(p.stop)
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("recommend: indexer still busy: %w", ctx.Err())
	}
	return nil
}

// Kind names the vector store in use, for /api/status.
func (p *Plugin) Kind() string {
	return p.cfg.StoreKind
}

// Ping reports whether the vector store answers, for /api/status.
func (p *Plugin) Ping(ctx context.Context) error {
	return p.cfg.Store.Ping(ctx)
}

// Lag returns the number of changes waiting for the indexer, for /api/status.
func (p *Plugin) Lag(ctx context.Context) (int, error) {
	var n int
	err := p.app.DB().Select("count(*)").WithContext(ctx).From(queueTable).Row(&n)
	return n, err
}

// Store returns the vector store the plugin uses.
func (p *Plugin) Store() VectorStore {
	return p.cfg.Store
}

// errStopped ends a drain when the worker is asked to stop.
var errStopped = errors.New("recommend: indexer stopped")
