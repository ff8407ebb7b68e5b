package hooks

import (
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// DefaultReportThreshold is the number of distinct reporters with open reports on one post,
// comment or product that hides it at once, unless [SetReportThreshold] says otherwise.
const DefaultReportThreshold = 3

const reportThresholdKey = "tangerine.hooks.reportThreshold"

// SetReportThreshold sets app's auto-hide threshold (TANGERINE_REPORT_THRESHOLD): the number
// of distinct reporters with open reports on one post, comment or product at which it becomes
// hidden. n <= 0 restores [DefaultReportThreshold]. The value lives in app's store, so that
// test apps in one process keep their own.
func SetReportThreshold(app core.App, n int) {
	if n <= 0 {
		n = DefaultReportThreshold
	}
	app.Store().Set(reportThresholdKey, n)
}

// reportThreshold returns app's auto-hide threshold (a transaction app shares its parent's
// store).
func reportThreshold(app core.App) int {
	if n, ok := app.Store().Get(reportThresholdKey).(int); ok && n > 0 {
		return n
	}
	return DefaultReportThreshold
}

// actor is who sends a records-API write: the moderation log names them and a report
// remembers the moderator.
type actor struct {
	ref         string // "users/<id>" or "_superusers/<id>"; empty for the system
	moderatorId string // the user's id when they are a moderator
	superuser   bool
}

// privileged reports whether the actor may moderate (a moderator or a superuser).
func (a actor) privileged() bool {
	return a.superuser || a.moderatorId != ""
}

// actors maps the record of an in-flight records-API create or update to its sender. The
// model hooks run inside the API's form.Submit, which passes no request and no context, so
// the request hook leaves the sender here for them and takes it back when the request ends.
var actors sync.Map // *core.Record -> actor

// actorOf returns who is writing r through the records API; the zero actor (the system) for
// saves made by Go code.
func actorOf(r *core.Record) actor {
	if v, ok := actors.Load(r); ok {
		return v.(actor)
	}
	return actor{}
}

func captureActor(e *core.RecordRequestEvent) error {
	if e.Auth == nil || e.Record == nil {
		return e.Next()
	}
	a := actor{ref: e.Auth.Collection().Name + "/" + e.Auth.Id, superuser: e.Auth.IsSuperuser()}
	if !a.superuser && e.Auth.Collection().Name == collections.Users &&
		e.Auth.GetString("role") == collections.RoleModerator {
		a.moderatorId = e.Auth.Id
	}
	r := e.Record
	actors.Store(r, a)
	defer actors.Delete(r)
	return e.Next()
}

// contentTargetTypes maps the moderated collections to their report target_type.
var contentTargetTypes = map[string]string{
	collections.Posts:    "post",
	collections.Comments: "comment",
	collections.Products: "product",
}

// contentActions names, in the log, what a direct status change did.
var contentActions = map[string]string{
	collections.StatusHidden:    actionHide,
	collections.StatusRemoved:   actionRemove,
	collections.StatusPublished: actionNone,
}

// bindModerationLog attributes records-API writes to their sender and logs the status changes
// that moderators and superusers make directly on posts, comments and products (report
// changes are logged by the report workflow, reports.go).
func bindModerationLog(app core.App) {
	for _, name := range []string{collections.Reports, collections.Posts, collections.Comments, collections.Products} {
		app.OnRecordUpdateRequest(name).BindFunc(captureActor)
	}
	for name, targetType := range contentTargetTypes {
		app.OnRecordUpdate(name).BindFunc(func(e *core.RecordEvent) error {
			a := actorOf(e.Record)
			if !a.privileged() {
				return e.Next()
			}
			return e.App.RunInTransaction(func(txApp core.App) error {
				e.App = txApp
				// the stored status, read in the write transaction, is what this change moves from
				var from string
				err := txApp.DB().Select("status").From(name).
					Where(dbx.HashExp{"id": e.Record.Id}).Row(&from)
				if err != nil {
					return err
				}
				if err := e.Next(); err != nil {
					return err
				}
				to := e.Record.GetString("status")
				if from == to {
					return nil
				}
				return writeModerationLog(txApp, logEntry{
					targetType: targetType,
					targetId:   e.Record.Id,
					actor:      a.ref,
					from:       from,
					to:         to,
					action:     contentActions[to],
				})
			})
		})
	}
}

// logEntry is one moderation_log row.
type logEntry struct {
	report     string
	targetType string
	targetId   string
	actor      string
	from, to   string
	action     string
	note       string
}

// writeModerationLog saves entry through app (a transaction app, so that the row commits
// with the change it records).
func writeModerationLog(app core.App, entry logEntry) error {
	c, err := app.FindCachedCollectionByNameOrId(collections.ModerationLog)
	if err != nil {
		return err
	}
	r := core.NewRecord(c)
	r.Set("report", entry.report)
	r.Set("target_type", entry.targetType)
	r.Set("target_id", entry.targetId)
	r.Set("actor", entry.actor)
	r.Set("from_status", entry.from)
	r.Set("to_status", entry.to)
	r.Set("action", entry.action)
	r.Set("note", entry.note)
	return app.Save(r)
}
