// Package hooks holds Tangerine's record hooks: ownership and read-only fields, defaults,
// handles, counters, tags, replies, follows and likes, and the start-up settings (rate limits,
// Google OAuth2). Register binds them all; each file binds one concern.
//
// Example usage:
//
//	app := pocketbase.New()
//	hooks.MustRegister(app, hooks.Config{RateLimits: true})
package hooks

import "github.com/pocketbase/pocketbase/core"

// Config configures the hooks.
type Config struct {
	// RateLimits switches PocketBase's rate limiter on at start with Tangerine's rules
	// (true, the default in main.go) or off (false, for load tests).
	RateLimits bool

	// GoogleClientId and GoogleClientSecret, when both are set, enable Google OAuth2 sign-in
	// on the users collection at start. Empty leaves the dashboard's setting as it is.
	GoogleClientId     string
	GoogleClientSecret string

	// ReportThreshold is the number of distinct reporters with open reports on one post,
	// comment or product at which it is hidden at once (TANGERINE_REPORT_THRESHOLD).
	// Zero means DefaultReportThreshold (3).
	ReportThreshold int

	// S3, when its Bucket is set, points PocketBase's file storage at an S3-compatible server
	// at start (TANGERINE_S3_*). Nil or an empty Bucket leaves the dashboard's setting as it is.
	S3 *S3Config
}

// S3Config is PocketBase's S3 file storage, set from the environment.
type S3Config struct {
	Endpoint       string
	Bucket         string
	Region         string
	AccessKey      string
	Secret         string
	ForcePathStyle bool
}

// Register binds every Tangerine record hook to app.
func Register(app core.App, cfg Config) error {
	bindFieldGuards(app)
	bindCounterGuards(app)
	bindDefaults(app)
	bindUserHooks(app)
	bindTagHooks(app)
	bindCommentHooks(app)
	bindSocialHooks(app)
	bindCounters(app)
	SetReportThreshold(app, cfg.ReportThreshold)
	bindReportHooks(app)
	bindModerationLog(app)
	bindSettings(app, cfg)
	return nil
}

// MustRegister is like [Register] but panics on error.
func MustRegister(app core.App, cfg Config) {
	if err := Register(app, cfg); err != nil {
		panic(err)
	}
}
