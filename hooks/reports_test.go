package hooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

// reportWorld is a test app with the people of the report workflow: an author of content, a
// reporter, another member, a moderator and a superuser, each with a token.
type reportWorld struct {
	app                               *tests.TestApp
	srv                               *httptest.Server
	author, reporter, member, mod, su *core.Record
	authorTk, reporterTk, memberTk    string
	modTk, suTk                       string
}

func newReportWorld(t *testing.T) *reportWorld {
	t.Helper()
	app := testapp.New(t)
	w := &reportWorld{
		app:      app,
		author:   testapp.CreateUser(t, app, "author"),
		reporter: testapp.CreateUser(t, app, "reporter"),
		member:   testapp.CreateUser(t, app, "member"),
		mod:      testapp.CreateModerator(t, app, "moddy"),
		su:       testapp.CreateSuperuser(t, app, "root@example.com"),
	}
	w.authorTk = testapp.Token(t, w.author)
	w.reporterTk = testapp.Token(t, w.reporter)
	w.memberTk = testapp.Token(t, w.member)
	w.modTk = testapp.Token(t, w.mod)
	w.suTk = testapp.Token(t, w.su)
	w.srv = testapp.Serve(t, app)
	return w
}

// do sends a JSON request to the world's server. (One served app for a whole table:
// tests.ApiScenario cannot share an app between scenarios, because every apis.NewRouter call
// binds PocketBase's UI-extension routes on OnServe once more.)
func (w *reportWorld) do(t testing.TB, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	var payload any
	if body != "" {
		if err := json.Unmarshal([]byte(body), &payload); err != nil {
			t.Fatal(err)
		}
	}
	return testapp.Do(t, w.srv, method, path, token, payload)
}

// errorCode returns the code of field in a PocketBase error body.
func errorCode(body map[string]any, field string) string {
	data, _ := body["data"].(map[string]any)
	f, _ := data[field].(map[string]any)
	code, _ := f["code"].(string)
	return code
}

func (w *reportWorld) post(t *testing.T, author *core.Record) *core.Record {
	t.Helper()
	return testapp.Create(t, w.app, "posts", map[string]any{"user": author.Id, "text": "a post"})
}

func (w *reportWorld) comment(t *testing.T, author *core.Record, post *core.Record) *core.Record {
	t.Helper()
	return testapp.Create(t, w.app, "comments", map[string]any{"user": author.Id, "post": post.Id, "content": "a comment"})
}

func (w *reportWorld) product(t *testing.T, author *core.Record) *core.Record {
	t.Helper()
	return testapp.Create(t, w.app, "products", map[string]any{
		"user": author.Id, "name": "a product", "price": 1000, "link": "https://shop.example.com/p",
	})
}

// chatMessage makes a room with members and a message sent by sender.
func (w *reportWorld) chatMessage(t *testing.T, sender *core.Record, members ...*core.Record) *core.Record {
	t.Helper()
	room := testapp.Create(t, w.app, "chat_rooms", map[string]any{"name": "room", "owner": sender.Id})
	for i, u := range append([]*core.Record{sender}, members...) {
		role := "member"
		if i == 0 {
			role = "owner"
		}
		testapp.Create(t, w.app, "chat_members", map[string]any{"room": room.Id, "user": u.Id, "role": role})
	}
	return testapp.Create(t, w.app, "chat_messages", map[string]any{"room": room.Id, "sender": sender.Id, "text": "hello"})
}

// fileReport saves a report through the app (the model hooks run, the API rules do not).
func fileReport(app core.App, reporter *core.Record, targetType, targetId string) (*core.Record, error) {
	c, err := app.FindCollectionByNameOrId("reports")
	if err != nil {
		return nil, err
	}
	r := core.NewRecord(c)
	r.Set("reporter", reporter.Id)
	r.Set("target_type", targetType)
	r.Set("target_id", targetId)
	r.Set("reason", "spam")
	return r, app.Save(r)
}

func mustFileReport(t *testing.T, app core.App, reporter *core.Record, targetType, targetId string) *core.Record {
	t.Helper()
	r, err := fileReport(app, reporter, targetType, targetId)
	if err != nil {
		t.Fatalf("Failed to file a report on %s %s: %v", targetType, targetId, err)
	}
	return r
}

// moveReport walks a pending report to status through the app, as the system.
func moveReport(t *testing.T, app core.App, r *core.Record, status string) {
	t.Helper()
	if status == "pending" {
		return
	}
	r.Set("status", status)
	if err := app.Save(r); err != nil {
		t.Fatalf("Failed to move the report to %s: %v", status, err)
	}
}

