package hooks

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

const (
	maxTags      = 10
	maxTagLength = 30
)

func bindTagHooks(app core.App) {
	for _, name := range []string{collections.Posts, collections.Products} {
		app.OnRecordValidate(name).BindFunc(func(e *core.RecordEvent) error {
			tags, err := NormalizeTags(e.Record.Get("tags"))
			if err != nil {
				return validation.Errors{"tags": err}
			}
			e.Record.Set("tags", tags)
			return e.Next()
		})
	}

	// post_tags follows posts in the same transaction, so the tag feed never disagrees with
	// the posts it lists.
	syncPostTags := func(e *core.RecordEvent) error {
		return e.App.RunInTransaction(func(txApp core.App) error {
			e.App = txApp
			if err := e.Next(); err != nil {
				return err
			}
			return writePostTags(txApp, e.Record)
		})
	}
	app.OnRecordCreate(collections.Posts).BindFunc(syncPostTags)
	app.OnRecordUpdate(collections.Posts).BindFunc(syncPostTags)

	// a post's category must be one of its author's own
	app.OnRecordValidate(collections.Posts).BindFunc(func(e *core.RecordEvent) error {
		if id := e.Record.GetString("category"); id != "" {
			var owner string
			err := e.App.DB().Select("user").From(collections.Categories).
				Where(dbx.HashExp{"id": id}).Row(&owner)
			if err != nil || owner != e.Record.GetString("user") {
				return validation.Errors{"category": validation.NewError("validation_not_own_category", "The category must be one of your own.")}
			}
		}
		return e.Next()
	})
}

// NormalizeTags turns a tags value (a JSON array of strings, as stored or as sent) into the
// canonical list: each tag trimmed, stripped of one leading '#', lower-cased, de-duplicated in
// order. It fails when the value is not an array of strings, when a tag is empty or longer
// than 30 characters after normalisation, or when more than 10 tags remain.
func NormalizeTags(value any) ([]string, error) {
	var raw []any
	switch v := value.(type) {
	case nil:
		return []string{}, nil
	case []string:
		for _, s := range v {
			raw = append(raw, s)
		}
	case []any:
		raw = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, validation.NewError("validation_invalid_tags", "Tags must be an array of strings.")
		}
		if string(b) == "null" || string(b) == `""` {
			return []string{}, nil
		}
		var s string
		if json.Unmarshal(b, &s) == nil {
			// a JSON field holds the raw document; unwrap a string that itself encodes JSON
			b = []byte(s)
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, validation.NewError("validation_invalid_tags", "Tags must be an array of strings.")
		}
	}
	out := make([]string, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for _, item := range raw {
		s, ok := item.(string)
		if !ok {
			return nil, validation.NewError("validation_invalid_tags", "Tags must be an array of strings.")
		}
		t := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "#")))
		n := utf8.RuneCountInString(t)
		if n == 0 || n > maxTagLength {
			return nil, validation.NewError("validation_tag_length", "Each tag must be 1 to 30 characters long.")
		}
		if strings.ContainsAny(t, "# \t\r\n,") {
			return nil, validation.NewError("validation_tag_chars", "A tag cannot contain spaces, commas or '#'.")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, validation.NewError("validation_too_many_tags", "At most 10 tags are allowed.")
	}
	return out, nil
}

func writePostTags(txApp core.App, post *core.Record) error {
	tags, err := NormalizeTags(post.Get("tags"))
	if err != nil {
		return err
	}
	_, err = txApp.DB().Delete(collections.PostTags, dbx.HashExp{"post": post.Id}).Execute()
	if err != nil {
		return err
	}
	created := post.GetDateTime("created").String()
	for _, t := range tags {
		_, err := txApp.DB().Insert(collections.PostTags, dbx.Params{
			"id":      core.GenerateDefaultRandomId(),
			"post":    post.Id,
			"tag":     t,
			"created": created,
		}).Execute()
		if err != nil {
			return err
		}
	}
	return nil
}
