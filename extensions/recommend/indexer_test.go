package recommend_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// cloneApp opens a copy of app's data directory as it is on disk right now, like a process
// that starts on the database a killed one left behind (the WAL included).
func cloneApp(t *testing.T, app *tests.TestApp) *tests.TestApp {
	t.Helper()
	clone, err := tests.NewTestApp(app.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clone.Cleanup)
	testapp.Bind(t, clone)
	return clone
}

// waitIndexed waits for the indexer of e to empty the queue.
func waitIndexed(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		lag, err := e.plug.Lag(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if lag == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("The indexer left %d changes queued", lag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueSurvivesAKillBetweenEnqueueAndIndex queues changes on a process whose indexer never
// runs, "kills" it (its files are reopened as they are, nothing drained), and expects the next
// process to index them on start.
func TestQueueSurvivesAKillBetweenEnqueueAndIndex(t *testing.T) {
	app := testapp.New(t)
	plug, err := recommend.Register(app, recommend.Config{}) // never served: no indexer runs
	if err != nil {
		t.Fatal(err)
	}
	u := testapp.CreateUser(t, app, "writer")
	kept := createPost(t, app, u, "감귤을 샀어요 queued before the crash")
	product := createProduct(t, app, u, "한라봉 선물세트", "queued product")
	doomed := createPost(t, app, u, "지워질 글 doomed")
	if err := app.Delete(doomed); err != nil {
		t.Fatal(err)
	}
	lag, err := plug.Lag(t.Context())
	if err != nil || lag < 5 { // user, 3 post creates, product, post delete
		t.Fatalf("Expected the changes in the durable queue, lag %d (%v)", lag, err)
	}
	if n, _ := plug.Store().Count(t.Context()); n != 0 {
		t.Fatalf("Expected nothing indexed before the crash, %d items", n)
	}

	e := serveEnv(t, cloneApp(t, app))
	waitIndexed(t, e)
	if n, _ := e.plug.Store().Count(t.Context()); n != 2 {
		t.Errorf("Expected the post and the product indexed after the restart, %d items", n)
	}
	if ids := e.mustList("/api/search?type=posts&q="+url.QueryEscape("귤"), ""); len(ids) != 1 || ids[0] != kept.Id {
		t.Errorf("Expected the queued post to be searchable after the restart, got %v", ids)
	}
	if ids := e.mustList("/api/products/"+product.Id+"/similar", ""); len(ids) != 0 {
		t.Errorf("Expected no other product, got %v", ids)
	}

	// a third process starts from the persisted vectors: nothing queued, nothing re-embedded
	again := serveEnv(t, cloneApp(t, e.app))
	if lag, _ := again.plug.Lag(t.Context()); lag != 0 {
		t.Errorf("Expected nothing to reconcile on a clean restart, lag %d", lag)
	}
	if n, _ := again.plug.Store().Count(t.Context()); n != 2 {
		t.Errorf("Expected the store loaded from SQLite on start, %d items", n)
	}
	if ids := again.mustList("/api/search?type=posts&q=crash", ""); len(ids) != 1 || ids[0] != kept.Id {
		t.Errorf("Expected the post searchable after a clean restart, got %v", ids)
	}
}

// TestReconcileRequeuesWhatTheIndexMisses drops index rows behind the indexer's back and
// expects a restart to put them back.
func TestReconcileRequeuesWhatTheIndexMisses(t *testing.T) {
	e := newEnv(t)
	u := testapp.CreateUser(t, e.app, "writer")
	p := createPost(t, e.app, u, "reconcile me 감귤")
	e.sync()
	if _, err := e.app.DB().NewQuery("DELETE FROM {{_recommend_vectors}}").Execute(); err != nil {
		t.Fatal(err)
	}
	restarted := serveEnv(t, cloneApp(t, e.app))
	waitIndexed(t, restarted)
	if n, _ := restarted.plug.Store().Count(t.Context()); n != 1 {
		t.Errorf("Expected the missing vector re-indexed, %d items", n)
	}
	if ids := restarted.mustList("/api/search?type=posts&q=reconcile", ""); len(ids) != 1 || ids[0] != p.Id {
		t.Errorf("Expected the post searchable after the repair, got %v", ids)
	}
}

// failingEmbedder fails until ok is set.
type failingEmbedder struct {
	recommend.Embedder
	ok chan struct{}
}

func (f *failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case <-f.ok:
		return f.Embedder.Embed(ctx, texts)
	default:
		return nil, errors.New("embedder down")
	}
}

// TestFailedBatchStaysQueued checks that a batch whose embedding fails keeps its queue rows and
// is indexed once the embedder recovers.
func TestFailedBatchStaysQueued(t *testing.T) {
	app := testapp.New(t)
	emb := &failingEmbedder{Embedder: recommend.NewHashEmbedder(0), ok: make(chan struct{})}
	plug, err := recommend.Register(app, recommend.Config{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	u := testapp.CreateUser(t, app, "writer")
	createPost(t, app, u, "embedding fails first")
	if err := plug.Sync(t.Context()); err == nil {
		t.Fatal("Expected Sync to report the embedder failure")
	}
	if lag, _ := plug.Lag(t.Context()); lag == 0 {
		t.Fatal("Expected the failed batch to stay queued")
	}
	close(emb.ok)
	if err := plug.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _ := plug.Store().Count(t.Context()); n != 1 {
		t.Errorf("Expected the post indexed after recovery, %d items", n)
	}
}

// TestReindexRebuildsEverything empties the index by Reindex and checks that search, similar and
// the counts come back, and that an unchanged text is not re-embedded on a status change.
func TestReindexRebuildsEverything(t *testing.T) {
	e := newEnv(t)
	u := testapp.CreateUser(t, e.app, "writer")
	var posts []*core.Record
	for _, text := range []string{"감귤 한 박스", "감귤 농장", "coffee beans"} {
		posts = append(posts, createPost(t, e.app, u, text))
	}
	e.sync()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := e.plug.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.plug.Store().Count(ctx); n != 3 {
		t.Errorf("Expected 3 items after reindex, got %d", n)
	}
	var docs int
	if err := e.app.DB().Select("count(*)").From("_recommend_docs").Row(&docs); err != nil || docs != 4 {
		t.Errorf("Expected 3 posts and 1 user in the keyword index, got %d (%v)", docs, err)
	}
	if ids := e.mustList("/api/search?type=posts&q="+url.QueryEscape("감귤"), ""); len(ids) != 2 {
		t.Errorf("Expected 2 hits after reindex, got %v", ids)
	}

	var before []byte
	q := e.app.DB().Select("vec").From("_recommend_vectors").Where(dbx.HashExp{"id": posts[0].Id})
	if err := q.Row(&before); err != nil {
		t.Fatal(err)
	}
	posts[0].Set("status", "hidden")
	if err := e.app.Save(posts[0]); err != nil {
		t.Fatal(err)
	}
	e.sync()
	var published bool
	if err := e.app.DB().Select("published").From("_recommend_vectors").Where(dbx.HashExp{"id": posts[0].Id}).Row(&published); err != nil || published {
		t.Errorf("Expected the stored item marked unpublished, got %v (%v)", published, err)
	}
	var after []byte
	if err := e.app.DB().Select("vec").From("_recommend_vectors").Where(dbx.HashExp{"id": posts[0].Id}).Row(&after); err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("Expected the vector kept as it was for an unchanged text")
	}
}
