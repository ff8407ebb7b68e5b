package moderation_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/extensions/moderation"
	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// now is the pinned clock of these tests: the window is 2031-02-14 .. 2031-03-15 (UTC).
var now = time.Date(2031, 3, 15, 10, 30, 0, 0, time.UTC)

// newStatsApp builds a test app with Tangerine's schema and hooks and the stats route on the
// pinned clock. It does not use testapp.New, so that the route is bound once whether or not
// testapp binds the moderation extension with its own clock.
func newStatsApp(t testing.TB) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	if err := hooks.Register(app, hooks.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := moderation.Register(app, moderation.Config{Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestStatsAccess(t *testing.T) {
	cases := []struct {
		name   string
		who    string
		status int
		body   string
	}{
		{"a guest is asked to authenticate", "guest", http.StatusUnauthorized, `"status":401`},
		{"a member is refused", "member", http.StatusForbidden, `"status":403`},
		{"a moderator reads the stats", "moderator", http.StatusOK, `"median_resolution_hours":null`},
		{"a superuser reads the stats", "superuser", http.StatusOK, `"by_status":{`},
	}
	for _, c := range cases {
		s := &tests.ApiScenario{
			Name:                  c.name,
			Method:                http.MethodGet,
			URL:                   "/api/moderation/stats",
			ExpectedStatus:        c.status,
			ExpectedContent:       []string{c.body},
			TestAppFactory:        newStatsApp,
			DisableTestAppCleanup: true, // newStatsApp cleans up with t
		}
		// tokens exist only once the scenario's app does; the request is built after this
		s.BeforeTestFunc = func(t testing.TB, app *tests.TestApp, _ *core.ServeEvent) {
			var auth *core.Record
			switch c.who {
			case "member":
				auth = testapp.CreateUser(t, app, "member")
			case "moderator":
				auth = testapp.CreateModerator(t, app, "moddy")
			case "superuser":
				auth = testapp.CreateSuperuser(t, app, "root@example.com")
			}
			if auth != nil {
				s.Headers = map[string]string{"Authorization": testapp.Token(t, auth)}
			}
		}
		s.Test(t)
	}
}

// seedReport is one row of the seeded data set.
type seedReport struct {
	targetType, reason, status, targetUser string
	created, resolvedAt                    time.Time
}

const dbLayout = "2006-01-02 15:04:05.000Z"

func TestStatsMatchIndependentCounts(t *testing.T) {
	app := newStatsApp(t)
	srv := testapp.Serve(t, app)
	mod := testapp.CreateModerator(t, app, "moddy")
	reporter := testapp.CreateUser(t, app, "reporter")
	var targets []*core.Record
	for i := 0; i < 13; i++ {
		targets = append(targets, testapp.CreateUser(t, app, fmt.Sprintf("target_%02d", i)))
	}

	// a fixed pseudo-random data set inserted straight into the table (the workflow hooks
	// are tested elsewhere; here any mix of states and dates must add up), spanning 45 days
	// so that some rows fall outside the 30-day window
	rng := rand.New(rand.NewPCG(7, 11))
	types := []string{"user", "post", "comment", "product", "chat_message"}
	reasons := []string{"spam", "abuse", "fraud", "inappropriate", "other"}
	statuses := []string{"pending", "reviewing", "resolved", "dismissed"}
	var seed []seedReport
	for i := 0; i < 300; i++ {
		r := seedReport{
			targetType: types[rng.IntN(len(types))],
			reason:     reasons[rng.IntN(len(reasons)-1)], // "other" stays at zero
			status:     statuses[rng.IntN(len(statuses))],
			created:    now.Add(-time.Duration(rng.Int64N(int64(45 * 24 * time.Hour)))).Truncate(time.Millisecond),
		}
		// skewed towards the first targets, so that the top list has an order and a cut-off
		if k := int(math.Pow(rng.Float64(), 2) * float64(len(targets)+1)); k < len(targets) {
			r.targetUser = targets[k].Id
		} // else: an account since deleted
		if r.status == "resolved" || r.status == "dismissed" {
			r.resolvedAt = r.created.Add(time.Duration(rng.Int64N(int64(96 * time.Hour)))).Truncate(time.Millisecond)
			if r.resolvedAt.After(now) {
				r.resolvedAt = now
			}
		}
		resolvedAt := ""
		if !r.resolvedAt.IsZero() {
			resolvedAt = r.resolvedAt.Format(dbLayout)
		}
		_, err := app.DB().Insert("reports", dbx.Params{
			"id":             core.GenerateDefaultRandomId(),
			"reporter":       reporter.Id,
			"target_type":    r.targetType,
			"target_id":      core.GenerateDefaultRandomId(),
			"target_user":    r.targetUser,
			"reason":         r.reason,
			"description":    "",
			"status":         r.status,
			"action":         "none",
			"moderator":      "",
			"moderator_note": "",
			"resolved_at":    resolvedAt,
			"created":        r.created.Format(dbLayout),
			"updated":        r.created.Format(dbLayout),
		}).Execute()
		if err != nil {
			t.Fatal(err)
		}
		seed = append(seed, r)
	}

	// the expected numbers, computed from the seed in Go
	windowStart := time.Date(2031, 2, 14, 0, 0, 0, 0, time.UTC)
	windowEnd := time.Date(2031, 3, 16, 0, 0, 0, 0, time.UTC)
	inWindow := func(ts time.Time) bool { return !ts.Before(windowStart) && ts.Before(windowEnd) }
	wantStatus := map[string]float64{}
	wantType := map[string]float64{}
	wantReason := map[string]float64{}
	for _, v := range statuses {
		wantStatus[v] = 0
	}
	for _, v := range types {
		wantType[v] = 0
	}
	for _, v := range reasons {
		wantReason[v] = 0
	}
	created := map[string]float64{}
	closed := map[string]float64{}
	var hours []float64
	perUser := map[string]int{}
	for _, r := range seed {
		wantStatus[r.status]++
		wantType[r.targetType]++
		wantReason[r.reason]++
		if inWindow(r.created) {
			created[r.created.Format(time.DateOnly)]++
			if r.targetUser != "" {
				perUser[r.targetUser]++
			}
		}
		if !r.resolvedAt.IsZero() && inWindow(r.resolvedAt) {
			closed[r.resolvedAt.Format(time.DateOnly)]++
			hours = append(hours, r.resolvedAt.Sub(r.created).Hours())
		}
	}
	slices.Sort(hours)
	wantMedian := hours[len(hours)/2]
	if len(hours)%2 == 0 {
		wantMedian = (hours[len(hours)/2-1] + hours[len(hours)/2]) / 2
	}
	type userCount struct {
		id string
		n  int
	}
	var top []userCount
	for id, n := range perUser {
		top = append(top, userCount{id, n})
	}
	slices.SortFunc(top, func(a, b userCount) int {
		if a.n != b.n {
			return b.n - a.n
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	if len(top) <= 10 {
		t.Fatalf("The seed should name more than 10 users, got %d", len(top))
	}
	top = top[:10]

	status, body := testapp.Do(t, srv, http.MethodGet, "/api/moderation/stats", testapp.Token(t, mod), nil)
	if status != http.StatusOK {
		t.Fatalf("Expected the stats, got %d %v", status, body)
	}
	for name, want := range map[string]map[string]float64{"by_status": wantStatus, "by_target_type": wantType, "by_reason": wantReason} {
		got, _ := body[name].(map[string]any)
		if len(got) != len(want) {
			t.Errorf("Expected %s to have %d keys, got %v", name, len(want), got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("Expected %s.%s = %v, got %v", name, k, v, got[k])
			}
		}
	}

	daily, _ := body["daily"].([]any)
	if len(daily) != 30 {
		t.Fatalf("Expected 30 days, got %d", len(daily))
	}
	for i, d := range daily {
		day, _ := d.(map[string]any)
		date := windowStart.AddDate(0, 0, i).Format(time.DateOnly)
		if day["date"] != date || day["created"] != created[date] || day["resolved"] != closed[date] {
			t.Errorf("Expected day %d = {%s %v %v}, got %v", i, date, created[date], closed[date], day)
		}
	}

	median, ok := body["median_resolution_hours"].(float64)
	if !ok || math.Abs(median-wantMedian) > 0.006 {
		t.Errorf("Expected median_resolution_hours ≈ %.4f, got %v", wantMedian, body["median_resolution_hours"])
	}

	gotTop, _ := body["top_reported_users"].([]any)
	if len(gotTop) != len(top) {
		t.Fatalf("Expected %d top users, got %d", len(top), len(gotTop))
	}
	for i, item := range gotTop {
		entry, _ := item.(map[string]any)
		user, _ := entry["user"].(map[string]any)
		if user["id"] != top[i].id || entry["count"] != float64(top[i].n) {
			t.Errorf("Expected top %d = %s x%d, got %v x%v", i, top[i].id, top[i].n, user["id"], entry["count"])
		}
		if _, ok := user["handle"]; !ok {
			t.Errorf("Expected the public user fields, got %v", user)
		}
		for _, secret := range []string{"email", "password", "tokenKey"} {
			if _, ok := user[secret]; ok {
				t.Errorf("Expected no %s in a moderator's view of a user, got %v", secret, user)
			}
		}
	}
}
