package hooks_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// resolve resolves report with action through the API as the holder of token.
func (w *reportWorld) resolve(t *testing.T, token string, report *core.Record, action string) {
	t.Helper()
	status, body := w.do(t, http.MethodPatch, "/api/collections/reports/records/"+report.Id, token,
		`{"status":"resolved","action":"`+action+`","moderator_note":"checked"}`)
	if status != http.StatusOK {
		t.Fatalf("Expected the report to resolve with %s, got %d %v", action, status, body)
	}
}

// inLatestFeed reports whether the post is in GET /api/feed/latest for the holder of token.
func (w *reportWorld) inLatestFeed(t *testing.T, token, postId string) bool {
	t.Helper()
	status, body := w.do(t, http.MethodGet, "/api/feed/latest?limit=100", token, "")
	if status != http.StatusOK {
		t.Fatalf("Expected the latest feed, got %d %v", status, body)
	}
	items, _ := body["items"].([]any)
	for _, it := range items {
		if m, _ := it.(map[string]any); m["id"] == postId {
			return true
		}
	}
	return false
}

// expectVisibility checks GET /api/collections/{collection}/records/{id} for each token.
func (w *reportWorld) expectVisibility(t *testing.T, collection, id string, want map[string]int) {
	t.Helper()
	tokens := map[string]string{"guest": "", "member": w.memberTk, "reporter": w.reporterTk,
		"author": w.authorTk, "moderator": w.modTk, "superuser": w.suTk}
	for who, code := range want {
		status, _ := w.do(t, http.MethodGet, "/api/collections/"+collection+"/records/"+id, tokens[who], "")
		if status != code {
			t.Errorf("Expected %s to get %d for %s %s, got %d", who, code, collection, id, status)
		}
	}
}

func TestReportActionHideContent(t *testing.T) {
	w := newReportWorld(t)
	post := w.post(t, w.author)
	report := mustFileReport(t, w.app, w.reporter, "post", post.Id)
	if !w.inLatestFeed(t, "", post.Id) {
		t.Fatal("Expected the post in the latest feed before moderation")
	}

	w.resolve(t, w.modTk, report, "hide_content")

	if got := testapp.Reload(t, w.app, post).GetString("status"); got != "hidden" {
		t.Fatalf("Expected the post hidden, got %s", got)
	}
	for who, token := range map[string]string{"guest": "", "member": w.memberTk, "reporter": w.reporterTk} {
		if w.inLatestFeed(t, token, post.Id) {
			t.Errorf("Expected the hidden post gone from the latest feed for the %s", who)
		}
	}
	w.expectVisibility(t, "posts", post.Id, map[string]int{
		"guest": 404, "member": 404, "reporter": 404, "author": 200, "moderator": 200, "superuser": 200,
	})
	status, body := w.do(t, http.MethodGet, "/api/collections/posts/records?filter=id%3D%22"+post.Id+"%22", w.memberTk, "")
	if status != http.StatusOK || body["totalItems"] != float64(0) {
		t.Errorf("Expected the hidden post missing from the member's list, got %d %v", status, body)
	}

	got := testapp.Reload(t, w.app, report)
	if got.GetString("moderator") != w.mod.Id || got.GetDateTime("resolved_at").IsZero() {
		t.Errorf("Expected moderator and resolved_at set, got %q %q", got.GetString("moderator"), got.GetString("resolved_at"))
	}
	rows := logRows(t, w.app, dbx.HashExp{"report": report.Id})
	if len(rows) != 1 {
		t.Fatalf("Expected one log row, got %d", len(rows))
	}
	r := rows[0]
	if r.GetString("actor") != "users/"+w.mod.Id || r.GetString("from_status") != "pending" ||
		r.GetString("to_status") != "resolved" || r.GetString("action") != "hide_content" ||
		r.GetString("target_type") != "post" || r.GetString("target_id") != post.Id || r.GetString("note") != "checked" {
		t.Errorf("Unexpected log row %v", r.FieldsData())
	}
	// the side effect on the post is the report's, not a direct change: no second row
	if n := len(logRows(t, w.app, dbx.HashExp{"target_id": post.Id})); n != 1 {
		t.Errorf("Expected only the report's log row for the post, got %d", n)
	}
}

