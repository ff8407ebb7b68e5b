package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// idx_posts_user_status_created covers the "for you" taste query for the latest published posts
// of the people a user follows (extensions/recommend/taste.go): it seeks each followed author's
// published posts and reads their id and created from the index, where idx_posts_user_created
// made it read every post of those authors from the table to test its status (at 100k posts,
// ~3 ms → ~1 ms for a user following 60 people).
func init() {
	m.Register(func(app core.App) error {
		posts, err := app.FindCollectionByNameOrId("posts")
		if err != nil {
			return err
		}
		posts.AddIndex("idx_posts_user_status_created", false, "user, status, created, id", "")
		return app.Save(posts)
	}, func(app core.App) error {
		posts, err := app.FindCollectionByNameOrId("posts")
		if err != nil {
			return err
		}
		posts.RemoveIndex("idx_posts_user_status_created")
		return app.Save(posts)
	})
}
