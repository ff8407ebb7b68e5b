package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePresigner is an in-memory staging storage for unit tests. It serves these tests only;
// the real one is exercised by uploads_integration_test.go and s3presign's own tests.
type fakePresigner struct {
	mu      sync.Mutex
	objects map[string]fakeObject
	signed  []fakeSigned
	deleted []string

	// deleteErr, when set, is returned by Delete for every key.
	deleteErr error
}

type fakeObject struct {
	data        []byte
	contentType string
	modified    time.Time
}

type fakeSigned struct {
	key  string
	opts PostOptions
}

var _ Presigner = (*fakePresigner)(nil)

func newFakePresigner() *fakePresigner {
	return &fakePresigner{objects: map[string]fakeObject{}}
}

// stage puts an object as if a client had posted a form for key age ago.
func (f *fakePresigner) stage(key string, data []byte, age time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[key] = fakeObject{data: data, contentType: "image/jpeg", modified: time.Now().Add(-age)}
}

func (f *fakePresigner) has(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.objects[key]
	return ok
}

func (f *fakePresigner) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.objects))
	for k := range f.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (f *fakePresigner) lastSigned() (fakeSigned, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.signed) == 0 {
		return fakeSigned{}, false
	}
	return f.signed[len(f.signed)-1], true
}

func (f *fakePresigner) PresignPost(ctx context.Context, key string, opts PostOptions) (*PresignedPost, error) {
	if key == "" || opts.ContentType == "" || opts.MaxBytes < 1 || opts.Expires <= 0 {
		return nil, errors.New("fake: invalid arguments")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signed = append(f.signed, fakeSigned{key: key, opts: opts})
	return &PresignedPost{
		URL:       "http://storage.test/bucket",
		Fields:    map[string]string{"key": key, "Content-Type": opts.ContentType, "policy": "fake"},
		ExpiresAt: time.Now().Add(opts.Expires).UTC(),
	}, nil
}

func (f *fakePresigner) Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	obj, ok := f.objects[key]
	if !ok {
		return nil, ObjectInfo{}, fmt.Errorf("fake: open %q: %w", key, ErrNotFound)
	}
	info := ObjectInfo{Size: int64(len(obj.data)), ContentType: obj.contentType, LastModified: obj.modified}
	return io.NopCloser(bytes.NewReader(obj.data)), info, nil
}

func (f *fakePresigner) Delete(ctx context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteErr != nil {
		return f.deleteErr
	}
	delete(f.objects, key)
	f.deleted = append(f.deleted, key)
	return nil
}

func (f *fakePresigner) ListOlder(ctx context.Context, prefix string, before time.Time, limit int) ([]string, error) {
	if prefix == "" || limit < 1 {
		return nil, errors.New("fake: invalid arguments")
	}
	var keys []string
	for _, k := range f.keys() {
		f.mu.Lock()
		obj := f.objects[k]
		f.mu.Unlock()
		if strings.HasPrefix(k, prefix) && obj.modified.Before(before) {
			keys = append(keys, k)
			if len(keys) == limit {
				break
			}
		}
	}
	return keys, nil
}

func (f *fakePresigner) Ping(ctx context.Context) error { return nil }

// fakeProcessor stands in for the image pipeline: input starting with "bad" is a bad image,
// "busy" finds no free worker, "boom" is a server failure; anything else becomes a small PNG.
type fakeProcessor struct {
	mu    sync.Mutex
	calls int
}

func (p *fakeProcessor) Process(ctx context.Context, r io.Reader) ([]byte, string, error) {
	p.mu.Lock()
	p.calls++
	p.mu.Unlock()

	data, err := io.ReadAll(r)
	if err != nil {
		return nil, "", err
	}
	switch {
	case bytes.HasPrefix(data, []byte("bad")):
		return nil, "", &ImageError{
			Code:    "validation_invalid_image",
			Message: "The image could not be read; the file is damaged or incomplete.",
			Err:     errors.New("fake: truncated"),
		}
	case bytes.HasPrefix(data, []byte("busy")):
		return nil, "", fmt.Errorf("fake: %w: %w", ErrBusy, context.DeadlineExceeded)
	case bytes.HasPrefix(data, []byte("boom")):
		return nil, "", errors.New("fake: decoder crashed")
	}
	return tinyPNG(nil), ".png", nil
}

func (p *fakeProcessor) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// tinyPNG is a real 2x2 PNG, so that PocketBase's MIME check of the file field accepts it.
func tinyPNG(t testing.TB) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.NRGBA{R: 255, G: 140, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		if t != nil {
			t.Fatal(err)
		}
		panic(err)
	}
	return buf.Bytes()
}
