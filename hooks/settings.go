package hooks

import (
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// RateLimitRules are Tangerine's rules for PocketBase's rate limiter, per client IP (or auth
// user): log-in attempts, sign-ups, writes, and a broad ceiling on the whole API.
var RateLimitRules = []core.RateLimitRule{
	{Label: "*:auth", MaxRequests: 10, Duration: 60},
	{Label: "*:authRefresh", MaxRequests: 30, Duration: 60},
	{Label: "*:requestPasswordReset", MaxRequests: 3, Duration: 300},
	{Label: "*:requestVerification", MaxRequests: 3, Duration: 300},
	{Label: "*:requestEmailChange", MaxRequests: 3, Duration: 300},
	{Label: "*:requestOTP", MaxRequests: 3, Duration: 300},
	{Label: "users:create", Audience: "@guest", MaxRequests: 5, Duration: 3600},
	{Label: "*:create", MaxRequests: 60, Duration: 60},
	{Label: "*:update", MaxRequests: 60, Duration: 60},
	{Label: "*:delete", MaxRequests: 60, Duration: 60},
	{Label: "/api/batch", MaxRequests: 5, Duration: 1},
	{Label: "/api/", MaxRequests: 600, Duration: 60},
}

// bindSettings applies the start-up settings when the server starts: after the migrations,
// so that the users collection exists on a fresh pb_data.
func bindSettings(app core.App, cfg Config) {
	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		if err := ApplySettings(e.App, cfg); err != nil {
			return err
		}
		return e.Next()
	})
}

// ApplySettings switches the rate limiter on (with [RateLimitRules] when none are configured)
// or off, and enables Google OAuth2 on the users collection when its credentials are given.
// It only writes what changes.
func ApplySettings(app core.App, cfg Config) error {
	settings := app.Settings()
	changed := false
	if settings.RateLimits.Enabled != cfg.RateLimits {
		settings.RateLimits.Enabled = cfg.RateLimits
		changed = true
	}
	if cfg.RateLimits && len(settings.RateLimits.Rules) == 0 {
		settings.RateLimits.Rules = append([]core.RateLimitRule(nil), RateLimitRules...)
		changed = true
	}
	if changed {
		if err := app.Save(settings); err != nil {
			return err
		}
	}

	if cfg.GoogleClientId == "" || cfg.GoogleClientSecret == "" {
		return nil
	}
	users, err := app.FindCollectionByNameOrId(collections.Users)
	if err != nil {
		return err
	}
	provider, ok := users.OAuth2.GetProviderConfig("google")
	if ok && users.OAuth2.Enabled && provider.ClientId == cfg.GoogleClientId && provider.ClientSecret == cfg.GoogleClientSecret {
		return nil
	}
	provider.Name = "google"
	provider.ClientId = cfg.GoogleClientId
	provider.ClientSecret = cfg.GoogleClientSecret
	providers := make([]core.OAuth2ProviderConfig, 0, len(users.OAuth2.Providers)+1)
	for _, p := range users.OAuth2.Providers {
		if p.Name != "google" {
			providers = append(providers, p)
		}
	}
	users.OAuth2.Providers = append(providers, provider)
	users.OAuth2.Enabled = true
	return app.Save(users)
}
