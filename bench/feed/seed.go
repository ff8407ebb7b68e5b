package main

import (
	"database/sql"
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
	followsMean float64 // mean follows per user
	followSigma float64 // sigma of the log-normal follow-count (out-degree) distribution
	followCap   int     // most follows one user has
	zipfS       float64 // popularity of who is followed (and who posts): P(rank k) ∝ (v+k)^-s
	zipfV       float64
	likesMean   float64 // mean likes per user, on posts of people they follow
	months      int     // posts are spread over this many past months
	seed        uint64
}

// seedStats describes what was written, for the report.
type seedStats struct {
	users, posts, follows, likes int
	outDeg                       []int // follows per user (following_count), sorted
	inDegMax                     int
	postsPerUserMax              int
	published                    int
	duration                     time.Duration
}

var (
	userCols  = []string{"id", "email", "emailVisibility", "verified", "password", "tokenKey", "name", "avatar", "handle", "bio", "link_1", "link_2", "is_public", "role", "status", "followers_count", "following_count", "posts_count", "products_count", "created", "updated"}
	postCols  = []string{"id", "user", "text", "tags", "images", "category", "status", "likes_count", "comments_count", "views_count", "created", "updated"}
	followCol = []string{"id", "follower", "following", "created", "updated"}
	likeCols  = []string{"id", "user", "post", "created", "updated"}
)

var words = strings.Fields(`tangerine market sunny morning coffee street photo weekend sale vintage
	jacket bike garden recipe kimchi noodles city night walk river book film camera music festival
	handmade ceramic lamp chair table shoes dress cat dog park beach mountain trail rain snow spring
	autumn summer winter fresh local farm bread cake tea friends family studio sketch design code`)

func postText(rng *rand.Rand) string {
	n := 6 + rng.IntN(30)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[rng.IntN(len(words))])
	}
	return sb.String()
}

