package feed

import (
	"container/heap"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/collections"
)

// changeLogTable is the feed's change log (migrations/1795900000_feed_change_log.go).
const changeLogTable = "_feed_changes"

// homeIndex is the home feed's in-memory index: the (created, id) key of every published post,
// by author, and a cache of follow lists. A page of the home feed is then a merge of the
// followed authors' key lists in memory, and the database is asked only for the page's rows.
//
// The database stays the source of truth: triggers record every change of posts and follows
// in the change log, whoever makes it, and before each page the index applies the log's rows
// past the last one it applied (one indexed query, shared by the requests that wait for it).
// A post changed in the very instant between that catch-up and the page query is handled by
// the page query itself: it reads each row's status and drops what is no longer published.
//
// Memory: about 40 bytes per published post, plus 8 bytes per cached follow.
type homeIndex struct {
	app   core.App
	items *itemCache // nil: off

	ready  atomic.Bool  // loaded and caught up; until then the feed uses its SQL plans
	loads  atomic.Int64 // completed loads (tests)
	served atomic.Int64 // pages served (tests)
	maxFol int          // most follow lists cached
	mu     sync.RWMutex // guards the fields below
	seq    int64        // the last change log row applied
	byUser map[string]*authorKeys
	fol    map[string][]*authorKeys // follow lists (the followed authors, without the user)
	folGen uint64                   // bumped by every follow change applied
	posts  int

	// the background loads' lifetime: stop cancels them and waits, before the app closes its
	// database (a load still reading then would use a closed handle)
	ctx     context.Context
	cancel  context.CancelFunc
	life    sync.Mutex // guards stopped and loaders.Add
	stopped bool
	loaders sync.WaitGroup
	// tests: called at the start of each load, with the loads' context
	loadStarted func(ctx context.Context)

	syncMu  sync.Mutex   // one catch-up at a time
	arrived atomic.Int64 // catch-up requests so far
	covered int64        // requests up to this number were covered by a finished catch-up (syncMu)
}

// postKey is a post's position in a newest-first feed: (created, id).
type postKey struct {
	ms int64 // created, in ms since the Unix epoch
	id string
}

func (a postKey) cmp(b postKey) int {
	if a.ms != b.ms {
		if a.ms < b.ms {
			return -1
		}
		return 1
	}
	return strings.Compare(a.id, b.id)
}

// authorKeys is one author's published posts, oldest first.
type authorKeys struct {
	keys []postKey
}

func (a *authorKeys) find(k postKey) (int, bool) {
	return slices.BinarySearchFunc(a.keys, k, postKey.cmp)
}

func (a *authorKeys) add(k postKey) bool {
	if n := len(a.keys); n == 0 || a.keys[n-1].cmp(k) < 0 { // the usual case: the newest post
		a.keys = append(a.keys, k)
		return true
	}
	i, found := a.find(k)
	if found {
		return false
	}
	a.keys = slices.Insert(a.keys, i, k)
	return true
}

func (a *authorKeys) remove(k postKey) bool {
	i, found := a.find(k)
	if !found {
		return false
	}
	a.keys = slices.Delete(a.keys, i, i+1)
	return true
}

func parseKeyTime(s string) (int64, bool) {
	dt, err := types.ParseDateTime(s)
	if err != nil || dt.IsZero() {
		return 0, false
	}
	return dt.Time().UnixMilli(), true
}

func formatKeyTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(types.DefaultDateLayout)
}

func newHomeIndex(app core.App, maxFollowLists int, items *itemCache) *homeIndex {
	ctx, cancel := context.WithCancel(context.Background())
	return &homeIndex{app: app, items: items, maxFol: maxFollowLists, ctx: ctx, cancel: cancel}
}

// start loads the index in the background; the feed uses its SQL plans until it is ready.
// After stop it does nothing.
func (h *homeIndex) start() {
	h.life.Lock()
	defer h.life.Unlock()
	if h.stopped {
		return
	}
	h.loaders.Add(1)
	go func() {
		defer h.loaders.Done()
		t := time.Now()
		if err := h.load(); err != nil {
			if h.ctx.Err() != nil {
				return // stopped: the app is shutting down
			}
			if errors.Is(err, errNoChangeLog) {
				h.app.Logger().Warn("The home feed serves from SQL only: its change log is missing (run the migrations)", "error", err)
			} else {
				h.app.Logger().Error("Failed to load the home feed index; the feed serves from SQL", "error", err)
			}
			return
		}
		h.mu.RLock()
		posts, authors := h.posts, len(h.byUser)
		h.mu.RUnlock()
		h.app.Logger().Info("Home feed index loaded", "posts", posts, "authors", authors, "took", time.Since(t).Round(time.Millisecond).String())
	}()
}

// stop cancels a load in progress and waits for it to end. The app's terminate hook calls it,
// before the database is closed.
func (h *homeIndex) stop() {
	h.life.Lock()
	h.stopped = true
	h.life.Unlock()
	h.cancel()
	h.loaders.Wait()
}

