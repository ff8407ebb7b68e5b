package hooks_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

// The rule matrix: each collection of docs/API.md × list, view, create, update, delete × the
// actors anonymous, owner, another member, moderator and superuser, through the records API.
//
// PocketBase answers a list whose rule fails with the matching subset (200, possibly no
// items), a view/update/delete whose rule fails with 404, a create whose rule fails with 400
// and no field errors, and any action whose rule is null (superuser-only) with 403. Each test
// seeds one app for its collection group; every case of its table runs on a fresh copy of that
// seed (see ruleRun), so a case never depends on what an earlier one wrote. Successful deletes
// still target records kept for them, so that the tables also read right top to bottom.
//
// Writes that are refused must write nothing: the failing create/update/delete cases assert
// that no Record*Execute event fired, and refused deletes that the record is still there.

// ruleAnon is the token of an anonymous request: no Authorization header.
const ruleAnon = ""

// ruleDenied marks a 400 that a create rule refused: PocketBase names no field then.
const ruleDenied = `"data":{}`

// ruleField is the marker of a 400 that names field.
func ruleField(field string) string {
	return `"` + field + `":{"code":`
}

// ruleId is the marker of a record in a response.
func ruleId(id string) string {
	return `"id":"` + id + `"`
}

func ruleHeaders(token string) map[string]string {
	if token == "" {
		return nil
	}
	return map[string]string{"Authorization": token}
}

func ruleBody(t testing.TB, body map[string]any) *strings.Reader {
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}

func ruleRecordsURL(collection string, id string) string {
	if id == "" {
		return "/api/collections/" + collection + "/records"
	}
	return "/api/collections/" + collection + "/records/" + id
}

// ruleRun runs each scenario against its own copy of seed's data, with Tangerine's hooks
// bound: every case starts from the same seeded records, whatever the cases before it wrote.
// (One app shared through DisableTestAppCleanup does not work: apis.NewRouter binds PocketBase's
// UI-extension routes as a new OnServe handler on every call, and the second scenario's
// BuildMux panics on the duplicate "GET /_/extensions.js".)
func ruleRun(t *testing.T, seed *tests.TestApp, scenarios []tests.ApiScenario) {
	t.Helper()
	for _, db := range []dbx.Builder{seed.DB(), seed.AuxDB()} {
		if _, err := db.NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
			t.Fatalf("Failed to checkpoint the seed: %v", err)
		}
	}
	factory := func(tb testing.TB) *tests.TestApp {
		app, err := tests.NewTestApp(seed.DataDir())
		if err != nil {
			tb.Fatalf("Failed to clone the seeded app: %v", err)
		}
		testapp.Bind(tb, app)
		return app
	}
	for _, s := range scenarios {
		s.TestAppFactory = factory
		s.Test(t)
	}
}

// ruleWant adds content the response must hold.
func ruleWant(s tests.ApiScenario, content ...string) tests.ApiScenario {
	s.ExpectedContent = append(append([]string(nil), s.ExpectedContent...), content...)
	return s
}

// ruleHide adds content the response must not hold.
func ruleHide(s tests.ApiScenario, content ...string) tests.ApiScenario {
	s.NotExpectedContent = append(append([]string(nil), s.NotExpectedContent...), content...)
	return s
}

// ruleQuery adds query parameters (name, value pairs) to the scenario's URL.
func ruleQuery(s tests.ApiScenario, pairs ...string) tests.ApiScenario {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		q.Add(pairs[i], pairs[i+1])
	}
	sep := "?"
	if strings.Contains(s.URL, "?") {
		sep = "&"
	}
	s.URL += sep + q.Encode()
	return s
}

// ruleList expects a 200 list holding every id of see and none of hide (no items at all when
// see is empty).
func ruleList(name, collection, token string, see, hide []string) tests.ApiScenario {
	s := tests.ApiScenario{
		Name:           name,
		Method:         http.MethodGet,
		URL:            ruleRecordsURL(collection, "") + "?perPage=500",
		Headers:        ruleHeaders(token),
		ExpectedStatus: http.StatusOK,
		ExpectedEvents: map[string]int{"OnRecordsListRequest": 1},
	}
	for _, id := range see {
		s.ExpectedContent = append(s.ExpectedContent, ruleId(id))
	}
	if len(see) == 0 {
		s.ExpectedContent = append(s.ExpectedContent, `"items":[]`)
	}
	for _, id := range hide {
		s.NotExpectedContent = append(s.NotExpectedContent, ruleId(id))
	}
	return s
}

// ruleView expects the record on 200 and an error without it otherwise.
func ruleView(name, collection, id, token string, status int) tests.ApiScenario {
	s := tests.ApiScenario{
		Name:           name,
		Method:         http.MethodGet,
		URL:            ruleRecordsURL(collection, id),
		Headers:        ruleHeaders(token),
		ExpectedStatus: status,
	}
	if status == http.StatusOK {
		s.ExpectedContent = []string{ruleId(id)}
		s.ExpectedEvents = map[string]int{"OnRecordViewRequest": 1}
	} else {
		s.ExpectedContent = []string{`"status":` + strconv.Itoa(status)}
		s.NotExpectedContent = []string{ruleId(id)}
		s.ExpectedEvents = map[string]int{"OnRecordViewRequest": 0}
	}
	return s
}

// ruleWrite is the common part of create and update: on failure nothing is written.
func ruleWrite(t testing.TB, name, method, url, token string, body map[string]any, status int, execEvent string, want []string) tests.ApiScenario {
	s := tests.ApiScenario{
		Name:           name,
		Method:         method,
		URL:            url,
		Body:           ruleBody(t, body),
		Headers:        ruleHeaders(token),
		ExpectedStatus: status,
	}
	if status == http.StatusOK {
		s.ExpectedContent = append([]string{`"id":"`}, want...)
	} else {
		s.ExpectedContent = append([]string{`"status":` + strconv.Itoa(status)}, want...)
		s.ExpectedEvents = map[string]int{execEvent: 0}
	}
	return s
}

// ruleCreate expects want in the response (the created record on 200; ruleDenied or
// ruleField markers on 400).
func ruleCreate(t testing.TB, name, collection, token string, body map[string]any, status int, want ...string) tests.ApiScenario {
	return ruleWrite(t, name, http.MethodPost, ruleRecordsURL(collection, ""), token, body, status, "OnRecordCreateExecute", want)
}

// ruleUpdate is ruleCreate for a PATCH of collection/id.
func ruleUpdate(t testing.TB, name, collection, id, token string, body map[string]any, status int, want ...string) tests.ApiScenario {
	s := ruleWrite(t, name, http.MethodPatch, ruleRecordsURL(collection, id), token, body, status, "OnRecordUpdateExecute", want)
	if status == http.StatusOK {
		s.ExpectedContent = append(s.ExpectedContent, ruleId(id))
	}
	return s
}

// ruleDelete expects 204 and the record gone, or the error status and the record still there.
func ruleDelete(name, collection, id, token string, status int) tests.ApiScenario {
	s := tests.ApiScenario{
		Name:           name,
		Method:         http.MethodDelete,
		URL:            ruleRecordsURL(collection, id),
		Headers:        ruleHeaders(token),
		ExpectedStatus: status,
		AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
			_, err := app.FindRecordById(collection, id)
			if status == http.StatusNoContent && err == nil {
				t.Errorf("Expected %s/%s to be deleted", collection, id)
			}
			if status != http.StatusNoContent && err != nil {
				t.Errorf("Expected %s/%s to survive a refused delete: %v", collection, id, err)
			}
		},
	}
	if status != http.StatusNoContent {
		s.ExpectedContent = []string{`"status":` + strconv.Itoa(status)}
		s.ExpectedEvents = map[string]int{"OnRecordDeleteExecute": 0}
	}
	return s
}

func ruleIds(records ...*core.Record) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = r.Id
	}
	return out
}

// ruleFind returns the first record of collection whose field equals value.
func ruleFind(t testing.TB, app core.App, collection, field, value string) *core.Record {
	t.Helper()
	r, err := app.FindFirstRecordByData(collection, field, value)
	if err != nil {
		t.Fatalf("Failed to find %s with %s=%s: %v", collection, field, value, err)
	}
	return r
}

// ---------------------------------------------------------------------------------------------

