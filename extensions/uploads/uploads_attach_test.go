package uploads

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

const attachA = "/api/media/uploads/" + uploadA + "/attach"

func attachBody(collection, record, field string) string {
	return `{"collection":"` + collection + `","record":"` + record + `","field":"` + field + `"}`
}

// stageA stages alice's upload A with data.
func stageA(data string) func(t testing.TB, fx *fixture) {
	return func(t testing.TB, fx *fixture) {
		fx.presigner.stage(stagedKey(aliceId, uploadA), []byte(data), time.Minute)
	}
}

// unchanged asserts that a failed attach left the record as it was and kept the staged object.
func unchanged(collection, id string, wantFiles int, stagedKeys ...string) func(t testing.TB, fx *fixture) {
	return func(t testing.TB, fx *fixture) {
		r := fx.record(t, collection, id)
		field := "images"
		if collection == collections.Products {
			field = "image"
		}
		if collection == collections.Users {
			field = "avatar"
		}
		if n := len(r.GetStringSlice(field)); n != wantFiles {
			t.Errorf("%s/%s has %d files in %s after a failed attach, want %d", collection, id, n, field, wantFiles)
		}
		// note: not against "created", which may be a millisecond later than "updated" on create
		if got, want := r.GetString("updated"), fx.updated[collection+"/"+id]; want == "" || got != want {
			t.Errorf("%s/%s was saved by a failed attach (updated %q, after set-up %q)", collection, id, got, want)
		}
		for _, k := range stagedKeys {
			if !fx.presigner.has(k) {
				t.Errorf("staged object %q was deleted by a failed attach", k)
			}
		}
	}
}

