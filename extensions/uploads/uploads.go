// Package uploads adds direct-to-storage media uploads to Tangerine: a client asks
// POST /api/media/uploads for a presigned POST form, sends the image bytes straight to the
// S3-compatible staging storage (they never pass through the app server), and then calls
// POST /api/media/uploads/{upload_id}/attach, which reads the staged object back, runs it
// through the same image pipeline as a multipart record upload, appends it to a file field of
// a record the user owns and deletes the staged object. An hourly cron job deletes staged
// objects that were never attached.
//
// The package talks to staging storage only through the [Presigner] interface and to the image
// pipeline only through the [Processor] interface, so it imports neither the AWS SDK nor another
// extension; the S3 implementation lives in the s3presign sub-package and main.go connects the
// pieces.
//
// Example usage:
//
//	presigner, err := s3presign.New(s3presign.Config{
//		Endpoint:       os.Getenv("TANGERINE_S3_ENDPOINT"),
//		Bucket:         os.Getenv("TANGERINE_S3_BUCKET"),
//		AccessKey:      os.Getenv("TANGERINE_S3_ACCESS_KEY"),
//		Secret:         os.Getenv("TANGERINE_S3_SECRET"),
//		ForcePathStyle: true,
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//
//	uploads.MustRegister(app, uploads.Config{
//		Presigner: presigner,       // nil: both routes answer 409
//		Processor: imageProcessor{pool}, // adapts the image pipeline to uploads.Processor
//	})
package uploads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// Defaults of [Config]; see each field there.
const (
	DefaultMaxBytes       int64 = 15 << 20
	DefaultExpiry               = 5 * time.Minute
	DefaultStagingPrefix        = "staging/"
	DefaultStaleAfter           = 24 * time.Hour
	DefaultProcessTimeout       = 30 * time.Second
)

// CleanupJobId is the id of the cron job that deletes stale staged objects.
const CleanupJobId = "tangerine_upload_cleanup"

// cleanupSchedule runs the clean-up at the top of every hour.
const cleanupSchedule = "0 * * * *"

// Target is a file field that uploads may be attached to.
type Target struct {
	// Collection is the collection name.
	Collection string

	// Field is the name of a file field of that collection.
	Field string

	// OwnerField is the relation field that names the record's owner; empty means the record
	// is itself the owner (an auth record, e.g. users.avatar).
	OwnerField string
}

// DefaultTargets are the image fields of API.md: posts.images, products.image, users.avatar.
var DefaultTargets = []Target{
	{Collection: collections.Posts, Field: "images", OwnerField: "user"},
	{Collection: collections.Products, Field: "image", OwnerField: "user"},
	{Collection: collections.Users, Field: "avatar"},
}

// Processor turns the staged bytes into the file that is stored, the same way a records-API
// upload is processed.
//
// Process reads r (at most Config.MaxBytes bytes) and returns the processed bytes and their
// file extension with the dot (".jpg"). A failure caused by the file itself (not an image, too
// many pixels, damaged) must be returned as, or wrap, an [*ImageError]: attach answers it with a
// 400 on the field. An error wrapping [ErrBusy] means no worker was free before ctx ended
// (attach answers 503). Any other error is a server failure (500). Implementations must be
// safe for concurrent use.
type Processor interface {
	Process(ctx context.Context, r io.Reader) (data []byte, ext string, err error)
}

// ImageError is a [Processor] failure caused by the uploaded file, safe to show to the client.
type ImageError struct {
	// Code is a stable machine-readable code, e.g. "validation_invalid_image".
	Code string

	// Message is a public sentence that names no internals.
	Message string

	// Err is the cause, for logs only.
	Err error
}

// Error returns the public message followed by the cause.
func (e *ImageError) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ImageError) Unwrap() error {
	return e.Err
}

// ErrBusy is wrapped by a [Processor] error when no worker became free before the context
// ended; attach answers 503 and keeps the staged object so that the client can retry.
var ErrBusy = errors.New("uploads: image processing busy")

