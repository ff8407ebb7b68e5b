package feed

import (
	"database/sql"
	"errors"
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
	"github.com/tangerine-market/tangerine/internal/jsonenc"
)

// feedHome lists the published posts of the accounts the auth user follows, and their own.
//
// The in-memory index (homeindex.go) serves it once loaded. Before that, or without it, two
// SQL plans, chosen by how many posts the followed authors have between them:
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
	if q, ok := f.homeFromIndex(e.App, me, p); ok {
		return f.respondPage(e, p, q)
	}

	many, err := f.manyCandidates(e.App, me)
	if err != nil {
		return e.InternalServerError("Failed to load the feed.", err)
	}
	merge := mergeKeys(me)
	if !many {
		return f.respondPage(e, p, merge)
	}

	top := time.Now().UTC()
	if p.after != nil {
		if t, err := types.ParseDateTime(p.after.Created); err == nil {
			top = t.Time()
		}
	}
	walk := walkKeys(me, top.Add(-f.cfg.WalkWindow).Format(types.DefaultDateLayout))
	// a window that held less than a page: the merge finds the rest, however old
	return f.respondPage(e, p, walk, merge)
}

// homeFromIndex returns the home feed's plan through the in-memory index, once it is loaded
// and caught up with the change log; false: use the SQL plans.
func (f *plugin) homeFromIndex(app core.App, me string, p page) (keyQuery, bool) {
	h := f.home
	if h == nil || !h.ready.Load() {
		return keyQuery{}, false
	}
	if p.after != nil {
		if _, ok := cursorKey(p.after); !ok {
			return keyQuery{}, false
		}
	}
	if !f.catchUpHome(app) {
		return keyQuery{}, false
	}
	follows, err := h.follows(me)
	if err != nil {
		app.Logger().Warn("Failed to read a follow list; serving the home feed from SQL", "error", err)
		return keyQuery{}, false
	}
	h.served.Add(1)
	return keyQuery{items: h.items, mem: func(after *cursor, lim int) ([]postKey, error) {
		var from *postKey
		if after != nil {
			k, ok := cursorKey(after)
			if !ok {
				return nil, errBadCursor
			}
			from = &k
		}
		return h.page(me, follows, from, lim), nil
	}}, true
}

// catchUpHome applies the change log to the home feed index; false when it could not, and the
// feed must serve from SQL. An index that fell behind the log's clean-up loads again.
func (f *plugin) catchUpHome(app core.App) bool {
	h := f.home
	err := h.catchUp()
	switch {
	case err == nil:
		return true
	case errors.Is(err, errBehind):
		if h.ready.CompareAndSwap(true, false) {
			app.Logger().Warn("The home feed index fell behind its change log; loading it again")
			h.start()
		}
	default:
		app.Logger().Warn("Failed to read the feed's change log; serving the home feed from SQL", "error", err)
	}
	return false
}

// manyCandidates reports whether the user and the accounts they follow have more than
// MergeLimit posts between them. It stops reading at the first author past the limit.
func (f *plugin) manyCandidates(app core.App, me string) (bool, error) {
	rows, err := app.DB().NewQuery(`
		SELECT [[u.posts_count]] FROM {{users}} u
		WHERE [[u.id]] = {:me} OR [[u.id]] IN (SELECT [[following]] FROM {{follows}} WHERE [[follower]] = {:me})`,
	).Bind(dbx.Params{"me": me}).Rows()
	if err != nil {
		return false, err
	}
	defer rows.Close()
	sum := 0.0
	for rows.Next() {
		var n sql.NullFloat64
		if err := rows.Scan(&n); err != nil {
			return false, err
		}
		if sum += n.Float64; sum > float64(f.cfg.MergeLimit) {
			return true, nil
		}
	}
	return false, rows.Err()
}

// feedLatest lists every published post, newest first.
func (f *plugin) feedLatest(e *core.RequestEvent) error {
	p, err := parsePage(e)
	if err != nil {
		return err
	}
	return f.respondPage(e, p, latestKeys())
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
	return f.respondPage(e, p, tagKeys(tag))
}

// respondPage answers with the page of the first plan that fills one (or of the last plan):
// limit published posts newest first by (created, id), and the cursor of the next page when
// another follows.
//
// The items are written from the columns of the page query itself (posts, authors, liked),
// as the records API would export them. Requests that ask for more than that (?expand=,
// ?fields=), superusers (who see hidden fields and every email) and apps with OnRecordEnrich
// hooks get the records API's own rendering instead: the page's records loaded,
// apis.EnrichRecords, markLiked.
func (f *plugin) respondPage(e *core.RequestEvent, p page, plans ...keyQuery) error {
	s := sinkPool.Get().(*pageSink)
	defer s.release()
	*s = pageSink{buf: s.buf[:0], out: s.out[:0], dest: s.dest, cols: s.cols, ids: s.ids[:0], scratch: s.scratch}
	superuser := e.Auth != nil && e.Auth.IsSuperuser()
	if e.Auth != nil && !superuser {
		s.viewer, s.liked = e.Auth.Id, true
	}
	if q := e.Request.URL.Query(); !superuser && q.Get("expand") == "" && q.Get("fields") == "" &&
		e.App.OnRecordEnrich().Length() == 0 {
		enc, err := f.encoders(e.App)
		if err != nil {
			return e.InternalServerError("Failed to load the feed.", err)
		}
		s.fast, s.enc = enc.ok, enc
	}

	for i, q := range plans {
		s.reset()
		if err := runPage(e.App, q, p, s); err != nil {
			return e.InternalServerError("Failed to load the feed.", err)
		}
		if s.more || i == len(plans)-1 {
			break
		}
	}

	var next *string
	if s.more {
		c := s.next.encode()
		next = &c
	}
	if !s.fast {
		return f.respondRecords(e, s.ids, next)
	}

	b := append(s.out[:0], `{"items":[`...)
	b = append(b, s.buf...)
	b = append(b, `],"next_cursor":`...)
	if next != nil {
		b = jsonenc.AppendString(b, *next)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, '}')
	s.out = b
	if e.Response.Header().Get("Content-Type") == "" {
		e.Response.Header().Set("Content-Type", "application/json")
	}
	e.Response.WriteHeader(http.StatusOK)
	_, err := e.Response.Write(b)
	return err
}

// respondRecords answers with the posts ids (in that order) rendered by the records API's
// code: the records, their authors expanded by apis.EnrichRecords (with ?expand= and the
// visibility rules), liked, and ?fields= applied by e.JSON.
func (f *plugin) respondRecords(e *core.RequestEvent, ids []string, next *string) error {
	records := []*core.Record{}
	if len(ids) > 0 {
		found, err := e.App.FindRecordsByIds(collections.Posts, ids)
		if err != nil {
			return e.InternalServerError("Failed to load the feed.", err)
		}
		byId := make(map[string]*core.Record, len(found))
		for _, r := range found {
			byId[r.Id] = r
		}
		for _, id := range ids {
			if r := byId[id]; r != nil {
				records = append(records, r)
			}
		}
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