func TestRulesUsers(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	mia := testapp.CreateModerator(t, app, "mia")
	dora := testapp.CreateUser(t, app, "dora", map[string]any{"emailVisibility": true})
	zed1 := testapp.CreateUser(t, app, "zed1")
	zed2 := testapp.CreateUser(t, app, "zed2")
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, mia), testapp.Token(t, su)
	const U = "users"
	aliceEmail, bobEmail := `"alice@example.com"`, `"bob@example.com"`
	signUp := func(handle string, extra map[string]any) map[string]any {
		body := map[string]any{"email": handle + "@example.com", "password": testapp.Password, "passwordConfirm": testapp.Password, "handle": handle}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}

	ruleRun(t, app, []tests.ApiScenario{
		ruleList("users/list as anonymous → 200 with no items (list requires auth)", U, ruleAnon, nil, ruleIds(alice, bob)),
		ruleWant(ruleHide(ruleList("users/list as owner → sees users, own email only", U, owner, ruleIds(alice, bob, mia), nil), bobEmail), aliceEmail),
		ruleWant(ruleHide(ruleList("users/list as other member → others' emails hidden", U, other, ruleIds(alice, bob), nil), aliceEmail), bobEmail),
		ruleHide(ruleList("users/list as moderator → members' emails hidden", U, mod, ruleIds(alice, bob), nil), aliceEmail, bobEmail),
		ruleWant(ruleList("users/list as superuser → every email shown", U, root, ruleIds(alice, bob, mia), nil), aliceEmail, bobEmail),
		ruleWant(ruleList("users/list as other member shows an email made visible by emailVisibility", U, other, ruleIds(dora), nil), `"dora@example.com"`),

		ruleQuery(ruleList("users/list filtered by another's hidden email as other member → 200 with no items", U, other, nil, ruleIds(alice)), "filter", `email = "alice@example.com"`),
		ruleQuery(ruleList("users/list filtered by an email made visible as other member → 200 with that user", U, other, ruleIds(dora), nil), "filter", `email = "dora@example.com"`),

		ruleHide(ruleView("users/view as anonymous → 200 without email (view is public)", U, alice.Id, ruleAnon, 200), aliceEmail),
		ruleWant(ruleView("users/view own as owner → 200 with email", U, alice.Id, owner, 200), aliceEmail),
		ruleHide(ruleView("users/view as other member → 200 without email", U, alice.Id, other, 200), aliceEmail),
		ruleHide(ruleView("users/view as moderator → 200 without email", U, alice.Id, mod, 200), aliceEmail),
		ruleWant(ruleView("users/view as superuser → 200 with email", U, alice.Id, root, 200), aliceEmail),
		ruleWant(ruleView("users/view as anonymous of an emailVisibility user → 200 with email", U, dora.Id, ruleAnon, 200), `"dora@example.com"`),

		ruleCreate(t, "users/create (sign-up) as anonymous → 200 member", U, ruleAnon, signUp("new_anon", nil), 200, `"handle":"new_anon"`, `"role":"member"`, `"status":"active"`),
		ruleCreate(t, "users/create as owner → 200 (sign-up is open)", U, owner, signUp("new_owner", nil), 200, `"handle":"new_owner"`),
		ruleCreate(t, "users/create as other member → 200 (sign-up is open)", U, other, signUp("new_other", nil), 200, `"handle":"new_other"`),
		ruleCreate(t, "users/create as moderator → 200 member, not moderator", U, mod, signUp("new_mod", nil), 200, `"handle":"new_mod"`, `"role":"member"`),
		ruleCreate(t, "users/create as anonymous with role → 400 naming role", U, ruleAnon, signUp("new_role", map[string]any{"role": "moderator"}), 400, ruleField("role")),
		ruleCreate(t, "users/create as moderator with role → 400 naming role", U, mod, signUp("new_role2", map[string]any{"role": "moderator"}), 400, ruleField("role")),
		ruleCreate(t, "users/create as anonymous with status → 400 naming status", U, ruleAnon, signUp("new_status", map[string]any{"status": "active"}), 400, ruleField("status")),
		ruleCreate(t, "users/create as superuser with role moderator → 200", U, root, signUp("new_su", map[string]any{"role": "moderator"}), 200, `"role":"moderator"`),

		ruleUpdate(t, "users/update as anonymous → 404", U, alice.Id, ruleAnon, map[string]any{"name": "X"}, 404),
		ruleUpdate(t, "users/update own as owner → 200", U, alice.Id, owner, map[string]any{"name": "Alice A"}, 200, `"name":"Alice A"`),
		ruleUpdate(t, "users/update as other member → 404", U, alice.Id, other, map[string]any{"name": "X"}, 404),
		ruleUpdate(t, "users/update as moderator → 404", U, alice.Id, mod, map[string]any{"name": "X"}, 404),
		ruleUpdate(t, "users/update as superuser → 200", U, alice.Id, root, map[string]any{"bio": "set by root"}, 200, `"bio":"set by root"`),
		ruleUpdate(t, "users/update own role as owner → 400 naming role", U, alice.Id, owner, map[string]any{"role": "moderator"}, 400, ruleField("role")),
		ruleUpdate(t, "users/update own status as owner → 400 naming status", U, alice.Id, owner, map[string]any{"status": "active"}, 400, ruleField("status")),
		ruleUpdate(t, "users/update own counter as owner → 400 naming posts_count", U, alice.Id, owner, map[string]any{"posts_count": 100}, 400, ruleField("posts_count")),
		ruleUpdate(t, "users/update role as superuser → 200", U, bob.Id, root, map[string]any{"role": "moderator"}, 200, `"role":"moderator"`),

		ruleDelete("users/delete as anonymous → 404", U, alice.Id, ruleAnon, 404),
		ruleDelete("users/delete as other member → 404", U, alice.Id, testapp.Token(t, zed1), 404),
		ruleDelete("users/delete as moderator → 404", U, alice.Id, mod, 404),
		ruleDelete("users/delete own as owner → 204", U, zed1.Id, testapp.Token(t, zed1), 204),
		ruleDelete("users/delete as superuser → 204", U, zed2.Id, root, 204),
	})
}

func TestRulesCategories(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, mia), testapp.Token(t, su)
	const C = "categories"
	cat := testapp.Create(t, app, C, map[string]any{"user": alice.Id, "name": "travel"})
	del1 := testapp.Create(t, app, C, map[string]any{"user": alice.Id, "name": "old1"})
	del2 := testapp.Create(t, app, C, map[string]any{"user": alice.Id, "name": "old2"})

	ruleRun(t, app, []tests.ApiScenario{
		ruleList("categories/list as anonymous → 200 with them (public read)", C, ruleAnon, ruleIds(cat), nil),
		ruleList("categories/list as owner → 200 with them", C, owner, ruleIds(cat), nil),
		ruleList("categories/list as other member → 200 with them", C, other, ruleIds(cat), nil),
		ruleList("categories/list as moderator → 200 with them", C, mod, ruleIds(cat), nil),
		ruleList("categories/list as superuser → 200 with them", C, root, ruleIds(cat), nil),

		ruleView("categories/view as anonymous → 200", C, cat.Id, ruleAnon, 200),
		ruleView("categories/view as owner → 200", C, cat.Id, owner, 200),
		ruleView("categories/view as other member → 200", C, cat.Id, other, 200),
		ruleView("categories/view as moderator → 200", C, cat.Id, mod, 200),
		ruleView("categories/view as superuser → 200", C, cat.Id, root, 200),

		ruleCreate(t, "categories/create as anonymous → 400 (rule)", C, ruleAnon, map[string]any{"name": "anon"}, 400, ruleDenied),
		ruleCreate(t, "categories/create as owner → 200 owned by the auth user", C, owner, map[string]any{"name": "food"}, 200, `"user":"`+alice.Id+`"`),
		ruleCreate(t, "categories/create as owner sending own id as user → 200", C, owner, map[string]any{"name": "music", "user": alice.Id}, 200, `"user":"`+alice.Id+`"`),
		ruleCreate(t, "categories/create as owner with another user → 400 naming user", C, owner, map[string]any{"name": "steal", "user": bob.Id}, 400, ruleField("user")),
		ruleCreate(t, "categories/create as other member → 200 owned by them", C, other, map[string]any{"name": "food"}, 200, `"user":"`+bob.Id+`"`),
		ruleCreate(t, "categories/create as moderator → 200 owned by them", C, mod, map[string]any{"name": "food"}, 200, `"user":"`+mia.Id+`"`),
		ruleCreate(t, "categories/create as suspended member → 400 (rule: active users only)", C, testapp.Token(t, susan), map[string]any{"name": "sus"}, 400, ruleDenied),
		ruleCreate(t, "categories/create as superuser for a user → 200", C, root, map[string]any{"name": "by root", "user": bob.Id}, 200, `"user":"`+bob.Id+`"`),

		ruleUpdate(t, "categories/update as anonymous → 404", C, cat.Id, ruleAnon, map[string]any{"name": "x"}, 404),
		ruleUpdate(t, "categories/update own as owner → 200", C, cat.Id, owner, map[string]any{"name": "trips"}, 200, `"name":"trips"`),
		ruleUpdate(t, "categories/update as other member → 404", C, cat.Id, other, map[string]any{"name": "x"}, 404),
		ruleUpdate(t, "categories/update as moderator → 404", C, cat.Id, mod, map[string]any{"name": "x"}, 404),
		ruleUpdate(t, "categories/update as superuser → 200", C, cat.Id, root, map[string]any{"name": "roots"}, 200, `"name":"roots"`),
		ruleUpdate(t, "categories/update user as owner → 400 naming user", C, cat.Id, owner, map[string]any{"user": bob.Id}, 400, ruleField("user")),

		ruleDelete("categories/delete as anonymous → 404", C, cat.Id, ruleAnon, 404),
		ruleDelete("categories/delete as other member → 404", C, cat.Id, other, 404),
		ruleDelete("categories/delete as moderator → 404", C, cat.Id, mod, 404),
		ruleDelete("categories/delete own as owner → 204", C, del1.Id, owner, 204),
		ruleDelete("categories/delete as superuser → 204", C, del2.Id, root, 204),
	})
}

