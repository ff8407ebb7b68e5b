package recommend_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// TestRoutesValidateAndAnswerInListShape checks the 400s that name the bad parameter, the 404s
// of similar, the 401 of anonymous user search, and the {"items", "next_cursor"} shape.
func TestRoutesValidateAndAnswerInListShape(t *testing.T) {
	var postId, hiddenId, productId, aliceToken, authorToken string
	factory := func(t testing.TB) *tests.TestApp {
		app := testapp.New(t)
		plug, err := recommend.Register(app, recommend.Config{})
		if err != nil {
			t.Fatal(err)
		}
		author := testapp.CreateUser(t, app, "author")
		alice := testapp.CreateUser(t, app, "alice")
		postId = createPost(t, app, author, "제주 감귤을 샀어요").Id
		hiddenId = testapp.Create(t, app, "posts", map[string]any{"user": author.Id, "text": "숨긴 감귤", "status": "hidden"}).Id
		productId = createProduct(t, app, author, "제주 감귤 5kg", "새콤달콤").Id
		aliceToken, authorToken = testapp.Token(t, alice), testapp.Token(t, author)
		if err := plug.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		return app
	}
	long := url.QueryEscape(strings.Repeat("귤", 201))
	scenarios := []tests.ApiScenario{
		{Name: "limit 0", Method: http.MethodGet, URL: "/api/recommend/posts?limit=0", ExpectedStatus: 400, ExpectedContent: []string{`"limit"`}},
		{Name: "limit 101", Method: http.MethodGet, URL: "/api/recommend/posts?limit=101", ExpectedStatus: 400, ExpectedContent: []string{`"limit"`}},
		{Name: "limit not a number", Method: http.MethodGet, URL: "/api/recommend/products?limit=x", ExpectedStatus: 400, ExpectedContent: []string{`"limit"`}},
		{Name: "bad cursor", Method: http.MethodGet, URL: "/api/recommend/posts?cursor=nope", ExpectedStatus: 400, ExpectedContent: []string{`"cursor"`}},
		{Name: "search without q", Method: http.MethodGet, URL: "/api/search?type=posts", ExpectedStatus: 400, ExpectedContent: []string{`"q"`}, NotExpectedContent: []string{`"type"`}},
		{Name: "search blank q", Method: http.MethodGet, URL: "/api/search?type=posts&q=%20%20", ExpectedStatus: 400, ExpectedContent: []string{`"q"`}},
		{Name: "search q too long", Method: http.MethodGet, URL: "/api/search?type=posts&q=" + long, ExpectedStatus: 400, ExpectedContent: []string{`"q"`}},
		{Name: "search without type", Method: http.MethodGet, URL: "/api/search?q=x", ExpectedStatus: 400, ExpectedContent: []string{`"type"`}, NotExpectedContent: []string{`"q"`}},
		{Name: "search unknown type", Method: http.MethodGet, URL: "/api/search?q=x&type=comments", ExpectedStatus: 400, ExpectedContent: []string{`"type"`}},
		{Name: "search bad cursor", Method: http.MethodGet, URL: "/api/search?q=x&type=posts&cursor=zzzz", ExpectedStatus: 400, ExpectedContent: []string{`"cursor"`}},
		{Name: "search users anonymous", Method: http.MethodGet, URL: "/api/search?q=ali&type=users", ExpectedStatus: 401, ExpectedContent: []string{`"status":401`}},
		{Name: "similar of unknown post", Method: http.MethodGet, URL: "/api/posts/xxxxxxxxxxxxxxx/similar", ExpectedStatus: 404, ExpectedContent: []string{`"status":404`}},
		{Name: "similar bad limit", Method: http.MethodGet, URL: "/api/products/xxxxxxxxxxxxxxx/similar?limit=500", ExpectedStatus: 400, ExpectedContent: []string{`"limit"`}},
	}
	// scenarios whose URL needs the fixture ids are built lazily
	lazy := []func() tests.ApiScenario{
		func() tests.ApiScenario {
			return tests.ApiScenario{Name: "recommend posts anonymous", Method: http.MethodGet, URL: "/api/recommend/posts",
				ExpectedStatus: 200, ExpectedContent: []string{`"items":[{`, `"id":"` + postId + `"`, `"next_cursor":null`, `"expand":{"user":`},
				NotExpectedContent: []string{hiddenId}}
		},
		func() tests.ApiScenario {
			return tests.ApiScenario{Name: "recommend products authed", Method: http.MethodGet, URL: "/api/recommend/products?limit=5",
				Headers:        map[string]string{"Authorization": aliceToken},
				ExpectedStatus: 200, ExpectedContent: []string{`"id":"` + productId + `"`, `"next_cursor":null`}}
		},
		func() tests.ApiScenario {
			return tests.ApiScenario{Name: "similar of a hidden post for a guest", Method: http.MethodGet, URL: "/api/posts/" + hiddenId + "/similar",
				ExpectedStatus: 404, ExpectedContent: []string{`"status":404`}}
		},
		func() tests.ApiScenario {
			return tests.ApiScenario{Name: "similar of a hidden post for its author", Method: http.MethodGet, URL: "/api/posts/" + hiddenId + "/similar",
				Headers:        map[string]string{"Authorization": authorToken},
				ExpectedStatus: 200, ExpectedContent: []string{`"id":"` + postId + `"`, `"next_cursor":null`}, NotExpectedContent: []string{`"id":"` + hiddenId + `"`}}
		},
		func() tests.ApiScenario {
			return tests.ApiScenario{Name: "search posts", Method: http.MethodGet, URL: "/api/search?type=posts&q=" + url.QueryEscape("귤"),
				ExpectedStatus: 200, ExpectedContent: []string{`"id":"` + postId + `"`, `"next_cursor":null`}, NotExpectedContent: []string{hiddenId}}
		},
		func() tests.ApiScenario {
			return tests.ApiScenario{Name: "search users", Method: http.MethodGet, URL: "/api/search?type=users&q=ali",
				Headers:        map[string]string{"Authorization": authorToken},
				ExpectedStatus: 200, ExpectedContent: []string{`"handle":"alice"`, `"next_cursor":null`}, NotExpectedContent: []string{`"email"`, `"handle":"author"`}}
		},
	}
	for _, s := range scenarios {
		s.TestAppFactory = factory
		s.Test(t)
	}
	for _, build := range lazy {
		// the fixture ids exist only once the factory ran inside Test, which reads the URL and
		// the expectations after that through the same pointer
		s := build()
		s.TestAppFactory = func(t testing.TB) *tests.TestApp {
			app := factory(t)
			real := build()
			s.URL, s.Headers = real.URL, real.Headers
			s.ExpectedContent, s.NotExpectedContent = real.ExpectedContent, real.NotExpectedContent
			return app
		}
		s.Test(t)
	}
}

