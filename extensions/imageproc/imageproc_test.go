package imageproc

import (
	"bytes"
	"encoding/binary"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/filesystem"
	"github.com/pocketbase/pocketbase/tools/types"
)

const (
	hookCollection = "photos"
	hookRecordId   = "photo0000000001"
)

// newHookTestApp is a fresh app with a "photos" collection (open rules) whose "images" field is
// processed and whose "attachment" field is not, and one record holding one image.
func newHookTestApp(t testing.TB) *tests.TestApp {
	t.Helper()

	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	photos := core.NewBaseCollection(hookCollection)
	photos.CreateRule = types.Pointer("")
	photos.UpdateRule = types.Pointer("")
	photos.ViewRule = types.Pointer("")
	photos.Fields.Add(
		&core.TextField{Name: "title"},
		// MaxSize above 15 MB so that oversized uploads reach the hook rather than the body limit.
		&core.FileField{Name: "images", MaxSelect: 5, MaxSize: 20 << 20},
		&core.FileField{Name: "attachment", MaxSize: 1 << 20},
	)
	if err := app.Save(photos); err != nil {
		t.Fatal(err)
	}

	record := core.NewRecord(photos)
	record.Id = hookRecordId
	first, err := filesystem.NewFileFromBytes(encodePNG(t, photoImage(10, 10)), "first.png")
	if err != nil {
		t.Fatal(err)
	}
	record.Set("images", first)
	if err := app.Save(record); err != nil {
		t.Fatal(err)
	}

	if err := Register(app, Config{
		Fields: []Field{{Collection: hookCollection, Field: "images"}},
		Pool:   NewPool(1, Options{}),
	}); err != nil {
		t.Fatal(err)
	}

	return app
}

type upload struct {
	field, name string
	data        []byte
}

