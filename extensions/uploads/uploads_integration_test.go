//go:build integration

package uploads_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/imageproc"
	"github.com/tangerine-market/tangerine/extensions/uploads"
	"github.com/tangerine-market/tangerine/extensions/uploads/s3presign"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// These tests run the upload routes against a real S3-compatible server (scripts/s3.sh start
// runs versitygw; scripts/services.env has the environment). They fail, not skip, without it.

func s3Config(t *testing.T) s3presign.Config {
	t.Helper()
	cfg := s3presign.Config{
		Endpoint:       os.Getenv("TANGERINE_S3_ENDPOINT"),
		Bucket:         os.Getenv("TANGERINE_S3_BUCKET"),
		Region:         os.Getenv("TANGERINE_S3_REGION"),
		AccessKey:      os.Getenv("TANGERINE_S3_ACCESS_KEY"),
		Secret:         os.Getenv("TANGERINE_S3_SECRET"),
		ForcePathStyle: os.Getenv("TANGERINE_S3_FORCE_PATH_STYLE") != "false",
		Timeout:        20 * time.Second,
	}
	var missing []string
	for name, v := range map[string]string{
		"TANGERINE_S3_ENDPOINT":   cfg.Endpoint,
		"TANGERINE_S3_BUCKET":     cfg.Bucket,
		"TANGERINE_S3_REGION":     cfg.Region,
		"TANGERINE_S3_ACCESS_KEY": cfg.AccessKey,
		"TANGERINE_S3_SECRET":     cfg.Secret,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("integration tests need a real S3 server: set %s (scripts/s3.sh start runs one; see scripts/services.env)", strings.Join(missing, ", "))
	}
	return cfg
}

// imageprocAdapter connects the image pipeline to uploads.Processor, as main.go does.
type imageprocAdapter struct{ pool *imageproc.Pool }

func (a imageprocAdapter) Process(ctx context.Context, r io.Reader) ([]byte, string, error) {
	res, err := a.pool.Process(ctx, r)
	if err == nil {
		return res.Data, res.Format.Ext(), nil
	}
	if errors.Is(err, imageproc.ErrBusy) {
		return nil, "", fmt.Errorf("%w: %w", uploads.ErrBusy, err)
	}
	var perr *imageproc.Error
	if errors.As(err, &perr) {
		return nil, "", &uploads.ImageError{Code: perr.Code(), Message: perr.Error(), Err: err}
	}
	return nil, "", err
}

// env is a test app with the upload routes on the real S3 server, under a staging prefix of
// its own so that concurrent runs never see each other's objects.
type env struct {
	app       *tests.TestApp
	srv       *httptest.Server
	presigner *s3presign.Presigner
	prefix    string
	alice     *core.Record
	bob       *core.Record
	tokens    map[string]string
}

func newEnv(t *testing.T, staleAfter time.Duration) *env {
	t.Helper()
	presigner, err := s3presign.New(s3Config(t))
	if err != nil {
		t.Fatalf("s3presign.New: %v", err)
	}
	if err := presigner.Ping(context.Background()); err != nil {
		t.Fatalf("S3 server unreachable: %v", err)
	}

	b := make([]byte, 6)
	rand.Read(b)
	e := &env{
		app:       testapp.New(t),
		presigner: presigner,
		prefix:    "it-uploads/" + hex.EncodeToString(b) + "/",
		tokens:    map[string]string{},
	}
	err = uploads.Register(e.app, uploads.Config{
		Presigner:     presigner,
		Processor:     imageprocAdapter{imageproc.NewPool(1, imageproc.Options{})},
		StagingPrefix: e.prefix,
		StaleAfter:    staleAfter,
	})
	if err != nil {
		t.Fatalf("uploads.Register: %v", err)
	}
	t.Cleanup(func() {
		keys, _ := presigner.ListOlder(context.Background(), e.prefix, time.Now().Add(time.Hour), 1000)
		for _, k := range keys {
			presigner.Delete(context.Background(), k)
		}
	})

	e.alice = testapp.CreateUser(t, e.app, "alice")
	e.bob = testapp.CreateUser(t, e.app, "bob")
	e.tokens["alice"] = testapp.Token(t, e.alice)
	e.tokens["bob"] = testapp.Token(t, e.bob)
	e.srv = testapp.Serve(t, e.app)
	return e
}

func (e *env) post(t *testing.T, owner *core.Record) *core.Record {
	t.Helper()
	return testapp.Create(t, e.app, collections.Posts, map[string]any{"user": owner.Id, "text": "hello"})
}

