package feed

import (
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/collections"
)

// keyQuery builds the SQL of one plan's page: the rowid and the (created, id) key of the
// posts in the page, newest first, at most {:lim} rows, strictly after the cursor when there
// is one. Every plan selects `rid`, `kc` and `ki` and orders by `kc DESC, ki DESC`.
//
// statusChecked says whether the query itself keeps only published posts. The merge of the
// followed authors' indexes does not: their (user, created, id) index holds no status, and
// reading each candidate's row to test it is what made the merge expensive; the page query
// tests the status of the few rows it returns instead, and asks for more when hidden posts
// left the page short.
//
// mem, when set, replaces build: the page's keys come from the home feed's in-memory index
// (at most lim, strictly after the cursor), and the query only reads their rows.
//
// items, with mem, is the home feed's item cache: pages that the fast encoders render take
// their items from it (runCachedPage).
type keyQuery struct {
	build         func(after *cursor) (string, dbx.Params)
	mem           func(after *cursor, lim int) ([]postKey, error)
	items         *itemCache
	statusChecked bool
}

// keysWhere is the WHERE clause of a page whose keys are known: their rows, by id.
//
// The ids travel as one JSON array parameter rather than one parameter each: the text is then
// the same for every page (the statement cache keeps one statement), and SQLite does not
// re-plan it for every new set of ids, which it does for an IN list of bound values once
// ANALYZE has sampled the id index (STAT4).
func keysWhere(keys []postKey) (string, dbx.Params) {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	return " WHERE p.[[id]] IN (SELECT [[value]] FROM json_each({:keys}))", dbx.Params{"keys": idsJSON(ids)}
}

// unplanned is the bound parameter name as an expression whose value the query planner does
// not look up in ANALYZE's STAT4 samples. A parameter compared with an indexed column makes
// SQLite re-prepare the statement for every new value, to plan with that value's statistics
// (PocketBase's nightly PRAGMA optimize keeps the samples current); for an equality on a
// column of many distinct values, such as a user id, the plan never changes, and the
// re-prepare cost as much as the query itself (the home feed's likes lookup: 30 µs with it,
// 16 µs without).
func unplanned(param string) string {
	return "({:" + param + "} || '')"
}

// cursorTest is the row-value keyset test of a page after the first. SQLite uses it as an
// index range, where the equivalent OR form can make it scan the table once ANALYZE
// statistics exist (and PocketBase runs PRAGMA optimize nightly).
func cursorTest(createdCol, idCol string, after *cursor, params dbx.Params) string {
	if after == nil {
		return ""
	}
	params["c"], params["i"] = after.Created, after.Id
	return " AND (" + createdCol + ", " + idCol + ") < ({:c}, {:i})"
}

// latestKeys walks the (status, created, id) index: the latest feed.
func latestKeys() keyQuery {
	return keyQuery{statusChecked: true, build: func(after *cursor) (string, dbx.Params) {
		params := dbx.Params{"published": collections.StatusPublished}
		return "SELECT p.[[rowid]] AS [[rid]], p.[[created]] AS [[kc]], p.[[id]] AS [[ki]] FROM {{posts}} p" +
			" WHERE p.[[status]] = {:published}" + cursorTest("p.[[created]]", "p.[[id]]", after, params) +
			" ORDER BY p.[[created]] DESC, p.[[id]] DESC LIMIT {:lim}", params
	}}
}

// tagKeys walks post_tags' (tag, created, post) index and joins the posts for their status.
// The status test is written with a unary plus, which keeps the planner off the status index.
func tagKeys(tag string) keyQuery {
	return keyQuery{statusChecked: true, build: func(after *cursor) (string, dbx.Params) {
		params := dbx.Params{"published": collections.StatusPublished, "tag": tag}
		return "SELECT p.[[rowid]] AS [[rid]], t.[[created]] AS [[kc]], t.[[post]] AS [[ki]]" +
			" FROM {{post_tags}} t INNER JOIN {{posts}} p ON p.[[id]] = t.[[post]]" +
			" WHERE t.[[tag]] = {:tag} AND +p.[[status]] = {:published}" + cursorTest("t.[[created]]", "t.[[post]]", after, params) +
			" ORDER BY t.[[created]] DESC, t.[[post]] DESC LIMIT {:lim}", params
	}}
}

// mergeKeys walks the (user, created, id) index of each followed author and of the user:
// only the index (it covers the rowid and the key), the status is tested on the page's rows.
func mergeKeys(me string) keyQuery {
	return keyQuery{statusChecked: false, build: func(after *cursor) (string, dbx.Params) {
		params := dbx.Params{"me": me}
		return "SELECT p.[[rowid]] AS [[rid]], p.[[created]] AS [[kc]], p.[[id]] AS [[ki]] FROM {{posts}} p" +
			" WHERE p.[[user]] IN (SELECT [[following]] FROM {{follows}} WHERE [[follower]] = {:me} UNION ALL SELECT {:me})" +
			cursorTest("p.[[created]]", "p.[[id]]", after, params) +
			" ORDER BY p.[[created]] DESC, p.[[id]] DESC LIMIT {:lim}", params
	}}
}

