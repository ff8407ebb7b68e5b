// Command eval prints the quality of an embedder on the labelled corpus
// (extensions/recommend/testdata/eval_corpus.json): precision@10 of "similar items" and MRR of
// vector search, overall and by language. Results go to docs/BENCHMARKS.md.
//
//	go run ./bench/eval                                   # the built-in hashing embedder
//	go run ./bench/eval -embedder http -url http://127.0.0.1:8081/v1/embeddings -model all-MiniLM-L6-v2 -dim 384
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/recommendeval"
)

func main() {
	kind := flag.String("embedder", "hash", "hash or http")
	url := flag.String("url", "", "embeddings endpoint of an OpenAI-compatible server (http)")
	model := flag.String("model", "", "model name sent to the server (http)")
	dim := flag.Int("dim", 0, "vector dimension (hash: default 256; http: the model's)")
	corpusPath := flag.String("corpus", "extensions/recommend/testdata/eval_corpus.json", "labelled corpus")
	asJSON := flag.Bool("json", false, "print the metrics as JSON")
	flag.Parse()

	var emb recommend.Embedder
	switch *kind {
	case "hash":
		emb = recommend.NewHashEmbedder(*dim)
	case "http":
		h, err := recommend.NewHttpEmbedder(recommend.HttpEmbedderConfig{URL: *url, Model: *model, Dim: *dim})
		if err != nil {
			log.Fatal(err)
		}
		emb = h
	default:
		log.Fatalf("unknown embedder %q (hash or http)", *kind)
	}

	corpus, err := recommendeval.Load(*corpusPath)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	started := time.Now()
	m, err := recommendeval.Evaluate(ctx, emb, corpus)
	if err != nil {
		log.Fatal(err)
	}
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(m)
		return
	}
	fmt.Printf("embedder %s (dim %d), %s\n%s\n", *kind, emb.Dim(), time.Since(started).Round(time.Millisecond), m)
}
