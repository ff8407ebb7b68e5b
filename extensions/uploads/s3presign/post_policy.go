package s3presign

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tangerine-market/tangerine/extensions/uploads"
)

const (
	// sigV4Algorithm is the only algorithm S3 accepts for POST policies signed with SigV4.
	sigV4Algorithm = "AWS4-HMAC-SHA256"

	// maxPostExpiry is SigV4's longest validity for presigned requests.
	maxPostExpiry = 7 * 24 * time.Hour

	// maxPostBytes is S3's largest object accepted by a single POST (or PUT).
	maxPostBytes = 5 << 30

	// maxKeyBytes is S3's longest object key.
	maxKeyBytes = 1024

	amzDateLayout   = "20060102T150405Z"
	amzDayLayout    = "20060102"
	expirationStamp = "2006-01-02T15:04:05.000Z"
)

// PresignPost implements [uploads.Presigner]. The policy is built and signed here, following
// "Creating a POST Policy" and "Calculating a Signature" of the S3 API reference, rather than
// with the SDK's PresignClient.PresignPostObject: that one reads the clock itself (so its output
// cannot be checked against fixed vectors) and leaves the Content-Type field to the caller,
// while here the form fields and the conditions they must meet come from one place.
func (p *Presigner) PresignPost(ctx context.Context, key string, opts uploads.PostOptions) (*uploads.PresignedPost, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3presign: presign %q: %w", key, err)
	}
	if err := validatePost(key, opts); err != nil {
		return nil, fmt.Errorf("s3presign: presign %q: %w", key, err)
	}

	signedAt := p.now().UTC().Truncate(time.Second)
	expiresAt := signedAt.Add(opts.Expires)

	fields, err := signPostForm(postForm{
		bucket:      p.bucket,
		key:         key,
		contentType: opts.ContentType,
		maxBytes:    opts.MaxBytes,
		region:      p.region,
		accessKey:   p.access,
		secret:      p.secret,
		signedAt:    signedAt,
		expiresAt:   expiresAt,
	})
	if err != nil {
		return nil, fmt.Errorf("s3presign: presign %q: %w", key, err)
	}

	return &uploads.PresignedPost{URL: p.postURL, Fields: fields, ExpiresAt: expiresAt}, nil
}

// validatePost rejects what S3 would reject later (so the error surfaces at the server, not in
// the browser) and what would weaken the policy.
func validatePost(key string, opts uploads.PostOptions) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > maxKeyBytes:
		return fmt.Errorf("key longer than %d bytes", maxKeyBytes)
	case !utf8.ValidString(key):
		return errors.New("key is not valid UTF-8")
	case strings.Contains(key, "${filename}"):
		// S3 replaces ${filename} in the key field with the uploaded file's name, which would
		// let the client choose part of the key.
		return errors.New("key must not contain ${filename}")
	}
	if _, _, err := mime.ParseMediaType(opts.ContentType); err != nil {
		return fmt.Errorf("invalid content type %q: %w", opts.ContentType, err)
	}
	if opts.MaxBytes < 1 || opts.MaxBytes > maxPostBytes {
		return fmt.Errorf("max bytes %d outside 1..%d", opts.MaxBytes, int64(maxPostBytes))
	}
	if opts.Expires <= 0 || opts.Expires > maxPostExpiry {
		return fmt.Errorf("expiry %s outside (0, %s]", opts.Expires, maxPostExpiry)
	}
	return nil
}

// postForm is everything a signed POST form depends on; signPostForm is a pure function of it.
type postForm struct {
	bucket      string
	key         string
	contentType string
	maxBytes    int64
	region      string
	accessKey   string
	secret      string
	signedAt    time.Time
	expiresAt   time.Time
}

// postPolicy is the JSON policy document. Conditions are a list of either one-entry objects
// (exact matches) or arrays ("eq", "starts-with", "content-length-range").
type postPolicy struct {
	Expiration string `json:"expiration"`
	Conditions []any  `json:"conditions"`
}

// signPostForm returns the form fields of a POST upload of f.key: the policy, its SigV4
// signature and every field the policy names. S3 rejects a form with a field the policy does
// not cover and a policy condition the form does not meet, so fields and conditions are built
// together here.
func signPostForm(f postForm) (map[string]string, error) {
	amzDate := f.signedAt.UTC().Format(amzDateLayout)
	credential := f.accessKey + "/" + credentialScope(f.signedAt, f.region)

	policy := postPolicy{
		Expiration: f.expiresAt.UTC().Format(expirationStamp),
		Conditions: []any{
			map[string]string{"bucket": f.bucket},
			[]any{"eq", "$key", f.key},
			[]any{"eq", "$Content-Type", f.contentType},
			[]any{"content-length-range", 1, f.maxBytes},
			map[string]string{"x-amz-algorithm": sigV4Algorithm},
			map[string]string{"x-amz-credential": credential},
			map[string]string{"x-amz-date": amzDate},
		},
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keys and content types go into the policy verbatim; HTML escaping would only obscure them.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(policy); err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	encoded := base64.StdEncoding.EncodeToString(bytes.TrimRight(buf.Bytes(), "\n"))

	return map[string]string{
		"key":              f.key,
		"Content-Type":     f.contentType,
		"policy":           encoded,
		"x-amz-algorithm":  sigV4Algorithm,
		"x-amz-credential": credential,
		"x-amz-date":       amzDate,
		"x-amz-signature":  signPolicy(encoded, f.secret, f.signedAt, f.region),
	}, nil
}

// credentialScope is "<yyyymmdd>/<region>/s3/aws4_request".
func credentialScope(t time.Time, region string) string {
	return t.UTC().Format(amzDayLayout) + "/" + region + "/s3/aws4_request"
}

// signPolicy is the SigV4 signature of a POST policy: for POST the string to sign is the
// base64 policy itself, signed with the derived key of the credential scope's day and region.
func signPolicy(encodedPolicy, secret string, signedAt time.Time, region string) string {
	key := signingKey(secret, signedAt.UTC().Format(amzDayLayout), region, "s3")
	return hex.EncodeToString(hmacSHA256(key, encodedPolicy))
}

// signingKey derives SigV4's signing key: HMAC chains of the day, region, service and
// "aws4_request", starting from "AWS4"+secret.
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
