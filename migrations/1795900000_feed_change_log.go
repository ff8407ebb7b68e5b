package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// _feed_changes: the feed's change log. Triggers on posts and follows record every change that
// can move a post into or out of a home feed, whoever writes it (this process, another
// `tangerine serve` on the same pb_data, the dashboard, plain SQL), in the writer's own
// transaction; each process's in-memory home feed index (extensions/feed/homeindex.go) reads
// the rows past the last one it applied before it answers, and a cron job drops rows older
// than an hour.
//   - kind 'p' (a post): its old and new (id, user, created), and its new status; old_* are
//     NULL for an insert, new_* for a delete.
//   - kind 'f' (a follow): old_user and new_user are the follower before and after.
//
// seq is AUTOINCREMENT: SQLite has one writer at a time, so rows become visible in seq order
// with no gaps, and a reader that finds a gap knows it fell behind the clean-up.
func init() {
	m.Register(func(app core.App) error {
		_, err := app.DB().NewQuery(`
			CREATE TABLE IF NOT EXISTS {{_feed_changes}} (
				[[seq]]         INTEGER PRIMARY KEY AUTOINCREMENT,
				[[kind]]        TEXT NOT NULL,
				[[old_id]]      TEXT,
				[[old_user]]    TEXT,
				[[old_created]] TEXT,
				[[new_id]]      TEXT,
				[[new_user]]    TEXT,
				[[new_created]] TEXT,
				[[new_status]]  TEXT,
				[[at]]          INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
			);
			CREATE INDEX IF NOT EXISTS {{idx__feed_changes_at}} ON {{_feed_changes}} ([[at]]);

			CREATE TRIGGER IF NOT EXISTS {{_feed_posts_insert}} AFTER INSERT ON {{posts}} BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[new_id]], [[new_user]], [[new_created]], [[new_status]])
				VALUES ('p', NEW.[[id]], NEW.[[user]], NEW.[[created]], NEW.[[status]]);
			END;
			CREATE TRIGGER IF NOT EXISTS {{_feed_posts_update}} AFTER UPDATE ON {{posts}}
			WHEN OLD.[[id]] IS NOT NEW.[[id]] OR OLD.[[user]] IS NOT NEW.[[user]]
				OR OLD.[[created]] IS NOT NEW.[[created]] OR OLD.[[status]] IS NOT NEW.[[status]] BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[old_id]], [[old_user]], [[old_created]], [[new_id]], [[new_user]], [[new_created]], [[new_status]])
				VALUES ('p', OLD.[[id]], OLD.[[user]], OLD.[[created]], NEW.[[id]], NEW.[[user]], NEW.[[created]], NEW.[[status]]);
			END;
			CREATE TRIGGER IF NOT EXISTS {{_feed_posts_delete}} AFTER DELETE ON {{posts}} BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[old_id]], [[old_user]], [[old_created]])
				VALUES ('p', OLD.[[id]], OLD.[[user]], OLD.[[created]]);
			END;

			CREATE TRIGGER IF NOT EXISTS {{_feed_follows_insert}} AFTER INSERT ON {{follows}} BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[new_user]]) VALUES ('f', NEW.[[follower]]);
			END;
			CREATE TRIGGER IF NOT EXISTS {{_feed_follows_update}} AFTER UPDATE ON {{follows}}
			WHEN OLD.[[follower]] IS NOT NEW.[[follower]] OR OLD.[[following]] IS NOT NEW.[[following]] BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[old_user]], [[new_user]]) VALUES ('f', OLD.[[follower]], NEW.[[follower]]);
			END;
			CREATE TRIGGER IF NOT EXISTS {{_feed_follows_delete}} AFTER DELETE ON {{follows}} BEGIN
				INSERT INTO {{_feed_changes}} ([[kind]], [[old_user]]) VALUES ('f', OLD.[[follower]]);
			END;
		`).Execute()
		return err
	}, func(app core.App) error {
		_, err := app.DB().NewQuery(`
			DROP TRIGGER IF EXISTS {{_feed_posts_insert}};
			DROP TRIGGER IF EXISTS {{_feed_posts_update}};
			DROP TRIGGER IF EXISTS {{_feed_posts_delete}};
			DROP TRIGGER IF EXISTS {{_feed_follows_insert}};
			DROP TRIGGER IF EXISTS {{_feed_follows_update}};
			DROP TRIGGER IF EXISTS {{_feed_follows_delete}};
			DROP TABLE IF EXISTS {{_feed_changes}};
		`).Execute()
		return err
	})
}
