package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The dashboard is where superusers work the report queue: relations to a report show what
// was reported, and every report field says what it is for and who sets it.

// dashboardReportHelp is the dashboard help text of each reports field.
var dashboardReportHelp = map[string]string{
	"reporter":       "The user who filed the report. Set by the server to the signed-in user.",
	"target_type":    "What was reported. Fixed once the report is filed.",
	"target_id":      "The id of the reported record in the collection that target_type names (users, posts, comments, products or chat_messages).",
	"target_user":    "Set by the server: the reported user, or the author of the reported content (the sender of a chat message).",
	"reason":         "The reporter's reason.",
	"description":    "The reporter's own words (up to 1000 characters).",
	"status":         "pending → reviewing → resolved or dismissed (pending may also go straight to resolved or dismissed). Resolved and dismissed are final. Every change is written to moderation_log.",
	"action":         "Applied when the report becomes resolved: hide_content / remove_content set the content's status (remove_content deletes a chat message); suspend_user suspends target_user and ends their sessions. Hiding fits posts, comments and products only. A dismissed report takes none.",
	"moderator":      "Set by the server to the moderator who last changed the status or action through the API. Stays empty when a superuser acts (moderation_log names them).",
	"moderator_note": "Your note on the decision; it is copied into the moderation_log row.",
	"resolved_at":    "Set by the server when the report becomes resolved or dismissed.",
}

// dashboardLogHelp is the dashboard help text of each moderation_log field.
var dashboardLogHelp = map[string]string{
	"report":      "The report this row records; empty for a moderator's direct change of a post's, comment's or product's status.",
	"actor":       "Who acted: users/<id> or _superusers/<id>; empty for the system (auto-hide).",
	"from_status": "Report statuses for a report change; content statuses (published, hidden, removed) for a content change.",
	"to_status":   "Report statuses for a report change; content statuses (published, hidden, removed) for a content change.",
	"action":      "The report's action, or what a direct status change did (hide_content, remove_content, none).",
}

// dashboardReportPresentable are the reports fields a relation to a report shows in the dashboard.
var dashboardReportPresentable = []string{"target_type", "target_id", "status"}

func init() {
	m.Register(func(app core.App) error {
		return dashboardModeration(app, true)
	}, func(app core.App) error {
		return dashboardModeration(app, false)
	})
}

func dashboardModeration(app core.App, up bool) error {
	reports, err := app.FindCollectionByNameOrId("reports")
	if err != nil {
		return err
	}
	for name, help := range dashboardReportHelp {
		if !up {
			help = ""
		}
		dashboardSetField(reports.Fields.GetByName(name), help, nil)
	}
	for _, name := range dashboardReportPresentable {
		// target_id was presentable from the start
		presentable := up || name == "target_id"
		dashboardSetField(reports.Fields.GetByName(name), dashboardHelpOf(name, up), &presentable)
	}
	if err := app.Save(reports); err != nil {
		return err
	}

	log, err := app.FindCollectionByNameOrId("moderation_log")
	if err != nil {
		return err
	}
	for name, help := range dashboardLogHelp {
		if !up {
			help = ""
		}
		dashboardSetField(log.Fields.GetByName(name), help, nil)
	}
	return app.Save(log)
}

// dashboardHelpOf is the help text a reports field gets in this direction of the migration.
func dashboardHelpOf(name string, up bool) string {
	if !up {
		return ""
	}
	return dashboardReportHelp[name]
}

// dashboardSetField sets the help text (and, when presentable is not nil, the presentable
// flag) of the field kinds that reports and moderation_log use.
func dashboardSetField(f core.Field, help string, presentable *bool) {
	switch f := f.(type) {
	case *core.TextField:
		f.Help = help
		if presentable != nil {
			f.Presentable = *presentable
		}
	case *core.SelectField:
		f.Help = help
		if presentable != nil {
			f.Presentable = *presentable
		}
	case *core.RelationField:
		f.Help = help
		if presentable != nil {
			f.Presentable = *presentable
		}
	case *core.DateField:
		f.Help = help
		if presentable != nil {
			f.Presentable = *presentable
		}
	}
}