// load reads every published post's key and replaces the index with them.
func (h *homeIndex) load() error {
	h.ready.Store(false)
	h.syncMu.Lock()
	defer h.syncMu.Unlock()
	if h.loadStarted != nil {
		h.loadStarted(h.ctx)
	}
	if err := h.ctx.Err(); err != nil {
		return err
	}
	db := h.app.DB()

	// the log position first, the posts second: the changes between the two are then applied
	// twice, which is harmless (applying a change sets the post's final state)
	var seq sql.NullInt64
	err := db.NewQuery("SELECT [[seq]] FROM sqlite_sequence WHERE [[name]] = {:t}").
		WithContext(h.ctx).Bind(dbx.Params{"t": changeLogTable}).Row(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var exists int
	if err := db.NewQuery("SELECT count(*) FROM sqlite_master WHERE [[type]] = 'table' AND [[name]] = {:t}").
		WithContext(h.ctx).Bind(dbx.Params{"t": changeLogTable}).Row(&exists); err != nil {
		return err
	}
	if exists == 0 {
		return errNoChangeLog
	}
	if h.items != nil {
		// the changes since the last position applied may be gone from the log
		h.items.reset(seq.Int64)
	}

	rows, err := db.NewQuery("SELECT [[user]], [[created]], [[id]] FROM {{" + collections.Posts + "}} WHERE [[status]] = {:published}").
		WithContext(h.ctx).Bind(dbx.Params{"published": collections.StatusPublished}).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	byUser := make(map[string]*authorKeys)
	posts := 0
	var user, created, id sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&user, &created, &id); err != nil {
			return err
		}
		ms, ok := parseKeyTime(string(created))
		if !ok {
			continue // no valid created: no place in a newest-first feed (SQL sorts it last)
		}
		a := byUser[string(user)]
		if a == nil {
			a = &authorKeys{}
			byUser[string(user)] = a
		}
		a.keys = append(a.keys, postKey{ms: ms, id: string(id)})
		posts++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range byUser {
		slices.SortFunc(a.keys, postKey.cmp)
		a.keys = slices.Clip(a.keys)
	}

	h.mu.Lock()
	h.byUser, h.fol, h.posts, h.seq = byUser, map[string][]*authorKeys{}, posts, seq.Int64
	h.folGen++
	h.mu.Unlock()
	if err := h.catchUpLocked(db); err != nil {
		return err
	}
	h.loads.Add(1)
	h.ready.Store(true)
	return nil
}

// catchUp applies the change log's rows past the last one applied. Requests that arrive while
// a catch-up runs wait for the next one (which starts after they arrived) rather than each
// running their own.
func (h *homeIndex) catchUp() error {
	me := h.arrived.Add(1)
	h.syncMu.Lock()
	defer h.syncMu.Unlock()
	if h.covered >= me {
		return nil
	}
	upTo := h.arrived.Load()
	if err := h.catchUpLocked(h.app.DB()); err != nil {
		return err
	}
	h.covered = upTo
	return nil
}

type change struct {
	seq                                  int64
	kind                                 string
	oldId, oldUser, oldCreated           sql.NullString
	newId, newUser, newCreated, newState sql.NullString
}

// errNoChangeLog: the database has no change log (its migration did not run); the index never
// loads.
var errNoChangeLog = errors.New("feed: table " + changeLogTable + " not found")

// errBehind: the change log no longer holds the rows past the index's position.
var errBehind = errors.New("feed: the home index fell behind its change log")

