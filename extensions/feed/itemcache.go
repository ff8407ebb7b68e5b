package feed

import (
	"bytes"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/internal/jsonenc"
)

// itemCache keeps the rendered JSON of recently served posts (as templates without their
// expand and liked values) and of their authors, so that a home page served by the in-memory
// index usually reads nothing but the caller's likes from the database. Reading 21 post rows
// and their authors by id was most of a page's cost: about 100 B-tree descents.
//
// Freshness comes from the feed's change log, which the index applies before every page:
//   - a post's entry is dropped by every change of the post except an update that changes
//     views_count without bumping `updated` (the views route's increment, one per viewer and
//     post every 30 minutes, the most frequent write of all); every save through PocketBase
//     (which bumps `updated`), every like, comment, status change and delete, by any process
//     or by plain SQL, is logged;
//   - an author's entry is dropped by every change of their user row, counters included;
//   - every entry also expires TTL after it was read (Config.ItemTTL), which bounds how far
//     behind views_count can be.
//
// A page renders the same bytes from the cache as from the rows (the tests compare them).
//
// An entry is only stored when no change it could miss was applied meanwhile: the query that
// reads the rows also reads the change log's position in the same snapshot (snap), and the
// entry is stored only if the cache has not applied changes past snap. A change past snap is
// then applied later and drops the entry.
//
// Memory is bounded by the bytes the entries hold (Config.ItemCacheMB), not by their number:
// a post's JSON ranges from a few hundred bytes to tens of kilobytes. When an entry does not
// fit, the expired entries go first, then random ones, down to 90% of the budget.
type itemCache struct {
	ttl    time.Duration
	budget int64     // most bytes held
	base   time.Time // expiry times are nanoseconds since base (monotonic)

	mu      sync.RWMutex
	seq     int64         // the change log position whose changes have been applied
	enc     *itemEncoders // the encoders the entries were rendered with
	posts   map[string]*cachedPost
	authors map[string]*cachedAuthor
	used    int64 // bytes held by the entries (their size())

	hits, misses atomic.Int64 // posts found and not found (tests, metrics)
}

// cachedPost is a published post's rendered template.
type cachedPost struct {
	tmpl    itemTemplate
	author  string // the author's id (posts.user); "" when the post has none
	created string // the post's created, as the page cursor writes it
	expires int64  // itemCache.now() after which the entry is not served
}

// entryOverhead approximates what an entry costs beyond its byte slices: the map slot, the
// key, the struct.
const entryOverhead = 128

func (e *cachedPost) size() int64 {
	return int64(len(e.tmpl.json)+len(e.author)+len(e.created)) + entryOverhead
}

// cachedAuthor is an author's rendered JSON, as anyone sees it and as they see themselves
// (with their email).
type cachedAuthor struct {
	public, own []byte
	expires     int64
}

func (e *cachedAuthor) size() int64 { return int64(len(e.public)+len(e.own)) + entryOverhead }

func newItemCache(budget int64, ttl time.Duration) *itemCache {
	return &itemCache{
		ttl:     ttl,
		budget:  budget,
		base:    time.Now(),
		posts:   map[string]*cachedPost{},
		authors: map[string]*cachedAuthor{},
	}
}

// now is the cache's clock: nanoseconds since it was made, immune to wall clock steps.
func (c *itemCache) now() int64 { return int64(time.Since(c.base)) }

// reset empties the cache and sets its change log position (a load of the index).
func (c *itemCache) reset(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq = seq
	c.clearLocked()
}

func (c *itemCache) clearLocked() {
	clear(c.posts)
	clear(c.authors)
	c.used = 0
}

func (c *itemCache) dropPost(id string) {
	if e := c.posts[id]; e != nil {
		c.used -= e.size()
		delete(c.posts, id)
	}
}

func (c *itemCache) dropAuthor(id string) {
	if e := c.authors[id]; e != nil {
		c.used -= e.size()
		delete(c.authors, id)
	}
}

// invalidate drops the entries that changes touch and advances the position to seq.
func (c *itemCache) invalidate(changes []change, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range changes {
		ch := &changes[i]
		switch ch.kind {
		case "p", "c":
			c.dropPost(ch.oldId.String)
			c.dropPost(ch.newId.String)
		case "u":
			c.dropAuthor(ch.oldId.String)
			c.dropAuthor(ch.newId.String)
		}
	}
	c.seq = max(c.seq, seq)
}

// lookup fills posts[i] with the entry of ids[i] (nil: not cached, expired or rendered by
// other encoders).
func (c *itemCache) lookup(enc *itemEncoders, ids []string, posts []*cachedPost, now int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	same := c.enc == enc
	var hits int64
	for i, id := range ids {
		posts[i] = nil
		if !same {
			continue
		}
		if e := c.posts[id]; e != nil && e.expires > now {
			posts[i] = e
			hits++
		}
	}
	c.hits.Add(hits)
	c.misses.Add(int64(len(ids)) - hits)
}