// seed writes users, posts, follows and likes into the migrated data.db at dbPath.
func seed(dbPath string, cfg seedConfig, analyze bool) (*seedStats, error) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(cfg.seed, 0x7a9e))
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
		"PRAGMA cache_size=-1000000", // 1 GB, so that the id indexes stay in memory
		"PRAGMA temp_store=MEMORY",
	} {
		if _, err := db.Exec(p); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	for table, cols := range map[string][]string{"users": userCols, "posts": postCols, "follows": followCol, "post_likes": likeCols} {
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
	derived, err := benchkit.DropDerived(db, "posts", "follows", "post_likes")
	if err != nil {
		return nil, err
	}

	U, P := cfg.users, cfg.posts
	st := &seedStats{users: U, posts: P}

	// --- users: ids, and popularity ranks (a random permutation: rank 0 is the most followed)
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
	byRank := rng.Perm(U)
	zipf := rand.NewZipf(rng, cfg.zipfS, cfg.zipfV, uint64(U-1))
	popular := func() int { return byRank[zipf.Uint64()] }

	// --- posts, in memory first: authors (half by popularity, half uniform), created times
	// spread over the past months, inserted oldest first like a real history
	span := time.Duration(cfg.months) * 30 * 24 * time.Hour
	type post struct {
		id      string
		user    int32
		created int64 // unix ms
		status  uint8 // 0 published, 1 hidden, 2 removed
		likes   int32
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
			created: now.Add(-time.Duration(rng.Int64N(int64(span)))).UnixMilli(),
			status:  s,
		}
	}
	slices.SortFunc(posts, func(a, b post) int { return int(a.created - b.created) })
	postsOf := make([][]int32, U) // published post indexes of each author
	postsCount := make([]int32, U)
	for i, p := range posts {
		postsCount[p.user]++
		if p.status == 0 {
			postsOf[p.user] = append(postsOf[p.user], int32(i))
			st.published++
		}
	}
	for _, n := range postsCount {
		st.postsPerUserMax = max(st.postsPerUserMax, int(n))
	}

	// --- follow counts: log-normal (heavy-tailed), scaled to the wanted mean, capped
	outDeg := make([]int, U)
	raw := make([]float64, U)
	capDeg := min(cfg.followCap, U-1)
	for i := range raw {
		raw[i] = math.Exp(cfg.followSigma * rng.NormFloat64())
	}
	scale := 1.0
	for iter := 0; iter < 20; iter++ { // find the scale at which the capped mean is right
		sum := 0
		for i, r := range raw {
			outDeg[i] = min(capDeg, max(1, int(math.Round(r*scale))))
			sum += outDeg[i]
		}
		mean := float64(sum) / float64(U)
		if math.Abs(mean-cfg.followsMean) < 0.05 {
			break
		}
		scale *= cfg.followsMean / mean
	}

	// --- follows and likes, streamed per follower
	log.Printf("seed: %d users, %d posts generated in memory; writing follows and likes", U, P)
	ld := &benchkit.Loader{DB: db, CommitEvery: 200_000}
	fi := benchkit.NewBatchInserter(ld, "follows", followCol)
	li := benchkit.NewBatchInserter(ld, "post_likes", likeCols)
	inDeg := make([]int32, U)
	yearMs := int64(365 * 24 * time.Hour / time.Millisecond)
	followees := make([]int, 0, capDeg)
	mark := make([]int32, U) // mark[f] == u+1: u already follows f
	likedBy := map[int32]bool{}
	for u := 0; u < U; u++ {
		followees = followees[:0]
		want := outDeg[u]
		tries := 0
		for len(followees) < want {
			var f int
			if tries < 20*want {
				f = popular()
			} else {
				f = rng.IntN(U) // the Zipf head is exhausted for this user: fill uniformly
			}
			tries++
			if f == u || mark[f] == int32(u+1) {
				continue
			}
			mark[f] = int32(u + 1)
			followees = append(followees, f)
		}
		for _, f := range followees {
			inDeg[f]++
			c := benchkit.DT(time.UnixMilli(now.UnixMilli() - rng.Int64N(yearMs)))
			if err := fi.Add(benchkit.RandomId(rng, 15), ids[u], ids[f], c, c); err != nil {
				return nil, err
			}
		}
		// likes on published posts of people u follows
		nl := int(math.Round(cfg.likesMean * -math.Log(1-rng.Float64()))) // exponential, mean likesMean
		clear(likedBy)
		for k := 0; k < nl*3 && len(likedBy) < nl; k++ {
			f := followees[rng.IntN(len(followees))]
			if len(postsOf[f]) == 0 {
				continue
			}
			pi := postsOf[f][rng.IntN(len(postsOf[f]))]
			if likedBy[pi] {
				continue
			}
			likedBy[pi] = true
			posts[pi].likes++
			pc := posts[pi].created
			c := benchkit.DT(time.UnixMilli(pc + rng.Int64N(max(1, now.UnixMilli()-pc))))
			if err := li.Add(benchkit.RandomId(rng, 15), ids[u], posts[pi].id, c, c); err != nil {
				return nil, err
			}
		}
		if (u+1)%max(1, U/10) == 0 {
			log.Printf("seed: follows of %d/%d users (%d follows, %d likes) %s", u+1, U, fi.Rows(), li.Rows(), time.Since(start).Round(time.Second))
		}
	}
	if err := fi.Flush(); err != nil {
		return nil, err
	}
	if err := li.Flush(); err != nil {
		return nil, err
	}
	st.follows, st.likes = fi.Rows(), li.Rows()

	// --- posts
	log.Printf("seed: writing posts %s", time.Since(start).Round(time.Second))
	pi := benchkit.NewBatchInserter(ld, "posts", postCols)
	statuses := []string{"published", "hidden", "removed"}
	for _, p := range posts {
		c := benchkit.DT(time.UnixMilli(p.created))
		if err := pi.Add(p.id, ids[p.user], postText(rng), "[]", "[]", "", statuses[p.status], int(p.likes), 0, 0, c, c); err != nil {
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
			int(inDeg[i]), outDeg[i], int(postsCount[i]), 0, c, c)
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
		t := time.Now()
		if _, err := db.Exec("ANALYZE"); err != nil {
			return nil, err
		}
		log.Printf("seed: ANALYZE in %s", time.Since(t).Round(time.Millisecond))
	}
	if _, err := db.Exec("PRAGMA journal_mode=WAL"); err != nil {
		return nil, err
	}

	st.outDeg = outDeg
	slices.Sort(st.outDeg)
	for _, d := range inDeg {
		st.inDegMax = max(st.inDegMax, int(d))
	}
	st.duration = time.Since(start)
	return st, nil
}
