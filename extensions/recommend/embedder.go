package recommend

import (
	"context"
	"math"
)

// Embedder turns texts into vectors whose inner product measures how alike the texts are.
//
// Contract every implementation keeps:
//   - Embed returns exactly one vector per input text, in input order, each of length [Embedder.Dim].
//   - Every returned vector is either L2-normalised (length 1 within float32 rounding) or, for a
//     text with nothing to embed (empty or only spaces and punctuation), the zero vector. The
//     stores rank by inner product, which on such vectors is the cosine similarity; a zero vector
//     scores 0 against everything.
//   - The same text gives the same vector for the lifetime of the embedder (the hashing embedder
//     across processes and versions too, so stored vectors stay comparable).
//   - Embed with no texts returns an empty slice and no error, without any I/O.
//   - A cancelled ctx aborts pending work with an error wrapping ctx.Err().
//   - Embed is safe for concurrent use.
type Embedder interface {
	// Embed returns one vector per text.
	Embed(ctx context.Context, texts []string) ([][]float32, error)

	// Dim returns the fixed length of every vector Embed returns.
	Dim() int
}

// Normalize scales v in place to unit L2 length and returns it; a zero vector is returned
// unchanged. Embedders and callers that average vectors (taste vectors) use it to keep inner
// products comparable with cosine similarity.
func Normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// Dot returns the inner product of a and b, which must have the same length. On L2-normalised
// vectors it is their cosine similarity, the score every [VectorStore] ranks by.
func Dot(a, b []float32) float32 {
	b = b[:len(a)] // one bounds check instead of one per element
	var s0, s1, s2, s3 float32
	i := 0
	// note: four independent accumulators let the CPU overlap the multiply-adds; the Go
	// compiler does not vectorise this loop on its own.
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
