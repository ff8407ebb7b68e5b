package recommendeval

import (
	"context"
	"fmt"
	"strings"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

// Metrics are an embedder's scores on a corpus.
type Metrics struct {
	Items   int `json:"items"`
	Queries int `json:"queries"`

	// SimilarP10 is the mean precision@10 of "similar items": for every item, the share of its
	// 10 nearest items of the same kind (itself excluded) that have its topic. By item language
	// in SimilarP10Ko and SimilarP10En.
	SimilarP10   float64 `json:"similar_p10"`
	SimilarP10Ko float64 `json:"similar_p10_ko"`
	SimilarP10En float64 `json:"similar_p10_en"`

	// SearchMRR is the mean reciprocal rank of the first post of the query's topic among the
	// 100 nearest posts to the query's vector (vector search alone, 0 when none is found). By
	// query language in SearchMRRKo and SearchMRREn.
	SearchMRR   float64 `json:"search_mrr"`
	SearchMRRKo float64 `json:"search_mrr_ko"`
	SearchMRREn float64 `json:"search_mrr_en"`
}

// String formats m for a report.
func (m Metrics) String() string {
	return fmt.Sprintf("items %d, queries %d\nsimilar precision@10: %.3f (ko %.3f, en %.3f)\nsearch MRR (vectors only): %.3f (ko %.3f, en %.3f)",
		m.Items, m.Queries, m.SimilarP10, m.SimilarP10Ko, m.SimilarP10En, m.SearchMRR, m.SearchMRRKo, m.SearchMRREn)
}

// TextOf is the text the indexer embeds for an item: its text, then its tags, one per line
// (as recommend.ItemText does for records).
func TextOf(it Item) string {
	return strings.Join(append([]string{it.Text}, it.Tags...), "\n")
}

// Evaluate embeds the corpus with emb, indexes it in an exact [recommend.MemoryStore] and
// measures "similar" and search. It fails only when embedding or the store fails.
func Evaluate(ctx context.Context, emb recommend.Embedder, c *Corpus) (Metrics, error) {
	m := Metrics{Items: len(c.Items), Queries: len(c.Queries)}
	texts := make([]string, len(c.Items))
	for i, it := range c.Items {
		texts[i] = TextOf(it)
	}
	vecs, err := embedAll(ctx, emb, texts)
	if err != nil {
		return m, err
	}
	store := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: emb.Dim(), ExactThreshold: -1})
	defer store.Close(ctx)
	items := make([]recommend.Item, len(c.Items))
	topicOf := make(map[string]string, len(c.Items))
	for i, it := range c.Items {
		items[i] = recommend.Item{Id: it.Id, Kind: it.Kind, Vector: vecs[i], Owner: "eval", Published: true}
		topicOf[it.Id] = it.Topic
	}
	if err := store.Upsert(ctx, items...); err != nil {
		return m, err
	}

	var sum, sumKo, sumEn float64
	var nKo, nEn int
	for i, it := range c.Items {
		hits, err := store.Search(ctx, vecs[i], recommend.SearchOptions{K: 10, Kind: it.Kind, ExcludeIds: []string{it.Id}})
		if err != nil {
			return m, err
		}
		same := 0
		for _, h := range hits {
			if topicOf[h.Id] == it.Topic {
				same++
			}
		}
		p := float64(same) / 10
		sum += p
		if it.Lang == "ko" {
			sumKo, nKo = sumKo+p, nKo+1
		} else {
			sumEn, nEn = sumEn+p, nEn+1
		}
	}
	m.SimilarP10, m.SimilarP10Ko, m.SimilarP10En = mean(sum, len(c.Items)), mean(sumKo, nKo), mean(sumEn, nEn)

	qtexts := make([]string, len(c.Queries))
	for i, q := range c.Queries {
		qtexts[i] = q.Q
	}
	qvecs, err := embedAll(ctx, emb, qtexts)
	if err != nil {
		return m, err
	}
	ranked := make([][]string, len(c.Queries))
	for i := range c.Queries {
		hits, err := store.Search(ctx, qvecs[i], recommend.SearchOptions{K: 100, Kind: recommend.KindPost})
		if err != nil {
			return m, err
		}
		for _, h := range hits {
			ranked[i] = append(ranked[i], h.Id)
		}
	}
	m.SearchMRR, m.SearchMRRKo, m.SearchMRREn = MRR(c, ranked)
	return m, nil
}

// MRR returns the mean reciprocal rank of the first item of each query's topic in ranked[i]
// (the result ids of c.Queries[i]), overall and by query language.
func MRR(c *Corpus, ranked [][]string) (all, ko, en float64) {
	topicOf := make(map[string]string, len(c.Items))
	for _, it := range c.Items {
		topicOf[it.Id] = it.Topic
	}
	var sum, sumKo, sumEn float64
	var nKo, nEn int
	for i, q := range c.Queries {
		rr := 0.0
		for rank, id := range ranked[i] {
			if topicOf[id] == q.Topic {
				rr = 1 / float64(rank+1)
				break
			}
		}
		sum += rr
		if q.Lang == "ko" {
			sumKo, nKo = sumKo+rr, nKo+1
		} else {
			sumEn, nEn = sumEn+rr, nEn+1
		}
	}
	return mean(sum, len(c.Queries)), mean(sumKo, nKo), mean(sumEn, nEn)
}

func mean(sum float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// embedAll embeds texts in batches of 64.
func embedAll(ctx context.Context, emb recommend.Embedder, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += 64 {
		vecs, err := emb.Embed(ctx, texts[start:min(start+64, len(texts))])
		if err != nil {
			return nil, fmt.Errorf("recommendeval: embed: %w", err)
		}
		out = append(out, vecs...)
	}
	return out, nil
}
