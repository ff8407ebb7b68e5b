package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/tangerine-market/tangerine/bench/internal/benchkit"
	"log"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"
)

// seedConfig sizes the data set.
type seedConfig struct {
	users       int
	posts       int
	active      float64 // share of users who like and view posts
	likes       int     // likes per active user
	views       int     // post views per active user
	followsMean float64 // mean follows per user (users who follow anyone)
	noFollow    float64 // share of the inactive users who follow nobody either (cold start)
	onTopic     float64 // share of likes, views and own posts in the user's own topics
	zipfS       float64 // popularity of who is followed and who posts: P(rank k) ∝ (v+k)^-s
	zipfV       float64
	days        int // posts are spread over this many past days
	seed        uint64
}

// seedStats describes what was written, for the report.
type seedStats struct {
	users, posts, published, follows, likes, views int
	activeUsers, coldUsers                         int
	duration                                       time.Duration

	// for the relevance check (only when this run seeded the data)
	postTopic  map[string]uint8    // post id → topic
	userTopics map[string][2]uint8 // user id → main and second topic
}

var (
	userCols  = []string{"id", "email", "emailVisibility", "verified", "password", "tokenKey", "name", "avatar", "handle", "bio", "link_1", "link_2", "is_public", "role", "status", "followers_count", "following_count", "posts_count", "products_count", "created", "updated"}
	postCols  = []string{"id", "user", "text", "tags", "images", "category", "status", "likes_count", "comments_count", "views_count", "created", "updated"}
	followCol = []string{"id", "follower", "following", "created", "updated"}
	likeCols  = []string{"id", "user", "post", "created", "updated"}
	viewCols  = []string{"id", "user", "post", "dwell_ms", "created", "updated"}
)

// postText writes a post of topic t the way the evaluation corpus does (three topic words
// among filler, Korean with particles or English in a template), sometimes with a fourth and
// fifth topic word, and returns it with its tags as JSON.
func postText(rng *rand.Rand, t *topic) (string, string) {
	pick := func(words []string, n int) []string {
		perm := rng.Perm(len(words))
		out := make([]string, 0, n)
		for _, i := range perm[:min(n, len(words))] {
			out = append(out, words[i])
		}
		return out
	}
	n := 3 + rng.IntN(3)
	var text string
	if rng.IntN(2) == 0 {
		words := pick(t.ko, n)
		for j, w := range words {
			words[j] = w + particles[rng.IntN(len(particles))]
		}
		filler := pick(fillerKo, 2)
		text = strings.Join(append(append(filler[:1], words...), filler[1], endingsKo[rng.IntN(len(endingsKo))]), " ")
	} else {
		words := pick(t.en, n)
		filler := pick(fillerEn, 2)
		text = fmt.Sprintf(templateEn[rng.IntN(len(templateEn))], strings.Join(append(append(filler[:1], words...), filler[1]), " "))
	}
	tags, _ := json.Marshal(pick(t.tags, rng.IntN(3)))
	return text, string(tags)
}

