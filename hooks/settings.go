package hooks

import (
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

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

// ApplySettings switches the rate limiter on or off (its rules are installed by a migration and
// editable in the dashboard) and enables Google OAuth2 on the users collection when its
// credentials are given. It only writes what changes.
func ApplySettings(app core.App, cfg Config) error {
	settings := app.Settings()
	changed := false
	if settings.RateLimits.Enabled != cfg.RateLimits {
		settings.RateLimits.Enabled = cfg.RateLimits
		changed = true
	}
	if s3 := cfg.S3; s3 != nil && s3.Bucket != "" {
		want := core.S3Config{
			Enabled:        true,
			Bucket:         s3.Bucket,
			Region:         s3.Region,
			Endpoint:       s3.Endpoint,
			AccessKey:      s3.AccessKey,
			Secret:         s3.Secret,
			ForcePathStyle: s3.ForcePathStyle,
		}
		if settings.S3 != want {
			settings.S3 = want
			changed = true
		}
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
