//go:build integration

package s3presign

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/uploads"
)

// These tests run against a real S3-compatible server (scripts/s3.sh start runs versitygw):
//
//	TANGERINE_S3_ENDPOINT=http://127.0.0.1:7070 TANGERINE_S3_BUCKET=tangerine
//	TANGERINE_S3_REGION=us-east-1 TANGERINE_S3_ACCESS_KEY=tangerine
//	TANGERINE_S3_SECRET=tangerine-secret
//	TANGERINE_S3_FORCE_PATH_STYLE (optional, default true: local servers have no wildcard DNS)
//
// They check that the policy is enforced by the server itself: every rejected form differs
// from an accepted one in exactly one respect, and the accepted one is posted afterwards to
// prove that the rejection came from that respect and not from a broken setup.

// integrationConfig reads the server from the environment and fails (not skips) without it,
// so a misconfigured CI run cannot pass by testing nothing.
func integrationConfig(t *testing.T) Config {
	t.Helper()
	cfg := Config{
		Endpoint:       os.Getenv("TANGERINE_S3_ENDPOINT"),
		Bucket:         os.Getenv("TANGERINE_S3_BUCKET"),
		Region:         os.Getenv("TANGERINE_S3_REGION"),
		AccessKey:      os.Getenv("TANGERINE_S3_ACCESS_KEY"),
		Secret:         os.Getenv("TANGERINE_S3_SECRET"),
		ForcePathStyle: os.Getenv("TANGERINE_S3_FORCE_PATH_STYLE") != "false",
		Timeout:        10 * time.Second,
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
		t.Fatalf("integration tests need a real S3 server: set %s (scripts/s3.sh start runs one)", strings.Join(missing, ", "))
	}
	return cfg
}