func TestUploadsAttachRejects(t *testing.T) {
	keyA := stagedKey(aliceId, uploadA)
	scenarios := []scenario{
		{
			name:   "anonymous: 401",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "images"),
			before: stageA("image"),
			status: http.StatusUnauthorized, content: []string{`"status":401`},
			after: unchanged(collections.Posts, alicePostId, 1, keyA),
		},
		{
			name:   "no S3 storage: 409",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "images"),
			opts:   fixtureOptions{noPresigner: true},
			status: http.StatusConflict, content: []string{`"message":"Direct uploads need S3 storage."`},
		},
		{
			name:   "collection that takes no uploads: 400 naming collection",
			user:   "alice",
			url:    attachA,
			body:   attachBody("comments", alicePostId, "images"),
			before: stageA("image"),
			status: http.StatusBadRequest, content: []string{`"collection":{"code":"validation_invalid_collection"`},
			notContent: []string{`"field":`},
			after:      unchanged(collections.Posts, alicePostId, 1, keyA),
		},
		{
			name:   "field that is not a target (not a file field): 400 naming field",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "text"),
			before: stageA("image"),
			status: http.StatusBadRequest, content: []string{`"field":{"code":"validation_invalid_field"`},
			after: unchanged(collections.Posts, alicePostId, 1, keyA),
		},
		{
			name:   "file field of another target's collection: 400 naming field",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "avatar"),
			status: http.StatusBadRequest, content: []string{`"field":{"code":"validation_invalid_field"`},
		},
		{
			name:   "missing record: 400 naming record",
			user:   "alice",
			url:    attachA,
			body:   `{"collection":"posts","field":"images"}`,
			status: http.StatusBadRequest, content: []string{`"record":{"code":"validation_required"`},
		},
		{
			name:   "unknown upload: 404",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "images"),
			status: http.StatusNotFound, content: []string{`"status":404`},
			after: unchanged(collections.Posts, alicePostId, 1),
		},
		{
			name: "malformed upload id: 404 without touching storage",
			user: "alice",
			url:  "/api/media/uploads/..%2F" + bobId + "%2F" + uploadA + "/attach",
			body: attachBody("posts", alicePostId, "images"),
			before: func(t testing.TB, fx *fixture) {
				fx.presigner.stage(stagedKey(bobId, uploadA), []byte("image"), time.Minute)
			},
			status: http.StatusNotFound, content: []string{`"status":404`},
			after: unchanged(collections.Posts, alicePostId, 1, stagedKey(bobId, uploadA)),
		},
		{
			name: "someone else's upload: 404, and their staged object stays",
			user: "alice",
			url:  attachA,
			body: attachBody("posts", alicePostId, "images"),
			before: func(t testing.TB, fx *fixture) {
				fx.presigner.stage(stagedKey(bobId, uploadA), []byte("image"), time.Minute)
			},
			status: http.StatusNotFound, content: []string{`"status":404`},
			after: unchanged(collections.Posts, alicePostId, 1, stagedKey(bobId, uploadA)),
		},
		{
			name: "expired upload (older than a day, not yet cleaned up): 404",
			user: "alice",
			url:  attachA,
			body: attachBody("posts", alicePostId, "images"),
			before: func(t testing.TB, fx *fixture) {
				fx.presigner.stage(stagedKey(aliceId, uploadA), []byte("image"), 25*time.Hour)
			},
			status: http.StatusNotFound, content: []string{`"status":404`},
			after: unchanged(collections.Posts, alicePostId, 1),
		},
		{
			name:   "someone else's post: 404, not 403",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", bobPostId, "images"),
			before: stageA("image"),
			status: http.StatusNotFound, content: []string{`"status":404`},
			after: func(t testing.TB, fx *fixture) {
				unchanged(collections.Posts, bobPostId, 1, stagedKey(aliceId, uploadA))(t, fx)
				if n := fx.processor.callCount(); n != 0 {
					t.Errorf("processed %d images for a record the user does not own", n)
				}
			},
		},
		{
			name:   "someone else's user record: 404",
			user:   "alice",
			url:    attachA,
			body:   attachBody("users", bobId, "avatar"),
			before: stageA("image"),
			status: http.StatusNotFound, content: []string{`"status":404`},
			after: unchanged(collections.Users, bobId, 0, stagedKey(aliceId, uploadA)),
		},
		{
			name:   "record that does not exist: 404",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", "nosuchpost00001", "images"),
			before: stageA("image"),
			status: http.StatusNotFound, content: []string{`"status":404`},
		},
		{
			name: "posts.images already holds 10: 400 naming images, nothing processed",
			user: "alice",
			url:  attachA,
			body: attachBody("posts", alicePostId, "images"),
			before: func(t testing.TB, fx *fixture) {
				fillImages(t, fx, alicePostId, 10)
				stageA("image")(t, fx)
			},
			status: http.StatusBadRequest, content: []string{`"images":{"code":"validation_field_full"`},
			after: func(t testing.TB, fx *fixture) {
				if n := len(fx.record(t, collections.Posts, alicePostId).GetStringSlice("images")); n != 10 {
					t.Errorf("post has %d images, want still 10", n)
				}
				if !fx.presigner.has(stagedKey(aliceId, uploadA)) {
					t.Error("the staged object was deleted by a failed attach")
				}
				if n := fx.processor.callCount(); n != 0 {
					t.Errorf("processed %d images for a full field", n)
				}
			},
		},
		{
			name:   "bad image: 400 naming the field, record unchanged, staged object kept",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "images"),
			before: stageA("bad bytes"),
			status: http.StatusBadRequest,
			content: []string{
				`"data":{"images":{"code":"validation_invalid_image","message":"The image could not be read; the file is damaged or incomplete."}}`,
			},
			notContent: []string{"truncated"}, // the cause stays in the logs
			after:      unchanged(collections.Posts, alicePostId, 1, stagedKey(aliceId, uploadA)),
		},
		{
			name:   "bad image on a single file field: the old file stays",
			user:   "alice",
			url:    attachA,
			body:   attachBody("products", aliceProductId, "image"),
			before: stageA("bad bytes"),
			status: http.StatusBadRequest, content: []string{`"image":{"code":"validation_invalid_image"`},
			after: unchanged(collections.Products, aliceProductId, 1, stagedKey(aliceId, uploadA)),
		},
		{
			name:   "staged object larger than MaxBytes: 400 naming the field, nothing processed",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "images"),
			opts:   fixtureOptions{maxBytes: 8},
			before: stageA("123456789"),
			status: http.StatusBadRequest, content: []string{`"images":{"code":"validation_image_too_large"`},
			after: func(t testing.TB, fx *fixture) {
				unchanged(collections.Posts, alicePostId, 1, stagedKey(aliceId, uploadA))(t, fx)
				if n := fx.processor.callCount(); n != 0 {
					t.Errorf("processed %d oversized images", n)
				}
			},
		},
		{
			name:   "no free image worker: 503, staged object kept for a retry",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "images"),
			before: stageA("busy"),
			status: http.StatusServiceUnavailable, content: []string{`"status":503`},
			after: unchanged(collections.Posts, alicePostId, 1, stagedKey(aliceId, uploadA)),
		},
		{
			name:       "processor failure: 500 without internals",
			user:       "alice",
			url:        attachA,
			body:       attachBody("posts", alicePostId, "images"),
			before:     stageA("boom"),
			status:     http.StatusInternalServerError,
			content:    []string{`"status":500`},
			notContent: []string{"crashed"},
			after:      unchanged(collections.Posts, alicePostId, 1, stagedKey(aliceId, uploadA)),
		},
	}
	for _, s := range scenarios {
		s.test(t)
	}
}