func TestRulesPostsAndPostTags(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, mia), testapp.Token(t, su)
	const P, T = "posts", "post_tags"
	post := func(text, status string, tags ...string) *core.Record {
		return testapp.Create(t, app, P, map[string]any{"user": alice.Id, "text": text, "status": status, "tags": tags})
	}
	pub := post("published", "published", "go")
	hidden := post("hidden", "hidden", "secret")
	removed := post("removed", "removed")
	upd := post("to edit", "published")
	modSt := post("to moderate", "published")
	del1, del2, del3 := post("del1", "published"), post("del2", "published"), post("del3", "published")
	tagPub := ruleFind(t, app, T, "post", pub.Id)
	tagHidden := ruleFind(t, app, T, "post", hidden.Id)
	tagDel := ruleFind(t, app, T, "post", post("tagged", "published", "x").Id)

	ruleRun(t, app, []tests.ApiScenario{
		// posts ------------------------------------------------------------------------
		ruleList("posts/list as anonymous → published only", P, ruleAnon, ruleIds(pub), ruleIds(hidden, removed)),
		ruleList("posts/list as owner → own hidden and removed too", P, owner, ruleIds(pub, hidden, removed), nil),
		ruleList("posts/list as other member → published only", P, other, ruleIds(pub), ruleIds(hidden, removed)),
		ruleList("posts/list as moderator → hidden and removed too", P, mod, ruleIds(pub, hidden, removed), nil),
		ruleList("posts/list as superuser → hidden and removed too", P, root, ruleIds(pub, hidden, removed), nil),

		ruleQuery(ruleList("posts/list filtered by status hidden as other member → 200 with no items", P, other, nil, ruleIds(hidden)), "filter", `status = "hidden"`),
		ruleQuery(ruleList("posts/list filtered by status hidden as anonymous → 200 with no items", P, ruleAnon, nil, ruleIds(hidden)), "filter", `status = "hidden"`),
		ruleHide(ruleWant(ruleQuery(ruleList("posts/list expanding user as other member → author's email hidden", P, other, ruleIds(pub), nil), "expand", "user"), `"expand":{"user":`), `"alice@example.com"`),
		ruleWant(ruleQuery(ruleList("posts/list expanding user as owner → own email shown", P, owner, ruleIds(pub), nil), "expand", "user"), `"alice@example.com"`),

		ruleView("posts/view published as anonymous → 200", P, pub.Id, ruleAnon, 200),
		ruleView("posts/view published as other member → 200", P, pub.Id, other, 200),
		ruleView("posts/view hidden as anonymous → 404", P, hidden.Id, ruleAnon, 404),
		ruleView("posts/view hidden as owner → 200", P, hidden.Id, owner, 200),
		ruleView("posts/view hidden as other member → 404", P, hidden.Id, other, 404),
		ruleView("posts/view hidden as moderator → 200", P, hidden.Id, mod, 200),
		ruleView("posts/view hidden as superuser → 200", P, hidden.Id, root, 200),
		ruleView("posts/view removed as anonymous → 404", P, removed.Id, ruleAnon, 404),
		ruleView("posts/view removed as owner → 200", P, removed.Id, owner, 200),
		ruleView("posts/view removed as other member → 404", P, removed.Id, other, 404),
		ruleView("posts/view removed as moderator → 200", P, removed.Id, mod, 200),
		ruleView("posts/view removed as superuser → 200", P, removed.Id, root, 200),

		ruleCreate(t, "posts/create as anonymous → 400 (rule)", P, ruleAnon, map[string]any{"text": "anon"}, 400, ruleDenied),
		ruleCreate(t, "posts/create as owner → 200 authored by the auth user", P, owner, map[string]any{"text": "hi"}, 200, `"user":"`+alice.Id+`"`, `"status":"published"`),
		ruleCreate(t, "posts/create as owner with user = another id → 400 naming user", P, owner, map[string]any{"text": "hi", "user": bob.Id}, 400, ruleField("user")),
		ruleCreate(t, "posts/create as owner with status → 400 naming status", P, owner, map[string]any{"text": "hi", "status": "published"}, 400, ruleField("status")),
		ruleCreate(t, "posts/create as owner with likes_count → 400 naming likes_count", P, owner, map[string]any{"text": "hi", "likes_count": 5}, 400, ruleField("likes_count")),
		ruleCreate(t, "posts/create as other member → 200 authored by them", P, other, map[string]any{"text": "hi"}, 200, `"user":"`+bob.Id+`"`),
		ruleCreate(t, "posts/create as moderator → 200 authored by them", P, mod, map[string]any{"text": "hi"}, 200, `"user":"`+mia.Id+`"`),
		ruleCreate(t, "posts/create as suspended member → 400 (rule: active users only)", P, testapp.Token(t, susan), map[string]any{"text": "hi"}, 400, ruleDenied),
		ruleCreate(t, "posts/create as superuser for a user → 200", P, root, map[string]any{"text": "by root", "user": bob.Id}, 200, `"user":"`+bob.Id+`"`),

		ruleUpdate(t, "posts/update as anonymous → 404", P, upd.Id, ruleAnon, map[string]any{"text": "x"}, 404),
		ruleUpdate(t, "posts/update text as owner → 200", P, upd.Id, owner, map[string]any{"text": "edited", "tags": []string{"#Edit"}}, 200, `"text":"edited"`, `"tags":["edit"]`),
		ruleUpdate(t, "posts/update as other member → 404", P, upd.Id, other, map[string]any{"text": "x"}, 404),
		ruleUpdate(t, "posts/update another member's text as moderator → 400 naming text", P, upd.Id, mod, map[string]any{"text": "x"}, 400, ruleField("text")),
		ruleUpdate(t, "posts/update another member's status as moderator → 200", P, modSt.Id, mod, map[string]any{"status": "hidden"}, 200, `"status":"hidden"`),
		ruleUpdate(t, "posts/update as superuser → 200", P, upd.Id, root, map[string]any{"text": "by root", "status": "removed"}, 200, `"text":"by root"`, `"status":"removed"`),
		ruleUpdate(t, "posts/update own status as owner → 400 naming status", P, upd.Id, owner, map[string]any{"status": "published"}, 400, ruleField("status")),
		ruleUpdate(t, "posts/update own user as owner → 400 naming user", P, upd.Id, owner, map[string]any{"user": bob.Id}, 400, ruleField("user")),
		ruleUpdate(t, "posts/update own comments_count as owner → 400 naming comments_count", P, upd.Id, owner, map[string]any{"comments_count": 9}, 400, ruleField("comments_count")),

		ruleDelete("posts/delete as anonymous → 404", P, pub.Id, ruleAnon, 404),
		ruleDelete("posts/delete as other member → 404", P, pub.Id, other, 404),
		ruleDelete("posts/delete own as owner → 204", P, del1.Id, owner, 204),
		ruleDelete("posts/delete another member's as moderator → 204", P, del2.Id, mod, 204),
		ruleDelete("posts/delete as superuser → 204", P, del3.Id, root, 204),

		// post_tags: server-kept, read like their post, never written through the API ------
		ruleList("post_tags/list as anonymous → tags of published posts only", T, ruleAnon, ruleIds(tagPub), ruleIds(tagHidden)),
		ruleList("post_tags/list as owner → tags of own hidden post too", T, owner, ruleIds(tagPub, tagHidden), nil),
		ruleList("post_tags/list as other member → tags of published posts only", T, other, ruleIds(tagPub), ruleIds(tagHidden)),
		ruleList("post_tags/list as moderator → tags of hidden posts too", T, mod, ruleIds(tagPub, tagHidden), nil),
		ruleList("post_tags/list as superuser → tags of hidden posts too", T, root, ruleIds(tagPub, tagHidden), nil),

		ruleView("post_tags/view of a published post as anonymous → 200", T, tagPub.Id, ruleAnon, 200),
		ruleView("post_tags/view of a hidden post as anonymous → 404", T, tagHidden.Id, ruleAnon, 404),
		ruleView("post_tags/view of own hidden post as owner → 200", T, tagHidden.Id, owner, 200),
		ruleView("post_tags/view of a hidden post as other member → 404", T, tagHidden.Id, other, 404),
		ruleView("post_tags/view of a hidden post as moderator → 200", T, tagHidden.Id, mod, 200),
		ruleView("post_tags/view of a hidden post as superuser → 200", T, tagHidden.Id, root, 200),

		ruleCreate(t, "post_tags/create as anonymous → 403", T, ruleAnon, map[string]any{"post": pub.Id, "tag": "y"}, 403),
		ruleCreate(t, "post_tags/create as owner → 403", T, owner, map[string]any{"post": pub.Id, "tag": "y"}, 403),
		ruleCreate(t, "post_tags/create as other member → 403", T, other, map[string]any{"post": pub.Id, "tag": "y"}, 403),
		ruleCreate(t, "post_tags/create as moderator → 403", T, mod, map[string]any{"post": pub.Id, "tag": "y"}, 403),
		ruleCreate(t, "post_tags/create as superuser → 403 (server-written)", T, root, map[string]any{"post": pub.Id, "tag": "y"}, 403, `"data":{}`),

		ruleUpdate(t, "post_tags/update as anonymous → 403", T, tagPub.Id, ruleAnon, map[string]any{"tag": "z"}, 403),
		ruleUpdate(t, "post_tags/update as owner → 403", T, tagPub.Id, owner, map[string]any{"tag": "z"}, 403),
		ruleUpdate(t, "post_tags/update as other member → 403", T, tagPub.Id, other, map[string]any{"tag": "z"}, 403),
		ruleUpdate(t, "post_tags/update as moderator → 403", T, tagPub.Id, mod, map[string]any{"tag": "z"}, 403),
		ruleUpdate(t, "post_tags/update as superuser → 403 (server-written)", T, tagPub.Id, root, map[string]any{"tag": "golang"}, 403, `"data":{}`),

		ruleDelete("post_tags/delete as anonymous → 403", T, tagDel.Id, ruleAnon, 403),
		ruleDelete("post_tags/delete as owner → 403", T, tagDel.Id, owner, 403),
		ruleDelete("post_tags/delete as other member → 403", T, tagDel.Id, other, 403),
		ruleDelete("post_tags/delete as moderator → 403", T, tagDel.Id, mod, 403),
		ruleDelete("post_tags/delete as superuser → 403 (server-written)", T, tagDel.Id, root, 403),
	})
}

