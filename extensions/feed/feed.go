// Package feed adds Tangerine's feeds, which stay fast at millions of posts where the records
// API's relation filters do not: the home feed (people one follows), the latest posts, the
// posts of a tag, all with keyset pagination; and POST /api/posts/{id}/views, which counts a
// view at most once per viewer per 30 minutes.
//
// Example usage:
//
//	app := pocketbase.New()
//	feed.MustRegister(app, feed.Config{})
package feed

import (
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Config configures the feed routes.
type Config struct {
	// ViewWindow is how long one viewer's views of one post count once. Default 30 minutes.
	ViewWindow time.Duration

	// MergeLimit is the number of posts the followed authors may have between them for the
	// home feed to merge their per-author indexes; above it, the feed walks the global
	// newest-first index instead. Default 5000.
	MergeLimit int

	// WalkWindow bounds how far back one walk of the global index reads before the home feed
	// falls back to the merge. Default 7 days.
	WalkWindow time.Duration

	// HomeFromSQL serves the home feed from its SQL plans only, without the in-memory index
	// of published posts by author (homeindex.go). The index is the default: it makes a page
	// a merge in memory plus one query for the page's rows, where the SQL plans read every
	// candidate key of the followed authors.
	HomeFromSQL bool

	// FollowListCache is the most follow lists the home feed index keeps. Default 50,000.
	FollowListCache int

	// ItemCacheMB is how many megabytes of rendered posts and authors the home feed keeps
	// (itemcache.go). Default 64; negative: no cache, every page reads its rows.
	ItemCacheMB int

	// ItemTTL is how long a cached post or author is served after it was read. Every change
	// but a views_count increment drops the entry at once; views_count is at most this far
	// behind. Default 5 s.
	ItemTTL time.Duration
}

// homeIndexKey is where Register puts the home feed index in the app's store (tests wait for
// it to load).
const homeIndexKey = "tangerine.feed.homeIndex"

// DefaultItemCacheMB is Config.ItemCacheMB's default.
const DefaultItemCacheMB = 64

const (
	defaultLimit = 20
	maxLimit     = 100
)

// Register binds the feed routes and the view-mark clean-up job to app.
func Register(app core.App, cfg Config) error {
	if cfg.ViewWindow <= 0 {
		cfg.ViewWindow = 30 * time.Minute
	}
	if cfg.MergeLimit <= 0 {
		cfg.MergeLimit = 5000
	}
	if cfg.WalkWindow <= 0 {
		cfg.WalkWindow = 7 * 24 * time.Hour
	}
	if cfg.FollowListCache <= 0 {
		cfg.FollowListCache = 50_000
	}
	if cfg.ItemCacheMB == 0 {
		cfg.ItemCacheMB = DefaultItemCacheMB
	}
	if cfg.ItemTTL <= 0 {
		cfg.ItemTTL = 5 * time.Second
	}
	f := &plugin{app: app, cfg: cfg}
	if !cfg.HomeFromSQL {
		var items *itemCache
		if cfg.ItemCacheMB > 0 {
			items = newItemCache(int64(cfg.ItemCacheMB)<<20, cfg.ItemTTL)
		}
		f.home = newHomeIndex(app, cfg.FollowListCache, items)
		app.Store().Set(homeIndexKey, f.home)
		// a load still running when the app closes its database would read a closed handle
		app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
			f.home.stop()
			return e.Next()
		})
	}

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/feed")
		// every client reads its feed every few seconds: the activity log (auxiliary.db) keeps
		// the feeds' failed requests only, as it would otherwise hold mostly feed reads and
		// writing them cost a seventh of a page's CPU
		g.Bind(apis.SkipSuccessActivityLog())
		g.GET("/home", f.feedHome).Bind(apis.RequireAuth())
		g.GET("/latest", f.feedLatest)
		g.GET("/tags/{tag}", f.feedTag)
		se.Router.POST("/api/posts/{id}/views", f.viewsCreate)
		if f.home != nil {
			f.home.start()
		}
		return se.Next()
	})

	app.Cron().MustAdd("tangerine_feed_cleanup", "*/10 * * * *", func() {
		if err := f.pruneViewMarks(); err != nil {
			app.Logger().Warn("Failed to prune view marks", "error", err)
		}
		// an index that serves no requests still follows the log, so that it does not fall
		// behind the clean-up below and have to load again
		if f.home != nil && f.home.ready.Load() {
			f.catchUpHome(app)
		}
		if err := pruneChangeLog(app, time.Hour); err != nil {
			app.Logger().Warn("Failed to prune the feed's change log", "error", err)
		}
	})
	return nil
}

// MustRegister is like [Register] but panics on error.
func MustRegister(app core.App, cfg Config) {
	if err := Register(app, cfg); err != nil {
		panic(err)
	}
}

type plugin struct {
	app  core.App
	cfg  Config
	enc  encCache   // the item encoders of the current posts and users collections
	home *homeIndex // nil: HomeFromSQL
}
