package feed

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// feedHome lists the published posts of the accounts the auth user follows, and their own.
func (f *plugin) feedHome(e *core.RequestEvent) error {
	p, err := parsePage(e)
	if err != nil {
		return err
	}
	me := e.Auth.Id

	var following int
	if err := e.App.DB().Select("count(*)").From(collections.Follows).
		Where(dbx.HashExp{"follower": me}).Row(&following); err != nil {
		return e.InternalServerError("Failed to load the feed.", err)
	}

	q := e.App.RecordQuery(collections.Posts)
	if following < f.cfg.FanoutThreshold {
		// few authors: walk each author's (user, created) index and merge
		q = q.AndWhere(dbx.NewExp(
			"[[posts.user]] IN (SELECT [[following]] FROM {{follows}} WHERE [[follower]] = {:me} UNION ALL SELECT {:me})",
			dbx.Params{"me": me},
		))
		return f.respondPosts(e, q, p, "posts", false)
	}
	// many authors: walk the global newest-first index and keep the followed ones
	q = q.AndWhere(dbx.NewExp(
		"([[posts.user]] = {:me} OR EXISTS (SELECT 1 FROM {{follows}} WHERE [[follower]] = {:me} AND [[following]] = [[posts.user]]))",
		dbx.Params{"me": me},
	))
	return f.respondPosts(e, q, p, "posts", true)
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

// respondPosts pages q (newest first by created, id), keeps published posts, expands the
// authors and marks what the auth user likes. keyTable names the table whose (created, id)
// orders the list: the posts themselves or post_tags, whose created is its post's.
// statusIndex says whether SQLite should walk the (status, created, id) index; when it should
// not, the status test is written with a unary plus, which keeps SQLite's planner off that
// index without a hint it might ignore.
func (f *plugin) respondPosts(e *core.RequestEvent, q *dbx.SelectQuery, p page, keyTable string, statusIndex bool) error {
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
			"("+createdCol+" < {:c} OR ("+createdCol+" = {:c} AND "+idCol+" < {:id}))",
			dbx.Params{"c": p.after.Created, "id": p.after.Id},
		))
	}
	q = q.OrderBy(createdCol+" DESC", idCol+" DESC").Limit(int64(p.limit) + 1)

	records := []*core.Record{}
	if err := q.All(&records); err != nil {
		return e.InternalServerError("Failed to load the feed.", err)
	}

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
