// Package recommendeval measures how well an [recommend.Embedder] serves Tangerine's "similar
// items" and search on a labelled corpus: about 20 topics of Korean and English posts and
// products, generated deterministically by [Generate] and shipped as
// extensions/recommend/testdata/eval_corpus.json (written by bench/evalcorpus).
//
// Example usage:
//
//	corpus, err := recommendeval.Load("extensions/recommend/testdata/eval_corpus.json")
//	if err != nil {
//		return err
//	}
//	m, err := recommendeval.Evaluate(ctx, recommend.NewHashEmbedder(0), corpus)
//	fmt.Printf("similar P@10 %.3f, search MRR %.3f\n", m.SimilarP10, m.SearchMRR)
package recommendeval

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
)

// Corpus is a labelled set of items and queries.
type Corpus struct {
	// Items are posts and products, each labelled with its topic.
	Items []Item `json:"items"`
	// Queries are search queries, each labelled with the topic of the items it should find.
	Queries []Query `json:"queries"`
}

// Item is one post or product.
type Item struct {
	Id    string   `json:"id"`
	Kind  string   `json:"kind"` // "post" or "product"
	Lang  string   `json:"lang"` // "ko" or "en"
	Topic string   `json:"topic"`
	Text  string   `json:"text"` // post text, or product name and description
	Tags  []string `json:"tags"`
}

// Query is one search query.
type Query struct {
	Q     string `json:"q"`
	Lang  string `json:"lang"`
	Topic string `json:"topic"`
}

// Load reads a corpus written by [Corpus.Save].
func Load(path string) (*Corpus, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Corpus
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("recommendeval: %s: %w", path, err)
	}
	return &c, nil
}

// Save writes the corpus as indented JSON.
func (c *Corpus) Save(path string) error {
	raw, err := c.MarshalIndent()
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}