// TestHiddenItemsNeverAppearEvenBeforeReindex hides and removes items while the indexer is held
// back, and checks that no route returns them: the filter runs against the database.
func TestHiddenItemsNeverAppearEvenBeforeReindex(t *testing.T) {
	e := newEnv(t)
	author := testapp.CreateUser(t, e.app, "author")
	alice := testapp.CreateUser(t, e.app, "alice")
	token := testapp.Token(t, alice)

	a := createPost(t, e.app, author, "제주 감귤을 한 박스 샀어요 tangerine", "감귤")
	b := createPost(t, e.app, author, "감귤 농장 체험 tangerine farm", "감귤")
	c := createPost(t, e.app, author, "감귤 주스 만들기 tangerine juice", "감귤")
	pa := createProduct(t, e.app, author, "제주 감귤 5kg tangerine", "새콤달콤한 감귤")
	pb := createProduct(t, e.app, author, "감귤 선물세트 tangerine", "명절 감귤")
	// alice likes a tangerine post, so her taste points at the others
	liked := createPost(t, e.app, author, "감귤 사진 tangerine photo")
	testapp.Create(t, e.app, "post_likes", map[string]any{"user": alice.Id, "post": liked.Id})
	e.sync()

	routes := func() map[string][]string {
		return map[string][]string{
			"recommend posts (guest)":  e.mustList("/api/recommend/posts?limit=100", ""),
			"recommend posts (alice)":  e.mustList("/api/recommend/posts?limit=100", token),
			"recommend products":       e.mustList("/api/recommend/products?limit=100", token),
			"similar posts":            e.mustList("/api/posts/"+c.Id+"/similar?limit=100", ""),
			"similar products":         e.mustList("/api/products/"+pb.Id+"/similar?limit=100", ""),
			"search posts (korean)":    e.mustList("/api/search?type=posts&limit=100&q="+url.QueryEscape("감귤"), ""),
			"search posts (english)":   e.mustList("/api/search?type=posts&limit=100&q=tangerine", token),
			"search products (korean)": e.mustList("/api/search?type=products&limit=100&q="+url.QueryEscape("귤"), ""),
		}
	}
	before := routes()
	for name, ids := range before {
		want := []string{a.Id, b.Id}
		if strings.Contains(name, "products") {
			want = []string{pa.Id}
		}
		for _, id := range want {
			if !contains(ids, id) {
				t.Fatalf("%s: expected %s before hiding, got %v", name, id, ids)
			}
		}
	}

	release := recommend.HoldIndexer(e.plug)
	a.Set("status", "hidden")
	b.Set("status", "removed")
	pa.Set("status", "hidden")
	for _, r := range []*core.Record{a, b, pa} {
		if err := e.app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	if lag, _ := e.plug.Lag(t.Context()); lag < 3 {
		t.Fatalf("Expected the status changes to be queued behind the held indexer, lag %d", lag)
	}
	for name, ids := range routes() {
		for _, id := range []string{a.Id, b.Id, pa.Id} {
			if contains(ids, id) {
				t.Errorf("%s: hidden or removed item %s returned before reindexing", name, id)
			}
		}
	}
	if status, _, _ := e.list("/api/posts/"+a.Id+"/similar", token); status != http.StatusNotFound {
		t.Errorf("Expected 404 for the similar items of a hidden post, got %d", status)
	}
	release()
	e.sync()
	for name, ids := range routes() {
		for _, id := range []string{a.Id, b.Id, pa.Id} {
			if contains(ids, id) {
				t.Errorf("%s: hidden or removed item %s returned after reindexing", name, id)
			}
		}
	}
}

// TestSearchFindsKoreanShortNounsAndEnglish searches one- and two-syllable Korean nouns inside
// words with particles, a particle variant, and English words by prefix.
func TestSearchFindsKoreanShortNounsAndEnglish(t *testing.T) {
	e := newEnv(t)
	u := testapp.CreateUser(t, e.app, "writer")
	tangerine := createPost(t, e.app, u, "감귤을 샀어요")
	apple := createPost(t, e.app, u, "사과를 먹었어요")
	english := createPost(t, e.app, u, "Fresh tangerines from Jeju island")
	book := createPost(t, e.app, u, "Reading a new book tonight")
	e.sync()

	cases := []struct {
		q      string
		first  string
		absent []string
	}{
		{"귤", tangerine.Id, []string{apple.Id, book.Id}},
		{"감귤", tangerine.Id, []string{apple.Id, book.Id}},
		{"감귤이", tangerine.Id, []string{apple.Id, book.Id}},
		{"사과", apple.Id, []string{tangerine.Id, book.Id}},
		{"tangerine", english.Id, []string{book.Id, apple.Id}},
		{"JEJU", english.Id, []string{book.Id}},
		{"book", book.Id, []string{english.Id, tangerine.Id}},
	}
	for _, c := range cases {
		ids := e.mustList("/api/search?type=posts&q="+url.QueryEscape(c.q), "")
		if len(ids) == 0 || ids[0] != c.first {
			t.Errorf("search %q: expected %s first, got %v", c.q, c.first, ids)
		}
		for _, id := range c.absent {
			if contains(ids, id) {
				t.Errorf("search %q: did not expect %s in %v", c.q, id, ids)
			}
		}
	}
}

// TestSearchUsersByHandlePrefixAndWords finds people by handle prefix and by name and bio words,
// and leaves suspended accounts out.
func TestSearchUsersByHandlePrefixAndWords(t *testing.T) {
	e := newEnv(t)
	alice := testapp.CreateUser(t, e.app, "alice_kim", map[string]any{"name": "Alice Kim", "bio": "제주에서 감귤 농사를 지어요"})
	bob := testapp.CreateUser(t, e.app, "bobby", map[string]any{"name": "Bob", "bio": "coffee roaster"})
	gone := testapp.CreateUser(t, e.app, "alicia", map[string]any{"status": "suspended"})
	token := testapp.Token(t, bob)
	e.sync()

	for q, want := range map[string]string{"ali": alice.Id, "@alice_k": alice.Id, "감귤": alice.Id, "Kim": alice.Id, "roaster": bob.Id} {
		ids := e.mustList("/api/search?type=users&q="+url.QueryEscape(q), token)
		if len(ids) == 0 || ids[0] != want {
			t.Errorf("search users %q: expected %s first, got %v", q, want, ids)
		}
		if contains(ids, gone.Id) {
			t.Errorf("search users %q: returned a suspended account", q)
		}
	}

	// a name change is searchable once indexed
	bob.Set("name", "Roberto")
	if err := e.app.Save(bob); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if ids := e.mustList("/api/search?type=users&q=roberto", token); len(ids) != 1 || ids[0] != bob.Id {
		t.Errorf("Expected the renamed user, got %v", ids)
	}
}

// TestRecommendPostsExcludesOwnLikedAndViewed checks the "for you" list of a user with signals:
// nothing of their own, nothing liked or viewed, and the taste's topic first.
func TestRecommendPostsExcludesOwnLikedAndViewed(t *testing.T) {
	e := newEnv(t)
	me := testapp.CreateUser(t, e.app, "myself")
	other := testapp.CreateUser(t, e.app, "other")
	token := testapp.Token(t, me)

	own := createPost(t, e.app, me, "제주 감귤 농장에서 귤 따기 체험")
	liked := createPost(t, e.app, other, "감귤 농장 귤 수확 후기")
	viewed := createPost(t, e.app, other, "제주 감귤 귤 농장 추천")
	skimmed := createPost(t, e.app, other, "노트북 키보드 리뷰") // viewed for a second: excluded, weighs ~0
	var tangerines, others []string
	for _, text := range []string{"감귤 농장 귤 체험 예약", "귤 농장 감귤 따기 가족 여행", "감귤 귤 농장 방문기"} {
		tangerines = append(tangerines, createPost(t, e.app, other, text).Id)
	}
	for _, text := range []string{"노트북 충전기 추천", "커피 원두 로스팅 방법", "강아지 산책 코스"} {
		others = append(others, createPost(t, e.app, other, text).Id)
	}
	testapp.Create(t, e.app, "post_likes", map[string]any{"user": me.Id, "post": liked.Id})
	testapp.Create(t, e.app, "post_views", map[string]any{"user": me.Id, "post": viewed.Id, "dwell_ms": 45000})
	testapp.Create(t, e.app, "post_views", map[string]any{"user": me.Id, "post": skimmed.Id, "dwell_ms": 800})
	e.sync()

	ids := e.mustList("/api/recommend/posts", token)
	for _, id := range []string{own.Id, liked.Id, viewed.Id, skimmed.Id} {
		if contains(ids, id) {
			t.Errorf("Expected %s (own, liked or viewed) to be excluded, got %v", id, ids)
		}
	}
	if len(ids) != len(tangerines)+len(others) {
		t.Fatalf("Expected every other post (personal first, popular after), got %v", ids)
	}
	for i, id := range ids[:len(tangerines)] {
		if !contains(tangerines, id) {
			t.Errorf("Expected the taste's topic in the first %d places, got %s at %d in %v", len(tangerines), id, i, ids)
		}
	}

	// the guest list has everything published, own and liked included
	guest := e.mustList("/api/recommend/posts?limit=100", "")
	if !contains(guest, own.Id) || !contains(guest, liked.Id) {
		t.Errorf("Expected the guest list to hold every post, got %v", guest)
	}
}

// TestRecommendColdStartIsPopularFirst checks that guests and users without any signal get the
// popular posts first, and that the list pages through every post exactly once.
func TestRecommendColdStartIsPopularFirst(t *testing.T) {
	e := newEnv(t)
	author := testapp.CreateUser(t, e.app, "author")
	newcomer := testapp.CreateUser(t, e.app, "newcomer")
	var all []string
	for i := range 7 {
		all = append(all, createPost(t, e.app, author, "post number "+string(rune('a'+i))).Id)
	}
	popular := all[2]
	for i := range 5 {
		fan := testapp.CreateUser(t, e.app, "fan"+string(rune('a'+i)))
		testapp.Create(t, e.app, "post_likes", map[string]any{"user": fan.Id, "post": popular})
	}
	e.sync()

	for who, token := range map[string]string{"guest": "", "newcomer": testapp.Token(t, newcomer)} {
		var walked []string
		path := "/api/recommend/posts?limit=3"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatalf("%s: too many pages", who)
			}
			status, ids, next := e.list(path, token)
			if status != http.StatusOK {
				t.Fatalf("%s: status %d", who, status)
			}
			walked = append(walked, ids...)
			if next == "" {
				break
			}
			path = "/api/recommend/posts?limit=3&cursor=" + url.QueryEscape(next)
		}
		if len(walked) != len(all) || walked[0] != popular {
			t.Errorf("%s: expected all %d posts, the most liked first; got %v", who, len(all), walked)
		}
		seen := map[string]bool{}
		for _, id := range walked {
			if seen[id] {
				t.Errorf("%s: %s returned twice", who, id)
			}
			seen[id] = true
		}
	}
}

