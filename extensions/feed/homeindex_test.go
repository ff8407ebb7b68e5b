package feed

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHomeIndexPage checks the in-memory merge against a sort of every candidate key: random
// authors (with equal times, so that ids break ties), random follow lists and cursors.
func TestHomeIndexPage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := &homeIndex{byUser: map[string]*authorKeys{}}
	var users []string
	for u := range 40 {
		id := fmt.Sprintf("user%011d", u)
		users = append(users, id)
		for p := range rng.IntN(30) {
			h.mu.Lock()
			h.apply(&change{kind: "p", newId: ns(fmt.Sprintf("p%02d%012d", u, p)), newUser: ns(id),
				newCreated: ns(formatKeyTime(1_700_000_000_000 + int64(rng.IntN(200)))), newState: ns("published")})
			h.mu.Unlock()
		}
	}
	for trial := range 300 {
		me := users[rng.IntN(len(users))]
		var follows []*authorKeys
		want := slices.Clone(h.byUser[me].keysOrNil())
		for _, u := range users {
			if u != me && rng.IntN(3) == 0 {
				follows = append(follows, h.byUser[u])
				want = append(want, h.byUser[u].keysOrNil()...)
			}
		}
		slices.SortFunc(want, func(a, b postKey) int { return b.cmp(a) })
		var after *postKey
		if len(want) > 0 && trial%2 == 1 {
			k := want[rng.IntN(len(want))]
			after = &k
			i := slices.IndexFunc(want, func(x postKey) bool { return x == k })
			want = want[i+1:]
		}
		lim := 1 + rng.IntN(25)
		got := h.page(me, follows, after, lim)
		if len(want) > lim {
			want = want[:lim]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: page(%s, %d follows, after %v, %d) = %v, want %v", trial, me, len(follows), after, lim, got, want)
		}
	}
}

// TestHomeIndexApply checks that applying changes is idempotent and follows a post through
// hide, move and delete.
func TestHomeIndexApply(t *testing.T) {
	h := &homeIndex{byUser: map[string]*authorKeys{}, fol: map[string][]*authorKeys{"u1": nil}}
	at := formatKeyTime(1_700_000_000_000)
	later := formatKeyTime(1_700_000_000_500)
	steps := []struct {
		c    change
		want map[string]int // posts per author
	}{
		{change{kind: "p", newId: ns("p1"), newUser: ns("a"), newCreated: ns(at), newState: ns("published")}, map[string]int{"a": 1}},
		{change{kind: "p", newId: ns("p1"), newUser: ns("a"), newCreated: ns(at), newState: ns("published")}, map[string]int{"a": 1}},
		{change{kind: "p", oldId: ns("p1"), oldUser: ns("a"), oldCreated: ns(at), newId: ns("p1"), newUser: ns("a"), newCreated: ns(at), newState: ns("hidden")}, map[string]int{"a": 0}},
		{change{kind: "p", oldId: ns("p1"), oldUser: ns("a"), oldCreated: ns(at), newId: ns("p1"), newUser: ns("b"), newCreated: ns(later), newState: ns("published")}, map[string]int{"a": 0, "b": 1}},
		{change{kind: "p", oldId: ns("p1"), oldUser: ns("b"), oldCreated: ns(later)}, map[string]int{"a": 0, "b": 0}},
		{change{kind: "p", oldId: ns("p1"), oldUser: ns("b"), oldCreated: ns(later)}, map[string]int{"a": 0, "b": 0}},
	}
	for i, s := range steps {
		h.apply(&s.c)
		total := 0
		for u, n := range s.want {
			if got := len(h.byUser[u].keysOrNil()); got != n {
				t.Fatalf("step %d: author %s has %d posts, want %d", i, u, got, n)
			}
			total += n
		}
		if h.posts != total {
			t.Fatalf("step %d: posts = %d, want %d", i, h.posts, total)
		}
	}
	h.apply(&change{kind: "f", oldUser: ns("u1")})
	if _, ok := h.fol["u1"]; ok {
		t.Fatal("Expected a follow change to drop the follower's cached list")
	}
}

func (a *authorKeys) keysOrNil() []postKey {
	if a == nil {
		return nil
	}
	return a.keys
}

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
