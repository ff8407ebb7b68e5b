package status_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/extensions/status"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

func TestStatusRoute(t *testing.T) {
	setup := func(t testing.TB) *tests.TestApp {
		app := testapp.New(t)
		status.MustRegister(app, status.Config{Timeout: 200 * time.Millisecond, Checks: []status.Check{
			{Name: "broker", Kind: status.Fixed("memory"), Ping: func(ctx context.Context) error { return nil }},
			{Name: "vectors", Kind: status.Fixed("milvus"),
				Ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, // hangs: must time out
				Lag:  func(ctx context.Context) (int, error) { return 7, nil }},
			{Name: "other", Kind: status.Fixed("x"), Ping: func(ctx context.Context) error { return errors.New("down") }},
			status.StorageCheck(app),
		}})
		return app
	}
	var superToken, memberToken string
	factory := func(t testing.TB) *tests.TestApp {
		app := setup(t)
		superToken = testapp.Token(t, testapp.CreateSuperuser(t, app, "root@example.com"))
		memberToken = testapp.Token(t, testapp.CreateUser(t, app, "member"))
		return app
	}

	scenarios := []tests.ApiScenario{
		{
			Name:            "anonymous is refused",
			Method:          http.MethodGet,
			URL:             "/api/status",
			TestAppFactory:  factory,
			ExpectedStatus:  401,
			ExpectedContent: []string{`"data":{}`},
		},
		{
			Name:            "a member is refused",
			Method:          http.MethodGet,
			URL:             "/api/status",
			TestAppFactory:  factory,
			Headers:         map[string]string{},
			ExpectedStatus:  403,
			ExpectedContent: []string{`"data":{}`},
		},
		{
			Name:           "a superuser sees every part",
			Method:         http.MethodGet,
			URL:            "/api/status",
			TestAppFactory: factory,
			ExpectedStatus: 200,
			ExpectedContent: []string{
				`"broker":{"kind":"memory","ok":true}`,
				`"vectors":{"kind":"milvus","ok":false,"lag":7,"error":"unreachable"}`,
				`"other":{"kind":"x","ok":false,"error":"unreachable"}`,
				`"storage":{"kind":"local","ok":true}`,
			},
		},
	}
	for i := range scenarios {
		s := &scenarios[i]
		switch {
		case strings.HasPrefix(s.Name, "a member"):
			s.BeforeTestFunc = func(t testing.TB, app *tests.TestApp, e *core.ServeEvent) {
				s.Headers["Authorization"] = memberToken
			}
		case strings.HasPrefix(s.Name, "a superuser"):
			s.Headers = map[string]string{}
			s.BeforeTestFunc = func(t testing.TB, app *tests.TestApp, e *core.ServeEvent) {
				s.Headers["Authorization"] = superToken
			}
		}
		s.Test(t)
	}
}