// multipartBody encodes uploads (and a title) as multipart/form-data, as the JS SDK sends them.
func multipartBody(t testing.TB, uploads ...upload) (io.Reader, map[string]string) {
	t.Helper()

	body := new(bytes.Buffer)
	mp := multipart.NewWriter(body)
	if err := mp.WriteField("title", "hello"); err != nil {
		t.Fatal(err)
	}
	for _, u := range uploads {
		w, err := mp.CreateFormFile(u.field, u.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(u.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := mp.Close(); err != nil {
		t.Fatal(err)
	}

	return body, map[string]string{"Content-Type": mp.FormDataContentType()}
}

// storedFiles reads back every file of a record field from the app's storage.
func storedFiles(t testing.TB, app core.App, recordId, field string) map[string][]byte {
	t.Helper()

	record, err := app.FindRecordById(hookCollection, recordId)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := app.NewFilesystem()
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()

	files := map[string][]byte{}
	for _, name := range record.GetStringSlice(field) {
		r, err := fsys.GetReader(record.BaseFilesPath() + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	return files
}

// latestRecordId returns the id of the one record created by the scenario (not the seeded one).
func latestRecordId(t testing.TB, app core.App) string {
	t.Helper()
	records, err := app.FindRecordsByFilter(hookCollection, "id != {:id}", "", 0, 0, map[string]any{"id": hookRecordId})
	if err != nil || len(records) != 1 {
		t.Fatalf("want one created record, got %d (%v)", len(records), err)
	}
	return records[0].Id
}

func countRecords(t testing.TB, app core.App) int64 {
	t.Helper()
	n, err := app.CountRecords(hookCollection)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegisterProcessesRecordUploads(t *testing.T) {
	t.Parallel()

	// a 3000x2000 photo stored sideways (orientation 6) with GPS EXIF
	rotatedGPS := withSegments(encodeJPEG(t, quadrantImage(3000, 2000)),
		exifSegment(binary.BigEndian, true, exifEntry{tag: exifOrientationTag, typ: 3, value: 6}))
	alpha := image.NewNRGBA(image.Rect(0, 0, 30, 20))
	alphaPNG := encodePNG(t, alpha)
	html := []byte("<!DOCTYPE html><html><body>not an image</body></html>")

	// checkProcessedJPEG asserts the stored rotated photo is upright, scaled and clean.
	checkProcessedJPEG := func(t testing.TB, name string, data []byte) {
		t.Helper()
		if !strings.HasSuffix(name, ".jpg") {
			t.Errorf("stored name %q, want a .jpg", name)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || format != "jpeg" || cfg.Width != 1365 || cfg.Height != 2048 {
			t.Errorf("stored %s %dx%d (%v), want jpeg 1365x2048", format, cfg.Width, cfg.Height, err)
		}
		for _, leak := range []string{"Exif", "GPS-SECRET"} {
			if bytes.Contains(data, []byte(leak)) {
				t.Errorf("stored file contains %q", leak)
			}
		}
		if hasJPEGSegment(t, data, 0xe1) {
			t.Error("stored file has an APP1 segment")
		}
	}

	scenarios := []struct {
		scenario tests.ApiScenario
		uploads  []upload
	}{
		{
			scenario: tests.ApiScenario{
				Name:            "create: photos are rotated, scaled, stripped; transparency stays PNG",
				Method:          http.MethodPost,
				URL:             "/api/collections/photos/records",
				ExpectedStatus:  200,
				ExpectedContent: []string{`"images":["`, `"title":"hello"`},
				AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
					files := storedFiles(t, app, latestRecordId(t, app), "images")
					if len(files) != 2 {
						t.Fatalf("stored %d files, want 2", len(files))
					}
					for name, data := range files {
						if strings.HasPrefix(name, "holiday") {
							checkProcessedJPEG(t, name, data)
							continue
						}
						if !strings.HasSuffix(name, ".png") || !bytes.HasPrefix(data, []byte("\x89PNG")) {
							t.Errorf("transparent upload stored as %q, want a PNG", name)
						}
					}
				},
			},
			uploads: []upload{
				{"images", "holiday.jpeg", rotatedGPS},
				{"images", "logo.webp.png", alphaPNG},
			},
		},
		{
			scenario: tests.ApiScenario{
				Name:           "create: HTML named .jpg is a 400 naming the field",
				Method:         http.MethodPost,
				URL:            "/api/collections/photos/records",
				ExpectedStatus: 400,
				ExpectedContent: []string{
					`"data":{"images":{"code":"validation_unsupported_image","message":"Unsupported image type; upload a JPEG, PNG, WebP or GIF image."}}`,
				},
				AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
					if n := countRecords(t, app); n != 1 {
						t.Errorf("%d records after a rejected create, want only the seeded one", n)
					}
				},
			},
			uploads: []upload{
				{"images", "good.jpg", encodeJPEG(t, photoImage(20, 20))},
				{"images", "evil.jpg", html},
			},
		},
		{
			scenario: tests.ApiScenario{
				Name:            "create: a decompression bomb is a 400",
				Method:          http.MethodPost,
				URL:             "/api/collections/photos/records",
				ExpectedStatus:  400,
				ExpectedContent: []string{`"images":{"code":"validation_image_too_many_pixels"`},
			},
			uploads: []upload{{"images", "bomb.png", pngBomb(30000, 30000)}},
		},
		{
			scenario: tests.ApiScenario{
				Name:            "create: a 16 MB file is a 400",
				Method:          http.MethodPost,
				URL:             "/api/collections/photos/records",
				ExpectedStatus:  400,
				ExpectedContent: []string{`"images":{"code":"validation_image_too_large"`},
			},
			uploads: []upload{{"images", "huge.jpg", append(encodeJPEG(t, photoImage(20, 20)), make([]byte, 16<<20)...)}},
		},
		{
			scenario: tests.ApiScenario{
				Name:            "create: fields that are not configured are left alone",
				Method:          http.MethodPost,
				URL:             "/api/collections/photos/records",
				ExpectedStatus:  200,
				ExpectedContent: []string{`"attachment":"notes_`},
				AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
					for name, data := range storedFiles(t, app, latestRecordId(t, app), "attachment") {
						if !strings.HasSuffix(name, ".html") || !bytes.Equal(data, html) {
							t.Errorf("attachment %q changed", name)
						}
					}
				},
			},
			uploads: []upload{{"attachment", "notes.html", html}},
		},
		{
			scenario: tests.ApiScenario{
				Name:            "update: appended photos are processed, existing files untouched",
				Method:          http.MethodPatch,
				URL:             "/api/collections/photos/records/" + hookRecordId,
				ExpectedStatus:  200,
				ExpectedContent: []string{`"images":["first_`},
				AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
					files := storedFiles(t, app, hookRecordId, "images")
					if len(files) != 2 {
						t.Fatalf("stored %d files, want 2", len(files))
					}
					for name, data := range files {
						if strings.HasPrefix(name, "holiday") {
							checkProcessedJPEG(t, name, data)
						}
					}
				},
			},
			uploads: []upload{{"images+", "holiday.jpg", rotatedGPS}},
		},
		{
			scenario: tests.ApiScenario{
				Name:            "update: a truncated JPEG is a 400 and the record keeps its files",
				Method:          http.MethodPatch,
				URL:             "/api/collections/photos/records/" + hookRecordId,
				ExpectedStatus:  400,
				ExpectedContent: []string{`"images":{"code":"validation_invalid_image"`},
				AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
					files := storedFiles(t, app, hookRecordId, "images")
					if len(files) != 1 {
						t.Fatalf("record has %d files after a failed update, want 1", len(files))
					}
				},
			},
			uploads: []upload{{"images+", "cut.jpg", rotatedGPS[:len(rotatedGPS)/2]}},
		},
	}

	for _, s := range scenarios {
		s.scenario.Body, s.scenario.Headers = multipartBody(t, s.uploads...)
		s.scenario.TestAppFactory = newHookTestApp
		s.scenario.Test(t)
	}
}

func TestRegisterValidatesConfig(t *testing.T) {
	t.Parallel()

	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()

	if err := Register(app, Config{Fields: []Field{{Collection: "posts"}}}); err == nil {
		t.Fatal("a field without a name was accepted")
	}
	if err := Register(app, Config{}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestReplaceExt(t *testing.T) {
	t.Parallel()

	scenarios := []struct{ name, ext, want string }{
		{"IMG_1.HEIC.png", ".jpg", "IMG_1.HEIC.jpg"},
		{"photo", ".png", "photo.png"},
		{".jpg", ".png", "image.png"},
		{"", ".jpg", "image.jpg"},
	}
	for _, s := range scenarios {
		if got := replaceExt(s.name, s.ext); got != s.want {
			t.Errorf("replaceExt(%q, %q) = %q, want %q", s.name, s.ext, got, s.want)
		}
	}
}
