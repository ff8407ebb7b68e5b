package recommend

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DefaultHashDim is the dimension of [HashEmbedder] when none is given.
//
// note: 256 is a trade-off. A post produces roughly 50-400 distinct hashed features; with signed
// hashing the inner product of two unrelated texts is noise with a standard deviation of about
// 1/sqrt(dim) (0.06 at 256), well below the 0.15-0.6 that texts sharing a word or a Hangul
// syllable pair score, so more buckets buy little ranking quality. Memory and search cost grow
// linearly with it: 1,000,000 vectors take 1 GiB at 256 (1.5 GiB at 384) and an approximate
// search scans 1.5x fewer bytes than at 384.
const DefaultHashDim = 256

// feature classes: each has its own weight and, except the syllable n-grams, its own hash
// seed, so that a word and a character n-gram with the same letters do not collide on purpose.
const (
	classWord = iota + 1
	classWordBigram
	classSyllable1
	classSyllable1Function
	classSyllable2
	classSyllable3
	classLatinGram
)

// classWeights favour whole words and syllable pairs: most Korean nouns are one or two
// syllables, so a pair is usually a noun. A single syllable is often a noun too (귤, 책, 옷),
// unless it is one of the particles and endings in functionSyllables. Latin character n-grams
// catch inflections and typos ("oranges", "orange") but there are many per word, so each
// weighs little.
var classWeights = [...]float32{
	classWord:              1.0,
	classWordBigram:        0.6,
	classSyllable1:         0.8,
	classSyllable1Function: 0.15,
	classSyllable2:         1.0,
	classSyllable3:         0.6,
	classLatinGram:         0.3,
}

// functionSyllables are Hangul syllables that mostly occur as particles or verb endings
// (을, 는, 요, 다, ...); as single-syllable features they carry little topic and would make every
// pair of sentences look alike.
var functionSyllables = map[string]bool{}

func init() {
	for _, r := range "은는이가을를에의도로와과서다요고지게한하해했있었았어아니면던든죠네께나만들것수" {
		functionSyllables[string(r)] = true
	}
}

// HashEmbedder is the built-in text embedder: no model and no network, deterministic across
// processes and platforms, and usable for Korean and English alike. It is a bag of hashed
// features (the "hashing trick"):
//   - text is NFKC-normalised (full-width letters, compatibility characters and decomposed
//     Hangul become their canonical forms) and lower-cased with Unicode rules;
//   - tokens are runs of letters and digits, split where the script changes between Hangul,
//     Han or kana and anything else ("아이폰15" gives "아이폰" and "15");
//   - features are the words, pairs of adjacent words, character 1- to 3-grams inside
//     Hangul, Han and kana runs (so "감귤을" shares "감귤" and "귤" with "감귤" and "귤" without a
//     tokenizer or a dictionary; syllables that are mostly particles or endings weigh little
//     alone) and character 3- to 5-grams of other words padded with "<" and ">" (fastText
//     style);
//   - each feature weighs its class weight times 1+ln(tf) (sublinear: a word said five times is
//     not five times as important) and is added with a sign to one of Dim buckets; the bucket
//     and the sign come from different bits of a 64-bit FNV-1a hash, so collisions cancel on
//     average instead of piling up;
//   - the result is L2-normalised. A text without letters or digits gives the zero vector.
//
// A HashEmbedder is immutable and safe for concurrent use.
type HashEmbedder struct {
	dim int
}

var _ Embedder = (*HashEmbedder)(nil)

// NewHashEmbedder returns a hashing embedder producing vectors of length dim, or of
// [DefaultHashDim] when dim <= 0. Vectors of different dimensions are not comparable.
func NewHashEmbedder(dim int) *HashEmbedder {
	if dim <= 0 {
		dim = DefaultHashDim
	}
	return &HashEmbedder{dim: dim}
}

// Dim implements [Embedder.Dim].
func (h *HashEmbedder) Dim() int {
	return h.dim
}

// Embed implements [Embedder.Embed]. It does no I/O; ctx is checked between texts so that a
// huge batch can still be abandoned.
func (h *HashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("recommend: hash embedding cancelled: %w", err)
		}
		out[i] = h.EmbedText(text)
	}
	return out, nil
}

