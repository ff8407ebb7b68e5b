package recommend_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// env is a served test app with the recommendation plugin.
type env struct {
	t    *testing.T
	app  *tests.TestApp
	plug *recommend.Plugin
	srv  *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	app := testapp.New(t)
	return serveEnv(t, app)
}

// serveEnv registers the plugin on app and serves it (which starts the indexer).
func serveEnv(t *testing.T, app *tests.TestApp) *env {
	t.Helper()
	plug, err := recommend.Register(app, recommend.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, app: app, plug: plug, srv: testapp.Serve(t, app)}
}

// sync indexes everything queued.
func (e *env) sync() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.plug.Sync(ctx); err != nil {
		e.t.Fatalf("Sync: %v", err)
	}
}

// list GETs a list route and returns its status, item ids and next_cursor ("" when null). It
// fails the test when a 200 lacks the {"items", "next_cursor"} shape.
func (e *env) list(path, token string) (int, []string, string) {
	e.t.Helper()
	status, body := testapp.Do(e.t, e.srv, http.MethodGet, path, token, nil)
	if status != http.StatusOK {
		return status, nil, ""
	}
	items, ok := body["items"].([]any)
	if !ok {
		e.t.Fatalf("%s: expected an items array in %v", path, body)
	}
	if _, ok := body["next_cursor"]; !ok {
		e.t.Fatalf("%s: expected a next_cursor key in %v", path, body)
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	next, _ := body["next_cursor"].(string)
	return status, ids, next
}

// mustList is list expecting a 200.
func (e *env) mustList(path, token string) []string {
	e.t.Helper()
	status, ids, _ := e.list(path, token)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: status %d", path, status)
	}
	return ids
}

func createPost(t testing.TB, app core.App, user *core.Record, text string, tags ...string) *core.Record {
	t.Helper()
	if tags == nil {
		tags = []string{}
	}
	return testapp.Create(t, app, "posts", map[string]any{"user": user.Id, "text": text, "tags": tags})
}

func createProduct(t testing.TB, app core.App, user *core.Record, name, description string) *core.Record {
	t.Helper()
	return testapp.Create(t, app, "products", map[string]any{
		"user": user.Id, "name": name, "description": description, "price": 1000,
		"link": "https://shop.example.com/item",
	})
}

func contains(ids []string, id string) bool { return slices.Contains(ids, id) }
