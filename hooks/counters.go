package hooks

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// counterFields are the *_count columns of each collection.
var counterFields = map[string][]string{
	collections.Users:    {"followers_count", "following_count", "posts_count", "products_count"},
	collections.Posts:    {"likes_count", "comments_count", "views_count"},
	collections.Comments: {"likes_count", "replies_count"},
	collections.Products: {"views_count"},
}

// counterMove is one counter that a row of collection moves: target.field, where target is
// the record referenced by the row's relation field via.
type counterMove struct {
	via    string // relation field on the row
	target string // collection of the counted record
	field  string // counter column
}

var counterMoves = map[string][]counterMove{
	collections.PostLikes:    {{"post", collections.Posts, "likes_count"}},
	collections.CommentLikes: {{"comment", collections.Comments, "likes_count"}},
	collections.Comments:     {{"post", collections.Posts, "comments_count"}, {"parent", collections.Comments, "replies_count"}},
	collections.Follows:      {{"following", collections.Users, "followers_count"}, {"follower", collections.Users, "following_count"}},
	collections.Posts:        {{"user", collections.Users, "posts_count"}},
	collections.Products:     {{"user", collections.Users, "products_count"}},
}

// bindCounters moves counters in the same transaction as the insert or delete of the row that
// moves them, with UPDATE ... SET n = n + 1 so that concurrent moves never lose one.
func bindCounters(app core.App) {
	for name, moves := range counterMoves {
		app.OnRecordCreate(name).BindFunc(func(e *core.RecordEvent) error {
			return e.App.RunInTransaction(func(txApp core.App) error {
				e.App = txApp
				if err := e.Next(); err != nil {
					return err
				}
				return applyMoves(txApp, e.Record, moves, +1)
			})
		})
		app.OnRecordDelete(name).BindFunc(func(e *core.RecordEvent) error {
			return e.App.RunInTransaction(func(txApp core.App) error {
				e.App = txApp
				if err := e.Next(); err != nil {
					return err
				}
				return applyMoves(txApp, e.Record, moves, -1)
			})
		})
	}
}

func applyMoves(txApp core.App, row *core.Record, moves []counterMove, delta int) error {
	for _, m := range moves {
		id := row.GetString(m.via)
		if id == "" {
			continue
		}
		expr := "[[" + m.field + "]] + 1"
		if delta < 0 {
			expr = "MAX([[" + m.field + "]] - 1, 0)"
		}
		_, err := txApp.DB().NewQuery(
			"UPDATE {{" + m.target + "}} SET [[" + m.field + "]] = " + expr + " WHERE [[id]] = {:id}",
		).Bind(dbx.Params{"id": id}).Execute()
		if err != nil {
			return err
		}
	}
	return nil
}

// bindCounterGuards keeps an update of a record from writing back counter values that were
// loaded before a concurrent like or follow moved them: PocketBase saves every column, so the
// counters are re-read inside the update's transaction unless a superuser changed them on
// purpose.
func bindCounterGuards(app core.App) {
	for name, fields := range counterFields {
		app.OnRecordUpdate(name).BindFunc(func(e *core.RecordEvent) error {
			return e.App.RunInTransaction(func(txApp core.App) error {
				e.App = txApp
				original := e.Record.Original()
				var keep []string
				for _, f := range fields {
					if e.Record.GetInt(f) == original.GetInt(f) {
						keep = append(keep, f)
					}
				}
				if len(keep) > 0 {
					row := dbx.NullStringMap{}
					err := txApp.DB().Select(keep...).From(name).
						Where(dbx.HashExp{"id": e.Record.Id}).One(row)
					if err != nil {
						return err
					}
					for _, f := range keep {
						if v, ok := row[f]; ok && v.Valid {
							e.Record.Set(f, v.String)
						}
					}
				}
				return e.Next()
			})
		})
	}
}
