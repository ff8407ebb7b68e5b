package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Tangerine's rate-limit rules, per client IP (or auth user): log-ins, sign-ups, writes, and a
// broad ceiling on the whole API. Installed once; the dashboard can change them afterwards, and
// TANGERINE_RATE_LIMITS switches the limiter on or off at every start.
func init() {
	m.Register(func(app core.App) error {
		settings := app.Settings()
		settings.RateLimits.Enabled = true
		settings.RateLimits.Rules = []core.RateLimitRule{
			{Label: "*:auth", MaxRequests: 10, Duration: 60},
			{Label: "*:authRefresh", MaxRequests: 30, Duration: 60},
			{Label: "*:requestPasswordReset", MaxRequests: 3, Duration: 300},
			{Label: "*:requestVerification", MaxRequests: 3, Duration: 300},
			{Label: "*:requestEmailChange", MaxRequests: 3, Duration: 300},
			{Label: "*:requestOTP", MaxRequests: 3, Duration: 300},
			{Label: "users:create", Audience: core.RateLimitRuleAudienceGuest, MaxRequests: 5, Duration: 3600},
			{Label: "*:create", MaxRequests: 60, Duration: 60},
			{Label: "*:update", MaxRequests: 60, Duration: 60},
			{Label: "*:delete", MaxRequests: 60, Duration: 60},
			{Label: "/api/batch", MaxRequests: 5, Duration: 1},
			{Label: "/api/", MaxRequests: 600, Duration: 60},
		}
		return app.Save(settings)
	}, func(app core.App) error {
		settings := app.Settings()
		settings.RateLimits.Enabled = false
		return app.Save(settings)
	})
}
