package recommend

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/collections"
)

// Weights of the taste signals (before time decay).
const (
	weightLike    = 1.0
	weightView    = 0.7 // times the dwell factor
	weightFollow  = 0.3
	weightOwn     = 0.5
	dwellSaturate = 60.0 // seconds of dwell time that count as a full view

	maxExcluded = 5000 // liked and viewed posts remembered for exclusion

	// tasteRetryTTL is the longest a taste is cached when some of its signals had no vector
	// yet (not indexed), or when it may have been computed before a change of the user's
	// signals.
	tasteRetryTTL = time.Minute
)

// tasteSignals are the collections whose records are a user's taste signals, with the field
// naming that user.
var tasteSignals = map[string]string{
	collections.PostLikes: "user",
	collections.PostViews: "user",
	collections.Follows:   "follower",
	collections.Posts:     "user",
	collections.Products:  "user",
}

// bindTasteHooks drops a user's cached taste once a change of their signals is committed: a
// like, view, follow, post or product created, changed or deleted.
func (p *Plugin) bindTasteHooks() {
	for name, field := range tasteSignals {
		forget := func(e *core.RecordEvent) error {
			p.forgetTaste(e.Record.GetString(field))
			if orig := e.Record.Original(); orig != nil {
				if prev := orig.GetString(field); prev != e.Record.GetString(field) {
					p.forgetTaste(prev)
				}
			}
			return e.Next()
		}
		p.app.OnRecordAfterCreateSuccess(name).BindFunc(forget)
		p.app.OnRecordAfterUpdateSuccess(name).BindFunc(forget)
		p.app.OnRecordAfterDeleteSuccess(name).BindFunc(forget)
	}
}

// forgetTaste drops userId's cached taste and notes when, so that a taste computed from
// signals read before the change is not cached for long (see tasteOf).
func (p *Plugin) forgetTaste(userId string) {
	if userId == "" {
		return
	}
	p.tasteChanged.put(userId, time.Now())
	p.tastes.remove(userId)
}

// taste is what a user's recommendations start from.
type taste struct {
	// vec is the normalised, decayed, weighted mean of the vectors of what the user liked,
	// viewed, follows and wrote; nil at cold start.
	vec []float32
	// exclude holds the posts the user liked or viewed.
	exclude map[string]bool
}

// signal is one item that tells something about a user's taste.
type signal struct {
	id     string
	weight float64
	at     time.Time
}

