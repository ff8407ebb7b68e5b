package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// More rows in the feed's change log (1795900000_feed_change_log.go), for the home feed's item
// cache (extensions/feed/itemcache.go), which drops a post's or an author's rendered JSON when
// they change:
//   - kind 'c' (a post's content): old_id and new_id are the post. Every update of a post except
//     one that changes views_count without bumping `updated` (the views route's increment, the
//     most frequent write of all, which the cache lets lag by at most its TTL). Saves through
//     PocketBase (which bump `updated`, even when they also write views_count), likes and
//     comments (their counters), and plain SQL edits are all logged.
//   - kind 'u' (a user): old_id and new_id are the user before and after (new_id NULL for a
//     delete). Every update, counters included.
func init() {
	m.Register(func(app core.App) error {
		_, err := app.DB().NewQuery(`
			CREATE TRIGGER IF NOT EXISTS {{_feed_posts_content}} AFTER UPDATE ON {{posts}}
			WHEN OLD.[[views_count]] IS NEW.[[views_count]] OR OLD.[[updated]] IS NOT NEW.[[updated]] BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[old_id]], [[new_id]]) VALUES ('c', OLD.[[id]], NEW.[[id]]);
			END;
			CREATE TRIGGER IF NOT EXISTS {{_feed_users_update}} AFTER UPDATE ON {{users}} BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[old_id]], [[new_id]]) VALUES ('u', OLD.[[id]], NEW.[[id]]);
			END;
			CREATE TRIGGER IF NOT EXISTS {{_feed_users_delete}} AFTER DELETE ON {{users}} BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[old_id]]) VALUES ('u', OLD.[[id]]);
			END;
		`).Execute()
		return err
	}, func(app core.App) error {
		_, err := app.DB().NewQuery(`
			DROP TRIGGER IF EXISTS {{_feed_posts_content}};
			DROP TRIGGER IF EXISTS {{_feed_users_update}};
			DROP TRIGGER IF EXISTS {{_feed_users_delete}};
		`).Execute()
		return err
	})
}
