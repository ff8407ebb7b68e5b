// Package moderation adds GET /api/moderation/stats, the numbers of the report queue for
// moderators and superusers: reports by status, target type and reason, a daily series of
// filed and closed reports, the median time to close a report and the most reported users.
// Everything is computed with SQL aggregates; no report row is loaded into memory.
//
// The report workflow itself (checks, status machine, actions, audit log, auto-hide) lives in
// the hooks package, so that it holds for the records API and the dashboard alike.
//
// Example usage:
//
//	app := pocketbase.New()
//	moderation.MustRegister(app, moderation.Config{})
package moderation

import (
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// Config configures the moderation routes.
type Config struct {
	// Days is the length of the window of the daily series, of the median resolution time and
	// of the top reported users, in UTC days ending today. Default 30 (docs/API.md).
	Days int

	// TopUsers is how many of the most reported users the stats list. Default 10.
	TopUsers int

	// Now returns the current time; nil means time.Now. Tests pin it.
	Now func() time.Time
}

// Register binds GET /api/moderation/stats to app.
func Register(app core.App, cfg Config) error {
	if cfg.Days <= 0 {
		cfg.Days = 30
	}
	if cfg.TopUsers <= 0 {
		cfg.TopUsers = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &plugin{app: app, cfg: cfg}

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.GET("/api/moderation/stats", p.statsGet).
			Bind(apis.RequireAuth()).BindFunc(requireModerator)
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

type plugin struct {
	app core.App
	cfg Config
}

// requireModerator lets through superusers and users with the moderator role; other
// authenticated users get a 403 (RequireAuth answers guests with a 401 before it).
func requireModerator(e *core.RequestEvent) error {
	if e.Auth == nil {
		return e.UnauthorizedError("The request requires valid record authorization token.", nil)
	}
	if e.Auth.IsSuperuser() || (e.Auth.Collection().Name == collections.Users && e.Auth.GetString("role") == collections.RoleModerator) {
		return e.Next()
	}
	return e.ForbiddenError("Only moderators and superusers can access the moderation stats.", nil)
}