// Config configures the plugin.
type Config struct {
	// Presigner is the staging storage. Nil means there is no S3 storage: both routes then
	// answer 409 and no clean-up job is scheduled.
	Presigner Presigner

	// Processor processes attached images. Required when Presigner is set.
	Processor Processor

	// MaxBytes is the largest accepted upload (default [DefaultMaxBytes], 15 MiB). The
	// presigned policy pins it, and attach never reads more than MaxBytes+1 bytes.
	MaxBytes int64

	// Expiry is how long a presigned form can be used (default [DefaultExpiry], 5 minutes).
	Expiry time.Duration

	// StagingPrefix is the key prefix of staged objects (default [DefaultStagingPrefix]); each
	// user's uploads live under StagingPrefix + <user id> + "/". It must not be empty: the
	// bucket may also hold PocketBase's own files, which the clean-up must never reach.
	StagingPrefix string

	// StaleAfter is the age after which a staged object can no longer be attached and is
	// deleted by the hourly clean-up job (default [DefaultStaleAfter], a day).
	StaleAfter time.Duration

	// ProcessTimeout bounds the context given to Processor.Process, i.e. how long an attach
	// waits for a free image worker (default [DefaultProcessTimeout]).
	ProcessTimeout time.Duration

	// Targets lists the file fields uploads may be attached to (default [DefaultTargets]).
	Targets []Target
}

// MustRegister is like [Register] but panics on error.
func MustRegister(app core.App, config Config) {
	if err := Register(app, config); err != nil {
		panic(err)
	}
}

// Register binds the two upload routes (in OnServe) and, when a Presigner is configured, the
// hourly clean-up job [CleanupJobId] to app.
func Register(app core.App, config Config) error {
	p := &plugin{app: app, config: config}

	if p.config.MaxBytes <= 0 {
		p.config.MaxBytes = DefaultMaxBytes
	}
	if p.config.Expiry <= 0 {
		p.config.Expiry = DefaultExpiry
	}
	if p.config.StagingPrefix == "" {
		p.config.StagingPrefix = DefaultStagingPrefix
	}
	if !strings.HasSuffix(p.config.StagingPrefix, "/") {
		// without the slash "staging" would also match "staging-backups/..."
		p.config.StagingPrefix += "/"
	}
	if p.config.StaleAfter <= 0 {
		p.config.StaleAfter = DefaultStaleAfter
	}
	if p.config.ProcessTimeout <= 0 {
		p.config.ProcessTimeout = DefaultProcessTimeout
	}
	if len(p.config.Targets) == 0 {
		p.config.Targets = DefaultTargets
	}
	for _, t := range p.config.Targets {
		if t.Collection == "" || t.Field == "" {
			return fmt.Errorf("uploads: incomplete target %+v: both Collection and Field are required", t)
		}
	}
	if p.config.Presigner != nil && p.config.Processor == nil {
		return errors.New("uploads: Processor is required when Presigner is set")
	}

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/media/uploads")
		g.Bind(apis.RequireAuth(collections.Users))
		g.POST("", p.uploadsCreate)
		g.POST("/{upload_id}/attach", p.uploadsAttach)
		return se.Next()
	})

	if p.config.Presigner != nil {
		app.Cron().MustAdd(CleanupJobId, cleanupSchedule, p.runCleanup)
	}

	return nil
}

type plugin struct {
	app    core.App
	config Config
}

// target returns the configured target of collection.field.
func (p *plugin) target(collection, field string) (Target, bool) {
	for _, t := range p.config.Targets {
		if t.Collection == collection && t.Field == field {
			return t, true
		}
	}
	return Target{}, false
}

// hasCollection reports whether some target is in collection.
func (p *plugin) hasCollection(collection string) bool {
	for _, t := range p.config.Targets {
		if t.Collection == collection {
			return true
		}
	}
	return false
}

// userPrefix is where the staged objects of one user live.
func (p *plugin) userPrefix(userId string) string {
	return p.config.StagingPrefix + userId + "/"
}

// noStorageMessage is the 409 message when no Presigner is configured.
const noStorageMessage = "Direct uploads need S3 storage."
