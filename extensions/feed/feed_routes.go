package feed

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/collections"
)

// feedHome lists the published posts of the accounts the auth user follows, and their own.
//
// Two plans, chosen by how many posts the followed authors have between them:
//   - few candidate posts: walk each author's (user, created, id) index and merge; the cost is
//     bounded by the number of candidates, which is small;
//   - many: walk the global (status, created, id) index newest first and keep posts whose
//     author is followed. The followed posts are then dense enough that a page is found after
//     a short walk; the walk is bounded by a time window so that a feed whose followed authors
//     went quiet (or the end of the feed) falls back to the merge instead of reading the whole
//     index.
func (f *plugin) feedHome(e *core.RequestEvent) error {
	p, err := parsePage(e)
	if err != nil {
		return err
	}
	me := e.Auth.Id

	var candidates int
	err = e.App.DB().NewQuery(`
		SELECT COALESCE(SUM([[u.posts_count]]), 0) FROM {{users}} u
		WHERE [[u.id]] = {:me} OR [[u.id]] IN (SELECT [[following]] FROM {{follows}} WHERE [[follower]] = {:me})`,
	).Bind(dbx.Params{"me": me}).Row(&candidates)
	if err != nil {
		return e.InternalServerError("Failed to load the feed.", err)
	}

	merge := func() *dbx.SelectQuery {
		return e.App.RecordQuery(collections.Posts).AndWhere(dbx.NewExp(
			"[[posts.user]] IN (SELECT [[following]] FROM {{follows}} WHERE [[follower]] = {:me} UNION ALL SELECT {:me})",
			dbx.Params{"me": me},
		))
	}
	if candidates <= f.cfg.MergeLimit {
		return f.respondPosts(e, merge(), p, "posts", false)
	}

	top := time.Now().UTC()
	if p.after != nil {
		if t, err := types.ParseDateTime(p.after.Created); err == nil {
			top = t.Time()
		}
	}
	walk := e.App.RecordQuery(collections.Posts).AndWhere(dbx.NewExp(
		"([[posts.user]] = {:me} OR EXISTS (SELECT 1 FROM {{follows}} WHERE [[follower]] = {:me} AND [[following]] = [[posts.user]]))"+
			" AND [[posts.created]] >= {:floor}",
		dbx.Params{"me": me, "floor": top.Add(-f.cfg.WalkWindow).Format(types.DefaultDateLayout)},
	))
	records, err := f.pagePosts(walk, p, "posts", true)
	if err != nil {
		return e.InternalServerError("Failed to load the feed.", err)
	}
	if len(records) <= p.limit {
		// the window held less than a page: the merge finds the rest, however old
		if records, err = f.pagePosts(merge(), p, "posts", false); err != nil {
			return e.InternalServerError("Failed to load the feed.", err)
		}
	}
	return f.respond(e, records, p)
}

// feedLatest lists every published post, newest first.
func (f *plugin) feedLatest(e *core.RequestEvent) error {
	p, err := parsePage(e)
	if err != nil {
		return err
	}
	return f.respondPosts(e, e.App.RecordQuery(collections.Posts), p, "posts", true)
}

// feedTag lists the published posts carrying a tag, newest first, through post_tags.
func (f *plugin) feedTag(e *core.RequestEvent) error {
	p, err := parsePage(e)
	if err != nil {
		return err
	}
	tag := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e.Request.PathValue("tag")), "#"))
	if n := utf8.RuneCountInString(tag); n == 0 || n > 30 {
		return e.BadRequestError("Invalid tag.", validation.Errors{
			"tag": validation.NewError("validation_tag_length", "A tag is 1 to 30 characters long."),
		})
	}
	q := e.App.RecordQuery(collections.Posts).
		InnerJoin("{{post_tags}} t", dbx.NewExp("[[t.post]] = [[posts.id]]")).
		AndWhere(dbx.HashExp{"t.tag": tag})
	return f.respondPosts(e, q, p, "t", false)
}

// respondPosts pages q and answers with the page.
func (f *plugin) respondPosts(e *core.RequestEvent, q *dbx.SelectQuery, p page, keyTable string, statusIndex bool) error {
	records, err := f.pagePosts(q, p, keyTable, statusIndex)
	if err != nil {
		return e.InternalServerError("Failed to load the feed.", err)
	}
	return f.respond(e, records, p)
}

// pagePosts runs q for one page (newest first by created, id; limit+1 rows, so that the caller
// knows whether another page follows), keeping published posts. keyTable names the table whose
// (created, id) orders the list: the posts themselves or post_tags ("t"), whose created is its
// post's. statusIndex says whether SQLite should walk the (status, created, id) index; when it
// should not, the status test is written with a unary plus, which keeps the planner off that
// index. The cursor test is a row-value comparison: SQLite uses it as an index range, where the
// equivalent OR form can make it scan the table once ANALYZE statistics exist (and PocketBase
// runs PRAGMA optimize nightly).
func (f *plugin) pagePosts(q *dbx.SelectQuery, p page, keyTable string, statusIndex bool) ([]*core.Record, error) {
	createdCol, idCol := "[[posts.created]]", "[[posts.id]]"
	if keyTable == "t" {
		createdCol, idCol = "[[t.created]]", "[[t.post]]"
	}
	if statusIndex {
		q = q.AndWhere(dbx.HashExp{"posts.status": collections.StatusPublished})
	} else {
		q = q.AndWhere(dbx.NewExp("+[[posts.status]] = {:published}", dbx.Params{"published": collections.StatusPublished}))
	}
	if p.after != nil {
		q = q.AndWhere(dbx.NewExp(
			"("+createdCol+", "+idCol+") < ({:c}, {:id})",
			dbx.Params{"c": p.after.Created, "id": p.after.Id},
		))
	}
	q = q.OrderBy(createdCol+" DESC", idCol+" DESC").Limit(int64(p.limit) + 1)

	records := []*core.Record{}
	if err := q.All(&records); err != nil {
		return nil, err
	}
	return records, nil
}

// respond trims the page to its limit, expands the authors, marks what the auth user likes and
// writes the list response.
func (f *plugin) respond(e *core.RequestEvent, records []*core.Record, p page) error {
	var next *string
	if len(records) > p.limit {
		records = records[:p.limit]
		last := records[len(records)-1]
		s := cursor{Created: last.GetDateTime("created").String(), Id: last.Id}.encode()
		next = &s
	}

	if err := apis.EnrichRecords(e, records, "user"); err != nil {
		return e.InternalServerError("Failed to load the feed.", err)
	}
	if e.Auth != nil && !e.Auth.IsSuperuser() {
		if err := markLiked(e.App, e.Auth.Id, records); err != nil {
			return e.InternalServerError("Failed to load the feed.", err)
		}
	}
	return e.JSON(http.StatusOK, listResponse{Items: records, NextCursor: next})
}

// markLiked sets the extra key "liked" on each post, with one query for the page.
func markLiked(app core.App, userId string, posts []*core.Record) error {
	if len(posts) == 0 {
		return nil
	}
	ids := make([]any, len(posts))
	for i, r := range posts {
		ids[i] = r.Id
	}
	var liked []string
	err := app.DB().Select("post").From(collections.PostLikes).
		Where(dbx.HashExp{"user": userId}).AndWhere(dbx.In("post", ids...)).Column(&liked)
	if err != nil {
		return err
	}
	set := make(map[string]bool, len(liked))
	for _, id := range liked {
		set[id] = true
	}
	for _, r := range posts {
		r.WithCustomData(true)
		r.Set("liked", set[r.Id])
	}
	return nil
}
