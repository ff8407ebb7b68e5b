package s3presign

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/uploads"
)

// AWS's published examples, used as fixed vectors:
//   - "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)" in the
//     S3 API reference (sigv4-post-example): policy, secret, day and signature below.
//   - "Examples of how to derive a signing key for Signature Version 4" in the IAM guide.
const (
	awsExampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	awsExamplePolicy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	awsExampleSig    = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
)

func TestSignPolicyMatchesAWSPostExample(t *testing.T) {
	signedAt := time.Date(2015, 12, 29, 0, 0, 0, 0, time.UTC)

	if got := signPolicy(awsExamplePolicy, awsExampleSecret, signedAt, "us-east-1"); got != awsExampleSig {
		t.Fatalf("signature = %s, want AWS's %s", got, awsExampleSig)
	}
}

func TestSigningKeyMatchesAWSDerivationExample(t *testing.T) {
	got := hex.EncodeToString(signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"))
	want := "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
	if got != want {
		t.Fatalf("signing key = %s, want AWS's %s", got, want)
	}
}

// newTestPresigner returns a Presigner on a fixed clock; it never contacts storage.
func newTestPresigner(t *testing.T, cfg Config, now time.Time) *Presigner {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.now = func() time.Time { return now }
	return p
}

var testConfig = Config{
	Endpoint:       "http://127.0.0.1:7070",
	Bucket:         "tangerine",
	Region:         "eu-west-3",
	AccessKey:      "AKIDTEST",
	Secret:         "secret/with+symbols",
	ForcePathStyle: true,
}

// recomputeSignature signs like the S3 documentation spells it out, written out separately
// from signPolicy so a mistake in one is not repeated in the other.
func recomputeSignature(secret, day, region, encodedPolicy string) string {
	key := []byte("AWS4" + secret)
	for _, part := range []string{day, region, "s3", "aws4_request", encodedPolicy} {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(part))
		key = mac.Sum(nil)
	}
	return hex.EncodeToString(key)
}