func TestUploadsAttachSucceeds(t *testing.T) {
	keyA := stagedKey(aliceId, uploadA)

	// attached checks the field now holds want files, the new one stored under the upload's
	// name, and the staged object is gone.
	attached := func(collection, id, field string, want int) func(t testing.TB, fx *fixture) {
		return func(t testing.TB, fx *fixture) {
			r := fx.record(t, collection, id)
			names := r.GetStringSlice(field)
			if len(names) != want {
				t.Fatalf("%s.%s holds %v, want %d files", collection, field, names, want)
			}
			last := names[len(names)-1]
			if !strings.HasPrefix(last, uploadA) || !strings.HasSuffix(last, ".png") {
				t.Errorf("attached file is named %q, want %s*.png (the upload id, the processed type)", last, uploadA)
			}
			for _, name := range names {
				if !fx.fileExists(t, r, name) {
					t.Errorf("file %q of %s/%s is not in storage", name, collection, id)
				}
			}
			if fx.presigner.has(keyA) {
				t.Error("the staged object still exists after a successful attach")
			}
			if !slices.Contains(fx.presigner.deleted, keyA) {
				t.Errorf("deleted %v, want %s", fx.presigner.deleted, keyA)
			}
		}
	}

	scenarios := []scenario{
		{
			name:   "posts.images: appended after the existing image; the record JSON comes back",
			user:   "alice",
			url:    attachA,
			body:   attachBody("posts", alicePostId, "images"),
			before: stageA("image"),
			status: http.StatusOK,
			content: []string{
				`"id":"` + alicePostId + `"`, `"collectionName":"posts"`, `"images":["first_`, `","` + uploadA,
				`"likes_count":0`,
			},
			after: attached(collections.Posts, alicePostId, "images", 2),
		},
		{
			name: "posts.images with 9: the tenth fits",
			user: "alice",
			url:  attachA,
			body: attachBody("posts", alicePostId, "images"),
			before: func(t testing.TB, fx *fixture) {
				fillImages(t, fx, alicePostId, 9)
				stageA("image")(t, fx)
			},
			status:  http.StatusOK,
			content: []string{`"id":"` + alicePostId + `"`},
			after:   attached(collections.Posts, alicePostId, "images", 10),
		},
		{
			name:    "products.image: the single file is replaced and the old one removed",
			user:    "alice",
			url:     attachA,
			body:    attachBody("products", aliceProductId, "image"),
			before:  stageA("image"),
			status:  http.StatusOK,
			content: []string{`"image":"` + uploadA},
			after: func(t testing.TB, fx *fixture) {
				attached(collections.Products, aliceProductId, "image", 1)(t, fx)
				r := fx.record(t, collections.Products, aliceProductId)
				files, err := fx.app.NewFilesystem()
				if err != nil {
					t.Fatal(err)
				}
				defer files.Close()
				objs, err := files.List(r.BaseFilesPath() + "/")
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					if strings.Contains(o.Key, "/old_") {
						t.Errorf("the replaced file %s is still stored", o.Key)
					}
				}
			},
		},
		{
			name:       "users.avatar: the user's own record; email stays visible only to its owner",
			user:       "alice",
			url:        attachA,
			body:       attachBody("users", aliceId, "avatar"),
			before:     stageA("image"),
			status:     http.StatusOK,
			content:    []string{`"avatar":"` + uploadA, `"email":"alice@example.com"`},
			notContent: []string{`"password"`, `"tokenKey"`},
			after:      attached(collections.Users, aliceId, "avatar", 1),
		},
		{
			name:        "multipart form body",
			user:        "alice",
			url:         attachA,
			body:        "--X\r\nContent-Disposition: form-data; name=\"collection\"\r\n\r\nposts\r\n--X\r\nContent-Disposition: form-data; name=\"record\"\r\n\r\n" + alicePostId + "\r\n--X\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nimages\r\n--X--\r\n",
			contentType: "multipart/form-data; boundary=X",
			before:      stageA("image"),
			status:      http.StatusOK,
			content:     []string{`"id":"` + alicePostId + `"`},
			after:       attached(collections.Posts, alicePostId, "images", 2),
		},
	}
	for _, s := range scenarios {
		s.test(t)
	}
}

