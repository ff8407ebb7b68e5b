package recommend

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

const (
	maxQueryLength = 200
	rrfK           = 60 // reciprocal rank fusion constant (Cormack et al.)
	keywordHits    = 500
	handleHits     = 50
)

// searchKinds maps ?type= to the collection and index kind searched.
var searchKinds = map[string]string{
	collections.Posts:    KindPost,
	collections.Products: KindProduct,
	collections.Users:    kindUser,
}

var handlePrefix = regexp.MustCompile(`^[a-z0-9_.]{1,30}$`)

// search is GET /api/search?q=&type=posts|products|users: keyword matches (FTS5 over analysed
// text, see [Analyze]) and, for posts and products, vector matches, merged by reciprocal rank
// fusion; users are found by handle prefix and by handle, name and bio words. Searching users
// needs an auth user, like listing them through the records API.
func (p *Plugin) search(e *core.RequestEvent) error {
	query := e.Request.URL.Query()
	q := strings.TrimSpace(query.Get("q"))
	typ := query.Get("type")

	pg, err := parsePage(e, true)
	errs := validation.Errors{}
	if ve, ok := err.(validation.Errors); ok {
		errs = ve
	}
	switch n := utf8.RuneCountInString(q); {
	case n == 0:
		errs["q"] = validation.NewError("validation_required", "Cannot be blank.")
	case n > maxQueryLength:
		errs["q"] = validation.NewError("validation_length_too_long", "Must be at most 200 characters.")
	}
	if _, ok := searchKinds[typ]; !ok {
		errs["type"] = validation.NewError("validation_invalid_type", "Must be posts, products or users.")
	}
	if len(errs) > 0 {
		return e.BadRequestError("Invalid search.", errs)
	}
	if typ == collections.Users && e.Auth == nil {
		return e.UnauthorizedError("Searching users requires an auth user.", nil)
	}

	gen, list, err := p.listFor("search:"+typ+":"+strings.ToLower(q), pg.after, func() ([]string, error) {
		return p.searchIds(e.Request.Context(), typ, q)
	})
	if err != nil {
		return e.InternalServerError("Failed to search.", err)
	}
	offset := 0
	if pg.after != nil {
		offset = pg.after.offset
	}
	return p.respond(e, typ, list.ids, gen, offset, pg.limit, true)
}

// searchIds ranks the ids of one collection for a query.
func (p *Plugin) searchIds(ctx context.Context, collection, q string) ([]string, error) {
	kind := searchKinds[collection]
	keyword, err := p.keywordIds(ctx, kind, q)
	if err != nil {
		return nil, err
	}
	if kind == kindUser {
		handle := strings.TrimPrefix(strings.ToLower(q), "@")
		var prefixed []string
		if handlePrefix.MatchString(handle) {
			err := p.app.DB().NewQuery(`
				SELECT [[id]] FROM {{users}} WHERE [[handle]] >= {:h} AND [[handle]] < {:end}
				ORDER BY [[handle]] LIMIT {:n}`,
			).WithContext(ctx).Bind(dbx.Params{"h": handle, "end": handle + "~", "n": handleHits}).Column(&prefixed)
			if err != nil {
				return nil, err
			}
		}
		return fuse(prefixed, keyword), nil
	}

	vecs, err := p.cfg.Embedder.Embed(ctx, []string{q})
	if err != nil {
		return nil, err
	}
	hits, err := p.cfg.Store.Search(ctx, vecs[0], SearchOptions{K: p.cfg.Candidates, Kind: kind, OnlyPublished: true})
	if err != nil {
		return nil, err
	}
	var similar []string
	for _, h := range hits {
		if h.Score >= p.cfg.SearchMinScore {
			similar = append(similar, h.Id)
		}
	}
	return fuse(keyword, similar), nil
}

// keywordIds returns the published items of kind whose analysed text matches every word of q
// (any word when none matches all), best BM25 first.
func (p *Plugin) keywordIds(ctx context.Context, kind, q string) ([]string, error) {
	for _, and := range []bool{true, false} {
		match, ok := matchQuery(q, and)
		if !ok {
			return nil, nil
		}
		var ids []string
		err := p.app.DB().NewQuery(`
			SELECT d.[[rid]] FROM {{_recommend_fts}}
			JOIN {{_recommend_docs}} d ON d.[[doc]] = {{_recommend_fts}}.[[rowid]]
			WHERE {{_recommend_fts}} MATCH {:match} AND d.[[kind]] = {:kind} AND d.[[published]] = 1
			ORDER BY bm25({{_recommend_fts}}) LIMIT {:n}`,
		).WithContext(ctx).Bind(dbx.Params{"match": match, "kind": kind, "n": keywordHits}).Column(&ids)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			return ids, nil
		}
	}
	return nil, nil
}

// fuse merges rankings by reciprocal rank fusion: each id scores the sum of 1/(rrfK + rank)
// over the lists it appears in. Ties keep the order of first appearance.
func fuse(lists ...[]string) []string {
	scores := map[string]float64{}
	var ids []string
	for _, l := range lists {
		for rank, id := range l {
			if _, ok := scores[id]; !ok {
				ids = append(ids, id)
			}
			scores[id] += 1 / float64(rrfK+rank+1)
		}
	}
	slices.SortStableFunc(ids, func(a, b string) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	return ids
}