// walkKeys walks the global (status, created, id) index newest first, down to floor, and
// keeps the posts of the user and of the authors they follow (an indexed EXISTS probe).
func walkKeys(me, floor string) keyQuery {
	return keyQuery{statusChecked: true, build: func(after *cursor) (string, dbx.Params) {
		params := dbx.Params{"me": me, "floor": floor, "published": collections.StatusPublished}
		return "SELECT p.[[rowid]] AS [[rid]], p.[[created]] AS [[kc]], p.[[id]] AS [[ki]] FROM {{posts}} p" +
			" WHERE p.[[status]] = {:published} AND p.[[created]] >= {:floor}" +
			" AND (p.[[user]] = {:me} OR EXISTS (SELECT 1 FROM {{follows}} WHERE [[follower]] = {:me} AND [[following]] = p.[[user]]))" +
			cursorTest("p.[[created]]", "p.[[id]]", after, params) +
			" ORDER BY p.[[created]] DESC, p.[[id]] DESC LIMIT {:lim}", params
	}}
}

// itemEncoders is the JSON encoders of the posts and of their authors for the current
// collection models, with the select lists of the page query.
type itemEncoders struct {
	posts, users *core.Collection
	post, author *recordEncoder
	postCols     string // p.`a`, p.`b`, ...
	authorCols   string // u.`a`, u.`b`, ...
	ok           bool   // false: the records API's path must render the items
}

// encoders returns the item encoders of the current posts and users collections, rebuilt
// when either collection changes.
func (f *plugin) encoders(app core.App) (*itemEncoders, error) {
	posts, err := app.FindCachedCollectionByNameOrId(collections.Posts)
	if err != nil {
		return nil, err
	}
	rel, _ := posts.Fields.GetByName("user").(*core.RelationField)
	if rel == nil {
		return &itemEncoders{posts: posts}, nil
	}
	users, err := app.FindCachedCollectionByNameOrId(rel.CollectionId)
	if err != nil {
		return nil, err
	}
	if enc := f.enc.Load(); enc != nil && enc.posts == posts && enc.users == users {
		return enc, nil
	}
	enc := &itemEncoders{posts: posts, users: users}
	// the fast path reproduces what apis.EnrichRecords does for a single relation to a
	// collection anyone may view, whose emails only their owners see
	if !rel.IsMultiple() && users.ViewRule != nil && *users.ViewRule == "" &&
		(users.ManageRule == nil || *users.ManageRule == "") {
		post, ok1 := newRecordEncoder(posts,
			outKey{kind: outExpand, key: jsonKey(core.FieldNameExpand)},
			outKey{kind: outLiked, key: jsonKey("liked")})
		author, ok2 := newRecordEncoder(users)
		if ok1 && ok2 {
			enc.post, enc.author, enc.ok = post, author, true
			enc.postCols = selectList("p", post)
			enc.authorCols = selectList("u", author)
		}
	}
	f.enc.Store(enc)
	return enc, nil
}

func selectList(alias string, enc *recordEncoder) string {
	cols := make([]string, len(enc.fields))
	for i, fe := range enc.fields {
		cols[i] = alias + ".[[" + fe.name + "]]"
	}
	return strings.Join(cols, ", ")
}

// pageSink receives the rows of a page.
type pageSink struct {
	fast   bool           // encode items (else collect ids for the records API's path)
	enc    *itemEncoders  // fast only
	viewer string         // the auth user's id ("" when anonymous or superuser)
	liked  bool           // add the liked key
	buf    []byte         // fast: the items' JSON, comma separated
	out    []byte         // fast: the response
	ids    []string       // slow: the page's post ids, in order
	n      int            // items in the page (at most limit)
	more   bool           // another page follows
	next   cursor         // the cursor after item n, when more
	extras itemExtras     // scratch
	dest   []any          // scratch
	cols   []sql.RawBytes // scratch

	scratch cachedScratch // runCachedPage's
}

func (s *pageSink) reset() {
	s.buf, s.ids, s.n, s.more = s.buf[:0], s.ids[:0], 0, false
}

