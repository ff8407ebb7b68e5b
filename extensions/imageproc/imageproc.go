// Package imageproc normalises uploaded images before PocketBase stores them: the type is
// sniffed from the bytes (JPEG, PNG, WebP or GIF; anything else, whatever its name, is
// refused), the pixel count is checked from the header before any decoding (a decompression
// bomb fails in microseconds), JPEG EXIF orientation is applied, the long edge is scaled down to
// 2048 px, and the image is re-encoded (JPEG quality 82, or PNG when it has transparent pixels),
// which drops every metadata block (EXIF, GPS, XMP, ICC). WebP becomes JPEG (PNG with alpha).
// An animated GIF of at most 2 MB and 1080 px keeps its animation (its comment and application
// metadata blocks removed); a larger one becomes its first frame as a JPEG. A static GIF is
// re-encoded like any other image.
//
// Register binds the pipeline to file fields of the records API (create and update, including
// batch requests): every newly uploaded file of those fields is replaced by its processed
// version before validation and storage, and a bad file fails the request with a 400 naming the
// field. Work runs on a bounded [Pool]; other callers (the direct-upload attach route) share it
// through Config.Pool and [Pool.Process].
//
// Example usage:
//
//	pool := imageproc.NewPool(0, imageproc.Options{}) // GOMAXPROCS workers, API.md limits
//
//	imageproc.MustRegister(app, imageproc.Config{
//		Pool: pool,
//		// Fields defaults to posts.images, products.image and users.avatar.
//	})
//
//	// elsewhere, on raw bytes:
//	res, err := pool.Process(ctx, reader)
//	if err != nil {
//		var perr *imageproc.Error
//		if errors.As(err, &perr) {
//			// perr.Code() and perr.Error() are safe to show to the client
//		}
//	}
//	file, _ := filesystem.NewFileFromBytes(res.Data, "photo"+res.Format.Ext())
package imageproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
	"github.com/pocketbase/pocketbase/tools/hook"

	"github.com/tangerine-market/tangerine/collections"
)

// HookId identifies the handlers Register binds to OnRecordCreateRequest and
// OnRecordUpdateRequest (e.g. to unbind them in a test).
const HookId = "tangerineImageproc"

// DefaultQueueTimeout is the default of Config.QueueTimeout.
const DefaultQueueTimeout = 30 * time.Second

// Field names one file field of one collection.
type Field struct {
	// Collection is the collection name.
	Collection string

	// Field is the name of a file field of that collection.
	Field string
}

// DefaultFields are the image fields of API.md: posts.images, products.image, users.avatar.
var DefaultFields = []Field{
	{Collection: collections.Posts, Field: "images"},
	{Collection: collections.Products, Field: "image"},
	{Collection: collections.Users, Field: "avatar"},
}

// Config configures the plugin.
type Config struct {
	// Fields lists the file fields whose uploads are processed (default DefaultFields).
	// A field that does not exist in its collection simply never has uploads.
	Fields []Field

	// Pool processes the images (default NewPool(0, Options{}): GOMAXPROCS workers and the
	// API.md limits). Pass the pool that other upload paths use so that all of them share one
	// memory bound.
	Pool *Pool

	// QueueTimeout bounds how long a request waits for a free worker before failing with 503
	// (default DefaultQueueTimeout). The request's own context also ends the wait.
	QueueTimeout time.Duration
}

// MustRegister registers the image processing hooks and panics on error.
func MustRegister(app core.App, config Config) {
	if err := Register(app, config); err != nil {
		panic(err)
	}
}

// Register binds the image processing hooks for config.Fields to app.
func Register(app core.App, config Config) error {
	p := &plugin{app: app, config: config}

	if len(p.config.Fields) == 0 {
		p.config.Fields = DefaultFields
	}
	if p.config.Pool == nil {
		p.config.Pool = NewPool(0, Options{})
	}
	if p.config.QueueTimeout <= 0 {
		p.config.QueueTimeout = DefaultQueueTimeout
	}

	p.fields = make(map[string][]string, len(p.config.Fields))
	for _, f := range p.config.Fields {
		if f.Collection == "" || f.Field == "" {
			return fmt.Errorf("imageproc: incomplete field %+v: both Collection and Field are required", f)
		}
		p.fields[f.Collection] = append(p.fields[f.Collection], f.Field)
	}

	names := make([]string, 0, len(p.fields))
	for name := range p.fields {
		names = append(names, name)
	}

	handler := &hook.Handler[*core.RecordRequestEvent]{
		Id:   HookId,
		Func: p.processUploads,
	}
	app.OnRecordCreateRequest(names...).Bind(handler)
	app.OnRecordUpdateRequest(names...).Bind(handler)

	return nil
}

