package chat_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// roomFixture is a seeded app: alice owns room (bob, then carol, are members) with three
// messages of alice; dave is in no room; eve is suspended; direct is alice and bob's direct room.
type roomFixture struct {
	app                          *tests.TestApp
	alice, bob, carol, dave, eve *core.Record
	room, direct                 *core.Record
	messages                     []*core.Record
}

func newRoomFixture(t testing.TB) *roomFixture {
	t.Helper()
	f := &roomFixture{app: newApp(t, chat.Config{})}
	f.alice = testapp.CreateUser(t, f.app, "alice")
	f.bob = testapp.CreateUser(t, f.app, "bob")
	f.carol = testapp.CreateUser(t, f.app, "carol")
	f.dave = testapp.CreateUser(t, f.app, "dave")
	f.eve = testapp.CreateUser(t, f.app, "eve", map[string]any{"status": collections.UserSuspended})
	f.room = createRoom(t, f.app, f.alice, f.bob, f.carol)
	f.direct = testapp.Create(t, f.app, collections.ChatRooms, map[string]any{"owner": f.alice.Id, "is_direct": true})
	testapp.Create(t, f.app, collections.ChatMembers, map[string]any{"room": f.direct.Id, "user": f.alice.Id, "role": "owner"})
	testapp.Create(t, f.app, collections.ChatMembers, map[string]any{"room": f.direct.Id, "user": f.bob.Id})
	for i := range 3 {
		f.messages = append(f.messages, testapp.Create(t, f.app, collections.ChatMessages,
			map[string]any{"room": f.room.Id, "sender": f.alice.Id, "text": fmt.Sprintf("m%d", i)}))
	}
	return f
}

func auth(t testing.TB, r *core.Record) map[string]string {
	return map[string]string{"Authorization": testapp.Token(t, r)}
}

