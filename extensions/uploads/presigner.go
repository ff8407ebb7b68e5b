package uploads

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (possibly wrapped, test it with errors.Is) by [Presigner.Open] when
// no object is staged under the key: never uploaded, already attached, or cleaned up.
var ErrNotFound = errors.New("uploads: staged object not found")

// PostOptions are the constraints a presigned POST pins. The storage server enforces them
// when the browser posts the form, which is why a client cannot upload something else than it
// asked for with a form it was given.
type PostOptions struct {
	// ContentType is the only Content-Type form value the policy accepts, e.g. "image/jpeg".
	// It is what the client declared, not what the bytes are: attach sniffs the bytes again.
	ContentType string

	// MaxBytes is the largest accepted file; the policy's content-length-range is 1..MaxBytes,
	// so an empty file is rejected too.
	MaxBytes int64

	// Expires is how long the form can be used, counted from the moment it is signed.
	Expires time.Duration
}

// PresignedPost is a browser-ready upload form: POST URL as multipart/form-data with every
// entry of Fields, in any order, followed by the file itself as the last part, named "file".
// The file must be the last part because S3 ignores fields sent after it, and the form must
// carry no field that Fields does not list, because S3 rejects fields the policy does not cover.
type PresignedPost struct {
	// URL is the bucket's POST endpoint.
	URL string `json:"url"`

	// Fields are the form fields to send as given: key, Content-Type, policy and the
	// x-amz-* signature fields.
	Fields map[string]string `json:"fields"`

	// ExpiresAt is when the storage server starts rejecting the form (the policy expiration).
	ExpiresAt time.Time `json:"expires_at"`
}

// ObjectInfo describes a staged object as storage reports it.
type ObjectInfo struct {
	// Size is the object's length in bytes.
	Size int64

	// ContentType is the Content-Type stored with the object: the one the upload form pinned.
	ContentType string

	// LastModified is when storage finished writing the object.
	LastModified time.Time
}

// Presigner is the staging storage the upload routes use: it hands out presigned POST forms
// and later reads, lists and deletes what clients uploaded with them.
//
// Every method honours ctx: cancellation or a deadline aborts the call and returns an error
// wrapping ctx.Err(). Implementations also put their own timeout on every call to storage, so a
// hung server cannot hold a request forever even when ctx has no deadline. Methods are safe
// for concurrent use.
type Presigner interface {
	// PresignPost signs an upload form for exactly key. The policy pins the bucket, the key,
	// the Content-Type (exact match), a content-length-range of 1..opts.MaxBytes and an
	// expiration of opts.Expires from now. It is a local computation that does not contact
	// storage, so it succeeds even when storage is down; it returns an error only for invalid
	// arguments (empty key or content type, MaxBytes < 1, Expires outside (0, 7 days]).
	// Signing the same key twice gives two independent valid forms; an upload with either
	// replaces the object.
	PresignPost(ctx context.Context, key string, opts PostOptions) (*PresignedPost, error)

	// Open starts reading the object staged under key. The caller must Close the reader and
	// should limit how much it reads (io.LimitReader with the MaxBytes it presigned): Open does
	// not cap the size, ObjectInfo.Size tells it. A missing key returns an error wrapping
	// [ErrNotFound]. The implementation's timeout covers the whole read, up to Close.
	Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)

	// Delete removes the object staged under key. It is idempotent: a missing key is not an
	// error, so attach and the clean-up job can both call it.
	Delete(ctx context.Context, key string) error

	// ListOlder returns the keys under prefix whose objects were last modified before the
	// given time, in storage's key order, at most limit of them. The clean-up job deletes what
	// it gets and calls again until the result is empty. An empty prefix or a limit below 1 is
	// an error: the bucket may also hold PocketBase's own files, which a clean-up must never
	// reach.
	ListOlder(ctx context.Context, prefix string, before time.Time, limit int) ([]string, error)

	// Ping checks that storage is reachable with these credentials and the bucket exists;
	// /api/status uses it.
	Ping(ctx context.Context) error
}
