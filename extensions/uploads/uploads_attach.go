package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// attachForm is the body of POST /api/media/uploads/{upload_id}/attach.
type attachForm struct {
	Collection string `json:"collection" form:"collection"`
	Record     string `json:"record" form:"record"`
	Field      string `json:"field" form:"field"`

	plugin *plugin
}

// Validate checks that collection.field is an attach target and that a record is named.
func (f *attachForm) Validate() error {
	return validation.ValidateStruct(f,
		validation.Field(&f.Collection, validation.Required, validation.By(f.checkCollection)),
		validation.Field(&f.Record, validation.Required, validation.Length(1, 100)),
		validation.Field(&f.Field, validation.Required, validation.By(f.checkField)),
	)
}

func (f *attachForm) checkCollection(value any) error {
	if !f.plugin.hasCollection(value.(string)) {
		return validation.NewError("validation_invalid_collection", "Uploads cannot be attached to this collection.")
	}
	return nil
}

func (f *attachForm) checkField(value any) error {
	// an unknown collection is reported on collection alone
	if !f.plugin.hasCollection(f.Collection) {
		return nil
	}
	if _, ok := f.plugin.target(f.Collection, value.(string)); !ok {
		return validation.NewError("validation_invalid_field", "Uploads cannot be attached to this field.")
	}
	return nil
}

// uploadsAttach handles POST /api/media/uploads/{upload_id}/attach: it reads the auth user's
// staged object, processes it, adds it to a file field of a record the user owns and deletes
// the staged object.
//
// A failed attach changes nothing: the record stays as it was and the staged object stays
// where it is, so that the client can retry (the same target after a 503, another target after
// a 400); objects that are never attached go with the clean-up job.
func (p *plugin) uploadsAttach(e *core.RequestEvent) error {
	if p.config.Presigner == nil {
		return e.Error(http.StatusConflict, noStorageMessage, nil)
	}

	uploadId := e.Request.PathValue("upload_id")
	if !validUploadId(uploadId) {
		return e.NotFoundError("", nil)
	}

	form := &attachForm{plugin: p}
	if err := e.BindBody(form); err != nil {
		return e.BadRequestError("Failed to read the request data.", err)
	}
	if err := form.Validate(); err != nil {
		return e.BadRequestError("Invalid attach request.", err)
	}
	target, _ := p.target(form.Collection, form.Field)

	// Cheap checks first, so that a wrong target costs no storage read and no processing.
	// They are repeated in the saving transaction, which is what actually guards the write.
	record, field, err := p.findTarget(p.app, target, form.Record, e.Auth.Id)
	if errors.Is(err, errNoTarget) {
		return e.NotFoundError("", err)
	}
	if err != nil {
		return e.InternalServerError("Failed to attach the upload.", err)
	}
	if full(record, field) {
		return fieldFullError(e, target.Field)
	}

	key := p.userPrefix(e.Auth.Id) + uploadId
	data, err := p.readStaged(e.Request.Context(), key)
	switch {
	case errors.Is(err, ErrNotFound):
		return e.NotFoundError("", err)
	case errors.Is(err, errTooLarge):
		return e.BadRequestError("Failed to attach the upload.", validation.Errors{
			target.Field: validation.NewError("validation_image_too_large", "The image file is too large."),
		})
	case err != nil:
		return e.InternalServerError("Failed to read the staged upload.", err)
	}

	file, err := p.process(e.Request.Context(), data, uploadId)
	if err != nil {
		var imgErr *ImageError
		switch {
		case errors.As(err, &imgErr):
			p.app.Logger().Debug("Rejected staged upload",
				slog.String("key", key),
				slog.String("collection", target.Collection),
				slog.String("field", target.Field),
				slog.String("error", err.Error()),
			)
			return e.BadRequestError("Failed to process the uploaded image.", validation.Errors{
				target.Field: validation.NewError(imgErr.Code, imgErr.Message),
			})
		case errors.Is(err, ErrBusy):
			return apis.NewApiError(http.StatusServiceUnavailable,
				"The server is busy processing other images; please try again shortly.", err)
		default:
			return e.InternalServerError("Failed to process the uploaded image.", err)
		}
	}

	var saved *core.Record
	err = p.app.RunInTransaction(func(txApp core.App) error {
		// Reloaded inside the transaction: two attaches to one record are serialised here, so
		// neither overwrites the other's file and the field's limit holds.
		r, f, err := p.findTarget(txApp, target, form.Record, e.Auth.Id)
		if err != nil {
			return err
		}
		if full(r, f) {
			return errFieldFull
		}
		if f.IsMultiple() {
			r.Set(f.Name+"+", file)
		} else {
			r.Set(f.Name, file) // PocketBase deletes the replaced file after the commit
		}
		if err := txApp.Save(r); err != nil {
			return err
		}
		saved = r
		return nil
	})
	if err != nil {
		switch {
		case errors.Is(err, errNoTarget):
			return e.NotFoundError("", err)
		case errors.Is(err, errFieldFull):
			return fieldFullError(e, target.Field)
		}
		var verrs validation.Errors
		if errors.As(err, &verrs) {
			return e.BadRequestError("Failed to attach the upload.", verrs)
		}
		return e.InternalServerError("Failed to attach the upload.", err)
	}

	// The file is stored; a staged copy that fails to go is only clutter until the clean-up.
	if err := p.config.Presigner.Delete(e.Request.Context(), key); err != nil {
		p.app.Logger().Warn("Failed to delete an attached staged upload",
			slog.String("key", key),
			slog.String("error", err.Error()),
		)
	}

	if err := apis.EnrichRecord(e, saved); err != nil {
		return e.InternalServerError("Failed to enrich the record.", err)
	}
	return e.JSON(http.StatusOK, saved)
}