func TestRoomRoutes(t *testing.T) {
	t.Parallel()
	type scenario struct {
		name     string
		method   string
		url      func(f *roomFixture) string
		body     func(f *roomFixture) string
		as       func(f *roomFixture) *core.Record
		status   int
		contains func(f *roomFixture) []string
		after    func(t testing.TB, f *roomFixture)
	}
	roomURL := func(suffix string) func(f *roomFixture) string {
		return func(f *roomFixture) string { return "/api/chat/rooms/" + f.room.Id + suffix }
	}
	as := func(pick func(f *roomFixture) *core.Record) func(f *roomFixture) *core.Record { return pick }
	dave := as(func(f *roomFixture) *core.Record { return f.dave })
	alice := as(func(f *roomFixture) *core.Record { return f.alice })
	bob := as(func(f *roomFixture) *core.Record { return f.bob })
	roomCount := func(t testing.TB, f *roomFixture, filter string) int {
		n, err := f.app.CountRecords(collections.ChatRooms, dbx.NewExp(filter))
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}

	scenarios := []scenario{
		{name: "history: not a member is 404", method: http.MethodGet, url: roomURL("/messages"), as: dave, status: 404},
		{name: "read: not a member is 404", method: http.MethodPost, url: roomURL("/read"), as: dave, status: 404,
			body: func(f *roomFixture) string { return `{"message":"` + f.messages[0].Id + `"}` }},
		{name: "add members: not a member is 404", method: http.MethodPost, url: roomURL("/members"), as: dave, status: 404,
			body: func(f *roomFixture) string { return `{"users":["` + f.dave.Id + `"]}` }},
		{name: "remove member: not a member is 404", method: http.MethodDelete, as: dave, status: 404,
			url: func(f *roomFixture) string { return "/api/chat/rooms/" + f.room.Id + "/members/" + f.bob.Id }},
		{name: "leave: not a member is 404", method: http.MethodPost, url: roomURL("/leave"), as: dave, status: 404},
		{name: "history: no such room is 404", method: http.MethodGet, as: alice, status: 404,
			url: func(f *roomFixture) string { return "/api/chat/rooms/nosuchroom12345/messages" }},
		{name: "unauthenticated is 401", method: http.MethodGet, url: roomURL("/messages"), status: 401},
		{name: "add members: only the owner", method: http.MethodPost, url: roomURL("/members"), as: bob, status: 403,
			body: func(f *roomFixture) string { return `{"users":["` + f.dave.Id + `"]}` }},
		{name: "add members: unknown user names users", method: http.MethodPost, url: roomURL("/members"), as: alice, status: 400,
			body:     func(f *roomFixture) string { return `{"users":["nosuchuser1234"]}` },
			contains: func(f *roomFixture) []string { return []string{`"users"`} }},
		{name: "add members: suspended user names users", method: http.MethodPost, url: roomURL("/members"), as: alice, status: 400,
			body:     func(f *roomFixture) string { return `{"users":["` + f.eve.Id + `"]}` },
			contains: func(f *roomFixture) []string { return []string{`"users"`} }},
		{name: "add members: the owner adds", method: http.MethodPost, url: roomURL("/members"), as: alice, status: 200,
			body:     func(f *roomFixture) string { return `{"users":["` + f.dave.Id + `"]}` },
			contains: func(f *roomFixture) []string { return []string{`"members":[`, f.dave.Id} }},
		{name: "create: unknown member names members", method: http.MethodPost, url: func(*roomFixture) string { return "/api/chat/rooms" },
			as: alice, status: 400, body: func(f *roomFixture) string { return `{"name":"x","members":["nosuchuser1234"]}` },
			contains: func(f *roomFixture) []string { return []string{`"members"`} }},
		{name: "create: name over 100 names name", method: http.MethodPost, url: func(*roomFixture) string { return "/api/chat/rooms" },
			as: alice, status: 400, body: func(f *roomFixture) string { return `{"name":"` + strings.Repeat("가", 101) + `"}` },
			contains: func(f *roomFixture) []string { return []string{`"name"`} }},
		{name: "create: direct with two others names members", method: http.MethodPost, url: func(*roomFixture) string { return "/api/chat/rooms" },
			as: alice, status: 400, body: func(f *roomFixture) string {
				return `{"direct":true,"members":["` + f.bob.Id + `","` + f.carol.Id + `"]}`
			},
			contains: func(f *roomFixture) []string { return []string{`"members"`} }},
		{name: "create: direct again from the other side returns the room", method: http.MethodPost,
			url: func(*roomFixture) string { return "/api/chat/rooms" }, as: bob, status: 200,
			body:     func(f *roomFixture) string { return `{"direct":true,"members":["` + f.alice.Id + `"]}` },
			contains: func(f *roomFixture) []string { return []string{`"id":"` + f.direct.Id + `"`} },
			after: func(t testing.TB, f *roomFixture) {
				if n := roomCount(t, f, "is_direct = 1"); n != 1 {
					t.Fatalf("Expected 1 direct room, got %d", n)
				}
			}},
		{name: "create: direct again from the same side returns the room", method: http.MethodPost,
			url: func(*roomFixture) string { return "/api/chat/rooms" }, as: alice, status: 200,
			body: func(f *roomFixture) string {
				return `{"direct":true,"members":["` + f.bob.Id + `", "` + f.alice.Id + `"]}`
			},
			contains: func(f *roomFixture) []string { return []string{`"id":"` + f.direct.Id + `"`} },
			after: func(t testing.TB, f *roomFixture) {
				if n := roomCount(t, f, "is_direct = 1"); n != 1 {
					t.Fatalf("Expected 1 direct room, got %d", n)
				}
			}},
		{name: "create: a new direct pair makes a room", method: http.MethodPost,
			url: func(*roomFixture) string { return "/api/chat/rooms" }, as: dave, status: 200,
			body: func(f *roomFixture) string { return `{"direct":true,"members":["` + f.alice.Id + `"]}` },
			contains: func(f *roomFixture) []string {
				return []string{`"is_direct":true`, `"members":[`, f.alice.Id, f.dave.Id}
			},
			after: func(t testing.TB, f *roomFixture) {
				if n := roomCount(t, f, "is_direct = 1"); n != 2 {
					t.Fatalf("Expected 2 direct rooms, got %d", n)
				}
			}},
		{name: "leave: the owner hands over to the oldest member", method: http.MethodPost, url: roomURL("/leave"), as: alice, status: 204,
			after: func(t testing.TB, f *roomFixture) {
				room := testapp.Reload(t, f.app, f.room)
				if room.GetString("owner") != f.bob.Id {
					t.Fatalf("Expected bob to own the room, got %q", room.GetString("owner"))
				}
				m, err := f.app.FindFirstRecordByFilter(collections.ChatMembers, "room = {:r} && user = {:u}",
					dbx.Params{"r": f.room.Id, "u": f.bob.Id})
				if err != nil || m.GetString("role") != "owner" {
					t.Fatalf("Expected bob's membership to be owner, got %v (%v)", m, err)
				}
				if ok, _ := f.app.CountRecords(collections.ChatMembers, dbx.HashExp{"room": f.room.Id, "user": f.alice.Id}); ok != 0 {
					t.Fatal("Expected alice gone from the room")
				}
			}},
		{name: "remove member: the owner removes", method: http.MethodDelete, as: alice, status: 204,
			url: func(f *roomFixture) string { return "/api/chat/rooms/" + f.room.Id + "/members/" + f.carol.Id },
			after: func(t testing.TB, f *roomFixture) {
				if n, _ := f.app.CountRecords(collections.ChatMembers, dbx.HashExp{"room": f.room.Id}); n != 2 {
					t.Fatalf("Expected 2 members left, got %d", n)
				}
			}},
	}

	for i, s := range scenarios {
		// note: an app of its own per scenario; ApiScenario cannot serve one app twice
		f := newRoomFixture(t)
		sc := tests.ApiScenario{
			Name:                  fmt.Sprintf("%d_%s", i, s.name),
			Method:                s.method,
			URL:                   s.url(f),
			ExpectedStatus:        s.status,
			TestAppFactory:        func(testing.TB) *tests.TestApp { return f.app },
			DisableTestAppCleanup: true, // newApp cleans up
		}
		if s.body != nil {
			sc.Body = strings.NewReader(s.body(f))
			sc.Headers = map[string]string{"Content-Type": "application/json"}
		}
		if s.as != nil {
			if sc.Headers == nil {
				sc.Headers = map[string]string{}
			}
			sc.Headers["Authorization"] = testapp.Token(t, s.as(f))
		}
		switch {
		case s.contains != nil:
			sc.ExpectedContent = s.contains(f)
		case s.status != http.StatusNoContent:
			sc.ExpectedContent = []string{fmt.Sprintf(`"status":%d`, s.status)}
		}
		if s.after != nil {
			sc.AfterTestFunc = func(t testing.TB, _ *tests.TestApp, _ *http.Response) { s.after(t, f) }
		}
		sc.Test(t)
	}
}