// logRows returns the moderation_log rows matching where.
func logRows(t testing.TB, app core.App, where dbx.Expression) []*core.Record {
	t.Helper()
	rows, err := app.FindAllRecords("moderation_log", where)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestReportStatusMachine(t *testing.T) {
	w := newReportWorld(t)
	statuses := []string{"pending", "reviewing", "resolved", "dismissed"}
	allowed := map[string]bool{
		"pending>reviewing": true, "pending>resolved": true, "pending>dismissed": true,
		"reviewing>resolved": true, "reviewing>dismissed": true,
	}
	type who struct {
		name, token string
		actor       string // the moderation_log actor; empty for those the rules refuse
		moderator   string // the reports.moderator the change leaves
	}
	actors := []who{
		{name: "member", token: w.memberTk},
		{name: "reporter", token: w.reporterTk},
		{name: "moderator", token: w.modTk, actor: "users/" + w.mod.Id, moderator: w.mod.Id},
		{name: "superuser", token: w.suTk, actor: "_superusers/" + w.su.Id},
	}

	for _, from := range statuses {
		for _, to := range statuses {
			for _, a := range actors {
				t.Run(fmt.Sprintf("%s moves %s to %s", a.name, from, to), func(t *testing.T) {
					post := w.post(t, w.author)
					report := mustFileReport(t, w.app, w.reporter, "post", post.Id)
					moveReport(t, w.app, report, from)
					logsBefore := len(logRows(t, w.app, dbx.HashExp{"report": report.Id}))

					status, body := w.do(t, http.MethodPatch, "/api/collections/reports/records/"+report.Id, a.token, `{"status":"`+to+`"}`)
					want := http.StatusOK
					switch {
					case a.actor == "":
						want = http.StatusNotFound // the update rule hides reports from members
					case from != to && !allowed[from+">"+to]:
						want = http.StatusBadRequest
					}
					if status != want {
						t.Fatalf("Expected %d, got %d %v", want, status, body)
					}
					if want == http.StatusBadRequest && !strings.HasPrefix(errorCode(body, "status"), "validation_report_") {
						t.Errorf("Expected the 400 to name status, got %v", body)
					}

					got := testapp.Reload(t, w.app, report)
					wantStatus := from
					if want == http.StatusOK {
						wantStatus = to
					}
					if got.GetString("status") != wantStatus {
						t.Errorf("Expected the report to be %s, got %s", wantStatus, got.GetString("status"))
					}
					logs := logRows(t, w.app, dbx.HashExp{"report": report.Id})
					if want != http.StatusOK || from == to {
						if len(logs) != logsBefore {
							t.Errorf("Expected no new log row, got %d more", len(logs)-logsBefore)
						}
						return
					}
					if len(logs) != logsBefore+1 {
						t.Fatalf("Expected one new log row, got %d more", len(logs)-logsBefore)
					}
					if n := len(logRows(t, w.app, dbx.HashExp{"report": report.Id, "from_status": from, "to_status": to, "actor": a.actor})); n != 1 {
						t.Errorf("Expected a log row %s -> %s by %s, got %d", from, to, a.actor, n)
					}
					if got.GetString("moderator") != a.moderator {
						t.Errorf("Expected moderator %q, got %q", a.moderator, got.GetString("moderator"))
					}
					final := to == "resolved" || to == "dismissed"
					if final == got.GetDateTime("resolved_at").IsZero() {
						t.Errorf("Expected resolved_at set only on a final status, got %q for %s", got.GetString("resolved_at"), to)
					}
				})
			}
		}
	}
}

func TestReportCreationChecks(t *testing.T) {
	w := newReportWorld(t)
	post := w.post(t, w.author)
	comment := w.comment(t, w.author, post)
	hidden := w.post(t, w.author)
	hidden.Set("status", "hidden")
	if err := w.app.Save(hidden); err != nil {
		t.Fatal(err)
	}
	ownPost := w.post(t, w.member)
	otherRoomMsg := w.chatMessage(t, w.author, w.reporter) // member is not in that room
	duplicate := w.post(t, w.author)
	mustFileReport(t, w.app, w.member, "post", duplicate.Id)
	closedBefore := w.post(t, w.author)
	old := mustFileReport(t, w.app, w.member, "post", closedBefore.Id)
	moveReport(t, w.app, old, "dismissed")

	body := func(targetType, targetId string, extra ...string) string {
		return `{"target_type":"` + targetType + `","target_id":"` + targetId + `","reason":"spam"` + strings.Join(extra, "") + `}`
	}
	scenarios := []struct {
		name   string
		body   string
		token  string
		status int
		field  string // the field a 400 names, with its code
		code   string
		user   string // the target_user a 200 carries
	}{
		{"guest cannot report", body("post", post.Id), "", 400, "", "", ""},
		{"unknown target", body("post", "nosuchrecord123"), w.memberTk, 400, "target_id", "validation_target_not_found", ""},
		{"missing target_id", body("post", ""), w.memberTk, 400, "target_id", "validation_required", ""},
		{"unknown target_type", body("video", post.Id), w.memberTk, 400, "target_type", "validation_invalid_value", ""},
		{"wrong target_type", body("post", comment.Id), w.memberTk, 400, "target_type", "validation_target_type_mismatch", ""},
		{"self-report", body("user", w.member.Id), w.memberTk, 400, "target_id", "validation_self_report", ""},
		{"own content", body("post", ownPost.Id), w.memberTk, 400, "target_id", "validation_self_report", ""},
		{"content the reporter cannot see is as unknown", body("post", hidden.Id), w.memberTk, 400, "target_id", "validation_target_not_found", ""},
		{"chat message of a room the reporter is not in", body("chat_message", otherRoomMsg.Id), w.memberTk, 400, "target_id", "validation_target_not_found", ""},
		{"duplicate open report", body("post", duplicate.Id), w.memberTk, 400, "target_id", "validation_report_open", ""},
		{"a member sends a status", body("post", post.Id, `,"status":"resolved"`), w.memberTk, 400, "status", "validation_read_only", ""},
		{"a member sends an action", body("post", post.Id, `,"action":"hide_content"`), w.memberTk, 400, "action", "validation_read_only", ""},
		{"a member sends target_user", body("post", post.Id, `,"target_user":"`+w.reporter.Id+`"`), w.memberTk, 400, "target_user", "validation_read_only", ""},
		{"a member reports for someone else", body("post", post.Id, `,"reporter":"`+w.reporter.Id+`"`), w.memberTk, 400, "reporter", "validation_not_auth_user", ""},
		{"a superuser files a resolved report", body("post", post.Id, `,"reporter":"`+w.reporter.Id+`","status":"resolved"`), w.suTk, 400, "status", "validation_report_not_pending", ""},
		{"a closed report does not block a new one", body("post", closedBefore.Id), w.memberTk, 200, "", "", w.author.Id},
		{"a post names its author", body("post", post.Id), w.memberTk, 200, "", "", w.author.Id},
		{"a comment names its author", body("comment", comment.Id), w.memberTk, 200, "", "", w.author.Id},
		{"a user names themself", body("user", w.author.Id), w.memberTk, 200, "", "", w.author.Id},
		{"a chat message names its sender", body("chat_message", otherRoomMsg.Id), w.reporterTk, 200, "", "", w.author.Id},
		{"a moderator reports hidden content", body("post", hidden.Id), w.modTk, 200, "", "", w.author.Id},
		{"the owner field may be the auth user", body("product", w.product(t, w.author).Id, `,"reporter":"`+w.member.Id+`"`), w.memberTk, 200, "", "", w.author.Id},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			status, res := w.do(t, http.MethodPost, "/api/collections/reports/records", s.token, s.body)
			if status != s.status {
				t.Fatalf("Expected %d, got %d %v", s.status, status, res)
			}
			if s.field != "" && errorCode(res, s.field) != s.code {
				t.Errorf("Expected %s on %s, got %v", s.code, s.field, res)
			}
			if status == http.StatusOK {
				if res["target_user"] != s.user || res["status"] != "pending" || res["action"] != "none" {
					t.Errorf("Expected a pending report naming %s, got %v", s.user, res)
				}
			}
		})
	}

	if n := len(logRows(t, w.app, nil)); n != 1 {
		// the only row is the dismissal of the old report; filing writes none
		t.Errorf("Expected filing reports to write no log row, got %d rows in all", n)
	}
}

