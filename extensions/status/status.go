// Package status adds GET /api/status (superusers only): which backend each pluggable part uses
// and whether it answers. main.go passes one [Check] per part, so this package knows none of
// them.
//
// Example usage:
//
//	status.MustRegister(app, status.Config{Checks: []status.Check{
//		{Name: "broker", Kind: status.Fixed("memory"), Ping: broker.Ping},
//	}})
package status

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Check is one part reported by the status route.
type Check struct {
	// Name is the key in the response ("broker", "vectors", "storage").
	Name string

	// Kind names the implementation in use ("memory", "pulsar", ...), asked at each request
	// because settings (such as the file storage) can change while the app runs.
	Kind func() string

	// Ping reports whether the part answers; nil means always ok. It must honour ctx.
	Ping func(ctx context.Context) error

	// Lag, when set, adds "lag" (work not yet done, e.g. queued index updates).
	Lag func(ctx context.Context) (int, error)
}

// Config configures the status route.
type Config struct {
	// Checks are reported in the response, each under its Name.
	Checks []Check

	// Timeout bounds each check (default 3 s); a check that times out reports ok=false.
	Timeout time.Duration
}

// Register binds GET /api/status to app.
func Register(app core.App, cfg Config) error {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.GET("/api/status", func(e *core.RequestEvent) error {
			return e.JSON(http.StatusOK, Report(e.Request.Context(), cfg))
		}).Bind(apis.RequireSuperuserAuth())
		return se.Next()
	})
	return nil
}

// MustRegister is like [Register] but panics on error.
func MustRegister(app core.App, cfg Config) {
	if err := Register(app, cfg); err != nil {
		panic(err)
	}
}

// Entry is one part's state in the response.
type Entry struct {
	Kind  string `json:"kind"`
	Ok    bool   `json:"ok"`
	Lag   *int   `json:"lag,omitempty"`
	Error string `json:"error,omitempty"`
}

// Report runs every check concurrently, each bounded by cfg.Timeout, and returns the response
// body, one [Entry] per check name.
func Report(ctx context.Context, cfg Config) map[string]Entry {
	out := make(map[string]Entry, len(cfg.Checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range cfg.Checks {
		wg.Add(1)
		go func(c Check) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
			kind := ""
			if c.Kind != nil {
				kind = c.Kind()
			}
			entry := Entry{Kind: kind, Ok: true}
			if c.Ping != nil {
				if err := c.Ping(cctx); err != nil {
					entry.Ok = false
					entry.Error = "unreachable"
				}
			}
			if c.Lag != nil {
				if lag, err := c.Lag(cctx); err == nil {
					entry.Lag = &lag
				} else {
					entry.Ok = false
				}
			}
			mu.Lock()
			out[c.Name] = entry
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	return out
}

// StorageCheck reports PocketBase's file storage: "s3" or "local", and whether it answers (a
// lookup of a key that does not exist, which needs the bucket to be reachable).
func StorageCheck(app core.App) Check {
	return Check{
		Name: "storage",
		Kind: func() string {
			if app.Settings().S3.Enabled {
				return "s3"
			}
			return "local"
		},
		Ping: func(ctx context.Context) error {
			fs, err := app.NewFilesystem()
			if err != nil {
				return err
			}
			defer fs.Close()
			fs.SetContext(ctx)
			_, err = fs.Exists("_tangerine_status_probe")
			return err
		},
	}
}

// Fixed returns a Kind func that always answers kind.
func Fixed(kind string) func() string {
	return func() string { return kind }
}