type presigned struct {
	UploadId  string            `json:"upload_id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Fields    map[string]string `json:"fields"`
	MaxBytes  int64             `json:"max_bytes"`
	ExpiresAt string            `json:"expires_at"`
}

// presign calls POST /api/media/uploads as user.
func (e *env) presign(t *testing.T, user, contentType string, size int) presigned {
	t.Helper()
	status, body := testapp.Do(t, e.srv, http.MethodPost, "/api/media/uploads", e.tokens[user],
		map[string]any{"content_type": contentType, "size": size})
	if status != http.StatusOK {
		t.Fatalf("presign: %d %v", status, body)
	}
	raw, _ := json.Marshal(body)
	var p presigned
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Method != http.MethodPost || p.MaxBytes != 15<<20 || p.UploadId == "" || p.ExpiresAt == "" {
		t.Fatalf("presign answered %s", raw)
	}
	return p
}

// attach calls POST /api/media/uploads/{id}/attach as user.
func (e *env) attach(t *testing.T, user, uploadId, collection, record, field string) (int, map[string]any) {
	t.Helper()
	return testapp.Do(t, e.srv, http.MethodPost, "/api/media/uploads/"+uploadId+"/attach", e.tokens[user],
		map[string]any{"collection": collection, "record": record, "field": field})
}

type s3Answer struct {
	status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// submitForm posts fields and then the file as the last part, as a browser would.
func submitForm(t *testing.T, url string, fields map[string]string, file []byte) s3Answer {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if err := mw.WriteField(name, fields[name]); err != nil {
			t.Fatal(err)
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="photo.jpg"`)
	h.Set("Content-Type", "application/octet-stream")
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(file)
	mw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	answer := s3Answer{status: res.StatusCode}
	if res.StatusCode >= 300 {
		if err := xml.Unmarshal(raw, &answer); err != nil {
			t.Fatalf("POST answered %d with a body that is not an S3 error: %v\n%s", res.StatusCode, err, raw)
		}
	}
	return answer
}

// upload presigns as user and posts data with the form as given; it fails unless S3 took it.
func (e *env) upload(t *testing.T, user, contentType string, data []byte) presigned {
	t.Helper()
	p := e.presign(t, user, contentType, len(data))
	if ans := submitForm(t, p.URL, p.Fields, data); ans.status != http.StatusNoContent {
		t.Fatalf("upload to S3: %d %s %q", ans.status, ans.Code, ans.Message)
	}
	return p
}

func (e *env) assertStaged(t *testing.T, user *core.Record, uploadId string, want bool) {
	t.Helper()
	rc, _, err := e.presigner.Open(context.Background(), e.prefix+user.Id+"/"+uploadId)
	if err == nil {
		rc.Close()
		if !want {
			t.Errorf("staged object %s still exists", uploadId)
		}
		return
	}
	if !errors.Is(err, uploads.ErrNotFound) {
		t.Fatalf("Open: %v, want the object or ErrNotFound", err)
	}
	if want {
		t.Errorf("staged object %s is gone", uploadId)
	}
}