var (
	errNoTarget  = errors.New("uploads: no such record owned by the user")
	errFieldFull = errors.New("uploads: file field full")
	errTooLarge  = errors.New("uploads: staged object too large")
)

// findTarget loads the record the auth user wants to attach to. A record that does not exist
// and one the user does not own are the same errNoTarget, so that existence does not leak.
func (p *plugin) findTarget(app core.App, target Target, recordId, authId string) (*core.Record, *core.FileField, error) {
	record, err := app.FindRecordById(target.Collection, recordId)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errNoTarget, err)
	}
	owner := record.Id
	if target.OwnerField != "" {
		owner = record.GetString(target.OwnerField)
	}
	if owner == "" || owner != authId {
		return nil, nil, errNoTarget
	}
	field, ok := record.Collection().Fields.GetByName(target.Field).(*core.FileField)
	if !ok {
		return nil, nil, fmt.Errorf("uploads: %s.%s is not a file field", target.Collection, target.Field)
	}
	return record, field, nil
}

// full reports whether a multiple file field already holds its maximum. A single file field
// is never full: attaching replaces its file, like a records-API upload would.
func full(record *core.Record, field *core.FileField) bool {
	return field.IsMultiple() && len(record.GetStringSlice(field.Name)) >= field.MaxSelect
}

func fieldFullError(e *core.RequestEvent, field string) error {
	return e.BadRequestError("Failed to attach the upload.", validation.Errors{
		field: validation.NewError("validation_field_full", "The field already holds its maximum number of files."),
	})
}

// readStaged reads the staged object into memory, never more than MaxBytes+1 bytes (the
// processor needs all of it anyway, and holding it lets the storage connection go before the
// possibly long wait for an image worker).
func (p *plugin) readStaged(ctx context.Context, key string) ([]byte, error) {
	rc, info, err := p.config.Presigner.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()

	// Past StaleAfter an object is as good as cleaned up, whether or not the job has run yet.
	if !info.LastModified.IsZero() && time.Since(info.LastModified) > p.config.StaleAfter {
		return nil, fmt.Errorf("staged object %q is stale: %w", key, ErrNotFound)
	}
	if info.Size > p.config.MaxBytes {
		return nil, errTooLarge
	}

	var buf bytes.Buffer
	if info.Size > 0 {
		buf.Grow(int(info.Size))
	}
	if _, err := buf.ReadFrom(io.LimitReader(rc, p.config.MaxBytes+1)); err != nil {
		return nil, fmt.Errorf("failed to read staged object %q: %w", key, err)
	}
	if int64(buf.Len()) > p.config.MaxBytes {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// process runs the Processor on data under ProcessTimeout and wraps the result as a file named
// after the upload.
func (p *plugin) process(ctx context.Context, data []byte, uploadId string) (*filesystem.File, error) {
	ctx, cancel := context.WithTimeout(ctx, p.config.ProcessTimeout)
	defer cancel()

	out, ext, err := p.config.Processor.Process(ctx, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	file, err := filesystem.NewFileFromBytes(out, uploadId+ext)
	if err != nil {
		return nil, fmt.Errorf("failed to wrap the processed image: %w", err)
	}
	return file, nil
}