func TestRulesComments(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice") // the comments' author
	bob := testapp.CreateUser(t, app, "bob")
	carol := testapp.CreateUser(t, app, "carol") // the posts' author
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, author, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, carol), testapp.Token(t, mia), testapp.Token(t, su)
	const C = "comments"
	pub := testapp.Create(t, app, "posts", map[string]any{"user": carol.Id, "text": "open"})
	hiddenPost := testapp.Create(t, app, "posts", map[string]any{"user": carol.Id, "text": "hidden", "status": "hidden"})
	comment := func(post *core.Record, content, status string) *core.Record {
		return testapp.Create(t, app, C, map[string]any{"user": alice.Id, "post": post.Id, "content": content, "status": status})
	}
	cPub := comment(pub, "published", "published")
	cHidden := comment(pub, "hidden", "hidden")
	cRemoved := comment(pub, "removed", "removed")
	cOnHidden := comment(hiddenPost, "on a hidden post", "published")
	cUpd := comment(pub, "to edit", "published")
	cModSt := comment(pub, "to moderate", "published")
	del1, del2, del3, del4 := comment(pub, "d1", "published"), comment(pub, "d2", "published"), comment(pub, "d3", "published"), comment(pub, "d4", "published")

	ruleRun(t, app, []tests.ApiScenario{
		ruleList("comments/list as anonymous → published comments of published posts only", C, ruleAnon, ruleIds(cPub), ruleIds(cHidden, cRemoved, cOnHidden)),
		ruleList("comments/list as owner → own hidden and removed too, not those of a hidden post of another", C, owner, ruleIds(cPub, cHidden, cRemoved), ruleIds(cOnHidden)),
		ruleList("comments/list as other member → published comments of published posts only", C, other, ruleIds(cPub), ruleIds(cHidden, cRemoved, cOnHidden)),
		ruleList("comments/list as the post's author → comments of own hidden post, not others' hidden comments", C, author, ruleIds(cPub, cOnHidden), ruleIds(cHidden, cRemoved)),
		ruleList("comments/list as moderator → everything", C, mod, ruleIds(cPub, cHidden, cRemoved, cOnHidden), nil),
		ruleList("comments/list as superuser → everything", C, root, ruleIds(cPub, cHidden, cRemoved, cOnHidden), nil),

		ruleQuery(ruleList("comments/list filtered by a hidden post as other member → 200 with no items", C, other, nil, ruleIds(cOnHidden)), "filter", "post = '"+hiddenPost.Id+"'"),

		ruleView("comments/view published as anonymous → 200", C, cPub.Id, ruleAnon, 200),
		ruleView("comments/view published as other member → 200", C, cPub.Id, other, 200),
		ruleView("comments/view hidden as anonymous → 404", C, cHidden.Id, ruleAnon, 404),
		ruleView("comments/view hidden as owner → 200", C, cHidden.Id, owner, 200),
		ruleView("comments/view hidden as other member → 404", C, cHidden.Id, other, 404),
		ruleView("comments/view hidden as the post's author → 404", C, cHidden.Id, author, 404),
		ruleView("comments/view hidden as moderator → 200", C, cHidden.Id, mod, 200),
		ruleView("comments/view hidden as superuser → 200", C, cHidden.Id, root, 200),
		ruleView("comments/view removed as anonymous → 404", C, cRemoved.Id, ruleAnon, 404),
		ruleView("comments/view removed as owner → 200", C, cRemoved.Id, owner, 200),
		ruleView("comments/view removed as other member → 404", C, cRemoved.Id, other, 404),
		ruleView("comments/view removed as moderator → 200", C, cRemoved.Id, mod, 200),
		ruleView("comments/view on a hidden post as anonymous → 404", C, cOnHidden.Id, ruleAnon, 404),
		ruleView("comments/view own on another's hidden post as owner → 404", C, cOnHidden.Id, owner, 404),
		ruleView("comments/view on a hidden post as other member → 404", C, cOnHidden.Id, other, 404),
		ruleView("comments/view on own hidden post as the post's author → 200", C, cOnHidden.Id, author, 200),
		ruleView("comments/view on a hidden post as moderator → 200", C, cOnHidden.Id, mod, 200),
		ruleView("comments/view on a hidden post as superuser → 200", C, cOnHidden.Id, root, 200),

		ruleCreate(t, "comments/create as anonymous → 400 (rule)", C, ruleAnon, map[string]any{"post": pub.Id, "content": "x"}, 400, ruleDenied),
		ruleCreate(t, "comments/create as owner → 200 authored by the auth user", C, owner, map[string]any{"post": pub.Id, "content": "hi"}, 200, `"user":"`+alice.Id+`"`, `"status":"published"`),
		ruleCreate(t, "comments/create as owner with user = another id → 400 naming user", C, owner, map[string]any{"post": pub.Id, "content": "hi", "user": bob.Id}, 400, ruleField("user")),
		ruleCreate(t, "comments/create as owner with status → 400 naming status", C, owner, map[string]any{"post": pub.Id, "content": "hi", "status": "published"}, 400, ruleField("status")),
		ruleCreate(t, "comments/create as other member → 200 authored by them", C, other, map[string]any{"post": pub.Id, "content": "hi"}, 200, `"user":"`+bob.Id+`"`),
		ruleCreate(t, "comments/create as moderator → 200 authored by them", C, mod, map[string]any{"post": pub.Id, "content": "hi"}, 200, `"user":"`+mia.Id+`"`),
		ruleCreate(t, "comments/create as suspended member → 400 (rule: active users only)", C, testapp.Token(t, susan), map[string]any{"post": pub.Id, "content": "hi"}, 400, ruleDenied),
		ruleCreate(t, "comments/create as superuser for a user → 200", C, root, map[string]any{"post": pub.Id, "content": "hi", "user": bob.Id}, 200, `"user":"`+bob.Id+`"`),
		ruleCreate(t, "comments/create on a hidden post as other member → 404", C, other, map[string]any{"post": hiddenPost.Id, "content": "hi"}, 404),
		ruleCreate(t, "comments/create on own hidden post as the post's author → 400 naming post", C, author, map[string]any{"post": hiddenPost.Id, "content": "hi"}, 400, ruleField("post")),
		ruleCreate(t, "comments/create on a hidden post as moderator → 400 naming post", C, mod, map[string]any{"post": hiddenPost.Id, "content": "hi"}, 400, ruleField("post")),

		ruleUpdate(t, "comments/update as anonymous → 404", C, cUpd.Id, ruleAnon, map[string]any{"content": "x"}, 404),
		ruleUpdate(t, "comments/update content as owner → 200", C, cUpd.Id, owner, map[string]any{"content": "edited"}, 200, `"content":"edited"`),
		ruleUpdate(t, "comments/update as other member → 404", C, cUpd.Id, other, map[string]any{"content": "x"}, 404),
		ruleUpdate(t, "comments/update as the post's author → 404", C, cUpd.Id, author, map[string]any{"content": "x"}, 404),
		ruleUpdate(t, "comments/update another member's content as moderator → 400 naming content", C, cUpd.Id, mod, map[string]any{"content": "x"}, 400, ruleField("content")),
		ruleUpdate(t, "comments/update another member's status as moderator → 200", C, cModSt.Id, mod, map[string]any{"status": "hidden"}, 200, `"status":"hidden"`),
		ruleUpdate(t, "comments/update as superuser → 200", C, cUpd.Id, root, map[string]any{"content": "by root"}, 200, `"content":"by root"`),
		ruleUpdate(t, "comments/update own status as owner → 400 naming status", C, cUpd.Id, owner, map[string]any{"status": "hidden"}, 400, ruleField("status")),
		ruleUpdate(t, "comments/update own user as owner → 400 naming user", C, cUpd.Id, owner, map[string]any{"user": bob.Id}, 400, ruleField("user")),

		ruleDelete("comments/delete as anonymous → 404", C, cPub.Id, ruleAnon, 404),
		ruleDelete("comments/delete as other member → 404", C, cPub.Id, other, 404),
		ruleDelete("comments/delete own as owner → 204", C, del1.Id, owner, 204),
		ruleDelete("comments/delete on own post as the post's author → 204", C, del2.Id, author, 204),
		ruleDelete("comments/delete as moderator → 204", C, del3.Id, mod, 204),
		ruleDelete("comments/delete as superuser → 204", C, del4.Id, root, 204),
	})
}

func TestRulesFollows(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice") // the follower
	bob := testapp.CreateUser(t, app, "bob")
	carol := testapp.CreateUser(t, app, "carol") // followed by alice
	dave := testapp.CreateUser(t, app, "dave")
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, followed, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, carol), testapp.Token(t, mia), testapp.Token(t, su)
	const F = "follows"
	follow := func(follower, following *core.Record) *core.Record {
		return testapp.Create(t, app, F, map[string]any{"follower": follower.Id, "following": following.Id})
	}
	f := follow(alice, carol)
	del1, del2, del3 := follow(alice, dave), follow(dave, carol), follow(dave, bob)

	ruleRun(t, app, []tests.ApiScenario{
		ruleList("follows/list as anonymous → 200 with no items (read requires auth)", F, ruleAnon, nil, ruleIds(f)),
		ruleList("follows/list as owner → 200 with them", F, owner, ruleIds(f), nil),
		ruleList("follows/list as other member → 200 with them", F, other, ruleIds(f), nil),
		ruleList("follows/list as moderator → 200 with them", F, mod, ruleIds(f), nil),
		ruleList("follows/list as superuser → 200 with them", F, root, ruleIds(f), nil),

		ruleView("follows/view as anonymous → 404", F, f.Id, ruleAnon, 404),
		ruleView("follows/view as owner → 200", F, f.Id, owner, 200),
		ruleView("follows/view as other member → 200", F, f.Id, other, 200),
		ruleView("follows/view as moderator → 200", F, f.Id, mod, 200),
		ruleView("follows/view as superuser → 200", F, f.Id, root, 200),

		ruleCreate(t, "follows/create as anonymous → 400 (rule)", F, ruleAnon, map[string]any{"following": bob.Id}, 400, ruleDenied),
		ruleCreate(t, "follows/create as owner → 200 followed by the auth user", F, owner, map[string]any{"following": bob.Id}, 200, `"follower":"`+alice.Id+`"`),
		ruleCreate(t, "follows/create as owner with follower = another id → 400 naming follower", F, owner, map[string]any{"follower": bob.Id, "following": mia.Id}, 400, ruleField("follower")),
		ruleCreate(t, "follows/create as owner following again → 400 naming following", F, owner, map[string]any{"following": carol.Id}, 400, ruleField("following")),
		ruleCreate(t, "follows/create as owner following self → 400 naming following", F, owner, map[string]any{"following": alice.Id}, 400, ruleField("following")),
		ruleCreate(t, "follows/create as other member → 200 followed by them", F, other, map[string]any{"following": carol.Id}, 200, `"follower":"`+bob.Id+`"`),
		ruleCreate(t, "follows/create as moderator → 200 followed by them", F, mod, map[string]any{"following": carol.Id}, 200, `"follower":"`+mia.Id+`"`),
		ruleCreate(t, "follows/create as suspended member → 400 (rule: active users only)", F, testapp.Token(t, susan), map[string]any{"following": bob.Id}, 400, ruleDenied),
		ruleCreate(t, "follows/create as superuser for a user → 200", F, root, map[string]any{"follower": carol.Id, "following": bob.Id}, 200, `"follower":"`+carol.Id+`"`),

		ruleUpdate(t, "follows/update as anonymous → 403", F, f.Id, ruleAnon, map[string]any{"following": bob.Id}, 403),
		ruleUpdate(t, "follows/update as owner → 403", F, f.Id, owner, map[string]any{"following": bob.Id}, 403),
		ruleUpdate(t, "follows/update as other member → 403", F, f.Id, other, map[string]any{"following": bob.Id}, 403),
		ruleUpdate(t, "follows/update as moderator → 403", F, f.Id, mod, map[string]any{"following": bob.Id}, 403),
		ruleUpdate(t, "follows/update as superuser → 200", F, f.Id, root, map[string]any{}, 200),

		ruleDelete("follows/delete as anonymous → 404", F, f.Id, ruleAnon, 404),
		ruleDelete("follows/delete as other member → 404", F, f.Id, other, 404),
		ruleDelete("follows/delete as moderator → 404", F, f.Id, mod, 404),
		ruleDelete("follows/delete own as owner (unfollow) → 204", F, del1.Id, owner, 204),
		ruleDelete("follows/delete as the followed user (remove a follower) → 204", F, del2.Id, followed, 204),
		ruleDelete("follows/delete as superuser → 204", F, del3.Id, root, 204),
	})
}

