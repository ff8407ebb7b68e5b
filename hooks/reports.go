package hooks

import (
	"fmt"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/collections"
)

// Report statuses and actions, as in docs/API.md.
const (
	reportPending   = "pending"
	reportReviewing = "reviewing"
	reportResolved  = "resolved"
	reportDismissed = "dismissed"

	actionNone    = "none"
	actionHide    = "hide_content"
	actionRemove  = "remove_content"
	actionSuspend = "suspend_user"
)

// reportTransitions lists where each open status may go; resolved and dismissed are final.
var reportTransitions = map[string][]string{
	reportPending:   {reportReviewing, reportResolved, reportDismissed},
	reportReviewing: {reportResolved, reportDismissed},
}

func isOpenReport(status string) bool {
	_, ok := reportTransitions[status]
	return ok
}

// reportTarget describes one target_type.
type reportTarget struct {
	collection string
	author     string // the field naming the author; empty: the target is the user
	content    bool   // has a status that hide_content and remove_content set
}

var reportTargets = map[string]reportTarget{
	"user":         {collection: collections.Users},
	"post":         {collection: collections.Posts, author: "user", content: true},
	"comment":      {collection: collections.Comments, author: "user", content: true},
	"product":      {collection: collections.Products, author: "user", content: true},
	"chat_message": {collection: collections.ChatMessages, author: "sender"},
}

// reportTargetOrder is the order in which a mismatched target_id is looked up in the other
// collections (map order would make the error message vary).
var reportTargetOrder = []string{"user", "post", "comment", "product", "chat_message"}

// bindReportHooks enforces the report workflow at the model level, so that the records API
// and the dashboard (which uses the records API as a superuser) behave the same: the checks
// on filing, the status machine, the actions applied on resolve, the audit log and the
// auto-hide threshold, each in the transaction of the report's own write.
func bindReportHooks(app core.App) {
	app.OnRecordCreate(collections.Reports).BindFunc(reportCreate)
	app.OnRecordUpdate(collections.Reports).BindFunc(reportUpdate)
}

func invalidField(field, code, message string) error {
	return validation.Errors{field: validation.NewError(code, message)}
}

func reportCreate(e *core.RecordEvent) error {
	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		r := e.Record
		if s := r.GetString("status"); s != reportPending {
			return invalidField("status", "validation_report_not_pending", "A new report is pending.")
		}
		if a := r.GetString("action"); a != actionNone {
			return invalidField("action", "validation_report_action_on_create", "A new report takes no action yet.")
		}
		r.Set("moderator", "")
		r.Set("resolved_at", "")

		kind, ok, err := checkReportTarget(txApp, r)
		if err != nil {
			return err
		}
		if err := e.Next(); err != nil {
			return err
		}
		if ok && kind.content {
			return autoHide(txApp, r, kind)
		}
		return nil
	})
}

// checkReportTarget checks a new report's target and sets target_user. ok is false when the
// target_type, target_id or reporter are missing or unknown: the record's validation names
// those.
func checkReportTarget(app core.App, r *core.Record) (kind reportTarget, ok bool, err error) {
	targetType, targetId := r.GetString("target_type"), r.GetString("target_id")
	kind, ok = reportTargets[targetType]
	if !ok || targetId == "" {
		return kind, false, nil
	}
	reporter, err := app.FindRecordById(collections.Users, r.GetString("reporter"))
	if err != nil {
		return kind, false, nil
	}

	target, found := findReportable(app, reporter, kind, targetId)
	if !found {
		for _, other := range reportTargetOrder {
			if other == targetType {
				continue
			}
			if _, found := findReportable(app, reporter, reportTargets[other], targetId); found {
				return kind, false, invalidField("target_type", "validation_target_type_mismatch",
					fmt.Sprintf("The target is a %s, not a %s.", other, targetType))
			}
		}
		// what the reporter cannot see is answered like what does not exist
		return kind, false, invalidField("target_id", "validation_target_not_found", "The reported record does not exist.")
	}

	author := target.Id
	if kind.author != "" {
		author = target.GetString(kind.author)
	}
	if author == reporter.Id {
		return kind, false, invalidField("target_id", "validation_self_report", "You cannot report yourself or your own content.")
	}
	if exists(app, collections.Reports, dbx.HashExp{
		"reporter":    reporter.Id,
		"target_type": targetType,
		"target_id":   targetId,
		"status":      []any{reportPending, reportReviewing},
	}) {
		return kind, false, invalidField("target_id", "validation_report_open", "You already have an open report on this.")
	}
	r.Set("target_user", author)
	return kind, true, nil
}

