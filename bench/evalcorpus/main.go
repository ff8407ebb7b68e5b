// Command evalcorpus writes the labelled corpus that the recommendation quality test and
// bench/eval read (extensions/recommend/testdata/eval_corpus.json). The corpus is generated
// deterministically from a seed, so running it again changes nothing.
//
//	go run ./bench/evalcorpus [-seed 20251125] [-out extensions/recommend/testdata/eval_corpus.json]
package main

import (
	"flag"
	"log"

	"github.com/tangerine-market/tangerine/extensions/recommend/recommendeval"
)

func main() {
	seed := flag.Uint64("seed", recommendeval.DefaultSeed, "generator seed")
	out := flag.String("out", "extensions/recommend/testdata/eval_corpus.json", "output file")
	flag.Parse()

	c := recommendeval.Generate(*seed)
	if err := c.Save(*out); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %d items and %d queries to %s", len(c.Items), len(c.Queries), *out)
}