func TestRulesLikes(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice") // the liker
	bob := testapp.CreateUser(t, app, "bob")
	carol := testapp.CreateUser(t, app, "carol") // the author of what is liked
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, mia), testapp.Token(t, su)
	post := func(status string) *core.Record {
		return testapp.Create(t, app, "posts", map[string]any{"user": carol.Id, "text": status, "status": status})
	}
	pub, pub2, pDel, pHidden := post("published"), post("published"), post("published"), post("hidden")
	comment := func(status string) *core.Record {
		return testapp.Create(t, app, "comments", map[string]any{"user": carol.Id, "post": pub.Id, "content": status, "status": status})
	}
	cPub, cPub2, cDel, cHidden := comment("published"), comment("published"), comment("published"), comment("hidden")
	const PL, CL = "post_likes", "comment_likes"
	like := func(collection, field string, user, target *core.Record) *core.Record {
		return testapp.Create(t, app, collection, map[string]any{"user": user.Id, field: target.Id})
	}
	pl, plDel1, plDel2 := like(PL, "post", alice, pub), like(PL, "post", alice, pDel), like(PL, "post", bob, pDel)
	plHidden := like(PL, "post", alice, pHidden) // liked before it was hidden
	cl, clDel1, clDel2 := like(CL, "comment", alice, cPub), like(CL, "comment", alice, cDel), like(CL, "comment", bob, cDel)

	ruleRun(t, app, []tests.ApiScenario{
		// post_likes --------------------------------------------------------------------
		ruleList("post_likes/list as anonymous → 200 with no items (read requires auth)", PL, ruleAnon, nil, ruleIds(pl)),
		ruleList("post_likes/list as owner → 200 with them", PL, owner, ruleIds(pl), nil),
		ruleList("post_likes/list as other member → 200 with them", PL, other, ruleIds(pl), nil),
		ruleList("post_likes/list as moderator → 200 with them", PL, mod, ruleIds(pl), nil),
		ruleList("post_likes/list as superuser → 200 with them", PL, root, ruleIds(pl), nil),

		ruleView("post_likes/view as anonymous → 404", PL, pl.Id, ruleAnon, 404),
		ruleView("post_likes/view as owner → 200", PL, pl.Id, owner, 200),
		ruleView("post_likes/view as other member → 200", PL, pl.Id, other, 200),
		ruleView("post_likes/view as moderator → 200", PL, pl.Id, mod, 200),
		ruleView("post_likes/view as superuser → 200", PL, pl.Id, root, 200),
		ruleHide(ruleQuery(ruleView("post_likes/view expanding a hidden post as other member → 200 without the post", PL, plHidden.Id, other, 200), "expand", "post"), `"expand":{"post"`, `"text":"hidden"`),
		ruleWant(ruleQuery(ruleView("post_likes/view expanding own hidden post as its author → 200 with the post", PL, plHidden.Id, testapp.Token(t, carol), 200), "expand", "post"), `"expand":{"post":`),

		ruleCreate(t, "post_likes/create as anonymous → 400 (rule)", PL, ruleAnon, map[string]any{"post": pub2.Id}, 400, ruleDenied),
		ruleCreate(t, "post_likes/create as owner → 200 liked by the auth user", PL, owner, map[string]any{"post": pub2.Id}, 200, `"user":"`+alice.Id+`"`),
		ruleCreate(t, "post_likes/create as owner with user = another id → 400 naming user", PL, owner, map[string]any{"post": pub.Id, "user": bob.Id}, 400, ruleField("user")),
		ruleCreate(t, "post_likes/create as owner a second time → 400 naming post", PL, owner, map[string]any{"post": pub.Id}, 400, ruleField("post")),
		ruleCreate(t, "post_likes/create as other member → 200 liked by them", PL, other, map[string]any{"post": pub.Id}, 200, `"user":"`+bob.Id+`"`),
		ruleCreate(t, "post_likes/create of a hidden post as other member → 404", PL, other, map[string]any{"post": pHidden.Id}, 404),
		ruleCreate(t, "post_likes/create as moderator → 200 liked by them", PL, mod, map[string]any{"post": pub.Id}, 200, `"user":"`+mia.Id+`"`),
		ruleCreate(t, "post_likes/create as suspended member → 400 (rule: active users only)", PL, testapp.Token(t, susan), map[string]any{"post": pub.Id}, 400, ruleDenied),
		ruleCreate(t, "post_likes/create as superuser for a user → 200", PL, root, map[string]any{"post": pub.Id, "user": carol.Id}, 200, `"user":"`+carol.Id+`"`),

		ruleUpdate(t, "post_likes/update as anonymous → 403", PL, pl.Id, ruleAnon, map[string]any{"post": pub2.Id}, 403),
		ruleUpdate(t, "post_likes/update as owner → 403", PL, pl.Id, owner, map[string]any{"post": pub2.Id}, 403),
		ruleUpdate(t, "post_likes/update as other member → 403", PL, pl.Id, other, map[string]any{"post": pub2.Id}, 403),
		ruleUpdate(t, "post_likes/update as moderator → 403", PL, pl.Id, mod, map[string]any{"post": pub2.Id}, 403),
		ruleUpdate(t, "post_likes/update as superuser → 200", PL, pl.Id, root, map[string]any{}, 200),

		ruleDelete("post_likes/delete as anonymous → 404", PL, pl.Id, ruleAnon, 404),
		ruleDelete("post_likes/delete as other member → 404", PL, pl.Id, other, 404),
		ruleDelete("post_likes/delete as moderator → 404", PL, pl.Id, mod, 404),
		ruleDelete("post_likes/delete own as owner (unlike) → 204", PL, plDel1.Id, owner, 204),
		ruleDelete("post_likes/delete as superuser → 204", PL, plDel2.Id, root, 204),

		// comment_likes -----------------------------------------------------------------
		ruleList("comment_likes/list as anonymous → 200 with no items (read requires auth)", CL, ruleAnon, nil, ruleIds(cl)),
		ruleList("comment_likes/list as owner → 200 with them", CL, owner, ruleIds(cl), nil),
		ruleList("comment_likes/list as other member → 200 with them", CL, other, ruleIds(cl), nil),
		ruleList("comment_likes/list as moderator → 200 with them", CL, mod, ruleIds(cl), nil),
		ruleList("comment_likes/list as superuser → 200 with them", CL, root, ruleIds(cl), nil),

		ruleView("comment_likes/view as anonymous → 404", CL, cl.Id, ruleAnon, 404),
		ruleView("comment_likes/view as owner → 200", CL, cl.Id, owner, 200),
		ruleView("comment_likes/view as other member → 200", CL, cl.Id, other, 200),
		ruleView("comment_likes/view as moderator → 200", CL, cl.Id, mod, 200),
		ruleView("comment_likes/view as superuser → 200", CL, cl.Id, root, 200),

		ruleCreate(t, "comment_likes/create as anonymous → 400 (rule)", CL, ruleAnon, map[string]any{"comment": cPub2.Id}, 400, ruleDenied),
		ruleCreate(t, "comment_likes/create as owner → 200 liked by the auth user", CL, owner, map[string]any{"comment": cPub2.Id}, 200, `"user":"`+alice.Id+`"`),
		ruleCreate(t, "comment_likes/create as owner with user = another id → 400 naming user", CL, owner, map[string]any{"comment": cPub.Id, "user": bob.Id}, 400, ruleField("user")),
		ruleCreate(t, "comment_likes/create as owner a second time → 400 naming comment", CL, owner, map[string]any{"comment": cPub.Id}, 400, ruleField("comment")),
		ruleCreate(t, "comment_likes/create as other member → 200 liked by them", CL, other, map[string]any{"comment": cPub.Id}, 200, `"user":"`+bob.Id+`"`),
		ruleCreate(t, "comment_likes/create of a hidden comment as other member → 404", CL, other, map[string]any{"comment": cHidden.Id}, 404),
		ruleCreate(t, "comment_likes/create as moderator → 200 liked by them", CL, mod, map[string]any{"comment": cPub.Id}, 200, `"user":"`+mia.Id+`"`),
		ruleCreate(t, "comment_likes/create as suspended member → 400 (rule: active users only)", CL, testapp.Token(t, susan), map[string]any{"comment": cPub.Id}, 400, ruleDenied),
		ruleCreate(t, "comment_likes/create as superuser for a user → 200", CL, root, map[string]any{"comment": cPub.Id, "user": carol.Id}, 200, `"user":"`+carol.Id+`"`),

		ruleUpdate(t, "comment_likes/update as anonymous → 403", CL, cl.Id, ruleAnon, map[string]any{"comment": cPub2.Id}, 403),
		ruleUpdate(t, "comment_likes/update as owner → 403", CL, cl.Id, owner, map[string]any{"comment": cPub2.Id}, 403),
		ruleUpdate(t, "comment_likes/update as other member → 403", CL, cl.Id, other, map[string]any{"comment": cPub2.Id}, 403),
		ruleUpdate(t, "comment_likes/update as moderator → 403", CL, cl.Id, mod, map[string]any{"comment": cPub2.Id}, 403),
		ruleUpdate(t, "comment_likes/update as superuser → 200", CL, cl.Id, root, map[string]any{}, 200),

		ruleDelete("comment_likes/delete as anonymous → 404", CL, cl.Id, ruleAnon, 404),
		ruleDelete("comment_likes/delete as other member → 404", CL, cl.Id, other, 404),
		ruleDelete("comment_likes/delete as moderator → 404", CL, cl.Id, mod, 404),
		ruleDelete("comment_likes/delete own as owner (unlike) → 204", CL, clDel1.Id, owner, 204),
		ruleDelete("comment_likes/delete as superuser → 204", CL, clDel2.Id, root, 204),
	})
}