// findReportable loads the target when reporter may see it: users are public; posts,
// comments and products follow their view rules; a chat message needs room membership.
func findReportable(app core.App, reporter *core.Record, kind reportTarget, id string) (*core.Record, bool) {
	switch kind.collection {
	case collections.Users:
		u, err := app.FindRecordById(collections.Users, id)
		return u, err == nil
	case collections.ChatMessages:
		m, err := app.FindRecordById(collections.ChatMessages, id)
		if err != nil {
			return nil, false
		}
		if !exists(app, collections.ChatMembers, dbx.HashExp{"room": m.GetString("room"), "user": reporter.Id}) {
			return nil, false
		}
		return m, true
	default:
		return findVisible(app, reporter, kind.collection, id)
	}
}

// autoHide hides the target of a new report once enough distinct reporters have it open.
// It runs in the report insert's transaction; the conditional UPDATE makes the hiding (and
// its one log row) happen once however many reports race past the threshold.
func autoHide(app core.App, r *core.Record, kind reportTarget) error {
	var n int
	err := app.DB().NewQuery(`
		SELECT COUNT(DISTINCT [[reporter]]) FROM {{reports}}
		WHERE [[target_type]] = {:type} AND [[target_id]] = {:id} AND [[status]] IN ({:pending}, {:reviewing})
	`).Bind(dbx.Params{
		"type":      r.GetString("target_type"),
		"id":        r.GetString("target_id"),
		"pending":   reportPending,
		"reviewing": reportReviewing,
	}).Row(&n)
	if err != nil || n < reportThreshold(app) {
		return err
	}
	res, err := app.DB().Update(kind.collection,
		dbx.Params{"status": collections.StatusHidden, "updated": types.NowDateTime().String()},
		dbx.HashExp{"id": r.GetString("target_id"), "status": collections.StatusPublished},
	).Execute()
	if err != nil {
		return err
	}
	if affected, err := res.RowsAffected(); err != nil || affected != 1 {
		return err
	}
	return writeModerationLog(app, logEntry{
		report:     r.Id,
		targetType: r.GetString("target_type"),
		targetId:   r.GetString("target_id"),
		from:       collections.StatusPublished,
		to:         collections.StatusHidden,
		action:     actionHide,
	})
}

func reportUpdate(e *core.RecordEvent) error {
	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		// the stored row, read inside the write transaction, is the state this change starts
		// from: two moderators acting at once on copies loaded earlier see each other's
		// decisions (and a record saved twice in memory has no Original)
		r := e.Record
		stored, err := txApp.FindRecordById(collections.Reports, r.Id)
		if err != nil {
			return err
		}
		for _, f := range []string{"reporter", "target_type", "target_id"} {
			if r.GetString(f) != stored.GetString(f) {
				return invalidField(f, "validation_immutable", "This field cannot change after the report is filed.")
			}
		}
		// the server keeps target_user; not even a superuser rewrites who was reported
		r.Set("target_user", stored.GetString("target_user"))

		from, to := stored.GetString("status"), r.GetString("status")
		action := r.GetString("action")
		statusChanged := from != to
		actionChanged := action != stored.GetString("action")
		if !statusChanged && !actionChanged {
			return e.Next()
		}
		if err := checkReportChange(txApp, r, from, to, statusChanged); err != nil {
			return err
		}

		a := actorOf(r)
		if a.moderatorId != "" {
			r.Set("moderator", a.moderatorId)
		}
		if statusChanged && !isOpenReport(to) {
			r.Set("resolved_at", types.NowDateTime())
		}
		if err := e.Next(); err != nil {
			return err
		}
		if statusChanged && to == reportResolved {
			if err := applyReportAction(txApp, r); err != nil {
				return err
			}
		}
		return writeModerationLog(txApp, logEntry{
			report:     r.Id,
			targetType: r.GetString("target_type"),
			targetId:   r.GetString("target_id"),
			actor:      a.ref,
			from:       from,
			to:         to,
			action:     action,
			note:       r.GetString("moderator_note"),
		})
	})
}