// seed writes users (each with a main and a second topic), posts on their authors' topics,
// follows, and topic-biased likes and views into the migrated data.db at dbPath.
func seed(dbPath string, cfg seedConfig, analyze bool) (*seedStats, error) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(cfg.seed, 0x7ec0))
	now := time.Now().UTC().Truncate(time.Millisecond)

	db, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(OFF)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, p := range []string{
		"PRAGMA journal_mode=OFF", // a fresh bench database: no rollback journal while loading
		"PRAGMA synchronous=OFF",
		"PRAGMA cache_size=-500000",
		"PRAGMA temp_store=MEMORY",
	} {
		if _, err := db.Exec(p); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	tables := map[string][]string{"users": userCols, "posts": postCols, "follows": followCol, "post_likes": likeCols, "post_views": viewCols}
	for table, cols := range tables {
		if err := benchkit.CheckColumns(db, table, cols); err != nil {
			return nil, err
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
			return nil, err
		}
		if n != 0 {
			return nil, fmt.Errorf("table %s is not empty (%d rows): seed a fresh -dir", table, n)
		}
	}

	// indexes and triggers are built again after the load (benchkit.DropDerived)
	derived, err := benchkit.DropDerived(db, "posts", "follows", "post_likes", "post_views")
	if err != nil {
		return nil, err
	}

	U, P, T := cfg.users, cfg.posts, len(topics)
	st := &seedStats{users: U, posts: P, postTopic: make(map[string]uint8, P), userTopics: make(map[string][2]uint8, U)}

	// --- users: ids, two topics each, activity, popularity ranks (rank 0 is the most followed)
	ids := make([]string, U)
	seen := make(map[string]bool, U)
	for i := range ids {
		for {
			id := benchkit.RandomId(rng, 15)
			if !seen[id] {
				seen[id] = true
				ids[i] = id
				break
			}
		}
	}
	seen = nil
	userTopic := make([][2]uint8, U)
	active := make([]bool, U)
	for i := range userTopic {
		a := rng.IntN(T)
		b := (a + 1 + rng.IntN(T-1)) % T
		userTopic[i] = [2]uint8{uint8(a), uint8(b)}
		st.userTopics[ids[i]] = userTopic[i]
		active[i] = rng.Float64() < cfg.active
	}
	// topicOf picks a topic for user u: the main one, the second one, or any
	topicOf := func(u int) int {
		r := rng.Float64()
		switch {
		case r < cfg.onTopic*0.75:
			return int(userTopic[u][0])
		case r < cfg.onTopic:
			return int(userTopic[u][1])
		}
		return rng.IntN(T)
	}
	byRank := rng.Perm(U)
	zipf := rand.NewZipf(rng, cfg.zipfS, cfg.zipfV, uint64(U-1))
	popular := func() int { return byRank[zipf.Uint64()] }

	// --- posts in memory: authors (half by popularity, half uniform), topics from the author's,
	// created times spread over the past days, inserted oldest first like a real history
	span := time.Duration(cfg.days) * 24 * time.Hour
	type post struct {
		id      string
		user    int32
		topic   uint8
		status  uint8 // 0 published, 1 hidden, 2 removed
		created int64 // unix ms
		likes   int32
		views   int32
	}
	posts := make([]post, P)
	for i := range posts {
		a := rng.IntN(U)
		if rng.IntN(2) == 0 {
			a = popular()
		}
		s := uint8(0)
		if r := rng.IntN(100); r >= 97 {
			s = 2
		} else if r >= 93 {
			s = 1
		}
		posts[i] = post{
			id:      benchkit.RandomId(rng, 15),
			user:    int32(a),
			topic:   uint8(topicOf(a)),
			status:  s,
			created: now.Add(-time.Duration(rng.Int64N(int64(span)))).UnixMilli(),
		}
	}
	slices.SortFunc(posts, func(a, b post) int { return int(a.created - b.created) })
	byTopic := make([][]int32, T) // published posts of each topic
	postsCount := make([]int32, U)
	for i, p := range posts {
		postsCount[p.user]++
		st.postTopic[p.id] = p.topic
		if p.status == 0 {
			byTopic[p.topic] = append(byTopic[p.topic], int32(i))
			st.published++
		}
	}

	ld := &benchkit.Loader{DB: db, CommitEvery: 200_000}
	fi := benchkit.NewBatchInserter(ld, "follows", followCol)
	li := benchkit.NewBatchInserter(ld, "post_likes", likeCols)
	vi := benchkit.NewBatchInserter(ld, "post_views", viewCols)
	inDeg := make([]int32, U)
	outDeg := make([]int32, U)
	mark := make([]int32, U) // mark[f] == u+1: u already follows f
	picked := map[int32]bool{}
	// after returns a time between post pi's creation and now
	after := func(pi int32) string {
		pc := posts[pi].created
		return benchkit.DT(time.UnixMilli(pc + rng.Int64N(max(1, now.UnixMilli()-pc))))
	}
	// onTopicPost picks a published post for user u, not in picked
	onTopicPost := func(u int) (int32, bool) {
		for range 20 {
			list := byTopic[topicOf(u)]
			if len(list) == 0 {
				continue
			}
			pi := list[rng.IntN(len(list))]
			if !picked[pi] && int(posts[pi].user) != u {
				picked[pi] = true
				return pi, true
			}
		}
		return 0, false
	}
	log.Printf("seed: %d users, %d posts generated in memory; writing follows, likes and views", U, P)
	for u := 0; u < U; u++ {
		// follows: exponential count with the wanted mean; half of the inactive users' share
		// given by noFollow follow nobody
		nf := int(math.Round(cfg.followsMean * -math.Log(1-rng.Float64())))
		if !active[u] && rng.Float64() < cfg.noFollow {
			nf = 0
		}
		nf = min(nf, U-1)
		for k, tries := 0, 0; k < nf && tries < 20*nf; tries++ {
			f := popular()
			if tries >= 10*nf {
				f = rng.IntN(U)
			}
			if f == u || mark[f] == int32(u+1) {
				continue
			}
			mark[f] = int32(u + 1)
			k++
			inDeg[f]++
			outDeg[u]++
			c := benchkit.DT(now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))))
			if err := fi.Add(benchkit.RandomId(rng, 15), ids[u], ids[f], c, c); err != nil {
				return nil, err
			}
		}
		if !active[u] {
			if nf == 0 {
				st.coldUsers++
			}
			continue
		}
		st.activeUsers++
		clear(picked)
		for range cfg.likes {
			pi, ok := onTopicPost(u)
			if !ok {
				continue
			}
			posts[pi].likes++
			c := after(pi)
			if err := li.Add(benchkit.RandomId(rng, 15), ids[u], posts[pi].id, c, c); err != nil {
				return nil, err
			}
		}
		clear(picked)
		for range cfg.views {
			pi, ok := onTopicPost(u)
			if !ok {
				continue
			}
			posts[pi].views++
			c := after(pi)
			dwell := min(3_600_000, int(rng.ExpFloat64()*15_000))
			if err := vi.Add(benchkit.RandomId(rng, 15), ids[u], posts[pi].id, dwell, c, c); err != nil {
				return nil, err
			}
		}
		if (u+1)%max(1, U/5) == 0 {
			log.Printf("seed: %d/%d users (%d follows, %d likes, %d views) %s", u+1, U,
				fi.Rows(), li.Rows(),
				vi.Rows(), time.Since(start).Round(time.Second))
		}
	}
	for _, b := range []*benchkit.BatchInserter{fi, li, vi} {
		if err := b.Flush(); err != nil {
			return nil, err
		}
	}
	st.follows, st.likes, st.views = fi.Rows(), li.Rows(), vi.Rows()

	// --- posts
	log.Printf("seed: writing posts %s", time.Since(start).Round(time.Second))
	pi := benchkit.NewBatchInserter(ld, "posts", postCols)
	statuses := []string{"published", "hidden", "removed"}
	for _, p := range posts {
		c := benchkit.DT(time.UnixMilli(p.created))
		text, tags := postText(rng, &topics[p.topic])
		if err := pi.Add(p.id, ids[p.user], text, tags, "[]", "", statuses[p.status], int(p.likes), 0, int(p.views), c, c); err != nil {
			return nil, err
		}
	}
	if err := pi.Flush(); err != nil {
		return nil, err
	}

	// --- users, with counters that match the rows written above
	log.Printf("seed: writing users %s", time.Since(start).Round(time.Second))
	hash, err := bcrypt.GenerateFromPassword([]byte(benchPassword), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	ui := benchkit.NewBatchInserter(ld, "users", userCols)
	for i, id := range ids {
		handle := fmt.Sprintf("bench_user_%06d", i)
		c := benchkit.DT(now.Add(-span - time.Duration(rng.Int64N(int64(365*24*time.Hour)))))
		err := ui.Add(id, handle+"@bench.tangerine.test", false, true, string(hash), benchkit.RandomId(rng, 50),
			fmt.Sprintf("Bench User %d", i), "", handle, "", "", "", true, "member", "active",
			int(inDeg[i]), int(outDeg[i]), int(postsCount[i]), 0, c, c)
		if err != nil {
			return nil, err
		}
	}
	if err := ui.Flush(); err != nil {
		return nil, err
	}
	if err := ld.Commit(); err != nil {
		return nil, err
	}

	log.Printf("seed: rows written %s; building %d indexes and triggers", time.Since(start).Round(time.Second), len(derived))
	if err := benchkit.RestoreDerived(db, derived); err != nil {
		return nil, err
	}
	if analyze {
		if _, err := db.Exec("ANALYZE"); err != nil {
			return nil, err
		}
	}
	if _, err := db.Exec("PRAGMA journal_mode=WAL"); err != nil {
		return nil, err
	}
	st.duration = time.Since(start)
	return st, nil
}