func TestRulesProducts(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, mia), testapp.Token(t, su)
	const P = "products"
	product := func(name, status string) *core.Record {
		return testapp.Create(t, app, P, map[string]any{"user": alice.Id, "name": name, "link": "https://shop.example.com/" + name, "status": status})
	}
	pub, hidden, removed := product("published", "published"), product("hidden", "hidden"), product("removed", "removed")
	upd, modSt := product("to_edit", "published"), product("to_moderate", "published")
	del1, del2, del3 := product("del1", "published"), product("del2", "published"), product("del3", "published")
	body := func(name string, extra map[string]any) map[string]any {
		b := map[string]any{"name": name, "link": "https://shop.example.com/new", "price": 1000}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}

	ruleRun(t, app, []tests.ApiScenario{
		ruleList("products/list as anonymous → published only", P, ruleAnon, ruleIds(pub), ruleIds(hidden, removed)),
		ruleList("products/list as owner → own hidden and removed too", P, owner, ruleIds(pub, hidden, removed), nil),
		ruleList("products/list as other member → published only", P, other, ruleIds(pub), ruleIds(hidden, removed)),
		ruleList("products/list as moderator → hidden and removed too", P, mod, ruleIds(pub, hidden, removed), nil),
		ruleList("products/list as superuser → hidden and removed too", P, root, ruleIds(pub, hidden, removed), nil),

		ruleView("products/view published as anonymous → 200", P, pub.Id, ruleAnon, 200),
		ruleView("products/view published as other member → 200", P, pub.Id, other, 200),
		ruleView("products/view hidden as anonymous → 404", P, hidden.Id, ruleAnon, 404),
		ruleView("products/view hidden as owner → 200", P, hidden.Id, owner, 200),
		ruleView("products/view hidden as other member → 404", P, hidden.Id, other, 404),
		ruleView("products/view hidden as moderator → 200", P, hidden.Id, mod, 200),
		ruleView("products/view hidden as superuser → 200", P, hidden.Id, root, 200),
		ruleView("products/view removed as anonymous → 404", P, removed.Id, ruleAnon, 404),
		ruleView("products/view removed as owner → 200", P, removed.Id, owner, 200),
		ruleView("products/view removed as other member → 404", P, removed.Id, other, 404),
		ruleView("products/view removed as moderator → 200", P, removed.Id, mod, 200),
		ruleView("products/view removed as superuser → 200", P, removed.Id, root, 200),

		ruleCreate(t, "products/create as anonymous → 400 (rule)", P, ruleAnon, body("anon", nil), 400, ruleDenied),
		ruleCreate(t, "products/create as owner → 200 owned by the auth user", P, owner, body("mug", nil), 200, `"user":"`+alice.Id+`"`, `"status":"published"`, `"currency":"KRW"`),
		ruleCreate(t, "products/create as owner with user = another id → 400 naming user", P, owner, body("mug", map[string]any{"user": bob.Id}), 400, ruleField("user")),
		ruleCreate(t, "products/create as owner with status → 400 naming status", P, owner, body("mug", map[string]any{"status": "published"}), 400, ruleField("status")),
		ruleCreate(t, "products/create as owner with views_count → 400 naming views_count", P, owner, body("mug", map[string]any{"views_count": 3}), 400, ruleField("views_count")),
		ruleCreate(t, "products/create as other member → 200 owned by them", P, other, body("mug", nil), 200, `"user":"`+bob.Id+`"`),
		ruleCreate(t, "products/create as moderator → 200 owned by them", P, mod, body("mug", nil), 200, `"user":"`+mia.Id+`"`),
		ruleCreate(t, "products/create as suspended member → 400 (rule: active users only)", P, testapp.Token(t, susan), body("mug", nil), 400, ruleDenied),
		ruleCreate(t, "products/create as superuser for a user → 200", P, root, body("mug", map[string]any{"user": bob.Id}), 200, `"user":"`+bob.Id+`"`),

		ruleUpdate(t, "products/update as anonymous → 404", P, upd.Id, ruleAnon, map[string]any{"name": "xx"}, 404),
		ruleUpdate(t, "products/update name as owner → 200", P, upd.Id, owner, map[string]any{"name": "edited"}, 200, `"name":"edited"`),
		ruleUpdate(t, "products/update as other member → 404", P, upd.Id, other, map[string]any{"name": "xx"}, 404),
		ruleUpdate(t, "products/update another member's name as moderator → 400 naming name", P, upd.Id, mod, map[string]any{"name": "xx"}, 400, ruleField("name")),
		ruleUpdate(t, "products/update another member's status as moderator → 200", P, modSt.Id, mod, map[string]any{"status": "removed"}, 200, `"status":"removed"`),
		ruleUpdate(t, "products/update as superuser → 200", P, upd.Id, root, map[string]any{"name": "by root"}, 200, `"name":"by root"`),
		ruleUpdate(t, "products/update own status as owner → 400 naming status", P, upd.Id, owner, map[string]any{"status": "published"}, 400, ruleField("status")),
		ruleUpdate(t, "products/update own user as owner → 400 naming user", P, upd.Id, owner, map[string]any{"user": bob.Id}, 400, ruleField("user")),

		ruleDelete("products/delete as anonymous → 404", P, pub.Id, ruleAnon, 404),
		ruleDelete("products/delete as other member → 404", P, pub.Id, other, 404),
		ruleDelete("products/delete own as owner → 204", P, del1.Id, owner, 204),
		ruleDelete("products/delete another member's as moderator → 204", P, del2.Id, mod, 204),
		ruleDelete("products/delete as superuser → 204", P, del3.Id, root, 204),
	})
}

func TestRulesPostViews(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice") // the viewer
	bob := testapp.CreateUser(t, app, "bob")
	mia := testapp.CreateModerator(t, app, "mia")
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, mia), testapp.Token(t, su)
	const V = "post_views"
	post := testapp.Create(t, app, "posts", map[string]any{"user": mia.Id, "text": "seen"})
	view := func(user *core.Record) *core.Record {
		return testapp.Create(t, app, V, map[string]any{"user": user.Id, "post": post.Id, "dwell_ms": 1200})
	}
	va, vb, vDel := view(alice), view(bob), view(alice)
	body := map[string]any{"post": post.Id, "dwell_ms": 10}

	ruleRun(t, app, []tests.ApiScenario{
		ruleList("post_views/list as anonymous → 200 with no items", V, ruleAnon, nil, ruleIds(va, vb)),
		ruleList("post_views/list as owner → own views only", V, owner, ruleIds(va), ruleIds(vb)),
		ruleList("post_views/list as other member → own views only", V, other, ruleIds(vb), ruleIds(va)),
		ruleList("post_views/list as moderator → 200 with no items (not the viewer)", V, mod, nil, ruleIds(va, vb)),
		ruleList("post_views/list as superuser → every view", V, root, ruleIds(va, vb), nil),

		ruleView("post_views/view as anonymous → 404", V, va.Id, ruleAnon, 404),
		ruleView("post_views/view own as owner → 200", V, va.Id, owner, 200),
		ruleView("post_views/view as other member → 404", V, va.Id, other, 404),
		ruleView("post_views/view as moderator → 404", V, va.Id, mod, 404),
		ruleView("post_views/view as superuser → 200", V, va.Id, root, 200),

		ruleCreate(t, "post_views/create as anonymous → 403 (records API create closed)", V, ruleAnon, body, 403),
		ruleCreate(t, "post_views/create as owner → 403 (records API create closed)", V, owner, body, 403),
		ruleCreate(t, "post_views/create as other member → 403 (records API create closed)", V, other, body, 403),
		ruleCreate(t, "post_views/create as moderator → 403 (records API create closed)", V, mod, body, 403),
		ruleCreate(t, "post_views/create as superuser → 403 (server-written)", V, root, map[string]any{"user": bob.Id, "post": post.Id, "dwell_ms": 10}, 403, `"data":{}`),

		ruleUpdate(t, "post_views/update as anonymous → 403", V, va.Id, ruleAnon, map[string]any{"dwell_ms": 1}, 403),
		ruleUpdate(t, "post_views/update own as owner → 403", V, va.Id, owner, map[string]any{"dwell_ms": 1}, 403),
		ruleUpdate(t, "post_views/update as other member → 403", V, va.Id, other, map[string]any{"dwell_ms": 1}, 403),
		ruleUpdate(t, "post_views/update as moderator → 403", V, va.Id, mod, map[string]any{"dwell_ms": 1}, 403),
		ruleUpdate(t, "post_views/update as superuser → 403 (server-written)", V, va.Id, root, map[string]any{"dwell_ms": 7}, 403, `"data":{}`),

		ruleDelete("post_views/delete as anonymous → 403", V, vDel.Id, ruleAnon, 403),
		ruleDelete("post_views/delete own as owner → 403", V, vDel.Id, owner, 403),
		ruleDelete("post_views/delete as other member → 403", V, vDel.Id, other, 403),
		ruleDelete("post_views/delete as moderator → 403", V, vDel.Id, mod, 403),
		ruleDelete("post_views/delete as superuser → 403 (server-written)", V, vDel.Id, root, 403),
	})
}