// checkReportChange validates a change of a report's status or action.
func checkReportChange(app core.App, r *core.Record, from, to string, statusChanged bool) error {
	if !isOpenReport(from) {
		field := "status"
		if !statusChanged {
			field = "action"
		}
		return invalidField(field, "validation_report_final", fmt.Sprintf("The report is %s; that is final.", from))
	}
	if statusChanged {
		allowed := false
		for _, s := range reportTransitions[from] {
			allowed = allowed || s == to
		}
		if !allowed {
			return invalidField("status", "validation_report_transition",
				fmt.Sprintf("A report cannot move from %s to %s.", from, to))
		}
	}
	action := r.GetString("action")
	if to == reportDismissed && action != actionNone {
		return invalidField("action", "validation_report_dismiss_action", "A dismissed report takes no action; set the action to none.")
	}
	return checkActionFits(app, r, action)
}

// checkActionFits rejects an action that cannot apply to the report's target: hiding is for
// posts, comments and products; removing also deletes chat messages; suspending applies to
// the reported user or to the target's author, who must still exist, and only a superuser
// suspends a moderator.
func checkActionFits(app core.App, r *core.Record, action string) error {
	kind := reportTargets[r.GetString("target_type")]
	targetType := r.GetString("target_type")
	switch action {
	case "", actionNone:
		return nil
	case actionHide:
		if !kind.content {
			return invalidField("action", "validation_action_not_fitting", fmt.Sprintf("A %s cannot be hidden.", targetType))
		}
	case actionRemove:
		if !kind.content && kind.collection != collections.ChatMessages {
			return invalidField("action", "validation_action_not_fitting", fmt.Sprintf("A %s cannot be removed; suspend the user instead.", targetType))
		}
	case actionSuspend:
		u, err := app.FindRecordById(collections.Users, r.GetString("target_user"))
		if err != nil {
			return invalidField("action", "validation_action_not_fitting", "There is no user to suspend: the account no longer exists.")
		}
		if u.GetString("role") == collections.RoleModerator && !actorOf(r).superuser {
			return invalidField("action", "validation_action_forbidden", "Only superusers can suspend a moderator.")
		}
	}
	return nil
}

// applyReportAction applies a resolved report's action to its target in app (the report's
// transaction). Content that no longer exists needs no hiding or removal. Saves go through
// the model hooks (SaveNoValidate: only a status moves), so that token invalidation and the
// listeners of other packages run; a chat message is deleted with app.Delete, whose
// OnRecordAfterDeleteSuccess("chat_messages") hooks run after the commit (the chat hub sends
// message_removed from there).
func applyReportAction(app core.App, r *core.Record) error {
	kind := reportTargets[r.GetString("target_type")]
	switch r.GetString("action") {
	case actionHide, actionRemove:
		target, err := app.FindRecordById(kind.collection, r.GetString("target_id"))
		if err != nil {
			return nil
		}
		if kind.collection == collections.ChatMessages {
			return app.Delete(target)
		}
		status := collections.StatusRemoved
		if r.GetString("action") == actionHide {
			status = collections.StatusHidden
		}
		current := target.GetString("status")
		if current == status || current == collections.StatusRemoved {
			return nil // never soften a removal into a hiding
		}
		target.Set("status", status)
		return app.SaveNoValidate(target)
	case actionSuspend:
		u, err := app.FindRecordById(collections.Users, r.GetString("target_user"))
		if err != nil {
			return err
		}
		if u.GetString("status") == collections.UserSuspended {
			return nil
		}
		u.Set("status", collections.UserSuspended)
		return app.SaveNoValidate(u)
	}
	return nil
}