// runPage fills s with the page of q after p.after: limit items, and whether more follow.
func runPage(app core.App, q keyQuery, p page, s *pageSink) error {
	if q.mem != nil && q.items != nil && s.fast && s.liked {
		return runCachedPage(app, q, p, s)
	}
	after := p.after
	for {
		need := p.limit + 1 - s.n
		lim := need
		if !q.statusChecked && q.mem == nil {
			lim += need/4 + 4 // room for the hidden posts that the status test drops
		}
		// the key columns (kc, ki), then status, created, id, then the items' columns
		var sel, from, where, order string
		var params dbx.Params
		var memNext *cursor // mem: the key after which the next batch starts; nil: no more keys
		if q.mem != nil {
			keys, err := q.mem(after, lim)
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				return nil
			}
			where, params = keysWhere(keys)
			if len(keys) == lim {
				k := keys[len(keys)-1]
				memNext = &cursor{Created: formatKeyTime(k.ms), Id: k.id}
			}
			sel = "p.[[created]], p.[[id]], p.[[status]], p.[[created]], p.[[id]]"
			from = " FROM {{posts}} p"
			order = " ORDER BY p.[[created]] DESC, p.[[id]] DESC"
		} else {
			var inner string
			inner, params = q.build(after)
			params["lim"] = lim
			sel = "k.[[kc]], k.[[ki]], p.[[status]], p.[[created]], p.[[id]]"
			from = " FROM (" + inner + ") k CROSS JOIN {{posts}} p ON p.[[rowid]] = k.[[rid]]"
			order = " ORDER BY k.[[kc]] DESC, k.[[ki]] DESC"
		}
		if s.fast {
			sel += ", " + s.enc.postCols + ", " + s.enc.authorCols
			from += " LEFT JOIN {{" + s.enc.users.Name + "}} u ON u.[[id]] = p.[[user]]"
			if s.liked {
				params["viewer"] = s.viewer
				sel += ", EXISTS (SELECT 1 FROM {{" + collections.PostLikes + "}} l WHERE l.[[user]] = " + unplanned("viewer") + " AND l.[[post]] = p.[[id]])"
			}
		}
		rows, err := app.DB().NewQuery("SELECT " + sel + from + where + order).Bind(params).Rows()
		if err != nil {
			return err
		}
		read, last, err := s.consume(rows, p.limit)
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if q.mem != nil {
			// rows the index named may be gone or hidden since: the keys decide what is left
			if s.more || memNext == nil {
				return nil
			}
			after = memNext
			continue
		}
		if s.more || q.statusChecked || read < lim {
			return nil
		}
		after = &last
	}
}

// consume reads the rows of one page query; it returns how many rows it read and the key of
// the last one.
func (s *pageSink) consume(rows *dbx.Rows, limit int) (int, cursor, error) {
	const fixed = 5 // kc, ki, status, created, id
	width := fixed
	if s.fast {
		width += len(s.enc.post.fields) + len(s.enc.author.fields)
		if s.liked {
			width++
		}
	}
	if cap(s.cols) < width {
		s.cols, s.dest = rawRow(width)
	}
	cols, dest := s.cols[:width], s.dest[:width] // dest[i] points at cols[i] (rawRow)
	read := 0
	var last cursor
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return read, last, err
		}
		read++
		last = cursor{Created: string(cols[0]), Id: string(cols[1])}
		if string(cols[2]) != collections.StatusPublished {
			continue
		}
		if s.n == limit {
			s.more = true
			return read, last, nil
		}
		s.n++
		if s.n == limit {
			s.next = cursor{Created: cursorTime(cols[3]), Id: string(cols[4])}
		}
		if !s.fast {
			s.ids = append(s.ids, string(cols[4]))
			continue
		}
		if s.n > 1 {
			s.buf = append(s.buf, ',')
		}
		postCols := cols[fixed : fixed+len(s.enc.post.fields)]
		authorCols := cols[fixed+len(postCols) : fixed+len(postCols)+len(s.enc.author.fields)]
		x := &s.extras
		*x = itemExtras{author: s.enc.author, liked: -1}
		if id := authorCols[s.enc.author.idCol]; id != nil { // else the LEFT JOIN found no author
			x.authorCols = authorCols
			x.authorMail = s.viewer != "" && string(id) == s.viewer
		}
		if s.liked {
			x.liked = 0
			if v := cols[width-1]; len(v) == 1 && v[0] == '1' {
				x.liked = 1
			}
		}
		var err error
		if s.buf, err = s.enc.post.appendRecord(s.buf, postCols, x); err != nil {
			return read, last, err
		}
	}
	return read, last, rows.Err()
}

// cursorTime is a post's created column as a page cursor writes it: types.DateTime's text.
func cursorTime(raw []byte) string {
	if isCanonicalDate(raw) {
		return string(raw)
	}
	dt, _ := types.ParseDateTime(string(raw))
	return dt.String()
}

// rawRow returns n columns to scan a row into as they are, and the Scan destinations.
func rawRow(n int) ([]sql.RawBytes, []any) {
	cols := make([]sql.RawBytes, n)
	dest := make([]any, n)
	for i := range cols {
		dest[i] = &cols[i]
	}
	return cols, dest
}

// encCache holds the current item encoders.
type encCache = atomic.Pointer[itemEncoders]

var sinkPool = sync.Pool{New: func() any { return new(pageSink) }}

// release returns s to the pool, unless its buffers grew large (pages of long posts).
func (s *pageSink) release() {
	if cap(s.buf)+cap(s.out) > 1<<20 {
		return
	}
	s.enc, s.ids = nil, s.ids[:0]
	s.scratch.clear()
	sinkPool.Put(s)
}
