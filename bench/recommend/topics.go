package main

import "github.com/tangerine-market/tangerine/extensions/recommend/recommendeval"

// The topic vocabulary of the recommendation evaluation corpus, so that the seeded posts
// cluster by topic the way the labelled corpus does and taste vectors mean something.

// topic is the vocabulary of one topic. Words are nouns as people write them in posts; the
// Korean ones get particles glued on by the generator.
type topic struct {
	name   string
	ko, en []string
	tags   []string // mixed Korean and English, as people tag
}

var (
	vocabulary = recommendeval.Words()
	topics     = func() []topic {
		var ts []topic
		for _, t := range vocabulary.Topics {
			ts = append(ts, topic{name: t.Name, ko: t.Ko, en: t.En, tags: t.Tags})
		}
		return ts
	}()
	fillerKo   = vocabulary.FillerKo
	fillerEn   = vocabulary.FillerEn
	particles  = vocabulary.Particles
	endingsKo  = vocabulary.EndingsKo
	templateEn = vocabulary.TemplatesEn
)
