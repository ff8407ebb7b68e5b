// Package s3presign implements [uploads.Presigner] on S3-compatible storage (AWS S3, versitygw,
// MinIO, ...) with github.com/aws/aws-sdk-go-v2: browser-based presigned POST forms signed
// locally with AWS Signature Version 4, and the SDK's S3 client to read, list and delete the
// staged objects.
//
// It is the only package of the uploads extension that imports the AWS SDK; main.go builds a
// Presigner from configuration and hands it to the extension.
//
// Example usage:
//
//	presigner, err := s3presign.New(s3presign.Config{
//		Endpoint:       os.Getenv("TANGERINE_S3_ENDPOINT"),
//		Bucket:         os.Getenv("TANGERINE_S3_BUCKET"),
//		Region:         os.Getenv("TANGERINE_S3_REGION"),
//		AccessKey:      os.Getenv("TANGERINE_S3_ACCESS_KEY"),
//		Secret:         os.Getenv("TANGERINE_S3_SECRET"),
//		ForcePathStyle: os.Getenv("TANGERINE_S3_FORCE_PATH_STYLE") == "true",
//	})
package s3presign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/tangerine-market/tangerine/extensions/uploads"
)

// DefaultRegion is the signing region used when [Config.Region] is empty.
const DefaultRegion = "us-east-1"

// DefaultTimeout bounds each storage call when [Config.Timeout] is zero.
const DefaultTimeout = 30 * time.Second

// Config configures a [Presigner].
type Config struct {
	// Endpoint is the S3 API base URL, e.g. "http://127.0.0.1:7070" or "https://s3.example.com".
	// Empty means AWS S3 in Region (https://s3.<region>.amazonaws.com).
	Endpoint string

	// Bucket holds the staged objects. Required. It may be the bucket of PocketBase's own files:
	// staged keys live under their own prefix, and ListOlder refuses an empty prefix.
	Bucket string

	// Region is the SigV4 signing region; it must match the server's (versitygw: its --region).
	// Default: [DefaultRegion].
	Region string

	// AccessKey and Secret are static credentials. Required: the secret signs POST policies
	// locally, so the SDK's credential chain (environment, shared files, instance roles) is
	// deliberately not consulted.
	AccessKey string
	Secret    string

	// ForcePathStyle addresses the bucket as <endpoint>/<bucket> instead of
	// <bucket>.<endpoint host>. Default false (virtual-hosted, what AWS prefers); set it for
	// versitygw, MinIO and any endpoint given as an IP address or without wildcard DNS.
	ForcePathStyle bool

	// Timeout bounds every storage call (Open: up to the reader's Close; ListOlder: each page).
	// Default: [DefaultTimeout].
	Timeout time.Duration
}

// Presigner is an [uploads.Presigner] on one S3 bucket. Build it with [New]; it is safe for
// concurrent use.
type Presigner struct {
	client   *s3.Client
	bucket   string
	region   string
	access   string
	secret   string
	postURL  string
	timeout  time.Duration
	now      func() time.Time // replaced by tests to sign with a fixed clock
	pageSize int32            // ListObjectsV2 page size; tests lower it to exercise paging
}

var _ uploads.Presigner = (*Presigner)(nil)

// New validates cfg, fills its defaults and returns a Presigner. It does not contact storage;
// call Ping for that.
func New(cfg Config) (*Presigner, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3presign: Bucket is required")
	}
	if cfg.AccessKey == "" || cfg.Secret == "" {
		return nil, errors.New("s3presign: AccessKey and Secret are required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}

	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "https://s3." + cfg.Region + ".amazonaws.com"
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("s3presign: invalid Endpoint %q: %w", cfg.Endpoint, err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("s3presign: Endpoint %q must be an http(s) URL with a host", cfg.Endpoint)
	}

	opts := s3.Options{
		Region:       cfg.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.Secret, ""),
		UsePathStyle: cfg.ForcePathStyle,
		// The SDK's default flexible checksums (CRC trailers, checksum mode on reads) are not
		// implemented by every S3-compatible server; plain SigV4 requests work everywhere.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(cfg.Endpoint, "/"))
	}

	return &Presigner{
		client:   s3.New(opts),
		bucket:   cfg.Bucket,
		region:   cfg.Region,
		access:   cfg.AccessKey,
		secret:   cfg.Secret,
		postURL:  bucketURL(base, cfg.Bucket, cfg.ForcePathStyle),
		timeout:  cfg.Timeout,
		now:      time.Now,
		pageSize: 1000,
	}, nil
}