// tasteOf returns the user's taste, cached for TasteTTL.
func (p *Plugin) tasteOf(ctx context.Context, userId string) (*taste, error) {
	if t, ok := p.tastes.get(userId); ok {
		return t, nil
	}
	start := time.Now()
	signals, exclude, err := p.signals(ctx, userId)
	if err != nil {
		return nil, err
	}
	t := &taste{exclude: exclude}

	ids := make([]string, 0, len(signals))
	for _, s := range signals {
		ids = append(ids, s.id)
	}
	now := time.Now()
	sum := make([]float64, p.cfg.Store.Dim())
	var total float64
	found := 0
	add := func(i int, v []float32) {
		found++
		s := signals[i]
		if s.weight <= 0 {
			return
		}
		w := s.weight * p.decay(now.Sub(s.at))
		for i, x := range v {
			sum[i] += w * float64(x)
		}
		total += w
	}
	if r, ok := p.cfg.Store.(VectorReader); ok {
		// the embedded store: read in place, no SQLite query nor vector decoding
		if err := r.ReadVectors(ctx, ids, add); err != nil {
			return nil, err
		}
	} else {
		vecs, err := p.storedVectors(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i, id := range ids {
			if v, ok := vecs[id]; ok {
				add(i, v.vec)
			}
		}
	}
	if total > 0 {
		t.vec = make([]float32, len(sum))
		for i, x := range sum {
			t.vec[i] = float32(x)
		}
		Normalize(t.vec)
	}
	changed, ok := p.tasteChanged.get(userId)
	switch {
	case ok && !changed.Before(start):
		// the user's signals changed while they were read: do not keep this taste
	case found < len(signals):
		// some signals are not indexed yet (a post just written or liked): try again soon
		p.tastes.putFor(userId, t, tasteRetryTTL)
	default:
		p.tastes.put(userId, t)
	}
	return t, nil
}

// decay is 1 now, 1/2 after HalfLife, 1/4 after two.
func (p *Plugin) decay(age time.Duration) float64 {
	if age < 0 {
		age = 0
	}
	return math.Exp2(-float64(age) / float64(p.cfg.HalfLife))
}

// dwellWeight maps a dwell time to 0..1: log-shaped, a full view at dwellSaturate seconds.
func dwellWeight(ms float64) float64 {
	return min(1, math.Log1p(ms/1000)/math.Log1p(dwellSaturate))
}

// signals loads a user's likes, views, followed authors' recent posts and own posts and products,
// and the set of posts they liked or viewed.
func (p *Plugin) signals(ctx context.Context, userId string) ([]signal, map[string]bool, error) {
	db := p.app.DB()
	exclude := map[string]bool{}
	var out []signal

	var likes []struct {
		Post    string `db:"post"`
		Created string `db:"created"`
	}
	err := db.Select("post", "created").WithContext(ctx).From(collections.PostLikes).
		Where(dbx.HashExp{"user": userId}).OrderBy("created DESC").Limit(maxExcluded).All(&likes)
	if err != nil {
		return nil, nil, err
	}
	for i, l := range likes {
		exclude[l.Post] = true
		if i < 200 {
			out = append(out, signal{l.Post, weightLike, parseTime(l.Created)})
		}
	}

	var views []struct {
		Post    string  `db:"post"`
		Dwell   float64 `db:"dwell"`
		Created string  `db:"created"`
	}
	err = db.NewQuery(`
		SELECT [[post]], MAX([[dwell_ms]]) AS [[dwell]], MAX([[created]]) AS [[created]]
		FROM {{post_views}} WHERE [[user]] = {:user}
		GROUP BY [[post]] ORDER BY [[created]] DESC LIMIT {:n}`,
	).WithContext(ctx).Bind(dbx.Params{"user": userId, "n": maxExcluded}).All(&views)
	if err != nil {
		return nil, nil, err
	}
	for i, v := range views {
		exclude[v.Post] = true
		if i < 300 {
			out = append(out, signal{v.Post, weightView * dwellWeight(v.Dwell), parseTime(v.Created)})
		}
	}

	type idAt struct {
		Id      string `db:"id"`
		Created string `db:"created"`
	}
	var followed, ownPosts, ownProducts []idAt
	err = db.NewQuery(`
		SELECT [[id]], [[created]] FROM {{posts}}
		WHERE [[user]] IN (SELECT [[following]] FROM {{follows}} WHERE [[follower]] = {:user})
		  AND [[status]] = 'published'
		ORDER BY [[created]] DESC LIMIT 100`,
	).WithContext(ctx).Bind(dbx.Params{"user": userId}).All(&followed)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range followed {
		out = append(out, signal{f.Id, weightFollow, parseTime(f.Created)})
	}
	err = db.Select("id", "created").WithContext(ctx).From(collections.Posts).Where(dbx.HashExp{"user": userId}).
		OrderBy("created DESC").Limit(50).All(&ownPosts)
	if err != nil {
		return nil, nil, err
	}
	err = db.Select("id", "created").WithContext(ctx).From(collections.Products).Where(dbx.HashExp{"user": userId}).
		OrderBy("created DESC").Limit(20).All(&ownProducts)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range slices.Concat(ownPosts, ownProducts) {
		out = append(out, signal{o.Id, weightOwn, parseTime(o.Created)})
	}
	return out, exclude, nil
}

func parseTime(s string) time.Time {
	dt, err := types.ParseDateTime(s)
	if err != nil {
		return time.Time{}
	}
	return dt.Time()
}

// popularIds returns the cold-start list of a collection (posts or products): the newest
// PopularPool published items ranked by engagement (likes, comments and views, log-damped) with
// time decay. It is shared by every user and cached briefly.
func (p *Plugin) popularIds(ctx context.Context, collection string) ([]string, error) {
	if ids, ok := p.popular.get(collection); ok {
		return ids, nil
	}
	engagement := "[[views_count]] * 0.2"
	if collection == collections.Posts {
		engagement = "[[likes_count]] + 2 * [[comments_count]] + [[views_count]] * 0.2"
	}
	var rows []struct {
		Id         string  `db:"id"`
		Created    string  `db:"created"`
		Engagement float64 `db:"engagement"`
	}
	err := p.app.DB().NewQuery(
		"SELECT [[id]], [[created]], " + engagement + " AS [[engagement]] FROM {{" + collection + "}} " +
			"WHERE [[status]] = 'published' ORDER BY [[created]] DESC LIMIT {:n}",
	).WithContext(ctx).Bind(dbx.Params{"n": p.cfg.PopularPool}).All(&rows)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	scores := make(map[string]float64, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Id
		scores[r.Id] = (1 + math.Log1p(r.Engagement)) * p.decay(now.Sub(parseTime(r.Created)))
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
	p.popular.put(collection, ids)
	return ids, nil
}
