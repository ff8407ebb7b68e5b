// Package testapp builds a Tangerine test app: a PocketBase tests.TestApp in a temporary
// directory with Tangerine's migrations and hooks, the feed routes and in-process backends,
// plus small fixture and token helpers for tests.
//
// Example usage:
//
//	app := testapp.New(t)
//	alice := testapp.CreateUser(t, app, "alice")
//	token := testapp.Token(t, alice)
package testapp

import (
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/extensions/feed"
	"github.com/tangerine-market/tangerine/extensions/imageproc"
	"github.com/tangerine-market/tangerine/extensions/moderation"
	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/sqlitedb"
	_ "github.com/tangerine-market/tangerine/migrations"
)

// New returns a test app with Tangerine's schema, hooks and routes, cleaned up with t. The
// rate limiter is off, as with TANGERINE_RATE_LIMITS=off.
func New(t testing.TB) *tests.TestApp {
	t.Helper()
	// the serving binary's connections (statement cache, IMMEDIATE transactions)
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{
		DataDir:       t.TempDir(),
		EncryptionEnv: "pb_test_env",
		DBConnect:     sqlitedb.Connect,
	})
	if err != nil {
		t.Fatalf("Failed to create the test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	Bind(t, app)
	return app
}

// Bind registers Tangerine's hooks and routes on app (for a factory that builds its own).
func Bind(t testing.TB, app core.App) {
	t.Helper()
	if err := hooks.Register(app, hooks.Config{RateLimits: false}); err != nil {
		t.Fatalf("Failed to register the hooks: %v", err)
	}
	if err := feed.Register(app, feed.Config{}); err != nil {
		t.Fatalf("Failed to register the feed: %v", err)
	}
	if err := chat.Register(app, chat.Config{}); err != nil {
		t.Fatalf("Failed to register the chat: %v", err)
	}
	if err := imageproc.Register(app, imageproc.Config{}); err != nil {
		t.Fatalf("Failed to register image processing: %v", err)
	}
	if err := moderation.Register(app, moderation.Config{}); err != nil {
		t.Fatalf("Failed to register the moderation routes: %v", err)
	}
}

// Password is the password of every user that CreateUser makes.
const Password = "1234567890"

// CreateUser saves a verified, active member with that handle (email <handle>@example.com)
// and applies fields on top.
func CreateUser(t testing.TB, app core.App, handle string, fields ...map[string]any) *core.Record {
	t.Helper()
	users, err := app.FindCollectionByNameOrId(collections.Users)
	if err != nil {
		t.Fatal(err)
	}
	u := core.NewRecord(users)
	u.Set("handle", handle)
	u.SetEmail(handle + "@example.com")
	u.SetPassword(Password)
	u.SetVerified(true)
	u.Set("is_public", true)
	for _, f := range fields {
		for k, v := range f {
			u.Set(k, v)
		}
	}
	if err := app.Save(u); err != nil {
		t.Fatalf("Failed to create user %q: %v", handle, err)
	}
	return u
}

// CreateModerator is CreateUser with role moderator.
func CreateModerator(t testing.TB, app core.App, handle string) *core.Record {
	t.Helper()
	return CreateUser(t, app, handle, map[string]any{"role": collections.RoleModerator})
}

// CreateSuperuser saves a superuser.
func CreateSuperuser(t testing.TB, app core.App, email string) *core.Record {
	t.Helper()
	su, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(su)
	r.SetEmail(email)
	r.SetPassword(Password)
	if err := app.Save(r); err != nil {
		t.Fatalf("Failed to create superuser: %v", err)
	}
	return r
}

// Create saves a record of collection with fields, through the app (hooks run, API rules do
// not).
func Create(t testing.TB, app core.App, collection string, fields map[string]any) *core.Record {
	t.Helper()
	c, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(c)
	for k, v := range fields {
		r.Set(k, v)
	}
	if err := app.Save(r); err != nil {
		t.Fatalf("Failed to create a %s record: %v", collection, err)
	}
	return r
}

// Token mints an auth token for r.
func Token(t testing.TB, r *core.Record) string {
	t.Helper()
	token, err := r.NewAuthToken()
	if err != nil {
		t.Fatalf("Failed to mint a token: %v", err)
	}
	return token
}

// Reload fetches r again from the database.
func Reload(t testing.TB, app core.App, r *core.Record) *core.Record {
	t.Helper()
	fresh, err := app.FindRecordById(r.Collection(), r.Id)
	if err != nil {
		t.Fatalf("Failed to reload %s/%s: %v", r.Collection().Name, r.Id, err)
	}
	return fresh
}