func TestReportActionRemoveContent(t *testing.T) {
	w := newReportWorld(t)
	post := w.post(t, w.member)
	comment := w.comment(t, w.author, post)
	product := w.product(t, w.author)
	commentReport := mustFileReport(t, w.app, w.reporter, "comment", comment.Id)
	productReport := mustFileReport(t, w.app, w.reporter, "product", product.Id)

	w.resolve(t, w.suTk, commentReport, "remove_content")
	w.resolve(t, w.modTk, productReport, "remove_content")

	if got := testapp.Reload(t, w.app, comment).GetString("status"); got != "removed" {
		t.Errorf("Expected the comment removed, got %s", got)
	}
	if got := testapp.Reload(t, w.app, product).GetString("status"); got != "removed" {
		t.Errorf("Expected the product removed, got %s", got)
	}
	w.expectVisibility(t, "comments", comment.Id, map[string]int{"guest": 404, "member": 404, "author": 200, "moderator": 200})
	w.expectVisibility(t, "products", product.Id, map[string]int{"guest": 404, "reporter": 404, "author": 200, "moderator": 200})

	got := testapp.Reload(t, w.app, commentReport)
	if got.GetString("moderator") != "" || got.GetDateTime("resolved_at").IsZero() {
		t.Errorf("Expected a superuser's resolve to leave moderator empty and set resolved_at, got %q %q",
			got.GetString("moderator"), got.GetString("resolved_at"))
	}
	if n := len(logRows(t, w.app, dbx.HashExp{"report": commentReport.Id, "actor": "_superusers/" + w.su.Id, "action": "remove_content"})); n != 1 {
		t.Errorf("Expected the superuser's log row, got %d", n)
	}

	// hiding never softens a removal (a moderator still sees the removed product)
	again := mustFileReport(t, w.app, w.mod, "product", product.Id)
	w.resolve(t, w.modTk, again, "hide_content")
	if got := testapp.Reload(t, w.app, product).GetString("status"); got != "removed" {
		t.Errorf("Expected the product to stay removed, got %s", got)
	}
}

func TestReportActionRemoveChatMessage(t *testing.T) {
	w := newReportWorld(t)
	msg := w.chatMessage(t, w.author, w.reporter)
	report := mustFileReport(t, w.app, w.reporter, "chat_message", msg.Id)

	// the hook point the chat hub uses to send message_removed: it fires once, after commit
	var removed atomic.Int32
	w.app.OnRecordAfterDeleteSuccess("chat_messages").BindFunc(func(e *core.RecordEvent) error {
		if e.Record.Id == msg.Id {
			removed.Add(1)
		}
		return e.Next()
	})

	// a moderator may read the reported message, not being in the room
	if status, _ := w.do(t, http.MethodGet, "/api/collections/chat_messages/records/"+msg.Id, w.modTk, ""); status != http.StatusOK {
		t.Errorf("Expected the moderator to read the reported message, got %d", status)
	}
	w.resolve(t, w.modTk, report, "remove_content")

	if _, err := w.app.FindRecordById("chat_messages", msg.Id); err == nil {
		t.Error("Expected the chat message deleted")
	}
	if n := removed.Load(); n != 1 {
		t.Errorf("Expected one after-delete event for the message, got %d", n)
	}
	if got := testapp.Reload(t, w.app, report).GetString("status"); got != "resolved" {
		t.Errorf("Expected the report resolved, got %s", got)
	}
}

func TestReportActionSuspendUser(t *testing.T) {
	w := newReportWorld(t)
	victimToken := w.authorTk
	if status, _ := w.do(t, http.MethodPost, "/api/collections/users/auth-refresh", victimToken, ""); status != http.StatusOK {
		t.Fatalf("Expected a working token before the suspension, got %d", status)
	}
	report := mustFileReport(t, w.app, w.reporter, "user", w.author.Id)

	w.resolve(t, w.modTk, report, "suspend_user")

	if got := testapp.Reload(t, w.app, w.author).GetString("status"); got != "suspended" {
		t.Fatalf("Expected the user suspended, got %s", got)
	}
	if status, _ := w.do(t, http.MethodPost, "/api/collections/users/auth-refresh", victimToken, ""); status != http.StatusUnauthorized {
		t.Errorf("Expected the suspended user's old token refused, got %d", status)
	}
	status, _ := w.do(t, http.MethodPost, "/api/collections/users/auth-with-password", "",
		`{"identity":"author","password":"`+testapp.Password+`"}`)
	if status == http.StatusOK {
		t.Error("Expected a suspended user unable to log in")
	}

	// suspend_user on content suspends its author
	post := w.post(t, w.member)
	memberToken := w.memberTk
	postReport := mustFileReport(t, w.app, w.reporter, "post", post.Id)
	w.resolve(t, w.suTk, postReport, "suspend_user")
	if got := testapp.Reload(t, w.app, w.member).GetString("status"); got != "suspended" {
		t.Errorf("Expected the post's author suspended, got %s", got)
	}
	if got := testapp.Reload(t, w.app, post).GetString("status"); got != "published" {
		t.Errorf("Expected suspend_user to leave the post's status, got %s", got)
	}
	if status, _ := w.do(t, http.MethodPost, "/api/collections/users/auth-refresh", memberToken, ""); status != http.StatusUnauthorized {
		t.Errorf("Expected the author's old token refused, got %d", status)
	}
}