func TestPresignPostBuildsSignedPolicyPinningKeyTypeAndSize(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 987654321, time.UTC)
	p := newTestPresigner(t, testConfig, now)

	post, err := p.PresignPost(context.Background(), "staging/u1/up1", uploads.PostOptions{
		ContentType: "image/jpeg",
		MaxBytes:    15 << 20,
		Expires:     5 * time.Minute,
	})
	if err != nil {
		t.Fatalf("PresignPost: %v", err)
	}

	if post.URL != "http://127.0.0.1:7070/tangerine" {
		t.Errorf("URL = %q", post.URL)
	}
	if want := time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC); !post.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %s, want %s", post.ExpiresAt, want)
	}

	wantFields := map[string]string{
		"key":              "staging/u1/up1",
		"Content-Type":     "image/jpeg",
		"x-amz-algorithm":  "AWS4-HMAC-SHA256",
		"x-amz-credential": "AKIDTEST/20260102/eu-west-3/s3/aws4_request",
		"x-amz-date":       "20260102T030405Z",
	}
	for name, want := range wantFields {
		if got := post.Fields[name]; got != want {
			t.Errorf("field %s = %q, want %q", name, got, want)
		}
	}
	if len(post.Fields) != len(wantFields)+2 {
		t.Errorf("fields = %v, want exactly %d (the above plus policy and x-amz-signature): S3 rejects uncovered fields", post.Fields, len(wantFields)+2)
	}

	raw, err := base64.StdEncoding.DecodeString(post.Fields["policy"])
	if err != nil {
		t.Fatalf("policy is not base64: %v", err)
	}
	var policy struct {
		Expiration string `json:"expiration"`
		Conditions []any  `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &policy); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, raw)
	}
	if policy.Expiration != "2026-01-02T03:09:05.000Z" {
		t.Errorf("expiration = %q", policy.Expiration)
	}
	wantConditions := []any{
		map[string]any{"bucket": "tangerine"},
		[]any{"eq", "$key", "staging/u1/up1"},
		[]any{"eq", "$Content-Type", "image/jpeg"},
		[]any{"content-length-range", float64(1), float64(15 << 20)},
		map[string]any{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]any{"x-amz-credential": "AKIDTEST/20260102/eu-west-3/s3/aws4_request"},
		map[string]any{"x-amz-date": "20260102T030405Z"},
	}
	if !reflect.DeepEqual(policy.Conditions, wantConditions) {
		t.Errorf("conditions =\n%#v\nwant\n%#v", policy.Conditions, wantConditions)
	}

	want := recomputeSignature(testConfig.Secret, "20260102", "eu-west-3", post.Fields["policy"])
	if got := post.Fields["x-amz-signature"]; got != want {
		t.Errorf("x-amz-signature = %s, want %s", got, want)
	}
}

func TestPresignPostKeepsUnusualKeysVerbatimInPolicy(t *testing.T) {
	p := newTestPresigner(t, testConfig, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	key := `staging/u1/"quoted" <tag> & 사진 \ end`

	post, err := p.PresignPost(context.Background(), key, uploads.PostOptions{ContentType: "image/png", MaxBytes: 1, Expires: time.Second})
	if err != nil {
		t.Fatalf("PresignPost: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(post.Fields["policy"])
	if !strings.Contains(string(raw), "<tag> & ") {
		t.Errorf("policy escapes HTML characters: %s", raw)
	}
	var policy struct{ Conditions []any }
	if err := json.Unmarshal(raw, &policy); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, raw)
	}
	var gotKey any
	for _, c := range policy.Conditions {
		if arr, ok := c.([]any); ok && len(arr) == 3 && arr[1] == "$key" {
			gotKey = arr[2]
		}
	}
	if gotKey != key {
		t.Fatalf("policy key = %q, want %q", gotKey, key)
	}
}

func TestPresignPostRejectsInvalidArguments(t *testing.T) {
	p := newTestPresigner(t, testConfig, time.Now())
	valid := uploads.PostOptions{ContentType: "image/jpeg", MaxBytes: 1024, Expires: time.Minute}

	scenarios := []struct {
		name   string
		key    string
		change func(*uploads.PostOptions)
	}{
		{"empty key", "", nil},
		{"key too long", strings.Repeat("k", 1025), nil},
		{"key not UTF-8", "staging/\xff", nil},
		{"key with filename substitution", "staging/${filename}", nil},
		{"empty content type", "k", func(o *uploads.PostOptions) { o.ContentType = "" }},
		{"content type with newline", "k", func(o *uploads.PostOptions) { o.ContentType = "image/jpeg\r\nx: y" }},
		{"zero max bytes", "k", func(o *uploads.PostOptions) { o.MaxBytes = 0 }},
		{"max bytes over 5 GiB", "k", func(o *uploads.PostOptions) { o.MaxBytes = 5<<30 + 1 }},
		{"zero expiry", "k", func(o *uploads.PostOptions) { o.Expires = 0 }},
		{"expiry over 7 days", "k", func(o *uploads.PostOptions) { o.Expires = 7*24*time.Hour + time.Second }},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			opts := valid
			if s.change != nil {
				s.change(&opts)
			}
			post, err := p.PresignPost(context.Background(), s.key, opts)
			if err == nil {
				t.Fatalf("PresignPost succeeded with %v", post.Fields)
			}
		})
	}

	// The limits themselves are accepted, so the scenarios above fail for their reason only.
	if _, err := p.PresignPost(context.Background(), strings.Repeat("k", 1024), uploads.PostOptions{
		ContentType: "image/jpeg", MaxBytes: 5 << 30, Expires: 7 * 24 * time.Hour,
	}); err != nil {
		t.Fatalf("PresignPost at the limits: %v", err)
	}
}

func TestPresignPostHonoursCancelledContext(t *testing.T) {
	p := newTestPresigner(t, testConfig, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := p.PresignPost(ctx, "k", uploads.PostOptions{ContentType: "image/jpeg", MaxBytes: 1, Expires: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPresignPostURLFollowsAddressingStyle(t *testing.T) {
	scenarios := []struct {
		name     string
		endpoint string
		region   string
		path     bool
		want     string
	}{
		{"path style", "http://127.0.0.1:7070", "", true, "http://127.0.0.1:7070/tangerine"},
		{"path style, trailing slash and base path", "https://storage.example.com/s3/", "", true, "https://storage.example.com/s3/tangerine"},
		{"virtual host", "https://storage.example.com", "", false, "https://tangerine.storage.example.com/"},
		{"AWS default endpoint", "", "ap-northeast-2", false, "https://tangerine.s3.ap-northeast-2.amazonaws.com/"},
		{"AWS default region", "", "", false, "https://tangerine.s3.us-east-1.amazonaws.com/"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			cfg := Config{Endpoint: s.endpoint, Bucket: "tangerine", Region: s.region, AccessKey: "a", Secret: "s", ForcePathStyle: s.path}
			p := newTestPresigner(t, cfg, time.Now())
			post, err := p.PresignPost(context.Background(), "k", uploads.PostOptions{ContentType: "image/jpeg", MaxBytes: 1, Expires: time.Minute})
			if err != nil {
				t.Fatalf("PresignPost: %v", err)
			}
			if post.URL != s.want {
				t.Fatalf("URL = %q, want %q", post.URL, s.want)
			}
		})
	}
}