func TestRulesReportsAndModerationLog(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice") // the reporter
	bob := testapp.CreateUser(t, app, "bob")     // another reporter
	carol := testapp.CreateUser(t, app, "carol") // the reported author
	dave := testapp.CreateUser(t, app, "dave")
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, mia), testapp.Token(t, su)
	const R, L = "reports", "moderation_log"
	post := func() *core.Record {
		return testapp.Create(t, app, "posts", map[string]any{"user": carol.Id, "text": "reported"})
	}
	p1, p2, p3, p4, p5 := post(), post(), post(), post(), post()
	report := func(reporter, target *core.Record) *core.Record {
		return testapp.Create(t, app, R, map[string]any{
			"reporter": reporter.Id, "target_type": "post", "target_id": target.Id,
			"target_user": carol.Id, "reason": "spam",
		})
	}
	ra, rb := report(alice, p1), report(bob, p1)
	rMod, rSu, rDel := report(dave, p2), report(dave, p3), report(dave, p4)
	logRow := func() *core.Record {
		return testapp.Create(t, app, L, map[string]any{
			"report": ra.Id, "target_type": "post", "target_id": p1.Id, "actor": "users/" + mia.Id,
			"from_status": "pending", "to_status": "reviewing", "action": "none",
		})
	}
	ml, mlDel := logRow(), logRow()
	newReport := func(target *core.Record, extra map[string]any) map[string]any {
		b := map[string]any{"target_type": "post", "target_id": target.Id, "reason": "abuse"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}

	ruleRun(t, app, []tests.ApiScenario{
		// reports -----------------------------------------------------------------------
		ruleList("reports/list as anonymous → 200 with no items", R, ruleAnon, nil, ruleIds(ra, rb)),
		ruleList("reports/list as owner → own reports only", R, owner, ruleIds(ra), ruleIds(rb, rMod)),
		ruleList("reports/list as other member → own reports only", R, other, ruleIds(rb), ruleIds(ra, rMod)),
		ruleList("reports/list as the reported member → 200 with no items", R, testapp.Token(t, carol), nil, ruleIds(ra, rb)),
		ruleList("reports/list as moderator → every report", R, mod, ruleIds(ra, rb, rMod), nil),
		ruleList("reports/list as superuser → every report", R, root, ruleIds(ra, rb, rMod), nil),

		ruleView("reports/view as anonymous → 404", R, ra.Id, ruleAnon, 404),
		ruleView("reports/view own as owner → 200", R, ra.Id, owner, 200),
		ruleView("reports/view as other member → 404", R, ra.Id, other, 404),
		ruleView("reports/view as the reported member → 404", R, ra.Id, testapp.Token(t, carol), 404),
		ruleView("reports/view as moderator → 200", R, ra.Id, mod, 200),
		ruleView("reports/view as superuser → 200", R, ra.Id, root, 200),

		ruleCreate(t, "reports/create as anonymous → 400 (rule)", R, ruleAnon, newReport(p5, nil), 400, ruleDenied),
		ruleCreate(t, "reports/create as owner → 200 pending, filed by the auth user", R, owner, newReport(p5, nil), 200, `"reporter":"`+alice.Id+`"`, `"status":"pending"`, `"action":"none"`),
		ruleCreate(t, "reports/create as owner with reporter = another id → 400 naming reporter", R, owner, newReport(p2, map[string]any{"reporter": bob.Id}), 400, ruleField("reporter")),
		ruleCreate(t, "reports/create as owner with status → 400 naming status", R, owner, newReport(p2, map[string]any{"status": "resolved"}), 400, ruleField("status")),
		ruleCreate(t, "reports/create as owner with moderator → 400 naming moderator", R, owner, newReport(p2, map[string]any{"moderator": mia.Id}), 400, ruleField("moderator")),
		ruleCreate(t, "reports/create as other member → 200 filed by them", R, other, newReport(p5, nil), 200, `"reporter":"`+bob.Id+`"`),
		ruleCreate(t, "reports/create as moderator → 200 filed by them", R, mod, newReport(p4, nil), 200, `"reporter":"`+mia.Id+`"`),
		ruleCreate(t, "reports/create as suspended member → 400 (rule: active users only)", R, testapp.Token(t, susan), newReport(p5, nil), 400, ruleDenied),
		ruleCreate(t, "reports/create as superuser for a user → 200", R, root, newReport(p3, map[string]any{"reporter": bob.Id}), 200, `"reporter":"`+bob.Id+`"`),

		ruleUpdate(t, "reports/update as anonymous → 404", R, rMod.Id, ruleAnon, map[string]any{"status": "reviewing"}, 404),
		ruleUpdate(t, "reports/update own as owner (reporter) → 404", R, ra.Id, owner, map[string]any{"status": "dismissed"}, 404),
		ruleUpdate(t, "reports/update as other member → 404", R, ra.Id, other, map[string]any{"status": "dismissed"}, 404),
		ruleUpdate(t, "reports/update as moderator → 200", R, rMod.Id, mod, map[string]any{"status": "reviewing"}, 200, `"status":"reviewing"`),
		ruleUpdate(t, "reports/update as superuser → 200", R, rSu.Id, root, map[string]any{"status": "dismissed"}, 200, `"status":"dismissed"`),

		ruleDelete("reports/delete as anonymous → 403", R, rDel.Id, ruleAnon, 403),
		ruleDelete("reports/delete own as owner → 403", R, ra.Id, owner, 403),
		ruleDelete("reports/delete as other member → 403", R, rDel.Id, other, 403),
		ruleDelete("reports/delete as moderator → 403", R, rDel.Id, mod, 403),
		ruleDelete("reports/delete as superuser → 204", R, rDel.Id, root, 204),

		// moderation_log: moderators and superusers read; nobody writes through the API ---
		ruleList("moderation_log/list as anonymous → 200 with no items", L, ruleAnon, nil, ruleIds(ml)),
		ruleList("moderation_log/list as the member who filed the report → 200 with no items", L, owner, nil, ruleIds(ml)),
		ruleList("moderation_log/list as the reported member → 200 with no items", L, testapp.Token(t, carol), nil, ruleIds(ml)),
		ruleList("moderation_log/list as other member → 200 with no items", L, other, nil, ruleIds(ml)),
		ruleList("moderation_log/list as moderator → 200 with the rows", L, mod, ruleIds(ml), nil),
		ruleList("moderation_log/list as superuser → 200 with the rows", L, root, ruleIds(ml), nil),

		ruleView("moderation_log/view as anonymous → 404", L, ml.Id, ruleAnon, 404),
		ruleView("moderation_log/view as the member who filed the report → 404", L, ml.Id, owner, 404),
		ruleView("moderation_log/view as other member → 404", L, ml.Id, other, 404),
		ruleView("moderation_log/view as moderator → 200", L, ml.Id, mod, 200),
		ruleView("moderation_log/view as superuser → 200", L, ml.Id, root, 200),

		ruleCreate(t, "moderation_log/create as anonymous → 403", L, ruleAnon, map[string]any{"note": "x"}, 403),
		ruleCreate(t, "moderation_log/create as owner → 403", L, owner, map[string]any{"note": "x"}, 403),
		ruleCreate(t, "moderation_log/create as other member → 403", L, other, map[string]any{"note": "x"}, 403),
		ruleCreate(t, "moderation_log/create as moderator → 403", L, mod, map[string]any{"note": "x"}, 403),
		ruleCreate(t, "moderation_log/create as superuser → 403 (append-only audit)", L, root, map[string]any{"note": "by root"}, 403, `"data":{}`),

		ruleUpdate(t, "moderation_log/update as anonymous → 403", L, ml.Id, ruleAnon, map[string]any{"note": "x"}, 403),
		ruleUpdate(t, "moderation_log/update as owner → 403", L, ml.Id, owner, map[string]any{"note": "x"}, 403),
		ruleUpdate(t, "moderation_log/update as other member → 403", L, ml.Id, other, map[string]any{"note": "x"}, 403),
		ruleUpdate(t, "moderation_log/update as moderator → 403", L, ml.Id, mod, map[string]any{"note": "x"}, 403),
		ruleUpdate(t, "moderation_log/update as superuser → 403 (append-only audit)", L, ml.Id, root, map[string]any{"note": "fixed"}, 403, `"data":{}`),

		ruleDelete("moderation_log/delete as anonymous → 403", L, mlDel.Id, ruleAnon, 403),
		ruleDelete("moderation_log/delete as owner → 403", L, mlDel.Id, owner, 403),
		ruleDelete("moderation_log/delete as other member → 403", L, mlDel.Id, other, 403),
		ruleDelete("moderation_log/delete as moderator → 403", L, mlDel.Id, mod, 403),
		ruleDelete("moderation_log/delete as superuser → 403 (append-only audit)", L, mlDel.Id, root, 403),
	})
}

