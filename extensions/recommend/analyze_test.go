package recommend_test

import (
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

func TestAnalyzeEmitsHangulUnigramsAndBigrams(t *testing.T) {
	cases := []struct{ in, want string }{
		{"감귤을 샀어요", "감 귤 을 감귤 귤을 샀 어 요 샀어 어요"},
		{"Fresh TANGERINES!", "fresh tangerines"},
		{"아이폰15 케이스", "아 이 폰 아이 이폰 15 케 이 스 케이 이스"},
		{"귤", "귤"},
		{"", ""},
	}
	for _, c := range cases {
		if got := recommend.Analyze(c.in); got != c.want {
			t.Errorf("Analyze(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMatchQueryBuildsSubstringPhrases(t *testing.T) {
	cases := []struct {
		in   string
		and  bool
		want string
	}{
		{"귤", true, `"귤"`},
		{"감귤", true, `"감귤"`},
		{"감귤이", true, `("감귤 귤이" OR "감귤")`},
		{"제주 tangerine", true, `"제주" AND "tangerine"*`},
		{"go jeju", false, `"go" OR "jeju"*`},
	}
	for _, c := range cases {
		got, ok := recommend.MatchQuery(c.in, c.and)
		if !ok || got != c.want {
			t.Errorf("matchQuery(%q, %v) = %q, %v; want %q", c.in, c.and, got, ok, c.want)
		}
	}
	if _, ok := recommend.MatchQuery("!!! ...", true); ok {
		t.Errorf("Expected no match expression for a query without words")
	}
}
