package recommend_test

import (
	"net/url"
	"testing"

	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendeval"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// Quality floors of the hashing embedder on testdata/eval_corpus.json, a little below the
// measured figures (docs/BENCHMARKS.md), so that a regression of the embedder or of search fails.
const (
	floorSimilarP10   = 0.47 // measured 0.497
	floorVectorMRR    = 0.93 // measured 0.973
	floorHybridMRR    = 0.95 // measured 0.975 through /api/search
	floorRouteSimilar = 0.50 // measured 0.534 through /api/posts/{id}/similar (posts only)
)

func loadCorpus(t *testing.T) *recommendeval.Corpus {
	t.Helper()
	c, err := recommendeval.Load("testdata/eval_corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHashEmbedderQualityFloor measures precision@10 of "similar" and MRR of vector search for
// the hashing embedder on the labelled corpus.
func TestHashEmbedderQualityFloor(t *testing.T) {
	m, err := recommendeval.Evaluate(t.Context(), recommend.NewHashEmbedder(0), loadCorpus(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hash embedder:\n%s", m)
	if m.SimilarP10 < floorSimilarP10 {
		t.Errorf("similar precision@10 %.3f below the floor %.2f", m.SimilarP10, floorSimilarP10)
	}
	if m.SearchMRR < floorVectorMRR {
		t.Errorf("search MRR %.3f below the floor %.2f", m.SearchMRR, floorVectorMRR)
	}
}

// TestHybridSearchQualityFloor loads the corpus's posts into an app and measures, through the
// routes, the MRR of /api/search (keywords and vectors fused) and precision@10 of similar.
func TestHybridSearchQualityFloor(t *testing.T) {
	c := loadCorpus(t)
	e := newEnv(t)
	u := testapp.CreateUser(t, e.app, "corpus")
	topicOf := map[string]string{} // record id -> topic
	corpusId := map[string]string{}
	var posts []*core.Record
	for _, it := range c.Items {
		if it.Kind != recommend.KindPost {
			continue
		}
		r := createPost(t, e.app, u, it.Text, it.Tags...)
		topicOf[r.Id] = it.Topic
		corpusId[r.Id] = it.Id
		posts = append(posts, r)
	}
	e.sync()

	ranked := make([][]string, len(c.Queries))
	for i, q := range c.Queries {
		ids := e.mustList("/api/search?type=posts&limit=100&q="+url.QueryEscape(q.Q), "")
		for _, id := range ids {
			ranked[i] = append(ranked[i], corpusId[id])
		}
	}
	mrr, ko, en := recommendeval.MRR(c, ranked)
	t.Logf("hybrid search MRR %.3f (ko %.3f, en %.3f)", mrr, ko, en)
	if mrr < floorHybridMRR {
		t.Errorf("hybrid search MRR %.3f below the floor %.2f", mrr, floorHybridMRR)
	}

	var sum float64
	for _, r := range posts {
		ids := e.mustList("/api/posts/"+r.Id+"/similar?limit=10", "")
		same := 0
		for _, id := range ids {
			if topicOf[id] == topicOf[r.Id] {
				same++
			}
		}
		sum += float64(same) / 10
	}
	p10 := sum / float64(len(posts))
	t.Logf("similar posts precision@10 through the route %.3f", p10)
	if p10 < floorRouteSimilar {
		t.Errorf("similar precision@10 %.3f below the floor %.2f", p10, floorRouteSimilar)
	}
}
