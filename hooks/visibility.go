package hooks

import (
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// CanSee reports whether auth (nil for a guest) may see content (a post, comment or product):
// published content is public; hidden and removed content is visible to its author,
// moderators and superusers. It mirrors the collections' view rules for hooks that must answer
// 404 for what the rules hide.
func CanSee(auth *core.Record, content *core.Record) bool {
	if content.GetString("status") == collections.StatusPublished {
		return true
	}
	if auth == nil {
		return false
	}
	return auth.IsSuperuser() ||
		auth.GetString("role") == collections.RoleModerator ||
		content.GetString("user") == auth.Id
}

// findVisible loads collection/id and returns it only when auth may see it; comments also
// need their post to be visible.
func findVisible(app core.App, auth *core.Record, collection, id string) (*core.Record, bool) {
	if id == "" {
		return nil, false
	}
	r, err := app.FindRecordById(collection, id)
	if err != nil || !CanSee(auth, r) {
		return nil, false
	}
	if collection == collections.Comments {
		if _, ok := findVisible(app, auth, collections.Posts, r.GetString("post")); !ok {
			return nil, false
		}
	}
	return r, true
}