// TestSimilarReturnsNearestByTopic labels a few posts and products by topic and expects
// "similar" to return the same topic first.
func TestSimilarReturnsNearestByTopic(t *testing.T) {
	e := newEnv(t)
	u := testapp.CreateUser(t, e.app, "seller")
	topics := map[string][]string{
		"coffee":    {"핸드드립 커피 원두 추천", "커피 원두 로스팅 후기", "에티오피아 커피 원두 핸드드립", "Fresh coffee beans roasted today"},
		"tangerine": {"제주 감귤 귤 한 박스", "감귤 귤 농장 체험", "새콤달콤 감귤 귤 주스", "Jeju tangerines are sweet"},
		"laptop":    {"노트북 키보드 리뷰", "가벼운 노트북 추천", "노트북 배터리 교체", "Laptop keyboard review"},
	}
	label := map[string]string{}
	byTopic := map[string][]*core.Record{}
	for topic, texts := range topics {
		for _, text := range texts {
			r := createPost(t, e.app, u, text)
			label[r.Id] = topic
			byTopic[topic] = append(byTopic[topic], r)
		}
	}
	e.sync()
	for topic, records := range byTopic {
		for _, r := range records[:3] { // the Korean ones: three same-topic neighbours each
			ids := e.mustList("/api/posts/"+r.Id+"/similar?limit=2", "")
			if len(ids) != 2 {
				t.Fatalf("Expected 2 similar posts, got %v", ids)
			}
			for _, id := range ids {
				if label[id] != topic {
					t.Errorf("similar of %q (%s): got a %s post", r.GetString("text"), topic, label[id])
				}
			}
		}
	}
}