// photo is a real JPEG with a few colours.
func photo(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 120, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIntegrationPresignUploadAttach(t *testing.T) {
	e := newEnv(t, 0)
	post := e.post(t, e.alice)
	jpg := photo(t, 640, 480)

	p := e.upload(t, "alice", "image/jpeg", jpg)
	if !strings.HasPrefix(p.Fields["key"], e.prefix+e.alice.Id+"/") {
		t.Errorf("staged under %q, want alice's prefix %s%s/", p.Fields["key"], e.prefix, e.alice.Id)
	}
	e.assertStaged(t, e.alice, p.UploadId, true)

	status, body := e.attach(t, "alice", p.UploadId, "posts", post.Id, "images")
	if status != http.StatusOK {
		t.Fatalf("attach: %d %v", status, body)
	}
	images, _ := body["images"].([]any)
	if body["id"] != post.Id || len(images) != 1 {
		t.Fatalf("attach answered %v, want the post with one image", body)
	}

	fresh := testapp.Reload(t, e.app, post)
	names := fresh.GetStringSlice("images")
	if len(names) != 1 || !strings.HasSuffix(names[0], ".jpg") {
		t.Fatalf("post images %v, want one processed .jpg", names)
	}
	stored := readStoredFile(t, e.app, fresh, names[0])
	cfg, format, err := image.DecodeConfig(bytes.NewReader(stored))
	if err != nil || format != "jpeg" || cfg.Width != 640 || cfg.Height != 480 {
		t.Errorf("stored file: %s %dx%d (%v), want a 640x480 jpeg", format, cfg.Width, cfg.Height, err)
	}
	e.assertStaged(t, e.alice, p.UploadId, false)

	// attached once; the upload id means nothing afterwards
	if status, body := e.attach(t, "alice", p.UploadId, "posts", post.Id, "images"); status != http.StatusNotFound {
		t.Errorf("second attach: %d %v, want 404", status, body)
	}
}

func TestIntegrationPolicyEnforcedByS3(t *testing.T) {
	e := newEnv(t, 0)

	t.Run("wrong content type", func(t *testing.T) {
		p := e.presign(t, "alice", "image/jpeg", 1000)
		fields := maps.Clone(p.Fields)
		fields["Content-Type"] = "image/png"
		ans := submitForm(t, p.URL, fields, photo(t, 8, 8))
		if ans.status != http.StatusForbidden || ans.Code != "AccessDenied" {
			t.Fatalf("POST with another content type = %d %s %q, want 403 AccessDenied", ans.status, ans.Code, ans.Message)
		}
		e.assertStaged(t, e.alice, p.UploadId, false)
	})

	t.Run("one byte over 15 MiB", func(t *testing.T) {
		p := e.presign(t, "alice", "image/jpeg", 15<<20)
		ans := submitForm(t, p.URL, p.Fields, make([]byte, 15<<20+1))
		if ans.status != http.StatusBadRequest || ans.Code != "EntityTooLarge" {
			t.Fatalf("POST of 15 MiB + 1 = %d %s %q, want 400 EntityTooLarge", ans.status, ans.Code, ans.Message)
		}
		e.assertStaged(t, e.alice, p.UploadId, false)
	})

	t.Run("control: the same form unchanged is accepted", func(t *testing.T) {
		p := e.upload(t, "alice", "image/jpeg", photo(t, 8, 8))
		e.assertStaged(t, e.alice, p.UploadId, true)
	})
}

func TestIntegrationAttachOwnership(t *testing.T) {
	e := newEnv(t, 0)
	alicePost := e.post(t, e.alice)
	bobPost := e.post(t, e.bob)

	bobsUpload := e.upload(t, "bob", "image/jpeg", photo(t, 32, 32))
	if status, body := e.attach(t, "alice", bobsUpload.UploadId, "posts", alicePost.Id, "images"); status != http.StatusNotFound {
		t.Errorf("attach with someone else's upload: %d %v, want 404", status, body)
	}
	e.assertStaged(t, e.bob, bobsUpload.UploadId, true)

	alicesUpload := e.upload(t, "alice", "image/jpeg", photo(t, 32, 32))
	if status, body := e.attach(t, "alice", alicesUpload.UploadId, "posts", bobPost.Id, "images"); status != http.StatusNotFound {
		t.Errorf("attach to someone else's post: %d %v, want 404", status, body)
	}
	if status, body := e.attach(t, "alice", alicesUpload.UploadId, "users", e.bob.Id, "avatar"); status != http.StatusNotFound {
		t.Errorf("attach to someone else's avatar: %d %v, want 404", status, body)
	}
	if n := len(testapp.Reload(t, e.app, bobPost).GetStringSlice("images")); n != 0 {
		t.Errorf("bob's post has %d images, want 0", n)
	}
	if testapp.Reload(t, e.app, e.bob).GetString("avatar") != "" {
		t.Error("bob's avatar was set")
	}
	e.assertStaged(t, e.alice, alicesUpload.UploadId, true)

	// the rightful owner can still use it
	if status, body := e.attach(t, "alice", alicesUpload.UploadId, "users", e.alice.Id, "avatar"); status != http.StatusOK {
		t.Errorf("attach to one's own avatar: %d %v", status, body)
	}
}

func TestIntegrationFailedAttachLeavesRecordAsItWas(t *testing.T) {
	e := newEnv(t, 0)
	post := e.post(t, e.alice)
	first := e.upload(t, "alice", "image/jpeg", photo(t, 64, 64))
	if status, body := e.attach(t, "alice", first.UploadId, "posts", post.Id, "images"); status != http.StatusOK {
		t.Fatalf("first attach: %d %v", status, body)
	}
	before := testapp.Reload(t, e.app, post)

	// S3 only checks the declared content type; the bytes are HTML
	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	fake := e.upload(t, "alice", "image/jpeg", html)
	status, body := e.attach(t, "alice", fake.UploadId, "posts", post.Id, "images")
	if status != http.StatusBadRequest {
		t.Fatalf("attach of HTML: %d %v, want 400", status, body)
	}
	data, _ := body["data"].(map[string]any)
	fieldErr, _ := data["images"].(map[string]any)
	if fieldErr["code"] != "validation_unsupported_image" {
		t.Errorf("error data %v, want images: validation_unsupported_image", data)
	}

	after := testapp.Reload(t, e.app, post)
	if !slices.Equal(after.GetStringSlice("images"), before.GetStringSlice("images")) ||
		!after.GetDateTime("updated").Equal(before.GetDateTime("updated")) {
		t.Errorf("post changed by a failed attach: images %v -> %v, updated %s -> %s",
			before.GetStringSlice("images"), after.GetStringSlice("images"), before.GetDateTime("updated"), after.GetDateTime("updated"))
	}
	// kept: a failed attach deletes nothing; the clean-up job removes it after a day
	e.assertStaged(t, e.alice, fake.UploadId, true)
}

func TestIntegrationCleanupDeletesStaleStagedObjects(t *testing.T) {
	e := newEnv(t, 4*time.Second)
	stale := e.upload(t, "alice", "image/jpeg", photo(t, 8, 8))
	time.Sleep(5 * time.Second)
	fresh := e.upload(t, "bob", "image/jpeg", photo(t, 8, 8))

	// past StaleAfter an upload cannot be attached even before the job runs
	if status, body := e.attach(t, "alice", stale.UploadId, "users", e.alice.Id, "avatar"); status != http.StatusNotFound {
		t.Errorf("attach of a stale upload: %d %v, want 404", status, body)
	}

	ran := false
	for _, job := range e.app.Cron().Jobs() {
		if job.Id() == uploads.CleanupJobId {
			job.Run()
			ran = true
		}
	}
	if !ran {
		t.Fatalf("no %s job", uploads.CleanupJobId)
	}
	e.assertStaged(t, e.alice, stale.UploadId, false)
	e.assertStaged(t, e.bob, fresh.UploadId, true)
}

// TestIntegrationPocketBaseStorageOnS3 points PocketBase's own file storage at the same bucket
// and checks that a records-API upload (processed by imageproc) lands in it.
func TestIntegrationPocketBaseStorageOnS3(t *testing.T) {
	e := newEnv(t, 0)
	cfg := s3Config(t)

	settings := e.app.Settings()
	settings.S3 = core.S3Config{
		Enabled:        true,
		Bucket:         cfg.Bucket,
		Region:         cfg.Region,
		Endpoint:       cfg.Endpoint,
		AccessKey:      cfg.AccessKey,
		Secret:         cfg.Secret,
		ForcePathStyle: cfg.ForcePathStyle,
	}
	if err := e.app.Save(settings); err != nil {
		t.Fatalf("save S3 settings: %v", err)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("text", "on S3")
	mw.WriteField("user", e.alice.Id)
	part, _ := mw.CreateFormFile("images", "holiday.jpg")
	part.Write(photo(t, 300, 200))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/collections/posts/records", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", e.tokens["alice"])
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create post: %d %s", res.StatusCode, raw)
	}
	var created struct {
		Id           string   `json:"id"`
		CollectionId string   `json:"collectionId"`
		Images       []string `json:"images"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || len(created.Images) != 1 {
		t.Fatalf("create post answered %s (%v)", raw, err)
	}

	prefix := created.CollectionId + "/" + created.Id + "/"
	t.Cleanup(func() {
		keys, _ := e.presigner.ListOlder(context.Background(), prefix, time.Now().Add(time.Hour), 100)
		for _, k := range keys {
			e.presigner.Delete(context.Background(), k)
		}
	})
	keys, err := e.presigner.ListOlder(context.Background(), prefix, time.Now().Add(time.Minute), 100)
	if err != nil {
		t.Fatalf("list the bucket: %v", err)
	}
	if !slices.Contains(keys, prefix+created.Images[0]) {
		t.Fatalf("bucket holds %v under %s, want %s", keys, prefix, created.Images[0])
	}

	rc, info, err := e.presigner.Open(context.Background(), prefix+created.Images[0])
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if c, format, err := image.DecodeConfig(bytes.NewReader(stored)); err != nil || format != "jpeg" || c.Width != 300 {
		t.Errorf("object in the bucket: %s %dx%d %v (%d bytes), want the processed 300x200 jpeg", format, c.Width, c.Height, err, info.Size)
	}
}

func readStoredFile(t *testing.T, app core.App, r *core.Record, name string) []byte {
	t.Helper()
	fs, err := app.NewFilesystem()
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	f, err := fs.GetReader(r.BaseFilesPath() + "/" + name)
	if err != nil {
		t.Fatalf("read stored %s: %v", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
