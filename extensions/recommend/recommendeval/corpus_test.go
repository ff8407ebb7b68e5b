package recommendeval_test

import (
	"bytes"
	"testing"

	"github.com/tangerine-market/tangerine/extensions/recommend/recommendeval"
)

// TestShippedCorpusIsTheGeneratedOne regenerates the corpus and compares it with the shipped
// file, so that an edit of the generator cannot silently diverge from the measured figures.
func TestShippedCorpusIsTheGeneratedOne(t *testing.T) {
	want, err := recommendeval.Generate(recommendeval.DefaultSeed).MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	c, err := recommendeval.Load("../testdata/eval_corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("testdata/eval_corpus.json differs from Generate(DefaultSeed): run go run ./bench/evalcorpus")
	}
	topics := map[string]int{}
	for _, it := range c.Items {
		topics[it.Topic]++
	}
	if len(topics) < 20 || len(c.Queries) < 4*len(topics) {
		t.Fatalf("Expected at least 20 topics with 4 queries each, got %d topics and %d queries", len(topics), len(c.Queries))
	}
}

// TestMRRRanksTheFirstRelevantItem checks the metric on a hand-made ranking.
func TestMRRRanksTheFirstRelevantItem(t *testing.T) {
	c := &recommendeval.Corpus{
		Items: []recommendeval.Item{{Id: "a", Topic: "x"}, {Id: "b", Topic: "y"}, {Id: "c", Topic: "x"}},
		Queries: []recommendeval.Query{
			{Q: "1", Lang: "ko", Topic: "x"}, // a first: 1
			{Q: "2", Lang: "en", Topic: "y"}, // b third: 1/3
			{Q: "3", Lang: "en", Topic: "z"}, // none: 0
		},
	}
	all, ko, en := recommendeval.MRR(c, [][]string{{"a", "b"}, {"a", "c", "b"}, {"a"}})
	if ko != 1 || en != 1.0/6 || all != (1+1.0/3)/3 {
		t.Fatalf("MRR = %v (ko %v, en %v)", all, ko, en)
	}
}