// TestRecommendPagesSkipManyHiddenItems hides most of a user's candidates while the indexer is
// held back (the index still calls them published), and pages through small pages: pageOf must
// load further ids past each shortfall, return every visible post exactly once and never a
// hidden or removed one.
func TestRecommendPagesSkipManyHiddenItems(t *testing.T) {
	e := newEnv(t)
	author := testapp.CreateUser(t, e.app, "author")
	alice := testapp.CreateUser(t, e.app, "alice")
	token := testapp.Token(t, alice)

	var posts []*core.Record
	for i := range 40 {
		posts = append(posts, createPost(t, e.app, author, "제주 감귤 귤 농장 이야기 "+strconv.Itoa(i), "감귤"))
	}
	liked := createPost(t, e.app, author, "감귤 귤 농장 사진")
	testapp.Create(t, e.app, "post_likes", map[string]any{"user": alice.Id, "post": liked.Id})
	e.sync()

	release := recommend.HoldIndexer(e.plug)
	defer release()
	visibleIds := map[string]bool{}
	hidden := map[string]bool{}
	for i, r := range posts {
		if i%5 == 0 {
			visibleIds[r.Id] = true
			continue
		}
		r.Set("status", []string{"hidden", "removed"}[i%2])
		if err := e.app.Save(r); err != nil {
			t.Fatal(err)
		}
		hidden[r.Id] = true
	}

	for _, limit := range []int{1, 3, 7} {
		var walked []string
		path := "/api/recommend/posts?limit=" + strconv.Itoa(limit)
		for pages := 0; ; pages++ {
			if pages > len(visibleIds)+1 {
				t.Fatalf("limit %d: too many pages", limit)
			}
			status, ids, next := e.list(path, token)
			if status != http.StatusOK {
				t.Fatalf("limit %d: status %d", limit, status)
			}
			if len(ids) > limit || (next != "" && len(ids) != limit) {
				t.Fatalf("limit %d: a page of %d items (next %q)", limit, len(ids), next)
			}
			walked = append(walked, ids...)
			if next == "" {
				break
			}
			path = "/api/recommend/posts?limit=" + strconv.Itoa(limit) + "&cursor=" + url.QueryEscape(next)
		}
		seen := map[string]bool{}
		for _, id := range walked {
			if hidden[id] || id == liked.Id {
				t.Errorf("limit %d: hidden, removed or liked post %s returned", limit, id)
			}
			if seen[id] {
				t.Errorf("limit %d: %s returned twice", limit, id)
			}
			seen[id] = true
		}
		if len(seen) != len(visibleIds) {
			t.Errorf("limit %d: expected the %d visible posts, got %d: %v", limit, len(visibleIds), len(seen), walked)
		}
	}
}

