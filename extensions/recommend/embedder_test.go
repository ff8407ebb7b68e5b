package recommend_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendtest"
)

func TestNormalizeAndDot(t *testing.T) {
	t.Parallel()
	v := recommend.Normalize([]float32{3, 0, 4})
	if math.Abs(float64(v[0])-0.6) > 1e-6 || math.Abs(float64(v[2])-0.8) > 1e-6 {
		t.Fatalf("Expected (0.6, 0, 0.8), got %v", v)
	}
	zero := recommend.Normalize(make([]float32, 5))
	for _, x := range zero {
		if x != 0 {
			t.Fatalf("Expected the zero vector to stay zero, got %v", zero)
		}
	}
	// odd lengths exercise the tail loop after the unrolled one
	for _, n := range []int{1, 3, 4, 7, 256, 257} {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = float32(i%5)-2, float32(i%3)+0.5
			want += float64(a[i]) * float64(b[i])
		}
		if got := recommend.Dot(a, b); math.Abs(float64(got)-want) > 1e-3*math.Max(1, math.Abs(want)) {
			t.Fatalf("Dot of length %d: expected %v, got %v", n, want, got)
		}
	}
}

func BenchmarkDot256(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := recommendtest.RandomUnit(rng, 256), recommendtest.RandomUnit(rng, 256)
	var s float32
	for b.Loop() {
		s += recommend.Dot(x, y)
	}
	_ = s
}