func TestDismissAppliesNothing(t *testing.T) {
	w := newReportWorld(t)
	post := w.post(t, w.author)
	report := mustFileReport(t, w.app, w.reporter, "post", post.Id)
	status, body := w.do(t, http.MethodPatch, "/api/collections/reports/records/"+report.Id, w.modTk, `{"status":"dismissed"}`)
	if status != http.StatusOK {
		t.Fatalf("Expected the dismissal, got %d %v", status, body)
	}
	if got := testapp.Reload(t, w.app, post).GetString("status"); got != "published" {
		t.Errorf("Expected a dismissal to leave the post published, got %s", got)
	}
	if got := testapp.Reload(t, w.app, report); got.GetDateTime("resolved_at").IsZero() || got.GetString("action") != "none" {
		t.Errorf("Expected resolved_at set and no action, got %q %q", got.GetString("resolved_at"), got.GetString("action"))
	}
}

func TestAutoHideOnceUnderConcurrentReports(t *testing.T) {
	w := newReportWorld(t)
	const threshold, reporters = 10, 12
	hooks.SetReportThreshold(w.app, threshold)
	post := w.post(t, w.author)
	var people []*core.Record
	for i := 0; i < reporters; i++ {
		people = append(people, testapp.CreateUser(t, w.app, "crowd_"+string(rune('a'+i))))
	}

	// everyone files at once through the app
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, reporters)
	for i, u := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = fileReport(w.app, u, "post", post.Id)
		}()
	}
	close(start)
	wg.Wait()
	// the reports filed once the post is hidden find nothing they may see to report
	filed := 0
	for i, err := range errs {
		if err == nil {
			filed++
		} else if !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("Reporter %d failed to file: %v", i, err)
		}
	}
	if filed != threshold {
		t.Errorf("Expected exactly %d reports filed before the post vanished, got %d", threshold, filed)
	}

	if got := testapp.Reload(t, w.app, post).GetString("status"); got != "hidden" {
		t.Fatalf("Expected the post hidden, got %s", got)
	}
	rows := logRows(t, w.app, dbx.HashExp{"target_id": post.Id})
	if len(rows) != 1 {
		t.Fatalf("Expected exactly one auto-hide log row, got %d", len(rows))
	}
	r := rows[0]
	if r.GetString("actor") != "" || r.GetString("action") != "hide_content" ||
		r.GetString("from_status") != "published" || r.GetString("to_status") != "hidden" {
		t.Errorf("Unexpected auto-hide row %v", r.FieldsData())
	}
	// the row names the report that crossed the threshold: the threshold-th filed
	var crossing []string
	err := w.app.DB().Select("id").From("reports").
		Where(dbx.HashExp{"target_id": post.Id}).OrderBy("rowid ASC").Offset(threshold - 1).Limit(1).Column(&crossing)
	if err != nil || len(crossing) != 1 || r.GetString("report") != crossing[0] {
		t.Errorf("Expected the log row to name report %v, got %q (%v)", crossing, r.GetString("report"), err)
	}
}

