package uploads

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/filesystem"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// Fixed ids, so that scenario URLs and staging keys can be written before the app exists.
const (
	aliceId        = "alice0000000001"
	bobId          = "bob000000000001"
	alicePostId    = "alicepost000001"
	bobPostId      = "bobpost00000001"
	aliceProductId = "aliceprod000001"

	uploadA = "upa00000000000000001"
	uploadB = "upb00000000000000002"
)

func stagedKey(userId, uploadId string) string {
	return DefaultStagingPrefix + userId + "/" + uploadId
}

// fixture is one test app with uploads registered on fakes, two users (alice and bob), a post
// of each with one image and a product of alice's with an image.
type fixture struct {
	app       *tests.TestApp
	presigner *fakePresigner
	processor *fakeProcessor
	tokens    map[string]string

	// updated holds each fixture record's "updated" right after set-up ("collection/id")
	updated map[string]string
}

type fixtureOptions struct {
	noPresigner bool
	maxBytes    int64
}

func newFixture(t testing.TB, opts fixtureOptions) *fixture {
	t.Helper()
	fx := &fixture{
		app:       testapp.New(t),
		presigner: newFakePresigner(),
		processor: &fakeProcessor{},
		tokens:    map[string]string{},
	}
	cfg := Config{Processor: fx.processor, MaxBytes: opts.maxBytes}
	if !opts.noPresigner {
		cfg.Presigner = fx.presigner
	}
	if err := Register(fx.app, cfg); err != nil {
		t.Fatalf("Register: %v", err)
	}

	alice := testapp.CreateUser(t, fx.app, "alice", map[string]any{"id": aliceId})
	bob := testapp.CreateUser(t, fx.app, "bob", map[string]any{"id": bobId})
	fx.tokens["alice"] = testapp.Token(t, alice)
	fx.tokens["bob"] = testapp.Token(t, bob)

	testapp.Create(t, fx.app, collections.Posts, map[string]any{
		"id": alicePostId, "user": aliceId, "text": "alice's post", "images": []any{pngFile(t, "first.png")},
	})
	testapp.Create(t, fx.app, collections.Posts, map[string]any{
		"id": bobPostId, "user": bobId, "text": "bob's post", "images": []any{pngFile(t, "first.png")},
	})
	testapp.Create(t, fx.app, collections.Products, map[string]any{
		"id": aliceProductId, "user": aliceId, "name": "Tangerines", "price": 1000,
		"link": "https://shop.example.com/t", "image": pngFile(t, "old.png"),
	})
	fx.updated = map[string]string{}
	for _, k := range [][2]string{
		{collections.Users, aliceId}, {collections.Users, bobId}, {collections.Posts, alicePostId},
		{collections.Posts, bobPostId}, {collections.Products, aliceProductId},
	} {
		fx.updated[k[0]+"/"+k[1]] = fx.record(t, k[0], k[1]).GetString("updated")
	}
	return fx
}

func pngFile(t testing.TB, name string) *filesystem.File {
	t.Helper()
	f, err := filesystem.NewFileFromBytes(tinyPNG(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// record reloads a record from the database.
func (fx *fixture) record(t testing.TB, collection, id string) *core.Record {
	t.Helper()
	r, err := fx.app.FindRecordById(collection, id)
	if err != nil {
		t.Fatalf("find %s/%s: %v", collection, id, err)
	}
	return r
}

// fileExists reports whether a stored file of r exists in the app's file storage.
func (fx *fixture) fileExists(t testing.TB, r *core.Record, name string) bool {
	t.Helper()
	fs, err := fx.app.NewFilesystem()
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	ok, err := fs.Exists(r.BaseFilesPath() + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// scenario is one request against a fresh fixture.
type scenario struct {
	name        string
	user        string // "alice", "bob", or "" for no token
	method      string // default POST
	url         string
	body        string
	contentType string // default application/json
	opts        fixtureOptions
	before      func(t testing.TB, fx *fixture)
	status      int
	content     []string
	notContent  []string
	after       func(t testing.TB, fx *fixture)
}

func (s scenario) test(t *testing.T) {
	var fx *fixture
	headers := map[string]string{}
	if s.contentType != "" {
		headers["Content-Type"] = s.contentType
	}
	method := s.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	sc := tests.ApiScenario{
		Name:                  s.name,
		Method:                method,
		URL:                   s.url,
		Body:                  body,
		Headers:               headers,
		ExpectedStatus:        s.status,
		ExpectedContent:       s.content,
		NotExpectedContent:    s.notContent,
		DisableTestAppCleanup: true, // testapp.New cleans up with t
		TestAppFactory: func(t testing.TB) *tests.TestApp {
			fx = newFixture(t, s.opts)
			return fx.app
		},
		BeforeTestFunc: func(t testing.TB, _ *tests.TestApp, _ *core.ServeEvent) {
			if s.user != "" {
				headers["Authorization"] = fx.tokens[s.user]
			}
			if s.before != nil {
				s.before(t, fx)
			}
		},
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, _ *http.Response) {
			if s.after != nil {
				s.after(t, fx)
			}
		},
	}
	sc.Test(t)
}
