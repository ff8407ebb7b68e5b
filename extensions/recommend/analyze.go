package recommend

import (
	"strings"
	"unicode/utf8"
)

// Analyze turns text into what the keyword index (FTS5, unicode61 tokenizer) stores: the same
// folding and tokens as [HashEmbedder] (NFKC, lower case, runs of letters and digits split where
// Hangul, Han or kana meet other scripts); a word in another script stays as it is, and a
// Hangul, Han or kana run becomes its single characters followed by its character pairs.
//
// note: Korean nouns are mostly one or two syllables with particles glued on ("감귤을"). FTS5's
// trigram tokenizer cannot match anything shorter than three characters and unicode61 would keep
// "감귤을" whole, so neither finds "감귤" or "귤" in it. Unigrams match one-syllable queries, and
// because a run's pairs are written in order, a phrase of a query's pairs ("감귤 귤을") matches
// exactly the runs that contain the query as a substring.
func Analyze(text string) string {
	var b strings.Builder
	for _, tok := range tokenize(text) {
		r, _ := utf8.DecodeRuneInString(tok)
		if !isSyllabic(r) {
			b.WriteString(tok)
			b.WriteByte(' ')
			continue
		}
		runes := []rune(tok)
		for _, c := range runes {
			b.WriteRune(c)
			b.WriteByte(' ')
		}
		for i := 0; i+1 < len(runes); i++ {
			b.WriteString(string(runes[i : i+2]))
			b.WriteByte(' ')
		}
	}
	return strings.TrimSpace(b.String())
}

// particles are endings that are cut off a Korean query word of three or more syllables, so that
// "감귤이" finds "감귤을" (both contain "감귤"). Two-syllable words keep theirs: too many nouns
// end in one of these (가을, 포도).
var particles = []string{
	"에서", "에게", "으로", "까지", "부터", "처럼", "보다", "하고", "이랑",
	"은", "는", "이", "가", "을", "를", "에", "의", "로", "와", "과", "도", "만",
}

// matchQuery builds the FTS5 MATCH expression of a search query: one clause per query word,
// all required (and) or any (or). ok is false when the query has no word.
//   - Hangul, Han or kana: the phrase of the word's character pairs (a substring match), or the
//     single character; a word of three or more syllables ending in a particle may also match
//     without it.
//   - other words: a prefix match for words of three or more characters ("tangerine" finds
//     "tangerines"), exact otherwise.
func matchQuery(query string, and bool) (string, bool) {
	var clauses []string
	for _, tok := range tokenize(query) {
		r, _ := utf8.DecodeRuneInString(tok)
		var c string
		switch {
		case isSyllabic(r):
			c = syllablePhrase(tok)
			if stem, ok := stripParticle(tok); ok {
				c = "(" + c + " OR " + syllablePhrase(stem) + ")"
			}
		case utf8.RuneCountInString(tok) >= 3:
			c = quote(tok) + "*"
		default:
			c = quote(tok)
		}
		clauses = append(clauses, c)
	}
	if len(clauses) == 0 {
		return "", false
	}
	op := " OR "
	if and {
		op = " AND "
	}
	return strings.Join(clauses, op), true
}

func syllablePhrase(tok string) string {
	runes := []rune(tok)
	if len(runes) == 1 {
		return quote(tok)
	}
	pairs := make([]string, 0, len(runes)-1)
	for i := 0; i+1 < len(runes); i++ {
		pairs = append(pairs, string(runes[i:i+2]))
	}
	return quote(strings.Join(pairs, " "))
}

func stripParticle(tok string) (string, bool) {
	n := utf8.RuneCountInString(tok)
	if n < 3 {
		return "", false
	}
	for _, p := range particles {
		if strings.HasSuffix(tok, p) && n-utf8.RuneCountInString(p) >= 2 {
			return strings.TrimSuffix(tok, p), true
		}
	}
	return "", false
}

// quote makes s an FTS5 string (tokens from tokenize hold no quotes, but be safe).
func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
