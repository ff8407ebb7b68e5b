package uploads

import (
	"math"
	"net/http"
	"slices"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ContentTypes are the content types a client may declare for a direct upload.
var ContentTypes = []string{"image/jpeg", "image/png", "image/webp", "image/gif"}

// uploadIdLength and uploadIdAlphabet shape upload ids: 20 lower-case alphanumerics, about
// 103 bits, so an id cannot be guessed (ownership is checked by the key prefix anyway).
const (
	uploadIdLength   = 20
	uploadIdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// createResponse is the body of a successful POST /api/media/uploads (API.md, Media).
type createResponse struct {
	UploadId  string            `json:"upload_id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Fields    map[string]string `json:"fields"`
	MaxBytes  int64             `json:"max_bytes"`
	ExpiresAt types.DateTime    `json:"expires_at"`
}

// createForm is the body of POST /api/media/uploads. The values stay untyped until Validate,
// so that a size of the wrong type is a 400 naming size instead of an unreadable body.
type createForm struct {
	ContentType any `json:"content_type"`
	Size        any `json:"size"`

	maxBytes int64
}

// Validate checks content_type against [ContentTypes] and size against 1..maxBytes.
func (f *createForm) Validate() error {
	return validation.ValidateStruct(f,
		validation.Field(&f.ContentType, validation.Required, validation.By(f.checkContentType)),
		validation.Field(&f.Size, validation.Required, validation.By(f.checkSize)),
	)
}

func (f *createForm) checkContentType(value any) error {
	s, _ := value.(string)
	if !slices.Contains(ContentTypes, s) {
		return validation.NewError("validation_invalid_content_type",
			"Must be one of image/jpeg, image/png, image/webp or image/gif.")
	}
	return nil
}

func (f *createForm) checkSize(value any) error {
	n, ok := value.(float64) // JSON numbers and inferred multipart numbers
	if !ok || n != math.Trunc(n) {
		return validation.NewError("validation_invalid_size", "Must be an integer number of bytes.")
	}
	if n < 1 || n > float64(f.maxBytes) {
		return validation.NewError("validation_size_out_of_range",
			"Must be between 1 and {{.max}} bytes.").SetParams(map[string]any{"max": f.maxBytes})
	}
	return nil
}

// uploadsCreate handles POST /api/media/uploads: it signs a POST form for a fresh staging key
// under the auth user's prefix.
func (p *plugin) uploadsCreate(e *core.RequestEvent) error {
	if p.config.Presigner == nil {
		return e.Error(http.StatusConflict, noStorageMessage, nil)
	}

	body := map[string]any{}
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("Failed to read the request data.", err)
	}
	form := &createForm{ContentType: body["content_type"], Size: body["size"], maxBytes: p.config.MaxBytes}
	if err := form.Validate(); err != nil {
		return e.BadRequestError("Invalid upload request.", err)
	}

	uploadId := security.RandomStringWithAlphabet(uploadIdLength, uploadIdAlphabet)
	post, err := p.config.Presigner.PresignPost(e.Request.Context(), p.userPrefix(e.Auth.Id)+uploadId, PostOptions{
		ContentType: form.ContentType.(string),
		MaxBytes:    p.config.MaxBytes,
		Expires:     p.config.Expiry,
	})
	if err != nil {
		return e.InternalServerError("Failed to prepare the upload.", err)
	}

	expiresAt, err := types.ParseDateTime(post.ExpiresAt)
	if err != nil {
		return e.InternalServerError("Failed to prepare the upload.", err)
	}

	return e.JSON(http.StatusOK, createResponse{
		UploadId:  uploadId,
		Method:    http.MethodPost,
		URL:       post.URL,
		Fields:    post.Fields,
		MaxBytes:  p.config.MaxBytes,
		ExpiresAt: expiresAt,
	})
}

// validUploadId reports whether id has the shape uploadsCreate gives, so that a crafted id
// ("..", "a/b") never becomes part of a storage key.
func validUploadId(id string) bool {
	if len(id) != uploadIdLength {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