func TestRoomsListAndHistory(t *testing.T) {
	t.Parallel()
	f := newRoomFixture(t)
	srv := testapp.Serve(t, f.app)
	bobToken := testapp.Token(t, f.bob)

	// bob's rooms, most recent activity first: room (3 unread messages), then direct
	// (created before them, no message)
	status, res := testapp.Do(t, srv, http.MethodGet, "/api/chat/rooms?limit=1", bobToken, nil)
	items, _ := res["items"].([]any)
	if status != 200 || len(items) != 1 || res["next_cursor"] == nil {
		t.Fatalf("Expected one room and a cursor, got %d %v", status, res)
	}
	first := items[0].(map[string]any)
	last, _ := first["last_message"].(map[string]any)
	members, _ := first["members"].([]any)
	if first["id"] != f.room.Id || first["unread_count"] != float64(3) || last["id"] != f.messages[2].Id || len(members) != 3 {
		t.Fatalf("Expected the room with 3 unread, m2 last and 3 members, got %v", first)
	}
	if alice := members[0].(map[string]any); alice["id"] != f.alice.Id || alice["email"] != nil {
		t.Fatalf("Expected alice first, without her email, got %v", alice)
	}
	status, res = testapp.Do(t, srv, http.MethodGet, "/api/chat/rooms?limit=1&cursor="+res["next_cursor"].(string), bobToken, nil)
	items, _ = res["items"].([]any)
	if status != 200 || len(items) != 1 || res["next_cursor"] != nil {
		t.Fatalf("Expected the last room, got %d %v", status, res)
	}
	if second := items[0].(map[string]any); second["id"] != f.direct.Id || second["last_message"] != nil || second["unread_count"] != float64(0) {
		t.Fatalf("Expected the direct room with no message, got %v", second)
	}

	// a message in the direct room moves it to the top
	testapp.Create(t, f.app, collections.ChatMessages, map[string]any{"room": f.direct.Id, "sender": f.alice.Id, "text": "hey"})
	_, res = testapp.Do(t, srv, http.MethodGet, "/api/chat/rooms", bobToken, nil)
	if got := res["items"].([]any)[0].(map[string]any); got["id"] != f.direct.Id || got["unread_count"] != float64(1) {
		t.Fatalf("Expected the direct room first with 1 unread, got %v", got)
	}
	testapp.Create(t, f.app, collections.ChatMessages, map[string]any{"room": f.room.Id, "sender": f.alice.Id, "text": "m3"})

	// reading m1 leaves one unread
	if status, _ := testapp.Do(t, srv, http.MethodPost, "/api/chat/rooms/"+f.room.Id+"/read", bobToken,
		map[string]string{"message": f.messages[1].Id}); status != 204 {
		t.Fatalf("Expected 204, got %d", status)
	}
	_, res = testapp.Do(t, srv, http.MethodGet, "/api/chat/rooms", bobToken, nil)
	for _, it := range res["items"].([]any) {
		if r := it.(map[string]any); r["id"] == f.room.Id && r["unread_count"] != float64(2) {
			t.Fatalf("Expected 2 unread (m2, m3) after reading m1, got %v", r["unread_count"])
		}
	}

	// history: newest first, two pages
	status, res = testapp.Do(t, srv, http.MethodGet, "/api/chat/rooms/"+f.room.Id+"/messages?limit=2", bobToken, nil)
	items, _ = res["items"].([]any)
	if status != 200 || len(items) != 2 || items[0].(map[string]any)["text"] != "m3" || items[1].(map[string]any)["text"] != "m2" {
		t.Fatalf("Expected m3, m2, got %d %v", status, res)
	}
	_, res = testapp.Do(t, srv, http.MethodGet, "/api/chat/rooms/"+f.room.Id+"/messages?limit=2&before="+res["next_cursor"].(string), bobToken, nil)
	items, _ = res["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["text"] != "m1" || items[1].(map[string]any)["text"] != "m0" || res["next_cursor"] != nil {
		t.Fatalf("Expected m1, m0 and no cursor on the last page, got %v", res)
	}
	if status, _ := testapp.Do(t, srv, http.MethodGet, "/api/chat/rooms/"+f.room.Id+"/messages?before=junk", bobToken, nil); status != 400 {
		t.Fatalf("Expected 400 for a bad cursor, got %d", status)
	}
}