func TestReportUpdateChecks(t *testing.T) {
	w := newReportWorld(t)
	userReport := mustFileReport(t, w.app, w.reporter, "user", w.author.Id)
	msg := w.chatMessage(t, w.author, w.reporter)
	msgReport := mustFileReport(t, w.app, w.reporter, "chat_message", msg.Id)
	post := w.post(t, w.author)
	postReport := mustFileReport(t, w.app, w.reporter, "post", post.Id)
	modReport := mustFileReport(t, w.app, w.reporter, "user", w.mod.Id)
	other := w.post(t, w.member)

	url := func(r *core.Record) string { return "/api/collections/reports/records/" + r.Id }
	scenarios := []struct {
		name   string
		url    string
		body   string
		token  string
		status int
		field  string
		code   string
	}{
		{"hiding a user", url(userReport), `{"status":"resolved","action":"hide_content"}`, w.modTk, 400, "action", "validation_action_not_fitting"},
		{"removing a user", url(userReport), `{"action":"remove_content"}`, w.suTk, 400, "action", "validation_action_not_fitting"},
		{"hiding a chat message", url(msgReport), `{"status":"resolved","action":"hide_content"}`, w.modTk, 400, "action", "validation_action_not_fitting"},
		{"dismissing with an action", url(postReport), `{"status":"dismissed","action":"hide_content"}`, w.modTk, 400, "action", "validation_report_dismiss_action"},
		{"a moderator suspends a moderator", url(modReport), `{"status":"resolved","action":"suspend_user"}`, w.modTk, 400, "action", "validation_action_forbidden"},
		{"an unknown action", url(postReport), `{"action":"ban"}`, w.modTk, 400, "action", "validation_invalid_value"},
		{"the reporter updates their report", url(postReport), `{"moderator_note":"x"}`, w.reporterTk, 404, "", ""},
		{"a member updates a report", url(postReport), `{"status":"dismissed"}`, w.memberTk, 404, "", ""},
		{"a guest updates a report", url(postReport), `{"status":"dismissed"}`, "", 404, "", ""},
		{"a moderator retargets a report", url(postReport), `{"target_id":"` + other.Id + `"}`, w.modTk, 400, "target_id", "validation_immutable"},
		{"a superuser retargets a report", url(postReport), `{"target_id":"` + other.Id + `"}`, w.suTk, 400, "target_id", "validation_immutable"},
		{"a moderator sets the moderator", url(postReport), `{"moderator":"` + w.mod.Id + `"}`, w.modTk, 400, "moderator", "validation_read_only"},
		{"a moderator picks an action while reviewing", url(postReport), `{"status":"reviewing","action":"hide_content"}`, w.modTk, 200, "", ""},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			status, res := w.do(t, http.MethodPatch, s.url, s.token, s.body)
			if status != s.status {
				t.Fatalf("Expected %d, got %d %v", s.status, status, res)
			}
			if s.field != "" && errorCode(res, s.field) != s.code {
				t.Errorf("Expected %s on %s, got %v", s.code, s.field, res)
			}
		})
	}

	if got := testapp.Reload(t, w.app, post).GetString("status"); got != "published" {
		t.Errorf("Expected choosing an action while reviewing to leave the post published, got %s", got)
	}
	if got := testapp.Reload(t, w.app, w.author).GetString("status"); got != "active" {
		t.Errorf("Expected the refused actions to leave the author active, got %s", got)
	}
	if got := testapp.Reload(t, w.app, msgReport).GetString("status"); got != "pending" {
		t.Errorf("Expected a refused resolve to leave the report pending, got %s", got)
	}
	rows := logRows(t, w.app, dbx.HashExp{"report": postReport.Id})
	if len(rows) != 1 || rows[0].GetString("action") != "hide_content" || rows[0].GetString("to_status") != "reviewing" {
		t.Errorf("Expected one log row for the reviewing move with its action, got %d", len(rows))
	}
}

func TestReportDashboardFields(t *testing.T) {
	app := testapp.New(t)
	reports, err := app.FindCollectionByNameOrId("reports")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"target_type", "target_id", "status"} {
		if !fieldPresentable(reports.Fields.GetByName(name)) {
			t.Errorf("Expected reports.%s presentable in the dashboard", name)
		}
	}
	for _, f := range reports.Fields {
		if f.GetSystem() || f.Type() == core.FieldTypeAutodate {
			continue
		}
		if fieldHelp(f) == "" {
			t.Errorf("Expected help text on reports.%s", f.GetName())
		}
	}
}

func fieldPresentable(f core.Field) bool {
	switch f := f.(type) {
	case *core.TextField:
		return f.Presentable
	case *core.SelectField:
		return f.Presentable
	}
	return false
}

func fieldHelp(f core.Field) string {
	switch f := f.(type) {
	case *core.TextField:
		return f.Help
	case *core.SelectField:
		return f.Help
	case *core.RelationField:
		return f.Help
	case *core.DateField:
		return f.Help
	}
	return ""
}
