package recommend_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"golang.org/x/text/unicode/norm"
)

func TestHashEmbedderDeterministicAndNormalised(t *testing.T) {
	t.Parallel()
	texts := []string{
		"감귤을 샀어요", "Fresh oranges from Jeju!", "ＦＲＥＳＨ　ＯＲＡＮＧＥＳ", "노트북 할인 MacBook Air 15",
		"a", "귤", "😀 🍊", "", "   ", "!!!",
	}
	e1 := recommend.NewHashEmbedder(0)
	e2 := recommend.NewHashEmbedder(recommend.DefaultHashDim)
	if e1.Dim() != recommend.DefaultHashDim {
		t.Fatalf("Expected the default dimension %d, got %d", recommend.DefaultHashDim, e1.Dim())
	}
	v1, err := e1.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed failed: %v", err)
	}
	v2, _ := e2.Embed(context.Background(), texts)
	for i, text := range texts {
		if len(v1[i]) != e1.Dim() {
			t.Fatalf("%q: expected %d dimensions, got %d", text, e1.Dim(), len(v1[i]))
		}
		if !slices.Equal(v1[i], v2[i]) {
			t.Fatalf("%q: expected the same vector from two embedders", text)
		}
		norm := math.Sqrt(float64(recommend.Dot(v1[i], v1[i])))
		empty := i >= 6
		if empty && norm != 0 {
			t.Fatalf("%q: expected the zero vector for a text without letters or digits, got norm %v", text, norm)
		}
		if !empty && math.Abs(norm-1) > 1e-5 {
			t.Fatalf("%q: expected a unit vector, got norm %v", text, norm)
		}
	}

	// NFKC and case folding: full-width capitals embed like ASCII lower case, and
	// decomposed Hangul (as macOS file names and some keyboards produce) like composed
	folded := e1.EmbedText("fresh oranges")
	if sim := recommend.Dot(folded, v1[2]); sim < 0.9999 {
		t.Fatalf("Expected full-width upper case to embed like ASCII lower case, got similarity %v", sim)
	}
	decomposed := e1.EmbedText(norm.NFD.String("감귤을 샀어요"))
	if sim := recommend.Dot(decomposed, v1[0]); sim < 0.9999 {
		t.Fatalf("Expected decomposed Hangul to embed like composed, got similarity %v", sim)
	}
}

// TestHashEmbedderGolden pins a few components, so that a change to tokenising or hashing
// (which would make stored vectors incomparable with new ones) is a deliberate decision.
func TestHashEmbedderGolden(t *testing.T) {
	t.Parallel()
	v := recommend.NewHashEmbedder(256).EmbedText("감귤을 샀어요 fresh oranges")
	var nonzero int
	var checksum float64
	for i, x := range v {
		if x != 0 {
			nonzero++
		}
		checksum += float64(i+1) * float64(x)
	}
	got := fmt.Sprintf("%d %.4f", nonzero, checksum)
	if want := "40 -32.8076"; got != want {
		t.Fatalf("Expected the pinned embedding %q, got %q", want, got)
	}
}

func TestHashEmbedderNeighbours(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		query, near, far string
	}{
		// Korean: particles glued to one- and two-syllable nouns
		{"감귤을 샀어요", "귤 맛있다", "노트북 할인"},
		{"제주 감귤 판매합니다", "감귤이 달아요", "운동화 세일"},
		{"노트북 할인 행사", "노트북이 싸요", "제주 감귤"},
		{"커피를 마셨어요", "커피 원두 추천", "강아지 산책"},
		{"강아지와 산책", "강아지 간식", "노트북 가방"},
		// English: inflections share character n-grams
		{"fresh oranges", "orange juice", "laptop discount"},
		{"running shoes sale", "shoes for runners", "coffee beans"},
		{"cheap laptops", "laptop deals", "tangerine farm"},
		// mixed script
		{"아이폰15 케이스", "iphone 케이스 추천", "감귤 농장"},
	}
	e := recommend.NewHashEmbedder(0)
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, s.query), func(t *testing.T) {
			v, err := e.Embed(context.Background(), []string{s.query, s.near, s.far})
			if err != nil {
				t.Fatalf("Embed failed: %v", err)
			}
			near, far := recommend.Dot(v[0], v[1]), recommend.Dot(v[0], v[2])
			t.Logf("near %.3f, far %.3f", near, far)
			if near <= far+0.05 {
				t.Fatalf("Expected %q closer to %q (%.3f) than to %q (%.3f) by a margin", s.query, s.near, near, s.far, far)
			}
		})
	}
}

func TestHashEmbedderCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := recommend.NewHashEmbedder(0).Embed(ctx, []string{"귤"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Expected context.Canceled, got %v", err)
	}
	if v, err := recommend.NewHashEmbedder(0).Embed(context.Background(), nil); err != nil || len(v) != 0 {
		t.Fatalf("Expected no vectors and no error for no texts, got %d, %v", len(v), err)
	}
}