// EmbedText returns the vector of one text; see [HashEmbedder] for what it contains.
func (h *HashEmbedder) EmbedText(text string) []float32 {
	type feature struct {
		class int
		tf    float32
	}
	feats := make(map[uint64]*feature, 64)
	add := func(class int, hash uint64) {
		if f := feats[hash]; f != nil {
			f.tf++
			return
		}
		feats[hash] = &feature{class: class, tf: 1}
	}

	var prev string
	for _, tok := range tokenize(text) {
		if prev != "" {
			add(classWordBigram, fnvString(fnvString(fnvString(fnvSeed(classWordBigram), prev), " "), tok))
		}
		prev = tok

		r, _ := utf8.DecodeRuneInString(tok)
		switch {
		case isSyllabic(r):
			// a word of up to three syllables is one of its own n-grams (same seed), so "귤"
			// alone and the "귤" inside "감귤을" are the same feature
			if utf8.RuneCountInString(tok) > 3 {
				add(classWord, fnvString(fnvSeed(classWord), tok))
			}
			syllableGrams(tok, add)
		case unicode.IsLetter(r):
			add(classWord, fnvString(fnvSeed(classWord), tok))
			latinGrams(tok, add)
		default:
			add(classWord, fnvString(fnvSeed(classWord), tok))
		}
	}

	v := make([]float32, h.dim)
	for hash, f := range feats {
		hash = mix64(hash)
		w := classWeights[f.class] * (1 + float32(math.Log(float64(f.tf))))
		idx := (hash >> 1) % uint64(h.dim)
		if hash&1 == 1 {
			w = -w
		}
		v[idx] += w
	}
	return Normalize(v)
}

// tokenize folds text (NFKC, Unicode lower case) and splits it into runs of letters, marks and
// digits, cutting where a syllabic script (Hangul, Han, kana) meets any other.
func tokenize(text string) []string {
	folded := strings.ToLower(norm.NFKC.String(text))
	var tokens []string
	start := -1
	startSyllabic := false
	for i, r := range folded {
		inToken := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
		syllabic := isSyllabic(r)
		if start >= 0 && (!inToken || (syllabic != startSyllabic && !unicode.IsMark(r))) {
			tokens = append(tokens, folded[start:i])
			start = -1
		}
		if inToken && start < 0 {
			start, startSyllabic = i, syllabic
		}
	}
	if start >= 0 {
		tokens = append(tokens, folded[start:])
	}
	return tokens
}

// isSyllabic reports whether r belongs to a script written without spaces between morphemes
// (Korean particles are glued to nouns), where character n-grams stand in for a tokenizer.
func isSyllabic(r rune) bool {
	return unicode.In(r, unicode.Hangul, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

// syllableGrams adds the character 1-, 2- and 3-grams of a syllabic token.
func syllableGrams(tok string, add func(class int, hash uint64)) {
	offsets := make([]int, 0, len(tok)/3+2)
	for i := range tok {
		offsets = append(offsets, i)
	}
	offsets = append(offsets, len(tok))
	runes := len(offsets) - 1
	seed := fnvSeed(classSyllable1)
	for n := 1; n <= 3; n++ {
		for i := 0; i+n <= runes; i++ {
			gram := tok[offsets[i]:offsets[i+n]]
			class := classSyllable1
			switch {
			case n == 2:
				class = classSyllable2
			case n == 3:
				class = classSyllable3
			case functionSyllables[gram]:
				class = classSyllable1Function
			}
			add(class, fnvString(seed, gram))
		}
	}
}

// latinGrams adds the character 3- to 5-grams of "<tok>".
func latinGrams(tok string, add func(class int, hash uint64)) {
	padded := "<" + tok + ">"
	offsets := make([]int, 0, len(padded)+1)
	for i := range padded {
		offsets = append(offsets, i)
	}
	offsets = append(offsets, len(padded))
	runes := len(offsets) - 1
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= runes; i++ {
			add(classLatinGram, fnvString(fnvSeed(classLatinGram), padded[offsets[i]:offsets[i+n]]))
		}
	}
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvSeed(class int) uint64 {
	return (fnvOffset64 ^ uint64(class)) * fnvPrime64
}

// fnvString continues a 64-bit FNV-1a hash over s without allocating.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// mix64 is the splitmix64 finaliser. FNV-1a's bits depend unevenly on the input bytes; mixing
// makes the sign (bit 0) and the bucket (the bits above it) independent.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