type plugin struct {
	app    core.App
	config Config

	// fields maps a collection name to its processed file fields.
	fields map[string][]string
}

// processUploads replaces every new upload of the configured fields with its processed version,
// before e.Next() so that PocketBase validates (size, MIME type) and stores the result.
func (p *plugin) processUploads(e *core.RecordRequestEvent) error {
	for _, field := range p.fields[e.Collection.Name] {
		for _, file := range e.Record.GetUnsavedFiles(field) {
			err := p.processFile(e.Request.Context(), file)
			if err == nil {
				continue
			}

			var perr *Error
			if !errors.As(err, &perr) {
				return e.InternalServerError("Failed to process the uploaded image.", err)
			}

			if errors.Is(perr, ErrBusy) {
				return apis.NewApiError(http.StatusServiceUnavailable, perr.Error(), err)
			}

			p.app.Logger().Debug(
				"Rejected image upload",
				slog.String("collection", e.Collection.Name),
				slog.String("field", field),
				slog.String("file", file.OriginalName),
				slog.String("error", err.Error()),
			)

			// A provider's avatar that we cannot process must not block an OAuth2 sign-up:
			// drop the file and let the account be created without it.
			if info, infoErr := e.RequestInfo(); infoErr == nil && info.Context == core.RequestInfoContextOAuth2 {
				e.Record.Set(field+"-", file)
				continue
			}

			return e.BadRequestError("Failed to process the uploaded image.", validation.Errors{
				field: validation.NewError(perr.Code(), perr.Error()),
			})
		}
	}

	return e.Next()
}

// processFile swaps the content and name of file for the processed image, in place: the record
// holds the *filesystem.File pointer, so the swap is what gets validated and stored.
func (p *plugin) processFile(ctx context.Context, file *filesystem.File) error {
	ctx, cancel := context.WithTimeout(ctx, p.config.QueueTimeout)
	defer cancel()

	res, err := p.processReader(ctx, file)
	if err != nil {
		return err
	}

	processed, err := filesystem.NewFileFromBytes(res.Data, replaceExt(file.OriginalName, res.Format.Ext()))
	if err != nil {
		return fmt.Errorf("failed to wrap the processed image: %w", err)
	}

	*file = *processed

	return nil
}

func (p *plugin) processReader(ctx context.Context, file *filesystem.File) (*Result, error) {
	start := time.Now()

	r := &lazyReader{file: file}
	defer r.Close()

	res, err := p.config.Pool.Process(ctx, r)
	if err != nil {
		return nil, err
	}

	p.app.Logger().Debug(
		"Processed image upload",
		slog.String("file", file.OriginalName),
		slog.String("from", string(res.Source)),
		slog.String("to", string(res.Format)),
		slog.Int64("bytesIn", file.Size),
		slog.Int("bytesOut", len(res.Data)),
		slog.Duration("took", time.Since(start)),
	)

	return res, nil
}

// lazyReader opens its file on the first Read, which happens only once a pool worker is free:
// a queued upload holds no file handle or buffer.
type lazyReader struct {
	file *filesystem.File
	rc   io.ReadSeekCloser
}

// Read implements io.Reader.
func (l *lazyReader) Read(b []byte) (int, error) {
	if l.rc == nil {
		rc, err := l.file.Reader.Open()
		if err != nil {
			return 0, fmt.Errorf("failed to open the upload: %w", err)
		}
		l.rc = rc
	}
	return l.rc.Read(b)
}

// Size lets Process size its buffer in one allocation.
func (l *lazyReader) Size() int64 {
	return l.file.Size
}

// Close closes the file if it was opened.
func (l *lazyReader) Close() error {
	if l.rc == nil {
		return nil
	}
	return l.rc.Close()
}

// replaceExt gives name the extension of the processed format, so that the stored name, the
// served Content-Type and the bytes agree ("IMG_1.HEIC.png" -> "IMG_1.HEIC.jpg").
func replaceExt(name, ext string) string {
	base := strings.TrimSuffix(name, filepath.Ext(name))
	if base == "" {
		base = "image"
	}
	return base + ext
}
