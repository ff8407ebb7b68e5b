package hooks

import (
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

func bindCommentHooks(app core.App) {
	app.OnRecordCreateRequest(collections.Comments).BindFunc(func(e *core.RecordRequestEvent) error {
		post, ok := findVisible(e.App, e.Auth, collections.Posts, e.Record.GetString("post"))
		if !ok {
			if e.Record.GetString("post") == "" {
				return e.Next() // the required-field validation names it
			}
			return e.NotFoundError("", nil)
		}
		if post.GetString("status") != collections.StatusPublished && !isSuperuser(e) {
			return fieldError("post", "validation_post_not_published", "Comments are closed on a post that is not published.")
		}
		return e.Next()
	})

	// a reply hangs under a top-level comment of the same post; checked at the model level so
	// that the dashboard keeps the same shape
	app.OnRecordValidate(collections.Comments).BindFunc(func(e *core.RecordEvent) error {
		parentId := e.Record.GetString("parent")
		if parentId == "" {
			return e.Next()
		}
		invalid := func(msg string) error {
			return validation.Errors{"parent": validation.NewError("validation_invalid_parent", msg)}
		}
		if parentId == e.Record.Id {
			return invalid("A comment cannot reply to itself.")
		}
		parent, err := e.App.FindRecordById(collections.Comments, parentId)
		if err != nil {
			return invalid("The parent comment does not exist.")
		}
		if parent.GetString("parent") != "" {
			return invalid("Replies can only be made to top-level comments.")
		}
		if parent.GetString("post") != e.Record.GetString("post") {
			return invalid("The parent comment belongs to another post.")
		}
		return e.Next()
	})
}