// lookupAuthors fills authors[i] with the entry of the author of posts[i] (nil: none needed,
// or not cached).
func (c *itemCache) lookupAuthors(enc *itemEncoders, posts []*cachedPost, authors []*cachedAuthor, now int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, p := range posts {
		authors[i] = nil
		if p == nil || p.author == "" || c.enc != enc {
			continue
		}
		if e := c.authors[p.author]; e != nil && e.expires > now {
			authors[i] = e
		}
	}
}

// store adds the entries read at change log position snap, unless changes past snap have
// been applied (they may have changed what was read), or the encoders changed meanwhile.
func (c *itemCache) store(enc *itemEncoders, snap int64, posts map[string]*cachedPost, authors map[string]*cachedAuthor) {
	if len(posts) == 0 && len(authors) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seq > snap {
		return
	}
	if c.enc != enc {
		c.enc = enc
		c.clearLocked()
	}
	var add int64
	for id, e := range posts {
		c.dropPost(id)
		add += e.size()
	}
	for id, e := range authors {
		c.dropAuthor(id)
		add += e.size()
	}
	if c.used+add > c.budget {
		c.evictLocked(c.budget*9/10 - add)
	}
	for id, e := range posts {
		c.posts[id] = e
		c.used += e.size()
	}
	for id, e := range authors {
		c.authors[id] = e
		c.used += e.size()
	}
}

// evictLocked drops expired entries, then random ones (Go's map order is random), until at
// most target bytes are held.
func (c *itemCache) evictLocked(target int64) {
	now := c.now()
	for id, e := range c.posts {
		if e.expires <= now {
			c.dropPost(id)
		}
	}
	for id, e := range c.authors {
		if e.expires <= now {
			c.dropAuthor(id)
		}
	}
	for id := range c.posts {
		if c.used <= target {
			return
		}
		c.dropPost(id)
	}
	for id := range c.authors {
		if c.used <= target {
			return
		}
		c.dropAuthor(id)
	}
}

// cachedScratch is runCachedPage's reusable memory (pageSink.scratch).
type cachedScratch struct {
	ids     []string
	posts   []*cachedPost
	authors []*cachedAuthor
	liked   []string
}

func (x *cachedScratch) clear() {
	clear(x.posts)
	clear(x.authors)
	x.ids, x.posts, x.authors, x.liked = x.ids[:0], x.posts[:0], x.authors[:0], x.liked[:0]
}

// runCachedPage is runPage for the home feed's in-memory keys with the item cache: a page
// reads the caller's likes among its posts, and the rows of the posts and authors that the
// cache does not hold (one query each, when any).
func runCachedPage(app core.App, q keyQuery, p page, s *pageSink) error {
	c, x := q.items, &s.scratch
	after := p.after
	for {
		need := p.limit + 1 - s.n
		keys, err := q.mem(after, need)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		x.ids = x.ids[:0]
		for _, k := range keys {
			x.ids = append(x.ids, k.id)
		}
		x.posts = slices.Grow(x.posts[:0], len(keys))[:len(keys)]
		x.authors = slices.Grow(x.authors[:0], len(keys))[:len(keys)]
		now := c.now()
		c.lookup(s.enc, x.ids, x.posts, now)
		if err := c.fillPosts(app, s, now); err != nil {
			return err
		}
		c.lookupAuthors(s.enc, x.posts, x.authors, now)
		if err := c.fillAuthors(app, s, now); err != nil {
			return err
		}
		x.liked = x.liked[:0]
		err = app.DB().NewQuery("SELECT [[post]] FROM {{" + collections.PostLikes + "}}" +
			" WHERE [[user]] = " + unplanned("viewer") + " AND [[post]] IN (SELECT [[value]] FROM json_each({:keys}))").
			Bind(dbx.Params{"viewer": s.viewer, "keys": idsJSON(x.ids)}).Column(&x.liked)
		if err != nil {
			return err
		}

		for i, k := range keys {
			e := x.posts[i]
			if e == nil {
				continue // deleted or no longer published since the index's catch-up
			}
			if s.n == p.limit {
				s.more = true
				return nil
			}
			s.n++
			if s.n == p.limit {
				s.next = cursor{Created: e.created, Id: k.id}
			}
			if s.n > 1 {
				s.buf = append(s.buf, ',')
			}
			var author []byte
			if a := x.authors[i]; a != nil {
				author = a.public
				if e.author == s.viewer {
					author = a.own
				}
			}
			s.buf = appendItem(s.buf, &e.tmpl, author, slices.Contains(x.liked, k.id))
		}
		if len(keys) < need {
			return nil
		}
		last := keys[len(keys)-1]
		after = &cursor{Created: formatKeyTime(last.ms), Id: last.id}
	}
}