// TestRecommendPostsForgetsTasteOnNewSignals checks that a like, a view or a follow shows at once
// on the next first page, though tastes are cached for minutes.
func TestRecommendPostsForgetsTasteOnNewSignals(t *testing.T) {
	e := newEnv(t)
	author := testapp.CreateUser(t, e.app, "author")
	alice := testapp.CreateUser(t, e.app, "alice")
	token := testapp.Token(t, alice)
	var ids []string
	for i := range 6 {
		ids = append(ids, createPost(t, e.app, author, "제주 감귤 귤 농장 "+strconv.Itoa(i)).Id)
	}
	testapp.Create(t, e.app, "post_likes", map[string]any{"user": alice.Id, "post": ids[0]})
	e.sync()

	first := e.mustList("/api/recommend/posts", token) // computes and caches alice's taste
	if contains(first, ids[0]) || !contains(first, ids[1]) || !contains(first, ids[2]) {
		t.Fatalf("Expected every post but the liked one, got %v", first)
	}
	testapp.Create(t, e.app, "post_likes", map[string]any{"user": alice.Id, "post": ids[1]})
	if got := e.mustList("/api/recommend/posts", token); contains(got, ids[1]) {
		t.Errorf("Expected the newly liked post left out at once, got %v", got)
	}
	testapp.Create(t, e.app, "post_views", map[string]any{"user": alice.Id, "post": ids[2], "dwell_ms": 20000})
	if got := e.mustList("/api/recommend/posts", token); contains(got, ids[2]) {
		t.Errorf("Expected the newly viewed post left out at once, got %v", got)
	}
}