func TestRulesChat(t *testing.T) {
	app := testapp.New(t)
	alice := testapp.CreateUser(t, app, "alice") // owner of room 1
	bob := testapp.CreateUser(t, app, "bob")     // member of room 1
	eve := testapp.CreateUser(t, app, "eve")     // outsider to room 1, owner of room 2
	dave := testapp.CreateUser(t, app, "dave")   // member of room 2
	fay := testapp.CreateUser(t, app, "fay")
	mia := testapp.CreateModerator(t, app, "mia")
	susan := testapp.CreateUser(t, app, "susan", map[string]any{"status": "suspended"})
	su := testapp.CreateSuperuser(t, app, "root@example.com")
	owner, member, other, mod, root := testapp.Token(t, alice), testapp.Token(t, bob), testapp.Token(t, eve), testapp.Token(t, mia), testapp.Token(t, su)
	const RM, MB, MS = "chat_rooms", "chat_members", "chat_messages"
	room := func(name string, roomOwner *core.Record, members ...*core.Record) (*core.Record, []*core.Record) {
		r := testapp.Create(t, app, RM, map[string]any{"name": name, "owner": roomOwner.Id})
		ms := []*core.Record{testapp.Create(t, app, MB, map[string]any{"room": r.Id, "user": roomOwner.Id, "role": "owner"})}
		for _, m := range members {
			ms = append(ms, testapp.Create(t, app, MB, map[string]any{"room": r.Id, "user": m.Id, "role": "member"}))
		}
		return r, ms
	}
	room1, members1 := room("room one", alice, bob, susan)
	room2, members2 := room("room two", eve, dave)
	roomDel1, _ := room("to delete 1", alice, bob)
	roomDel2, _ := room("to delete 2", alice)
	_, membersX := room("membership to delete", fay, dave)
	message := func(r, sender *core.Record, text string) *core.Record {
		return testapp.Create(t, app, MS, map[string]any{"room": r.Id, "sender": sender.Id, "text": text})
	}
	msg1 := message(room1, bob, "hello room one")
	msg2 := message(room2, eve, "hello room two")
	msgReported := message(room2, dave, "reported")
	msgDel := message(room1, alice, "to delete")
	testapp.Create(t, app, "reports", map[string]any{
		"reporter": eve.Id, "target_type": "chat_message", "target_id": msgReported.Id,
		"target_user": dave.Id, "reason": "abuse",
	})
	ownerMember, bobMember := members1[0], members1[1]

	ruleRun(t, app, []tests.ApiScenario{
		// chat_rooms --------------------------------------------------------------------
		ruleList("chat_rooms/list as anonymous → 200 with no items", RM, ruleAnon, nil, ruleIds(room1, room2)),
		ruleList("chat_rooms/list as owner → own rooms only", RM, owner, ruleIds(room1), ruleIds(room2)),
		ruleList("chat_rooms/list as room member → member rooms only", RM, member, ruleIds(room1), ruleIds(room2)),
		ruleList("chat_rooms/list as other member → own rooms only", RM, other, ruleIds(room2), ruleIds(room1)),
		ruleList("chat_rooms/list as moderator → 200 with no items (member of none)", RM, mod, nil, ruleIds(room1, room2)),
		ruleList("chat_rooms/list as superuser → every room", RM, root, ruleIds(room1, room2), nil),

		ruleView("chat_rooms/view as anonymous → 404", RM, room1.Id, ruleAnon, 404),
		ruleView("chat_rooms/view as owner → 200", RM, room1.Id, owner, 200),
		ruleView("chat_rooms/view as room member → 200", RM, room1.Id, member, 200),
		ruleView("chat_rooms/view as other member → 404", RM, room1.Id, other, 404),
		ruleView("chat_rooms/view as moderator → 404", RM, room1.Id, mod, 404),
		ruleView("chat_rooms/view as superuser → 200", RM, room1.Id, root, 200),

		ruleCreate(t, "chat_rooms/create as anonymous → 403 (rooms are made by POST /api/chat/rooms)", RM, ruleAnon, map[string]any{"name": "x"}, 403),
		ruleCreate(t, "chat_rooms/create as owner → 403", RM, owner, map[string]any{"name": "x"}, 403),
		ruleCreate(t, "chat_rooms/create as other member → 403", RM, other, map[string]any{"name": "x"}, 403),
		ruleCreate(t, "chat_rooms/create as moderator → 403", RM, mod, map[string]any{"name": "x"}, 403),
		ruleCreate(t, "chat_rooms/create as superuser → 200", RM, root, map[string]any{"name": "by root"}, 200, `"name":"by root"`),

		ruleUpdate(t, "chat_rooms/update as anonymous → 404", RM, room1.Id, ruleAnon, map[string]any{"name": "x"}, 404),
		ruleUpdate(t, "chat_rooms/update name as owner → 200", RM, room1.Id, owner, map[string]any{"name": "renamed"}, 200, `"name":"renamed"`),
		ruleUpdate(t, "chat_rooms/update as room member → 404", RM, room1.Id, member, map[string]any{"name": "x"}, 404),
		ruleUpdate(t, "chat_rooms/update as other member → 404", RM, room1.Id, other, map[string]any{"name": "x"}, 404),
		ruleUpdate(t, "chat_rooms/update as moderator → 404", RM, room1.Id, mod, map[string]any{"name": "x"}, 404),
		ruleUpdate(t, "chat_rooms/update as superuser → 200", RM, room1.Id, root, map[string]any{"name": "by root"}, 200, `"name":"by root"`),
		ruleUpdate(t, "chat_rooms/update owner as owner → 400 naming owner", RM, room1.Id, owner, map[string]any{"owner": bob.Id}, 400, ruleField("owner")),
		ruleUpdate(t, "chat_rooms/update last_message_text as owner → 400 naming last_message_text", RM, room1.Id, owner, map[string]any{"last_message_text": "x"}, 400, ruleField("last_message_text")),

		ruleDelete("chat_rooms/delete as anonymous → 404", RM, roomDel1.Id, ruleAnon, 404),
		ruleDelete("chat_rooms/delete as room member → 404", RM, roomDel1.Id, member, 404),
		ruleDelete("chat_rooms/delete as other member → 404", RM, roomDel1.Id, other, 404),
		ruleDelete("chat_rooms/delete as moderator → 404", RM, roomDel1.Id, mod, 404),
		ruleDelete("chat_rooms/delete as owner → 204", RM, roomDel1.Id, owner, 204),
		ruleDelete("chat_rooms/delete as superuser → 204", RM, roomDel2.Id, root, 204),

		// chat_members ------------------------------------------------------------------
		ruleList("chat_members/list as anonymous → 200 with no items", MB, ruleAnon, nil, ruleIds(ownerMember, bobMember)),
		ruleList("chat_members/list as owner → members of own rooms only", MB, owner, ruleIds(ownerMember, bobMember), ruleIds(members2...)),
		ruleList("chat_members/list as room member → members of own rooms only", MB, member, ruleIds(ownerMember, bobMember), ruleIds(members2...)),
		ruleList("chat_members/list as other member → members of own rooms only", MB, other, ruleIds(members2...), ruleIds(ownerMember, bobMember)),
		ruleList("chat_members/list as moderator → 200 with no items", MB, mod, nil, ruleIds(ownerMember, bobMember)),
		ruleList("chat_members/list as superuser → every membership", MB, root, ruleIds(ownerMember, bobMember, members2[0]), nil),

		ruleView("chat_members/view as anonymous → 404", MB, bobMember.Id, ruleAnon, 404),
		ruleView("chat_members/view as owner → 200", MB, bobMember.Id, owner, 200),
		ruleView("chat_members/view own as room member → 200", MB, bobMember.Id, member, 200),
		ruleView("chat_members/view as other member → 404", MB, bobMember.Id, other, 404),
		ruleView("chat_members/view as moderator → 404", MB, bobMember.Id, mod, 404),
		ruleView("chat_members/view as superuser → 200", MB, bobMember.Id, root, 200),

		ruleCreate(t, "chat_members/create as anonymous → 403 (membership goes through /api/chat)", MB, ruleAnon, map[string]any{"room": room1.Id, "user": eve.Id}, 403),
		ruleCreate(t, "chat_members/create as owner → 403", MB, owner, map[string]any{"room": room1.Id, "user": eve.Id}, 403),
		ruleCreate(t, "chat_members/create as room member → 403", MB, member, map[string]any{"room": room1.Id, "user": eve.Id}, 403),
		ruleCreate(t, "chat_members/create as other member joining → 403", MB, other, map[string]any{"room": room1.Id, "user": eve.Id}, 403),
		ruleCreate(t, "chat_members/create as moderator → 403", MB, mod, map[string]any{"room": room1.Id, "user": mia.Id}, 403),
		ruleCreate(t, "chat_members/create as superuser → 200", MB, root, map[string]any{"room": room2.Id, "user": fay.Id, "role": "member"}, 200, `"user":"`+fay.Id+`"`),

		ruleUpdate(t, "chat_members/update as anonymous → 403", MB, bobMember.Id, ruleAnon, map[string]any{"role": "owner"}, 403),
		ruleUpdate(t, "chat_members/update as owner → 403", MB, bobMember.Id, owner, map[string]any{"role": "owner"}, 403),
		ruleUpdate(t, "chat_members/update own as room member → 403", MB, bobMember.Id, member, map[string]any{"role": "owner"}, 403),
		ruleUpdate(t, "chat_members/update as other member → 403", MB, bobMember.Id, other, map[string]any{"role": "owner"}, 403),
		ruleUpdate(t, "chat_members/update as moderator → 403", MB, bobMember.Id, mod, map[string]any{"role": "owner"}, 403),
		ruleUpdate(t, "chat_members/update as superuser → 200", MB, bobMember.Id, root, map[string]any{"last_read_at": "2025-01-02 03:04:05.000Z"}, 200, `"last_read_at":"2025-01-02 03:04:05.000Z"`),

		ruleDelete("chat_members/delete as anonymous → 403", MB, membersX[1].Id, ruleAnon, 403),
		ruleDelete("chat_members/delete as the room's owner → 403", MB, membersX[1].Id, testapp.Token(t, fay), 403),
		ruleDelete("chat_members/delete own as room member → 403", MB, membersX[1].Id, testapp.Token(t, dave), 403),
		ruleDelete("chat_members/delete as other member → 403", MB, membersX[1].Id, other, 403),
		ruleDelete("chat_members/delete as moderator → 403", MB, membersX[1].Id, mod, 403),
		ruleDelete("chat_members/delete as superuser → 204", MB, membersX[1].Id, root, 204),

		// chat_messages -----------------------------------------------------------------
		ruleList("chat_messages/list as anonymous → 200 with no items", MS, ruleAnon, nil, ruleIds(msg1, msg2)),
		ruleList("chat_messages/list as owner → messages of own rooms only", MS, owner, ruleIds(msg1), ruleIds(msg2, msgReported)),
		ruleList("chat_messages/list as room member → messages of own rooms only", MS, member, ruleIds(msg1), ruleIds(msg2, msgReported)),
		ruleList("chat_messages/list as other member → messages of own rooms only", MS, other, ruleIds(msg2, msgReported), ruleIds(msg1)),
		ruleList("chat_messages/list as moderator → the reported message only", MS, mod, ruleIds(msgReported), ruleIds(msg1, msg2)),
		ruleList("chat_messages/list as superuser → every message", MS, root, ruleIds(msg1, msg2, msgReported), nil),

		ruleView("chat_messages/view as anonymous → 404", MS, msg1.Id, ruleAnon, 404),
		ruleView("chat_messages/view as owner → 200", MS, msg1.Id, owner, 200),
		ruleView("chat_messages/view as room member → 200", MS, msg1.Id, member, 200),
		ruleView("chat_messages/view as other member → 404", MS, msg1.Id, other, 404),
		ruleView("chat_messages/view as moderator → 404", MS, msg1.Id, mod, 404),
		ruleView("chat_messages/view of a reported message as moderator → 200", MS, msgReported.Id, mod, 200),
		ruleView("chat_messages/view of a reported message as a non-member → 404", MS, msgReported.Id, owner, 404),
		ruleView("chat_messages/view as superuser → 200", MS, msg1.Id, root, 200),

		ruleCreate(t, "chat_messages/create as anonymous → 400 (rule)", MS, ruleAnon, map[string]any{"room": room1.Id, "text": "x"}, 400, ruleDenied),
		ruleCreate(t, "chat_messages/create as owner → 200 sent by the auth user", MS, owner, map[string]any{"room": room1.Id, "text": "from alice"}, 200, `"sender":"`+alice.Id+`"`, `"text":"from alice"`),
		ruleCreate(t, "chat_messages/create as room member → 200 sent by the auth user", MS, member, map[string]any{"room": room1.Id, "text": "from bob", "client_id": "c-1"}, 200, `"sender":"`+bob.Id+`"`),
		ruleCreate(t, "chat_messages/create as room member with sender = another id → 400 naming sender", MS, member, map[string]any{"room": room1.Id, "text": "forged", "sender": alice.Id}, 400, ruleField("sender")),
		ruleCreate(t, "chat_messages/create as other member (not in the room) → 400 (rule)", MS, other, map[string]any{"room": room1.Id, "text": "x"}, 400, ruleDenied),
		ruleCreate(t, "chat_messages/create as moderator (not in the room) → 400 (rule)", MS, mod, map[string]any{"room": room1.Id, "text": "x"}, 400, ruleDenied),
		ruleCreate(t, "chat_messages/create as suspended room member → 400 (rule: active users only)", MS, testapp.Token(t, susan), map[string]any{"room": room1.Id, "text": "x"}, 400, ruleDenied),
		ruleCreate(t, "chat_messages/create as superuser → 200", MS, root, map[string]any{"room": room1.Id, "text": "from root"}, 200, `"text":"from root"`),

		ruleUpdate(t, "chat_messages/update as anonymous → 403", MS, msg1.Id, ruleAnon, map[string]any{"text": "x"}, 403),
		ruleUpdate(t, "chat_messages/update as owner → 403", MS, msg1.Id, owner, map[string]any{"text": "x"}, 403),
		ruleUpdate(t, "chat_messages/update own as room member (sender) → 403", MS, msg1.Id, member, map[string]any{"text": "x"}, 403),
		ruleUpdate(t, "chat_messages/update as other member → 403", MS, msg1.Id, other, map[string]any{"text": "x"}, 403),
		ruleUpdate(t, "chat_messages/update as moderator → 403", MS, msg1.Id, mod, map[string]any{"text": "x"}, 403),
		ruleUpdate(t, "chat_messages/update as superuser → 403 (no update)", MS, msg1.Id, root, map[string]any{"text": "edited by root"}, 403, `"data":{}`),

		ruleDelete("chat_messages/delete as anonymous → 403", MS, msgDel.Id, ruleAnon, 403),
		ruleDelete("chat_messages/delete own as owner (sender) → 403", MS, msgDel.Id, owner, 403),
		ruleDelete("chat_messages/delete as room member → 403", MS, msgDel.Id, member, 403),
		ruleDelete("chat_messages/delete as other member → 403", MS, msgDel.Id, other, 403),
		ruleDelete("chat_messages/delete as moderator → 403", MS, msgDel.Id, mod, 403),
		ruleDelete("chat_messages/delete as superuser → 204", MS, msgDel.Id, root, 204),
	})
}
