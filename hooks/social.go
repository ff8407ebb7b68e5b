package hooks

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

func bindSocialHooks(app core.App) {
	app.OnRecordCreateRequest(collections.Follows).BindFunc(func(e *core.RecordRequestEvent) error {
		following := e.Record.GetString("following")
		if following != "" && following == e.Record.GetString("follower") {
			return fieldError("following", "validation_self_follow", "You cannot follow yourself.")
		}
		if exists(e.App, collections.Follows, dbx.HashExp{"follower": e.Record.GetString("follower"), "following": following}) {
			return fieldError("following", "validation_already_following", "You already follow this user.")
		}
		return e.Next()
	})

	likeHook := func(field, target string) func(e *core.RecordRequestEvent) error {
		return func(e *core.RecordRequestEvent) error {
			id := e.Record.GetString(field)
			if id == "" {
				return e.Next()
			}
			if _, ok := findVisible(e.App, e.Auth, target, id); !ok {
				return e.NotFoundError("", nil)
			}
			if exists(e.App, e.Collection.Name, dbx.HashExp{"user": e.Record.GetString("user"), field: id}) {
				return fieldError(field, "validation_already_liked", "You already like this.")
			}
			return e.Next()
		}
	}
	app.OnRecordCreateRequest(collections.PostLikes).BindFunc(likeHook("post", collections.Posts))
	app.OnRecordCreateRequest(collections.CommentLikes).BindFunc(likeHook("comment", collections.Comments))
}

func exists(app core.App, table string, where dbx.Expression) bool {
	var n int
	err := app.DB().Select("count(*)").From(table).Where(where).Limit(1).Row(&n)
	return err == nil && n > 0
}