// TestTasteFromStoreMatchesTable checks that the taste read from the embedded store's memory
// equals the one read from the _recommend_vectors table (the path of other stores).
func TestTasteFromStoreMatchesTable(t *testing.T) {
	e := newEnv(t)
	author := testapp.CreateUser(t, e.app, "author")
	me := testapp.CreateUser(t, e.app, "myself")
	testapp.Create(t, e.app, "follows", map[string]any{"follower": me.Id, "following": author.Id})
	createPost(t, e.app, me, "커피 원두 로스팅 후기")
	for i := range 12 {
		p := createPost(t, e.app, author, "제주 감귤 귤 농장 "+strconv.Itoa(i), "감귤")
		switch i % 3 {
		case 0:
			testapp.Create(t, e.app, "post_likes", map[string]any{"user": me.Id, "post": p.Id})
		case 1:
			testapp.Create(t, e.app, "post_views", map[string]any{"user": me.Id, "post": p.Id, "dwell_ms": 1000 * i})
		}
	}
	e.sync()

	fromStore, err := recommend.TasteVector(e.plug, me.Id, false)
	if err != nil {
		t.Fatal(err)
	}
	fromTable, err := recommend.TasteVector(e.plug, me.Id, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromStore) == 0 || len(fromStore) != len(fromTable) {
		t.Fatalf("Expected two taste vectors of the same length, got %d and %d", len(fromStore), len(fromTable))
	}
	for i := range fromStore {
		// the two computations decay the signals from two instants microseconds apart
		if d := fromStore[i] - fromTable[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("Component %d differs: %v from the store, %v from the table", i, fromStore[i], fromTable[i])
		}
	}
}
