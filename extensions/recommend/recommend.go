// Package recommend holds the pieces of Tangerine's "for you" feeds, "similar items" and
// semantic search that do not depend on PocketBase: text [Embedder]s that turn posts and
// products into vectors, and [VectorStore]s that find the nearest ones under filters.
//
// Two embedders implement [Embedder]: [HashEmbedder] (the default; deterministic feature
// hashing that handles Korean without a tokenizer, no model and no network) and
// [HttpEmbedder] (any OpenAI-compatible /v1/embeddings server). Two stores implement
// [VectorStore]: [MemoryStore] (the default; in process, exact while small and IVF-indexed when
// large, snapshotted through [MemoryStore.WriteTo] and [MemoryStore.ReadFrom]) and
// milvusstore.Store (Milvus). Every store passes recommendtest.RunStoreTests, so callers may
// not depend on which one is in use.
//
// Scores are inner products of L2-normalised vectors, that is cosine similarities.
//
// Example usage:
//
//	embedder := recommend.NewHashEmbedder(0)
//	store := recommend.NewMemoryStore(recommend.MemoryStoreConfig{Dim: embedder.Dim()})
//
//	vecs, err := embedder.Embed(ctx, []string{"제주 감귤 한 박스", "Fresh Jeju tangerines"})
//	if err != nil {
//		return err
//	}
//	err = store.Upsert(ctx,
//		recommend.Item{Id: "post1", Kind: recommend.KindPost, Vector: vecs[0], Owner: "user1", Published: true},
//		recommend.Item{Id: "prod1", Kind: recommend.KindProduct, Vector: vecs[1], Owner: "user2", Published: true},
//	)
//	if err != nil {
//		return err
//	}
//
//	query, _ := embedder.Embed(ctx, []string{"귤"})
//	hits, err := store.Search(ctx, query[0], recommend.SearchOptions{
//		K:             20,
//		Kind:          recommend.KindPost,
//		ExcludeOwners: []string{authUserId},
//		OnlyPublished: true,
//	})
package recommend
