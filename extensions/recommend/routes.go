package recommend

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/hooks"
)

// bindRoutes binds the recommendation and search routes.
func (p *Plugin) bindRoutes(se *core.ServeEvent) {
	se.Router.GET("/api/recommend/posts", p.recommendPosts)
	se.Router.GET("/api/recommend/products", p.recommendProducts)
	se.Router.GET("/api/posts/{id}/similar", p.similar(collections.Posts, KindPost))
	se.Router.GET("/api/products/{id}/similar", p.similar(collections.Products, KindProduct))
	se.Router.GET("/api/search", p.search)
}

// member returns the auth user's id, or "" for guests and superusers (who get the
// non-personal lists).
func member(e *core.RequestEvent) string {
	if e.Auth == nil || e.Auth.IsSuperuser() {
		return ""
	}
	return e.Auth.Id
}

// recommendPosts is GET /api/recommend/posts: the auth user's "for you" posts, cursor-paginated.
func (p *Plugin) recommendPosts(e *core.RequestEvent) error {
	pg, err := parsePage(e, true)
	if err != nil {
		return e.BadRequestError("Invalid list parameters.", err)
	}
	me := member(e)
	gen, list, err := p.listFor("recommend:posts:"+me, pg.after, func() ([]string, error) {
		return p.forYou(e.Request.Context(), me, collections.Posts, KindPost)
	})
	if err != nil {
		return e.InternalServerError("Failed to load recommendations.", err)
	}
	offset := 0
	if pg.after != nil {
		offset = pg.after.offset
	}
	return p.respond(e, collections.Posts, list.ids, gen, offset, pg.limit, true)
}

// recommendProducts is GET /api/recommend/products: one page of "for you" products.
func (p *Plugin) recommendProducts(e *core.RequestEvent) error {
	pg, err := parsePage(e, false)
	if err != nil {
		return e.BadRequestError("Invalid list parameters.", err)
	}
	ids, err := p.forYou(e.Request.Context(), member(e), collections.Products, KindProduct)
	if err != nil {
		return e.InternalServerError("Failed to load recommendations.", err)
	}
	return p.respond(e, collections.Products, ids, "", 0, pg.limit, false)
}

// forYou ranks the items of one kind for a user: the nearest published items to their taste
// (their own and, for posts, those they liked or viewed left out), blended with recency, then
// the popular ones they have not seen. Guests and users without signals get the popular list.
func (p *Plugin) forYou(ctx context.Context, me, collection, kind string) ([]string, error) {
	popular, err := p.popularIds(ctx, collection)
	if err != nil {
		return nil, err
	}
	if me == "" {
		return popular, nil
	}
	t, err := p.tasteOf(ctx, me)
	if err != nil {
		return nil, err
	}

	var ids []string
	seen := map[string]bool{}
	if t.vec != nil {
		opts := SearchOptions{K: p.cfg.Candidates, Kind: kind, ExcludeOwners: []string{me}, OnlyPublished: true}
		if kind == KindPost {
			for id := range t.exclude {
				if len(opts.ExcludeIds) == 1000 {
					break // the rest are dropped below
				}
				opts.ExcludeIds = append(opts.ExcludeIds, id)
			}
		}
		hits, err := p.cfg.Store.Search(ctx, t.vec, opts)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		type scored struct {
			id    string
			score float64
		}
		ranked := make([]scored, 0, len(hits))
		for _, h := range hits {
			if t.exclude[h.Id] {
				continue
			}
			// note: similarity decides; recency only breaks near-ties towards fresh items
			ranked = append(ranked, scored{h.Id, float64(h.Score) * (0.85 + 0.15*p.decay(now.Sub(time.Unix(h.CreatedUnix, 0))))})
		}
		slices.SortStableFunc(ranked, func(a, b scored) int {
			switch {
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
			return 0
		})
		ids = make([]string, len(ranked), len(ranked)+len(popular))
		for i, r := range ranked {
			ids[i] = r.id
			seen[r.id] = true
		}
	}
	// popular items fill in after the personal ones (all of it at cold start); the owner test
	// needs the records, so it happens when the page is loaded
	for _, id := range popular {
		if !seen[id] && !t.exclude[id] {
			ids = append(ids, id)
		}
	}
	return p.dropOwn(ctx, collection, me, ids)
}

// dropOwn removes the user's own items from ids, keeping the order.
func (p *Plugin) dropOwn(ctx context.Context, collection, me string, ids []string) ([]string, error) {
	var own []string
	err := p.app.DB().Select("id").WithContext(ctx).From(collection).
		Where(dbx.HashExp{"user": me}).Column(&own)
	if err != nil {
		return nil, err
	}
	if len(own) == 0 {
		return ids, nil
	}
	mine := make(map[string]bool, len(own))
	for _, id := range own {
		mine[id] = true
	}
	return slices.DeleteFunc(ids, func(id string) bool { return mine[id] }), nil
}

// similar is GET /api/{posts,products}/{id}/similar: the nearest published items of the same
// kind. An item the caller may not see is a 404.
func (p *Plugin) similar(collection, kind string) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		pg, err := parsePage(e, false)
		if err != nil {
			return e.BadRequestError("Invalid list parameters.", err)
		}
		r, err := e.App.FindRecordById(collection, e.Request.PathValue("id"))
		if err != nil || !hooks.CanSee(e.Auth, r) {
			return e.NotFoundError("", err)
		}
		ids, err := p.similarIds(e.Request.Context(), r, kind, pg.limit)
		if err != nil {
			return e.InternalServerError("Failed to load similar items.", err)
		}
		return p.respond(e, collection, ids, "", 0, pg.limit, false)
	}
}

// similarIds returns the ids of the items nearest to r, best first, over-fetched so that the
// request-time filter still leaves limit of them.
func (p *Plugin) similarIds(ctx context.Context, r *core.Record, kind string, limit int) ([]string, error) {
	vecs, err := p.storedVectors(ctx, []string{r.Id})
	if err != nil {
		return nil, err
	}
	vec := vecs[r.Id].vec
	if vec == nil { // not indexed yet
		ectx, cancel := context.WithTimeout(ctx, p.cfg.EmbedTimeout)
		defer cancel()
		out, err := p.cfg.Embedder.Embed(ectx, []string{ItemText(r)})
		if err != nil {
			return nil, err
		}
		vec = out[0]
	}
	hits, err := p.cfg.Store.Search(ctx, vec, SearchOptions{
		K: min(MaxSearchK, 3*limit+10), Kind: kind, ExcludeIds: []string{r.Id}, OnlyPublished: true,
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Id
	}
	return ids, nil
}

// respond answers one page of ids (ranked, from offset) with the visible records, as the
// records API would show them (authors expanded for posts and products). With paged, a further
// page gets a next_cursor into the cached list gen.
func (p *Plugin) respond(e *core.RequestEvent, collection string, ids []string, gen string, offset, limit int, paged bool) error {
	records, next, err := pageOf(e.App, collection, ids, offset, limit)
	if err != nil {
		return e.InternalServerError("Failed to load the items.", err)
	}
	var expand []string
	if collection != collections.Users {
		expand = []string{"user"}
	}
	if err := apis.EnrichRecords(e, records, expand...); err != nil {
		return e.InternalServerError("Failed to load the items.", err)
	}
	resp := listResponse{Items: records}
	if paged && next >= 0 {
		s := cursor{gen: gen, offset: next}.encode()
		resp.NextCursor = &s
	}
	return e.JSON(http.StatusOK, resp)
}