func newIntegrationPresigner(t *testing.T, clockShift time.Duration) *Presigner {
	t.Helper()
	p, err := New(integrationConfig(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.now = func() time.Time { return time.Now().Add(clockShift) }
	return p
}

// testPrefix gives each test run its own key space, so runs never see each other's objects.
func testPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "it-staging/" + hex.EncodeToString(b) + "/"
}

type s3Answer struct {
	status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// submitForm sends fields and then the file as the last part, like a browser form, and returns
// the server's status and, for errors, its error code and message.
func submitForm(t *testing.T, url string, fields map[string]string, file []byte) s3Answer {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
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
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
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

func assertNotStaged(t *testing.T, p *Presigner, key string) {
	t.Helper()
	rc, info, err := p.Open(context.Background(), key)
	if err == nil {
		rc.Close()
		t.Fatalf("object %q exists (%d bytes) after a rejected upload", key, info.Size)
	}
	if !errors.Is(err, uploads.ErrNotFound) {
		t.Fatalf("Open(%q) = %v, want ErrNotFound", key, err)
	}
}

func TestIntegrationPing(t *testing.T) {
	p := newIntegrationPresigner(t, 0)
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	cfg := integrationConfig(t)
	cfg.Bucket = "tangerine-no-such-bucket-" + strings.TrimSuffix(strings.TrimPrefix(testPrefix(t), "it-staging/"), "/")
	missing, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Ping(context.Background()); err == nil {
		t.Fatal("Ping of a missing bucket succeeded")
	}
}

func TestIntegrationPostUploadRoundTrip(t *testing.T) {
	ctx := context.Background()
	p := newIntegrationPresigner(t, 0)
	prefix := testPrefix(t)
	key := prefix + "photo"
	data := bytes.Repeat([]byte("tangerine"), 100) // 900 bytes
	t.Cleanup(func() { p.Delete(context.Background(), key) })

	post, err := p.PresignPost(ctx, key, uploads.PostOptions{ContentType: "image/jpeg", MaxBytes: 900, Expires: 5 * time.Minute})
	if err != nil {
		t.Fatalf("PresignPost: %v", err)
	}
	if ans := submitForm(t, post.URL, post.Fields, data); ans.status != http.StatusNoContent {
		t.Fatalf("POST = %d %s: %s", ans.status, ans.Code, ans.Message)
	}

	rc, info, err := p.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want the %d uploaded", len(got), len(data))
	}
	if info.Size != int64(len(data)) || info.ContentType != "image/jpeg" {
		t.Errorf("info = %+v, want size %d and the pinned content type image/jpeg", info, len(data))
	}
	if since := time.Since(info.LastModified); since < -time.Minute || since > time.Minute {
		t.Errorf("LastModified = %s, not about now", info.LastModified)
	}

	keys, err := p.ListOlder(ctx, prefix, time.Now().Add(time.Minute), 10)
	if err != nil {
		t.Fatalf("ListOlder: %v", err)
	}
	if !slices.Equal(keys, []string{key}) {
		t.Errorf("ListOlder(now+1m) = %v, want [%s]", keys, key)
	}
	keys, err = p.ListOlder(ctx, prefix, time.Now().Add(-time.Hour), 10)
	if err != nil {
		t.Fatalf("ListOlder: %v", err)
	}
	if len(keys) != 0 {
		t.Errorf("ListOlder(now-1h) = %v, want none: the object is new", keys)
	}

	if err := p.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertNotStaged(t, p, key)
	if err := p.Delete(ctx, key); err != nil {
		t.Fatalf("second Delete of the same key: %v, want nil (idempotent)", err)
	}
}

func TestIntegrationServerEnforcesPostPolicy(t *testing.T) {
	const maxBytes = 64
	fits := bytes.Repeat([]byte{0xff}, maxBytes)

	scenarios := []struct {
		name string
		// clockShift and expires shape the form; the accepted control form uses the same
		// clockShift with a 30 minute expiry.
		clockShift time.Duration
		expires    time.Duration
		file       []byte
		tamper     func(t *testing.T, fields map[string]string)
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{
			name:       "wrong content type",
			tamper:     func(t *testing.T, f map[string]string) { f["Content-Type"] = "text/html" },
			wantStatus: http.StatusForbidden, wantCode: "AccessDenied", wantInMsg: "Content-Type",
		},
		{
			name:       "file one byte over the limit",
			file:       bytes.Repeat([]byte{0xff}, maxBytes+1),
			wantStatus: http.StatusBadRequest, wantCode: "EntityTooLarge",
		},
		{
			name:       "empty file",
			file:       []byte{},
			wantStatus: http.StatusBadRequest, wantCode: "EntityTooSmall",
		},
		{
			// Signed ten minutes ago for five minutes: within the server's one-hour window for
			// x-amz-date, so it is the policy expiration that must reject it.
			name:       "expired policy",
			clockShift: -10 * time.Minute, expires: 5 * time.Minute,
			wantStatus: http.StatusForbidden, wantCode: "AccessDenied", wantInMsg: "expired",
		},
		{
			name:       "key changed after signing",
			tamper:     func(t *testing.T, f map[string]string) { f["key"] += "-other" },
			wantStatus: http.StatusForbidden, wantCode: "AccessDenied", wantInMsg: "$key",
		},
		{
			name: "policy loosened after signing",
			tamper: func(t *testing.T, f map[string]string) {
				raw, err := base64.StdEncoding.DecodeString(f["policy"])
				if err != nil {
					t.Fatal(err)
				}
				loosened := strings.Replace(string(raw), `"image/jpeg"`, `"text/html"`, 1)
				if loosened == string(raw) {
					t.Fatalf("policy has no content type to loosen: %s", raw)
				}
				f["policy"] = base64.StdEncoding.EncodeToString([]byte(loosened))
				f["Content-Type"] = "text/html"
			},
			wantStatus: http.StatusForbidden, wantCode: "SignatureDoesNotMatch",
		},
		{
			name:       "extra field not covered by the policy",
			tamper:     func(t *testing.T, f map[string]string) { f["x-amz-meta-owner"] = "someone-else" },
			wantStatus: http.StatusForbidden, wantCode: "AccessDenied", wantInMsg: "x-amz-meta-owner",
		},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			p := newIntegrationPresigner(t, s.clockShift)
			key := testPrefix(t) + "photo"
			t.Cleanup(func() { p.Delete(context.Background(), key) })

			expires := s.expires
			if expires == 0 {
				expires = 5 * time.Minute
			}
			file := s.file
			if file == nil {
				file = fits
			}

			post, err := p.PresignPost(ctx, key, uploads.PostOptions{ContentType: "image/jpeg", MaxBytes: maxBytes, Expires: expires})
			if err != nil {
				t.Fatalf("PresignPost: %v", err)
			}
			// A copy, so tampering never touches the form the presigner returned.
			fields := maps.Clone(post.Fields)
			if s.tamper != nil {
				s.tamper(t, fields)
			}

			ans := submitForm(t, post.URL, fields, file)
			if ans.status != s.wantStatus || ans.Code != s.wantCode || !strings.Contains(ans.Message, s.wantInMsg) {
				t.Fatalf("POST = %d %s %q, want %d %s containing %q", ans.status, ans.Code, ans.Message, s.wantStatus, s.wantCode, s.wantInMsg)
			}
			t.Logf("rejected as wanted: %d %s %q", ans.status, ans.Code, ans.Message)
			assertNotStaged(t, p, key)
			if fields["key"] != key {
				assertNotStaged(t, p, fields["key"])
			}

			control, err := p.PresignPost(ctx, key, uploads.PostOptions{ContentType: "image/jpeg", MaxBytes: maxBytes, Expires: 30 * time.Minute})
			if err != nil {
				t.Fatalf("PresignPost (control): %v", err)
			}
			if ans := submitForm(t, control.URL, control.Fields, fits); ans.status != http.StatusNoContent {
				t.Fatalf("control POST without the defect = %d %s %q, want 204: the setup, not the defect, failed", ans.status, ans.Code, ans.Message)
			}
		})
	}
}
