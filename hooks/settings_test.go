package hooks_test

import (
	"net/http"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/testapp"
	_ "github.com/tangerine-market/tangerine/migrations"
)

func newBareApp(t *testing.T) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	return app
}

func TestRateLimitsOnByDefaultWithTangerineRules(t *testing.T) {
	app := newBareApp(t)
	hooks.MustRegister(app, hooks.Config{RateLimits: true})
	srv := testapp.Serve(t, app)
	testapp.CreateUser(t, app, "alice")

	if !app.Settings().RateLimits.Enabled {
		t.Fatal("Expected the rate limiter to be on")
	}
	codes := []int{}
	for i := 0; i < 11; i++ {
		status, _ := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-password", "",
			map[string]any{"identity": "alice", "password": "wrong-password"})
		codes = append(codes, status)
	}
	for i, c := range codes[:10] {
		if c != http.StatusBadRequest {
			t.Fatalf("Expected the first 10 log-in attempts a minute to be answered (400), attempt %d got %d (%v)", i+1, c, codes)
		}
	}
	if codes[10] != http.StatusTooManyRequests {
		t.Fatalf("Expected the 11th log-in attempt within a minute to be refused with 429, got %d", codes[10])
	}
}

func TestRateLimitsOffSwitchesTheLimiterOff(t *testing.T) {
	app := newBareApp(t)
	hooks.MustRegister(app, hooks.Config{RateLimits: false})
	srv := testapp.Serve(t, app)
	testapp.CreateUser(t, app, "alice")
	for i := 0; i < 15; i++ {
		status, _ := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-password", "",
			map[string]any{"identity": "alice", "password": "wrong-password"})
		if status != http.StatusBadRequest {
			t.Fatalf("Expected no rate limit with TANGERINE_RATE_LIMITS=off, attempt %d got %d", i+1, status)
		}
	}
	if app.Settings().RateLimits.Enabled {
		t.Fatal("Expected the limiter to be off in the settings")
	}
}

func TestGoogleOAuth2EnabledFromCredentials(t *testing.T) {
	app := newBareApp(t)
	if err := hooks.ApplySettings(app, hooks.Config{GoogleClientId: "client-id", GoogleClientSecret: "client-secret"}); err != nil {
		t.Fatal(err)
	}
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := users.OAuth2.GetProviderConfig("google")
	if !users.OAuth2.Enabled || !ok || p.ClientId != "client-id" || p.ClientSecret != "client-secret" {
		t.Fatalf("Expected Google OAuth2 enabled with the given credentials, got enabled=%v %+v", users.OAuth2.Enabled, p)
	}

	// without credentials, the dashboard's setting stays as it is
	if err := hooks.ApplySettings(app, hooks.Config{}); err != nil {
		t.Fatal(err)
	}
	users, _ = app.FindCollectionByNameOrId("users")
	if !users.OAuth2.Enabled {
		t.Fatal("Expected OAuth2 to stay enabled when no credentials are given")
	}
}

func TestS3StorageFromEnvironment(t *testing.T) {
	app := newBareApp(t)
	cfg := hooks.Config{S3: &hooks.S3Config{Endpoint: "http://127.0.0.1:7070", Bucket: "media", Region: "us-east-1",
		AccessKey: "key", Secret: "secret", ForcePathStyle: true}}
	if err := hooks.ApplySettings(app, cfg); err != nil {
		t.Fatal(err)
	}
	s3 := app.Settings().S3
	if !s3.Enabled || s3.Bucket != "media" || s3.Endpoint != "http://127.0.0.1:7070" || !s3.ForcePathStyle || s3.Secret != "secret" {
		t.Fatalf("Expected PocketBase's S3 storage set from the config, got %+v", s3)
	}
	// without a bucket, the dashboard's storage settings stay
	if err := hooks.ApplySettings(app, hooks.Config{S3: &hooks.S3Config{}}); err != nil {
		t.Fatal(err)
	}
	if !app.Settings().S3.Enabled {
		t.Fatal("Expected S3 to stay configured when no bucket is given")
	}
}