// TestUploadsAttachConcurrentKeepsLimit sends two attaches to a post with 9 images at once:
// exactly one fits, the other is a 400, and no file is lost or overwritten.
func TestUploadsAttachConcurrentKeepsLimit(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fillImages(t, fx, alicePostId, 9)
	fx.presigner.stage(stagedKey(aliceId, uploadA), []byte("image"), time.Minute)
	fx.presigner.stage(stagedKey(aliceId, uploadB), []byte("image"), time.Minute)
	srv := testapp.Serve(t, fx.app)

	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, id := range []string{uploadA, uploadB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = testapp.Do(t, srv, http.MethodPost, "/api/media/uploads/"+id+"/attach", fx.tokens["alice"],
				map[string]any{"collection": "posts", "record": alicePostId, "field": "images"})
		}()
	}
	wg.Wait()

	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusOK, http.StatusBadRequest}) {
		t.Fatalf("statuses %v, want one 200 and one 400", statuses)
	}
	r := fx.record(t, collections.Posts, alicePostId)
	if n := len(r.GetStringSlice("images")); n != 10 {
		t.Errorf("post has %d images, want 10", n)
	}
	if len(fx.presigner.keys()) != 1 {
		t.Errorf("staged objects left: %v, want only the one that did not fit", fx.presigner.keys())
	}
}

// fillImages gives post id exactly n images.
func fillImages(t testing.TB, fx *fixture, id string, n int) {
	t.Helper()
	r := fx.record(t, collections.Posts, id)
	files := make([]any, 0, n)
	for range n {
		files = append(files, pngFile(t, "fill.png"))
	}
	r.Set("images", files)
	if err := fx.app.Save(r); err != nil {
		t.Fatal(err)
	}
	// keep "updated == created" meaningful for unchanged()
	if _, err := fx.app.DB().NewQuery("UPDATE posts SET updated = created WHERE id = {:id}").Bind(map[string]any{"id": id}).Execute(); err != nil {
		t.Fatal(err)
	}
}

func TestUploadsAttachTwiceIsNotFound(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fx.presigner.stage(stagedKey(aliceId, uploadA), []byte("image"), time.Minute)
	srv := testapp.Serve(t, fx.app)
	body := map[string]any{"collection": "posts", "record": alicePostId, "field": "images"}

	if status, res := testapp.Do(t, srv, http.MethodPost, attachA, fx.tokens["alice"], body); status != http.StatusOK {
		t.Fatalf("first attach: %d %v", status, res)
	}
	if status, res := testapp.Do(t, srv, http.MethodPost, attachA, fx.tokens["alice"], body); status != http.StatusNotFound {
		t.Fatalf("second attach of the same upload: %d %v, want 404", status, res)
	}
	if n := len(fx.record(t, collections.Posts, alicePostId).GetStringSlice("images")); n != 2 {
		t.Errorf("post has %d images, want 2 (one attach)", n)
	}
}

func TestUploadsAttachDeleteFailureStillSucceeds(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fx.presigner.stage(stagedKey(aliceId, uploadA), []byte("image"), time.Minute)
	fx.presigner.deleteErr = errors.New("storage down")
	srv := testapp.Serve(t, fx.app)

	status, body := testapp.Do(t, srv, http.MethodPost, attachA, fx.tokens["alice"],
		map[string]any{"collection": "posts", "record": alicePostId, "field": "images"})
	if status != http.StatusOK {
		t.Fatalf("status %d %v, want 200: the file is stored, the staged copy goes with the clean-up", status, body)
	}
	if n := len(fx.record(t, collections.Posts, alicePostId).GetStringSlice("images")); n != 2 {
		t.Errorf("post has %d images, want 2", n)
	}
}
