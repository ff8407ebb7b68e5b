package uploads

import (
	"bytes"
	"maps"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

func TestUploadsCreate(t *testing.T) {
	var multipartBody bytes.Buffer
	mw := multipart.NewWriter(&multipartBody)
	mw.WriteField("content_type", "image/webp")
	mw.WriteField("size", "2048")
	mw.Close()

	// checkSigned asserts what the presigner was asked to sign.
	checkSigned := func(contentType string) func(t testing.TB, fx *fixture) {
		return func(t testing.TB, fx *fixture) {
			signed, ok := fx.presigner.lastSigned()
			if !ok {
				t.Fatal("nothing was presigned")
			}
			if !strings.HasPrefix(signed.key, "staging/"+aliceId+"/") || !validUploadId(strings.TrimPrefix(signed.key, "staging/"+aliceId+"/")) {
				t.Errorf("signed key %q, want staging/<alice's id>/<upload id>", signed.key)
			}
			want := PostOptions{ContentType: contentType, MaxBytes: 15 << 20, Expires: 5 * time.Minute}
			if signed.opts != want {
				t.Errorf("signed with %+v, want %+v", signed.opts, want)
			}
		}
	}

	noSigning := func(t testing.TB, fx *fixture) {
		if _, ok := fx.presigner.lastSigned(); ok {
			t.Error("a form was presigned for a rejected request")
		}
	}

	scenarios := []scenario{
		{
			name:    "anonymous: 401",
			url:     "/api/media/uploads",
			body:    `{"content_type":"image/jpeg","size":1000}`,
			status:  http.StatusUnauthorized,
			content: []string{`"status":401`},
			after:   noSigning,
		},
		{
			name:    "no S3 storage: 409 saying direct uploads need S3",
			user:    "alice",
			url:     "/api/media/uploads",
			body:    `{"content_type":"image/jpeg","size":1000}`,
			opts:    fixtureOptions{noPresigner: true},
			status:  http.StatusConflict,
			content: []string{`"status":409`, `"message":"Direct uploads need S3 storage."`},
		},
		{
			name:       "content type that is not an allowed image: 400 naming content_type",
			user:       "alice",
			url:        "/api/media/uploads",
			body:       `{"content_type":"image/svg+xml","size":1000}`,
			status:     http.StatusBadRequest,
			content:    []string{`"content_type":{"code":"validation_invalid_content_type"`},
			notContent: []string{`"size":`},
			after:      noSigning,
		},
		{
			name:    "missing content type: 400 naming content_type",
			user:    "alice",
			url:     "/api/media/uploads",
			body:    `{"size":1000}`,
			status:  http.StatusBadRequest,
			content: []string{`"content_type":{"code":"validation_required"`},
		},
		{
			name:       "size zero: 400 naming size",
			user:       "alice",
			url:        "/api/media/uploads",
			body:       `{"content_type":"image/png","size":0}`,
			status:     http.StatusBadRequest,
			content:    []string{`"size":{"code":"validation_required"`},
			notContent: []string{`"content_type":`},
		},
		{
			name:    "size negative: 400 naming size",
			user:    "alice",
			url:     "/api/media/uploads",
			body:    `{"content_type":"image/png","size":-5}`,
			status:  http.StatusBadRequest,
			content: []string{`"size":{"code":"validation_size_out_of_range"`},
		},
		{
			name:    "size one byte over 15 MiB: 400 naming size",
			user:    "alice",
			url:     "/api/media/uploads",
			body:    `{"content_type":"image/png","size":15728641}`,
			status:  http.StatusBadRequest,
			content: []string{`"size":{"code":"validation_size_out_of_range","message":"Must be between 1 and 15728640 bytes."`},
			after:   noSigning,
		},
		{
			name:    "fractional size: 400 naming size",
			user:    "alice",
			url:     "/api/media/uploads",
			body:    `{"content_type":"image/png","size":10.5}`,
			status:  http.StatusBadRequest,
			content: []string{`"size":{"code":"validation_invalid_size"`},
		},
		{
			name:    "size as a string: 400 naming size",
			user:    "alice",
			url:     "/api/media/uploads",
			body:    `{"content_type":"image/png","size":"1000"}`,
			status:  http.StatusBadRequest,
			content: []string{`"size":{"code":"validation_invalid_size"`},
		},
		{
			name:   "valid JSON request: the presigned form for a key under the user's prefix",
			user:   "alice",
			url:    "/api/media/uploads",
			body:   `{"content_type":"image/jpeg","size":15728640}`,
			status: http.StatusOK,
			content: []string{
				`"method":"POST"`, `"url":"http://storage.test/bucket"`, `"max_bytes":15728640`,
				`"fields":{`, `"key":"staging/` + aliceId + `/`, `"Content-Type":"image/jpeg"`, `"upload_id":"`, `"expires_at":"`,
			},
			after: checkSigned("image/jpeg"),
		},
		{
			name:        "valid multipart request works too",
			user:        "alice",
			url:         "/api/media/uploads",
			body:        multipartBody.String(),
			contentType: mw.FormDataContentType(),
			status:      http.StatusOK,
			content:     []string{`"Content-Type":"image/webp"`},
			after:       checkSigned("image/webp"),
		},
	}
	for _, s := range scenarios {
		s.test(t)
	}
}

// TestUploadsCreateResponseShape checks the exact keys of API.md and that upload_id, the key
// and expires_at agree.
func TestUploadsCreateResponseShape(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	srv := testapp.Serve(t, fx.app)

	before := time.Now()
	status, body := testapp.Do(t, srv, http.MethodPost, "/api/media/uploads", fx.tokens["alice"],
		map[string]any{"content_type": "image/gif", "size": 1})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, body)
	}

	want := []string{"expires_at", "fields", "max_bytes", "method", "upload_id", "url"}
	if got := slices.Sorted(maps.Keys(body)); !slices.Equal(got, want) {
		t.Errorf("response keys %v, want exactly %v", got, want)
	}

	uploadId, _ := body["upload_id"].(string)
	if !validUploadId(uploadId) {
		t.Errorf("upload_id %q is not 20 lower-case alphanumerics", uploadId)
	}
	fields, _ := body["fields"].(map[string]any)
	if fields["key"] != "staging/"+aliceId+"/"+uploadId {
		t.Errorf("fields.key = %v, want staging/%s/%s", fields["key"], aliceId, uploadId)
	}

	expiresAt, err := types.ParseDateTime(body["expires_at"])
	if err != nil {
		t.Fatalf("expires_at %v: %v", body["expires_at"], err)
	}
	if d := expiresAt.Time().Sub(before); d < 4*time.Minute || d > 6*time.Minute {
		t.Errorf("expires_at %v is %s from now, want about 5 minutes", body["expires_at"], d)
	}
	if s, _ := body["expires_at"].(string); !strings.HasSuffix(s, "Z") || !strings.Contains(s, " ") {
		t.Errorf("expires_at %q is not a PocketBase datetime string", s)
	}

	// Two requests never share an upload id.
	_, again := testapp.Do(t, srv, http.MethodPost, "/api/media/uploads", fx.tokens["alice"],
		map[string]any{"content_type": "image/gif", "size": 1})
	if again["upload_id"] == uploadId {
		t.Errorf("second request got the same upload_id %q", uploadId)
	}
}