func (h *homeIndex) catchUpLocked(db dbx.Builder) error {
	const batch = 2000
	for {
		h.mu.RLock()
		from := h.seq
		h.mu.RUnlock()
		rows, err := db.NewQuery("SELECT [[seq]], [[kind]], [[old_id]], [[old_user]], [[old_created]], [[new_id]], [[new_user]], [[new_created]], [[new_status]]" +
			" FROM {{" + changeLogTable + "}} WHERE [[seq]] > {:from} ORDER BY [[seq]] LIMIT {:lim}").
			Bind(dbx.Params{"from": from, "lim": batch}).Rows()
		if err != nil {
			return err
		}
		var changes []change
		for rows.Next() {
			var c change
			if err := rows.Scan(&c.seq, &c.kind, &c.oldId, &c.oldUser, &c.oldCreated, &c.newId, &c.newUser, &c.newCreated, &c.newState); err != nil {
				rows.Close()
				return err
			}
			changes = append(changes, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		if changes[0].seq != from+1 {
			return errBehind
		}
		last := changes[len(changes)-1].seq
		h.mu.Lock()
		for i := range changes {
			h.apply(&changes[i])
		}
		h.seq = last
		h.mu.Unlock()
		if h.items != nil {
			h.items.invalidate(changes, last)
		}
		if len(changes) < batch {
			return nil
		}
	}
}

// apply applies one change (mu held for writing). It is idempotent: it removes the post's old
// and new keys, then adds the new one if the post is published.
func (h *homeIndex) apply(c *change) {
	switch c.kind {
	case "f":
		delete(h.fol, c.oldUser.String)
		delete(h.fol, c.newUser.String)
		h.folGen++
	case "p":
		if c.oldId.Valid {
			if ms, ok := parseKeyTime(c.oldCreated.String); ok {
				if a := h.byUser[c.oldUser.String]; a != nil && a.remove(postKey{ms, c.oldId.String}) {
					h.posts--
				}
			}
		}
		if !c.newId.Valid {
			return
		}
		ms, ok := parseKeyTime(c.newCreated.String)
		if !ok {
			return
		}
		k := postKey{ms, c.newId.String}
		a := h.author(c.newUser.String)
		if a.remove(k) {
			h.posts--
		}
		if c.newState.String == collections.StatusPublished && a.add(k) {
			h.posts++
		}
	}
}

// author returns the key list of user, creating an empty one (mu held for writing).
func (h *homeIndex) author(user string) *authorKeys {
	a := h.byUser[user]
	if a == nil {
		a = &authorKeys{}
		h.byUser[user] = a
	}
	return a
}

// follows returns the key lists of the authors user follows, from the cache or the database.
func (h *homeIndex) follows(user string) ([]*authorKeys, error) {
	h.mu.RLock()
	list, ok := h.fol[user]
	gen := h.folGen
	h.mu.RUnlock()
	if ok {
		return list, nil
	}
	var ids []string
	err := h.app.DB().NewQuery("SELECT [[following]] FROM {{" + collections.Follows + "}} WHERE [[follower]] = " + unplanned("me")).
		Bind(dbx.Params{"me": user}).Column(&ids)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	list = make([]*authorKeys, 0, len(ids))
	for _, id := range ids {
		if id != user {
			list = append(list, h.author(id))
		}
	}
	// a follow change applied while the list was read may be missing from it: use it for this
	// page, but do not cache it
	if h.folGen == gen {
		if len(h.fol) >= h.maxFol {
			n := 0
			for k := range h.fol { // a random tenth (map order is random)
				delete(h.fol, k)
				if n++; n >= h.maxFol/10+1 {
					break
				}
			}
		}
		h.fol[user] = list
	}
	return list, nil
}

// cursorKey is the key of a page cursor; false if its time is not one.
func cursorKey(c *cursor) (postKey, bool) {
	ms, ok := parseKeyTime(c.Created)
	return postKey{ms, c.Id}, ok
}

// page returns the keys of at most lim posts of user and of the authors in follows, newest
// first, strictly after the cursor key (when after is not nil).
func (h *homeIndex) page(user string, follows []*authorKeys, after *postKey, lim int) []postKey {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := make(mergeHeap, 0, len(follows)+1)
	push := func(a *authorKeys) {
		if a == nil {
			return
		}
		end := len(a.keys)
		if after != nil {
			end, _ = a.find(*after) // keys[:end] are older than the cursor
		}
		if end > 0 {
			m = append(m, mergeHead{a.keys[:end]})
		}
	}
	push(h.byUser[user])
	for _, a := range follows {
		push(a)
	}
	heap.Init(&m)
	out := make([]postKey, 0, lim)
	for len(out) < lim && len(m) > 0 {
		top := &m[0]
		n := len(top.keys)
		out = append(out, top.keys[n-1])
		if n == 1 {
			heap.Pop(&m)
		} else {
			top.keys = top.keys[:n-1]
			heap.Fix(&m, 0)
		}
	}
	return out
}

// mergeHead is what is left of one author's keys; its newest is the last.
type mergeHead struct{ keys []postKey }

// mergeHeap is a max-heap of authors by their newest remaining key.
type mergeHeap []mergeHead

func (m mergeHeap) Len() int { return len(m) }
func (m mergeHeap) Less(i, j int) bool {
	return m[i].keys[len(m[i].keys)-1].cmp(m[j].keys[len(m[j].keys)-1]) > 0
}
func (m mergeHeap) Swap(i, j int) { m[i], m[j] = m[j], m[i] }
func (m *mergeHeap) Push(x any)   { *m = append(*m, x.(mergeHead)) }
func (m *mergeHeap) Pop() any {
	old := *m
	x := old[len(old)-1]
	*m = old[:len(old)-1]
	return x
}

// prune deletes the change log's rows older than keep. A process whose index is further
// behind than that finds a gap and loads again.
func pruneChangeLog(app core.App, keep time.Duration) error {
	_, err := app.DB().NewQuery("DELETE FROM {{" + changeLogTable + "}} WHERE [[at]] < {:before}").
		Bind(dbx.Params{"before": time.Now().Add(-keep).Unix()}).Execute()
	return err
}
