package recommend

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

const (
	defaultLimit = 20
	maxLimit     = 100
	maxOffset    = 1_000_000

	// pageMargin is how many more ids than a page needs pageOf loads at first, for the
	// items hidden or removed since the index last heard of them.
	pageMargin = 4
)

// listResponse is the shape of every custom list route.
type listResponse struct {
	Items      any     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// rankedList is a computed ranking (recommendations, search results) kept for a while so that
// next_cursor pages through the same order. Items are filtered again on every page.
type rankedList struct {
	key string // who and what it ranks; a cursor is only honoured by the same key
	ids []string
}

// cursor is a position in a ranked list: the list's generation and the offset of the next item.
type cursor struct {
	gen    string
	offset int
}

var errBadCursor = errors.New("recommend: malformed cursor")

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte("r1." + c.gen + "." + strconv.Itoa(c.offset)))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errBadCursor
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 || parts[0] != "r1" || len(parts[1]) != 16 {
		return cursor{}, errBadCursor
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return cursor{}, errBadCursor
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 0 || n > maxOffset {
		return cursor{}, errBadCursor
	}
	return cursor{gen: parts[1], offset: n}, nil
}

func newGen() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// page holds the validated ?limit= and ?cursor= of a list request.
type page struct {
	limit int
	after *cursor
}

// parsePage reads ?limit= (1..100, default 20) and, when withCursor, ?cursor=; a bad value is a
// 400 naming it.
func parsePage(e *core.RequestEvent, withCursor bool) (page, error) {
	q := e.Request.URL.Query()
	p := page{limit: defaultLimit}
	errs := validation.Errors{}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			errs["limit"] = validation.NewError("validation_invalid_limit", "Must be an integer from 1 to 100.")
		}
		p.limit = n
	}
	if s := q.Get("cursor"); withCursor && s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			errs["cursor"] = validation.NewError("validation_invalid_cursor", "Must be a next_cursor value from a previous page.")
		}
		p.after = &c
	}
	if len(errs) > 0 {
		return p, errs
	}
	return p, nil
}

// listFor returns the ranked list a cursor points into when it is still cached for the same
// key, else computes, caches and returns a new one (the first page, or an expired cursor: the
// offset then applies to the fresh list).
func (p *Plugin) listFor(key string, after *cursor, compute func() ([]string, error)) (string, *rankedList, error) {
	if after != nil {
		if l, ok := p.lists.get(after.gen); ok && l.key == key {
			return after.gen, l, nil
		}
	}
	ids, err := compute()
	if err != nil {
		return "", nil, err
	}
	l := &rankedList{key: key, ids: ids}
	gen := newGen()
	p.lists.put(gen, l)
	return gen, l, nil
}

// visible reports whether a record may appear in a recommendation or search result: published
// posts and products (checked against the database at request time, so a hidden or removed
// item disappears at once, before the index hears of it) and active users.
func visible(r *core.Record) bool {
	if r.Collection().Name == collections.Users {
		return r.GetString("status") != collections.UserSuspended
	}
	return r.GetString("status") == collections.StatusPublished
}

// pageOf loads the visible records of ids from offset on, at most limit of them, and returns
// them with the offset where the next page starts (-1 when nothing visible is left).
func pageOf(app core.App, collection string, ids []string, offset, limit int) ([]*core.Record, int, error) {
	out := make([]*core.Record, 0, limit)
	pos := offset
	for round := 0; pos < len(ids); round++ {
		// limit+1 visible items make a page and tell whether another follows; most ids are
		// visible (the index filters on status, and own items are dropped before), so the
		// first round loads a few more than that, and the next ones, after a shortfall,
		// twice what is still missing
		need := limit + 1 - len(out)
		n := need + pageMargin
		if round > 0 {
			n = 2*need + 8
		}
		end := min(len(ids), pos+n)
		chunk := ids[pos:end]
		records, err := app.FindRecordsByIds(collection, chunk)
		if err != nil {
			return nil, -1, err
		}
		byId := make(map[string]*core.Record, len(records))
		for _, r := range records {
			byId[r.Id] = r
		}
		for i, id := range chunk {
			r := byId[id]
			if r == nil || !visible(r) {
				continue
			}
			if len(out) == limit {
				return out, pos + i, nil
			}
			out = append(out, r)
		}
		pos = end
	}
	return out, -1, nil
}
