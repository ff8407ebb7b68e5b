package hooks

import (
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// ownerFields names, per collection, the field that the server sets to the auth user.
var ownerFields = map[string]string{
	collections.Categories:   "user",
	collections.Posts:        "user",
	collections.Comments:     "user",
	collections.Follows:      "follower",
	collections.PostLikes:    "user",
	collections.CommentLikes: "user",
	collections.Products:     "user",
	collections.Reports:      "reporter",
	collections.ChatMessages: "sender",
}

// readOnlyFields are maintained by the server; a member who sends one gets a 400.
var readOnlyFields = map[string][]string{
	collections.Users:     {"role", "status", "followers_count", "following_count", "posts_count", "products_count"},
	collections.Posts:     {"status", "likes_count", "comments_count", "views_count"},
	collections.Comments:  {"status", "likes_count", "replies_count"},
	collections.Products:  {"status", "views_count"},
	collections.Reports:   {"target_user", "moderator", "resolved_at"},
	collections.ChatRooms: {"owner", "is_direct", "last_message_at", "last_message_text"},
}

// readOnlyOnCreate are, in addition to readOnlyFields, set by the server when a record is
// created (a report starts pending, with no action); moderators change them later.
var readOnlyOnCreate = map[string][]string{
	collections.Reports: {"status", "action", "moderator_note"},
}

// createOnlyFields may be given on create but never change afterwards.
var createOnlyFields = map[string][]string{
	collections.Comments:     {"post", "parent"},
	collections.Follows:      {"following"},
	collections.PostLikes:    {"post"},
	collections.CommentLikes: {"comment"},
	collections.Reports:      {"target_type", "target_id", "reason", "description"},
	collections.ChatMessages: {"room", "client_id"},
}

// moderatedCollections are those whose status a moderator may change.
var moderatedCollections = map[string]bool{
	collections.Posts:    true,
	collections.Comments: true,
	collections.Products: true,
}

// serverWritten collections are written only by Tangerine itself (hooks and routes): the
// records API refuses these writes to everyone, superusers included, so that the audit log
// stays append-only and derived rows never disagree with their source.
var serverWritten = map[string]map[string]bool{
	collections.PostTags:      {"create": true, "update": true, "delete": true},
	collections.ModerationLog: {"create": true, "update": true, "delete": true},
	collections.PostViews:     {"create": true, "update": true, "delete": true},
	collections.ChatMessages:  {"update": true},
}

func refuseServerWritten(op string) func(e *core.RecordRequestEvent) error {
	return func(e *core.RecordRequestEvent) error {
		if serverWritten[e.Collection.Name][op] {
			return e.ForbiddenError("Records of this collection are written by the server only.", nil)
		}
		return e.Next()
	}
}

func bindFieldGuards(app core.App) {
	app.OnRecordCreateRequest().BindFunc(refuseServerWritten("create"))
	app.OnRecordUpdateRequest().BindFunc(refuseServerWritten("update"))
	app.OnRecordDeleteRequest().BindFunc(refuseServerWritten("delete"))

	app.OnRecordCreateRequest().BindFunc(func(e *core.RecordRequestEvent) error {
		if err := guardCreate(e); err != nil {
			return err
		}
		return e.Next()
	})
	app.OnRecordUpdateRequest().BindFunc(func(e *core.RecordRequestEvent) error {
		if err := guardUpdate(e); err != nil {
			return err
		}
		return e.Next()
	})
}

// bodyFields returns the field names the client sent, with PocketBase's modifiers
// ("+field", "field+", "field-", "field:autogenerate") stripped.
func bodyFields(e *core.RecordRequestEvent) (map[string]any, error) {
	info, err := e.RequestInfo()
	if err != nil {
		return nil, err
	}
	sent := make(map[string]any, len(info.Body))
	for k, v := range info.Body {
		name := strings.TrimPrefix(k, "+")
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name = name[:i]
		}
		name = strings.TrimRight(name, "+-")
		sent[name] = v
	}
	if e.Request != nil && e.Request.MultipartForm != nil {
		for k := range e.Request.MultipartForm.File {
			name := strings.TrimPrefix(strings.TrimRight(k, "+-"), "+")
			if _, ok := sent[name]; !ok {
				sent[name] = nil
			}
		}
	}
	return sent, nil
}

func fieldError(field, code, message string) error {
	return apis.NewBadRequestError("Failed to validate the submitted data.", validation.Errors{
		field: validation.NewError(code, message),
	})
}

func isSuperuser(e *core.RecordRequestEvent) bool {
	return e.Auth != nil && e.Auth.IsSuperuser()
}

func guardCreate(e *core.RecordRequestEvent) error {
	name := e.Collection.Name
	sent, err := bodyFields(e)
	if err != nil {
		return e.BadRequestError("Failed to read the request body.", err)
	}
	if isSuperuser(e) {
		return nil
	}
	for _, f := range append(readOnlyFields[name], readOnlyOnCreate[name]...) {
		if _, ok := sent[f]; ok {
			return fieldError(f, "validation_read_only", "This field is set by the server.")
		}
	}
	if owner := ownerFields[name]; owner != "" {
		if e.Auth == nil {
			// the collection's create rule answers unauthenticated requests
			return nil
		}
		if v, ok := sent[owner]; ok {
			if s, _ := v.(string); s != "" && s != e.Auth.Id {
				return fieldError(owner, "validation_not_auth_user", "Must be empty or the id of the authenticated user.")
			}
		}
		e.Record.Set(owner, e.Auth.Id)
	}
	return nil
}

func guardUpdate(e *core.RecordRequestEvent) error {
	name := e.Collection.Name
	sent, err := bodyFields(e)
	if err != nil {
		return e.BadRequestError("Failed to read the request body.", err)
	}
	if isSuperuser(e) {
		return nil
	}
	original := e.Record.Original()
	changed := func(f string) bool {
		return e.Record.GetString(f) != original.GetString(f)
	}

	isModerator := e.Auth != nil && e.Auth.GetString("role") == collections.RoleModerator
	if moderatedCollections[name] && isModerator && original.GetString("user") != e.Auth.Id {
		// a moderator acting on someone else's content may only change its status
		for f := range sent {
			if f != "status" {
				return fieldError(f, "validation_moderator_status_only", "Moderators can only change the status of other members' content.")
			}
		}
		return nil
	}

	for _, f := range readOnlyFields[name] {
		if _, ok := sent[f]; !ok {
			continue
		}
		if f == "status" && moderatedCollections[name] && isModerator {
			continue
		}
		return fieldError(f, "validation_read_only", "This field is set by the server.")
	}
	for _, f := range createOnlyFields[name] {
		if _, ok := sent[f]; ok && changed(f) {
			return fieldError(f, "validation_immutable", "This field cannot change after create.")
		}
	}
	if owner := ownerFields[name]; owner != "" {
		if _, ok := sent[owner]; ok && changed(owner) {
			return fieldError(owner, "validation_immutable", "The owner of a record cannot change.")
		}
	}
	return nil
}