// MarshalIndent returns the corpus file's bytes.
func (c *Corpus) MarshalIndent() ([]byte, error) {
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// topic is the vocabulary of one topic. Words are nouns as people write them in posts; the
// Korean ones are mostly one or two syllables and get particles glued on by the generator.
type topic struct {
	name    string
	ko, en  []string
	tags    []string  // mixed Korean and English, as people tag
	queries [4]string // two Korean, two English
}

var topics = []topic{
	{"citrus", []string{"감귤", "귤", "한라봉", "천혜향", "제주", "과즙", "껍질"}, []string{"tangerine", "mandarin", "citrus", "orange", "jeju", "juicy", "peel"}, []string{"감귤", "제주", "citrus"}, [4]string{"귤", "감귤을", "tangerine", "citrus fruit"}},
	{"coffee", []string{"커피", "원두", "핸드드립", "라떼", "카페", "로스팅", "에스프레소"}, []string{"coffee", "beans", "espresso", "latte", "roast", "cafe", "barista"}, []string{"커피", "coffee", "카페"}, [4]string{"커피", "원두 추천", "coffee", "espresso beans"}},
	{"laptop", []string{"노트북", "키보드", "배터리", "화면", "충전기", "맥북", "모니터"}, []string{"laptop", "keyboard", "battery", "screen", "charger", "macbook", "monitor"}, []string{"노트북", "laptop", "IT"}, [4]string{"노트북", "키보드", "laptop", "keyboard"}},
	{"dog", []string{"강아지", "산책", "사료", "간식", "댕댕이", "목줄", "훈련"}, []string{"dog", "puppy", "walk", "leash", "treats", "kibble", "training"}, []string{"강아지", "dog", "반려견"}, [4]string{"강아지", "산책", "puppy", "dog treats"}},
	{"cat", []string{"고양이", "집사", "캣타워", "츄르", "모래", "냥이", "스크래처"}, []string{"cat", "kitten", "litter", "scratcher", "catnip", "purr", "whiskers"}, []string{"고양이", "cat", "집사"}, [4]string{"고양이", "캣타워", "kitten", "cat litter"}},
	{"camping", []string{"캠핑", "텐트", "침낭", "캠핑장", "불멍", "랜턴", "타프"}, []string{"camping", "tent", "campfire", "lantern", "campsite", "sleeping", "tarp"}, []string{"캠핑", "camping", "outdoor"}, [4]string{"캠핑", "텐트", "camping", "tent"}},
	{"baking", []string{"빵", "베이킹", "오븐", "반죽", "쿠키", "버터", "케이크"}, []string{"bread", "baking", "oven", "dough", "cookies", "butter", "cake"}, []string{"베이킹", "baking", "홈베이킹"}, [4]string{"빵", "쿠키", "baking", "sourdough bread"}},
	{"skincare", []string{"화장품", "스킨", "로션", "선크림", "피부", "세럼", "보습"}, []string{"skincare", "serum", "sunscreen", "moisturizer", "skin", "lotion", "toner"}, []string{"뷰티", "skincare", "화장품"}, [4]string{"선크림", "피부", "sunscreen", "serum"}},
	{"running", []string{"러닝", "마라톤", "달리기", "러닝화", "페이스", "기록", "완주"}, []string{"running", "marathon", "runner", "pace", "race", "miles", "finish"}, []string{"러닝", "running", "운동"}, [4]string{"마라톤", "달리기", "marathon", "running pace"}},
	{"books", []string{"책", "소설", "독서", "작가", "서점", "시집", "문장"}, []string{"book", "novel", "reading", "author", "bookstore", "poetry", "chapter"}, []string{"독서", "books", "책"}, [4]string{"책", "소설", "novel", "reading"}},
	{"gardening", []string{"식물", "화분", "텃밭", "분갈이", "다육이", "흙", "새싹"}, []string{"garden", "plants", "pot", "soil", "seedling", "succulent", "gardening"}, []string{"식물", "gardening", "plants"}, [4]string{"화분", "식물", "succulent", "garden soil"}},
	{"kimchi", []string{"김치", "배추", "김장", "깍두기", "고춧가루", "젓갈", "양념"}, []string{"kimchi", "cabbage", "ferment", "radish", "chili", "pickled", "brine"}, []string{"김치", "kimchi", "한식"}, [4]string{"김치", "김장", "kimchi", "fermented cabbage"}},
	{"cycling", []string{"자전거", "라이딩", "로드", "헬멧", "페달", "안장", "체인"}, []string{"bike", "cycling", "helmet", "pedal", "saddle", "chain", "ride"}, []string{"자전거", "cycling", "라이딩"}, [4]string{"자전거", "라이딩", "cycling", "bike helmet"}},
	{"photo", []string{"사진", "카메라", "렌즈", "필름", "출사", "노출", "셔터"}, []string{"photo", "camera", "lens", "film", "shutter", "exposure", "photography"}, []string{"사진", "photography", "카메라"}, [4]string{"카메라", "렌즈", "camera lens", "film photography"}},
	{"knitting", []string{"뜨개질", "털실", "목도리", "바늘", "스웨터", "코바늘", "장갑"}, []string{"knitting", "yarn", "scarf", "needles", "sweater", "crochet", "wool"}, []string{"뜨개질", "knitting", "handmade"}, [4]string{"뜨개질", "털실", "knitting", "yarn"}},
	{"phone", []string{"휴대폰", "스마트폰", "케이스", "액정", "갤럭시", "아이폰", "유심"}, []string{"phone", "smartphone", "case", "iphone", "galaxy", "screen", "sim"}, []string{"스마트폰", "phone", "IT"}, [4]string{"휴대폰", "스마트폰", "smartphone", "phone case"}},
	{"hiking", []string{"등산", "산", "정상", "등산화", "둘레길", "계곡", "능선"}, []string{"hiking", "mountain", "summit", "trail", "boots", "ridge", "valley"}, []string{"등산", "hiking", "mountain"}, [4]string{"등산", "산", "hiking", "mountain trail"}},
	{"wine", []string{"와인", "레드", "화이트", "소믈리에", "포도", "코르크", "빈티지"}, []string{"wine", "red", "white", "sommelier", "grape", "cork", "vintage"}, []string{"와인", "wine", "술"}, [4]string{"와인", "포도", "wine", "vintage red"}},
	{"sneakers", []string{"운동화", "신발", "스니커즈", "조던", "한정판", "사이즈", "발볼"}, []string{"sneakers", "shoes", "jordan", "limited", "size", "kicks", "laces"}, []string{"신발", "sneakers", "패션"}, [4]string{"운동화", "신발", "sneakers", "limited shoes"}},
	{"piano", []string{"피아노", "건반", "악보", "연주", "레슨", "쇼팽", "조율"}, []string{"piano", "keys", "sheet", "music", "lesson", "chopin", "recital"}, []string{"피아노", "piano", "음악"}, [4]string{"피아노", "악보", "piano", "piano lesson"}},
}

// Shared filler: words every topic uses, so that items of different topics share some words
// and a similarity measure has to weigh the topical ones.
var (
	fillerKo   = []string{"오늘", "정말", "추천", "후기", "좋아요", "드디어", "요즘", "주말", "가격", "선물", "만족", "처음"}
	fillerEn   = []string{"today", "really", "recommend", "review", "love", "finally", "weekend", "price", "gift", "happy", "first", "great"}
	particles  = []string{"", "", "을", "이", "은", "도", "에", "로", "와"}
	endingsKo  = []string{"샀어요", "좋네요", "추천해요", "써봤어요", "다녀왔어요", "만들었어요", "기록해요"}
	templateEn = []string{"%s", "Just tried %s", "Loving this %s", "My %s", "Honest review: %s", "Weekend with %s"}
)

// Generate returns the evaluation corpus for seed: per topic 8 Korean and 8 English posts, 6
// Korean and 6 English products (so that every item has at least 10 others of its topic and
// kind) and its 4 queries. The same seed gives the same corpus.
func Generate(seed uint64) *Corpus {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(words []string, n int) []string {
		perm := rng.Perm(len(words))
		out := make([]string, 0, n)
		for _, i := range perm[:min(n, len(words))] {
			out = append(out, words[i])
		}
		return out
	}
	c := &Corpus{}
	for ti, t := range topics {
		add := func(kind, lang string, n int) {
			for i := range n {
				var text string
				if lang == "ko" {
					words := pick(t.ko, 3)
					for j, w := range words {
						words[j] = w + particles[rng.IntN(len(particles))]
					}
					filler := pick(fillerKo, 2)
					text = strings.Join(append(append(filler[:1], words...), filler[1], endingsKo[rng.IntN(len(endingsKo))]), " ")
				} else {
					words := pick(t.en, 3)
					filler := pick(fillerEn, 2)
					body := strings.Join(append(append(filler[:1], words...), filler[1]), " ")
					text = fmt.Sprintf(templateEn[rng.IntN(len(templateEn))], body)
				}
				if kind == "product" {
					if lang == "ko" {
						text = t.ko[rng.IntN(len(t.ko))] + " " + []string{"세트", "특가", "정품", "1+1"}[rng.IntN(4)] + "\n" + text
					} else {
						text = strings.ToUpper(t.en[rng.IntN(len(t.en))][:1]) + t.en[rng.IntN(len(t.en))][1:] + " " + []string{"set", "deal", "bundle", "pack"}[rng.IntN(4)] + "\n" + text
					}
				}
				c.Items = append(c.Items, Item{
					Id:    fmt.Sprintf("%s%02d%s%03d", kind[:2], ti, lang, i),
					Kind:  kind,
					Lang:  lang,
					Topic: t.name,
					Text:  text,
					Tags:  pick(t.tags, 1+rng.IntN(2)),
				})
			}
		}
		add("post", "ko", 8)
		add("post", "en", 8)
		add("product", "ko", 6)
		add("product", "en", 6)
		for i, q := range t.queries {
			lang := "ko"
			if i >= 2 {
				lang = "en"
			}
			c.Queries = append(c.Queries, Query{Q: q, Lang: lang, Topic: t.name})
		}
	}
	return c
}

// DefaultSeed is the seed of the shipped corpus.
const DefaultSeed = 20251125

// TopicWords is the vocabulary of one topic of the corpus.
type TopicWords struct {
	Name         string
	Ko, En, Tags []string
}

// Vocabulary is the words the corpus generator writes with, for programs that need text that
// clusters the way the corpus does (bench/recommend seeds its posts with it).
type Vocabulary struct {
	Topics                                                []TopicWords
	FillerKo, FillerEn, Particles, EndingsKo, TemplatesEn []string
}

// Words returns the corpus generator's vocabulary (copies: the caller may keep and change them).
func Words() Vocabulary {
	v := Vocabulary{
		FillerKo: slices.Clone(fillerKo), FillerEn: slices.Clone(fillerEn), Particles: slices.Clone(particles),
		EndingsKo: slices.Clone(endingsKo), TemplatesEn: slices.Clone(templateEn),
	}
	for _, t := range topics {
		v.Topics = append(v.Topics, TopicWords{Name: t.name, Ko: slices.Clone(t.ko), En: slices.Clone(t.en), Tags: slices.Clone(t.tags)})
	}
	return v
}