// bucketURL is where browsers POST forms: the bucket's root, in the addressing style the server
// expects.
func bucketURL(base *url.URL, bucket string, pathStyle bool) string {
	u := url.URL{Scheme: base.Scheme, Host: base.Host, Path: strings.TrimRight(base.Path, "/")}
	if pathStyle {
		u.Path += "/" + bucket
	} else {
		u.Host = bucket + "." + base.Host
		u.Path += "/"
	}
	return u.String()
}

// Open implements [uploads.Presigner].
func (p *Presigner) Open(ctx context.Context, key string) (io.ReadCloser, uploads.ObjectInfo, error) {
	// The timeout must outlive this call: it is released by the returned reader's Close.
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	out, err := p.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &p.bucket, Key: &key})
	if err != nil {
		cancel()
		if isNotFound(err) {
			return nil, uploads.ObjectInfo{}, fmt.Errorf("s3presign: open %q: %w", key, uploads.ErrNotFound)
		}
		return nil, uploads.ObjectInfo{}, fmt.Errorf("s3presign: open %q: %w", key, err)
	}

	info := uploads.ObjectInfo{
		Size:         aws.ToInt64(out.ContentLength),
		ContentType:  aws.ToString(out.ContentType),
		LastModified: aws.ToTime(out.LastModified),
	}
	return &cancelOnClose{ReadCloser: out.Body, cancel: cancel}, info, nil
}

// cancelOnClose releases Open's timeout context when the caller is done reading.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the object body and releases its timeout.
func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Delete implements [uploads.Presigner].
func (p *Presigner) Delete(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	// S3 already answers 204 for a missing key; some compatible servers answer 404 instead.
	_, err := p.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &p.bucket, Key: &key})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("s3presign: delete %q: %w", key, err)
	}
	return nil
}

// ListOlder implements [uploads.Presigner].
func (p *Presigner) ListOlder(ctx context.Context, prefix string, before time.Time, limit int) ([]string, error) {
	// The bucket may hold PocketBase's own files next to the staged ones; an empty prefix
	// would let a clean-up job sweep all of them.
	if prefix == "" {
		return nil, errors.New("s3presign: ListOlder needs a non-empty prefix")
	}
	if limit < 1 {
		return nil, fmt.Errorf("s3presign: ListOlder limit must be at least 1, got %d", limit)
	}

	var keys []string
	paginator := s3.NewListObjectsV2Paginator(p.client, &s3.ListObjectsV2Input{
		Bucket:  &p.bucket,
		Prefix:  &prefix,
		MaxKeys: aws.Int32(p.pageSize),
	})
	for paginator.HasMorePages() {
		page, err := p.listPage(ctx, paginator)
		if err != nil {
			return nil, fmt.Errorf("s3presign: list %q: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			if obj.Key == nil || obj.LastModified == nil || !obj.LastModified.Before(before) {
				continue
			}
			keys = append(keys, *obj.Key)
			if len(keys) == limit {
				return keys, nil
			}
		}
	}
	return keys, nil
}

// listPage fetches one page under its own timeout, so a long listing is not cut short by a
// single deadline while a hung page still is.
func (p *Presigner) listPage(ctx context.Context, paginator *s3.ListObjectsV2Paginator) (*s3.ListObjectsV2Output, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return paginator.NextPage(ctx)
}

// Ping implements [uploads.Presigner] with HeadBucket, which checks the endpoint, the
// credentials and the bucket in one request.
func (p *Presigner) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	if _, err := p.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &p.bucket}); err != nil {
		return fmt.Errorf("s3presign: ping bucket %q: %w", p.bucket, err)
	}
	return nil
}

// isNotFound reports whether err is S3's answer for a missing object. A missing bucket
// (NoSuchBucket) is deliberately not included: that is a configuration error, not a
// missing upload.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "NoSuchKey", "NotFound":
		return true
	}
	return false
}