func TestAutoHideThreshold(t *testing.T) {
	w := newReportWorld(t)
	post := w.post(t, w.author)
	comment := w.comment(t, w.author, post)
	mod2 := testapp.CreateModerator(t, w.app, "moddy2")
	third := testapp.CreateUser(t, w.app, "third")

	mustFileReport(t, w.app, w.reporter, "comment", comment.Id)
	mustFileReport(t, w.app, w.member, "comment", comment.Id)
	if got := testapp.Reload(t, w.app, comment).GetString("status"); got != "published" {
		t.Fatalf("Expected two reports (threshold %d) to leave the comment, got %s", hooks.DefaultReportThreshold, got)
	}
	// a closed report does not count
	dismissed := mustFileReport(t, w.app, w.mod, "comment", comment.Id)
	moveReport(t, w.app, dismissed, "dismissed")
	mustFileReport(t, w.app, mod2, "comment", comment.Id)
	if got := testapp.Reload(t, w.app, comment).GetString("status"); got != "hidden" {
		t.Fatalf("Expected the third open report to hide the comment, got %s", got)
	}
	if _, err := fileReport(w.app, third, "comment", comment.Id); err == nil {
		t.Error("Expected a member unable to report the hidden comment")
	}
	mustFileReport(t, w.app, w.mod, "comment", comment.Id)
	if n := len(logRows(t, w.app, dbx.HashExp{"target_id": comment.Id, "action": "hide_content", "actor": ""})); n != 1 {
		t.Errorf("Expected one auto-hide row, got %d", n)
	}

	// users are never auto-hidden (they have no content status) and nothing fails
	for _, u := range []*core.Record{w.reporter, w.member, mod2, third} {
		mustFileReport(t, w.app, u, "user", w.author.Id)
	}
	if got := testapp.Reload(t, w.app, w.author).GetString("status"); got != "active" {
		t.Errorf("Expected reports alone never to suspend a user, got %s", got)
	}
}

func TestModeratorStatusChangesAreLogged(t *testing.T) {
	w := newReportWorld(t)
	post := w.post(t, w.author)
	product := w.product(t, w.author)
	modPost := w.post(t, w.mod)

	cases := []struct {
		name, collection, id, token, body string
		status                            int
		actor, from, to                   string
	}{
		{"a moderator hides a post", "posts", post.Id, w.modTk, `{"status":"hidden"}`, 200, "users/" + w.mod.Id, "published", "hidden"},
		{"a moderator restores it", "posts", post.Id, w.modTk, `{"status":"published"}`, 200, "users/" + w.mod.Id, "hidden", "published"},
		{"a superuser removes a product", "products", product.Id, w.suTk, `{"status":"removed"}`, 200, "_superusers/" + w.su.Id, "published", "removed"},
		{"a moderator hides their own post", "posts", modPost.Id, w.modTk, `{"status":"hidden"}`, 200, "users/" + w.mod.Id, "published", "hidden"},
		{"a moderator edits another's text", "posts", post.Id, w.modTk, `{"text":"edited"}`, 400, "", "", ""},
		{"a member hides a post", "posts", post.Id, w.memberTk, `{"status":"hidden"}`, 404, "", "", ""},
		{"the author hides their post", "posts", post.Id, w.authorTk, `{"status":"hidden"}`, 400, "", "", ""},
		{"the author edits their text", "posts", post.Id, w.authorTk, `{"text":"edited"}`, 200, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(logRows(t, w.app, dbx.HashExp{"target_id": c.id}))
			status, body := w.do(t, http.MethodPatch, "/api/collections/"+c.collection+"/records/"+c.id, c.token, c.body)
			if status != c.status {
				t.Fatalf("Expected %d, got %d %v", c.status, status, body)
			}
			rows := logRows(t, w.app, dbx.HashExp{"target_id": c.id})
			if c.actor == "" {
				if len(rows) != before {
					t.Errorf("Expected no log row, got %d more", len(rows)-before)
				}
				return
			}
			match := logRows(t, w.app, dbx.HashExp{"target_id": c.id, "actor": c.actor, "from_status": c.from, "to_status": c.to, "report": ""})
			if len(rows) != before+1 || len(match) != 1 {
				t.Errorf("Expected one row %s -> %s by %s with no report, got %d new, %d matching", c.from, c.to, c.actor, len(rows)-before, len(match))
			}
		})
	}
}

func TestModerationLogIsReadOnlyAndModeratorsOnly(t *testing.T) {
	w := newReportWorld(t)
	post := w.post(t, w.author)
	w.resolve(t, w.modTk, mustFileReport(t, w.app, w.reporter, "post", post.Id), "hide_content")

	for who, c := range map[string]struct {
		token string
		total float64
	}{"member": {w.memberTk, 0}, "reporter": {w.reporterTk, 0}, "moderator": {w.modTk, 1}, "superuser": {w.suTk, 1}} {
		status, body := w.do(t, http.MethodGet, "/api/collections/moderation_log/records", c.token, "")
		if status != http.StatusOK || body["totalItems"] != c.total {
			t.Errorf("Expected %s to list %v log rows, got %d %v", who, c.total, status, body["totalItems"])
		}
	}
	status, _ := w.do(t, http.MethodPost, "/api/collections/moderation_log/records", w.modTk, `{"actor":"users/x"}`)
	if status != http.StatusForbidden {
		t.Errorf("Expected a moderator unable to write the log, got %d", status)
	}
}