// snapshotSeq is a select column: the change log's position in the query's own snapshot.
const snapshotSeq = "(SELECT [[seq]] FROM sqlite_sequence WHERE [[name]] = '" + changeLogTable + "')"

// fillPosts reads the rows of the page's posts that the cache lacks (s.scratch.posts[i] nil)
// with their authors, renders them and stores them. A post that is gone or not published
// stays nil.
func (c *itemCache) fillPosts(app core.App, s *pageSink, now int64) error {
	x, enc := &s.scratch, s.enc
	var missing []string
	for i, e := range x.posts {
		if e == nil {
			missing = append(missing, x.ids[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := app.DB().NewQuery("SELECT " + snapshotSeq + ", p.[[status]], p.[[created]], p.[[id]], p.[[user]], " +
		enc.postCols + ", " + enc.authorCols +
		" FROM {{" + enc.posts.Name + "}} p LEFT JOIN {{" + enc.users.Name + "}} u ON u.[[id]] = p.[[user]]" +
		" WHERE p.[[id]] IN (SELECT [[value]] FROM json_each({:keys}))").
		Bind(dbx.Params{"keys": idsJSON(missing)}).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	const fixed = 5 // snapshot seq, status, created, id, user
	nPost, nAuthor := len(enc.post.fields), len(enc.author.fields)
	cols, dest := rawRow(fixed + nPost + nAuthor)
	var snap int64
	var buf []byte
	posts := make(map[string]*cachedPost, len(missing))
	authors := map[string]*cachedAuthor{}
	expires := now + int64(c.ttl)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		snap, _ = strconv.ParseInt(string(cols[0]), 10, 64)
		if string(cols[1]) != collections.StatusPublished {
			continue
		}
		created := cursorTime(cols[2])
		tmpl, ok, err := enc.post.appendTemplate(buf[:0], cols[fixed:fixed+nPost])
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("feed: the posts encoder has no expand or liked key")
		}
		buf = tmpl.json[:0]
		tmpl.json = bytes.Clone(tmpl.json) // the entry holds no spare capacity
		// the author is the post's user even when their row is missing now: a row that
		// appears later is not logged, so it must not be cached as absent
		e := &cachedPost{tmpl: tmpl, author: string(cols[4]), created: created, expires: expires}
		authorCols := cols[fixed+nPost:]
		if id := authorCols[enc.author.idCol]; id != nil && authors[string(id)] == nil {
			a, err := renderAuthor(enc, authorCols, expires)
			if err != nil {
				return err
			}
			authors[string(id)] = a
		}
		posts[string(cols[3])] = e
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, e := range x.posts {
		if e == nil {
			x.posts[i] = posts[x.ids[i]]
		}
	}
	c.store(enc, snap, posts, authors)
	return nil
}

// fillAuthors reads the authors of cached posts that the cache lacks.
func (c *itemCache) fillAuthors(app core.App, s *pageSink, now int64) error {
	x, enc := &s.scratch, s.enc
	var missing []string
	for i, e := range x.posts {
		if e != nil && e.author != "" && x.authors[i] == nil && !slices.Contains(missing, e.author) {
			missing = append(missing, e.author)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := app.DB().NewQuery("SELECT " + snapshotSeq + ", " + enc.authorCols +
		" FROM {{" + enc.users.Name + "}} u WHERE u.[[id]] IN (SELECT [[value]] FROM json_each({:keys}))").
		Bind(dbx.Params{"keys": idsJSON(missing)}).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, dest := rawRow(1 + len(enc.author.fields))
	var snap int64
	authors := make(map[string]*cachedAuthor, len(missing))
	expires := now + int64(c.ttl)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		snap, _ = strconv.ParseInt(string(cols[0]), 10, 64)
		a, err := renderAuthor(enc, cols[1:], expires)
		if err != nil {
			return err
		}
		authors[string(cols[1+enc.author.idCol])] = a
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, e := range x.posts {
		if e != nil && x.authors[i] == nil && e.author != "" {
			x.authors[i] = authors[e.author] // nil: the author is gone; the item has "expand": {}
		}
	}
	c.store(enc, snap, nil, authors)
	return nil
}

func renderAuthor(enc *itemEncoders, cols []sql.RawBytes, expires int64) (*cachedAuthor, error) {
	b, err := enc.author.appendRecord(make([]byte, 0, 2048), cols, &itemExtras{liked: -1})
	if err != nil {
		return nil, err
	}
	public := bytes.Clone(b)
	b, err = enc.author.appendRecord(b[:0], cols, &itemExtras{authorMail: true, liked: -1})
	if err != nil {
		return nil, err
	}
	return &cachedAuthor{public: public, own: bytes.Clone(b), expires: expires}, nil
}

// idsJSON is ids as a JSON array, for json_each (see keysWhere).
func idsJSON(ids []string) string {
	b := make([]byte, 0, len(ids)*18+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, id)
	}
	return string(append(b, ']'))
}
