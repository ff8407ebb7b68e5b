package imageproc

import (
	"errors"
	"image/jpeg"
	"image/png"
)

// Error is a processing failure that is safe to show to API clients.
//
// The package returns its sentinels (ErrUnsupported, ErrTooManyPixels, ErrTooLarge, ErrCorrupt,
// ErrBusy) wrapped together with the underlying cause; use errors.Is to test for one and
// errors.As with an *Error to read its public code and message. The cause itself (a decoder
// message, a context error) is for logs only.
//
// Error implements PocketBase's router.SafeErrorItem, so it can also be placed directly in
// validation.Errors.
type Error struct {
	code    string
	message string
}

// Code returns the stable, machine-readable error code (e.g. "validation_image_too_large").
func (e *Error) Code() string {
	return e.code
}

// Error returns the public message, a sentence that names no internals.
func (e *Error) Error() string {
	return e.message
}

// Is reports whether target is an *Error with the same code, so that errors.Is matches a
// sentinel also when the returned error carries a message with the configured limit.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.code == e.code
}

// withMessage returns a copy of e that keeps its code but says msg.
func (e *Error) withMessage(msg string) *Error {
	return &Error{code: e.code, message: msg}
}

var (
	// ErrUnsupported is returned when the bytes are not a JPEG, PNG, WebP or GIF image (whatever
	// the file is named), or use a feature of one that the decoders do not support (e.g.
	// animated WebP, arithmetic-coded JPEG).
	ErrUnsupported = &Error{
		code:    "validation_unsupported_image",
		message: "Unsupported image type; upload a JPEG, PNG, WebP or GIF image.",
	}

	// ErrTooManyPixels is returned when the header declares more than Options.MaxPixels pixels.
	// It is decided from the header alone, before anything is decoded.
	ErrTooManyPixels = &Error{
		code:    "validation_image_too_many_pixels",
		message: "The image has too many pixels; the maximum is 40 megapixels.",
	}

	// ErrTooLarge is returned when the input is larger than Options.MaxBytes.
	ErrTooLarge = &Error{
		code:    "validation_image_too_large",
		message: "The image file is too large; the maximum is 15 MB.",
	}

	// ErrCorrupt is returned when the bytes look like an allowed type but do not decode
	// (truncated, damaged or malformed files).
	ErrCorrupt = &Error{
		code:    "validation_invalid_image",
		message: "The image could not be read; the file is damaged or incomplete.",
	}

	// ErrBusy is returned by [Pool.Process] when no worker became free before the context ended.
	ErrBusy = &Error{
		code:    "image_processing_busy",
		message: "The server is busy processing other images; please try again shortly.",
	}
)

// classifyDecodeErr maps a decoder error to ErrUnsupported (a valid file using a feature the
// decoders lack) or ErrCorrupt (anything else), keeping the cause in the chain.
func classifyDecodeErr(err error) error {
	var (
		jpegUnsupported jpeg.UnsupportedError
		pngUnsupported  png.UnsupportedError
	)
	if errors.As(err, &jpegUnsupported) || errors.As(err, &pngUnsupported) {
		return wrap(ErrUnsupported, err)
	}

	return wrap(ErrCorrupt, err)
}

// wrap joins a public sentinel with its private cause so that errors.Is/As find both.
func wrap(sentinel *Error, cause error) error {
	if cause == nil {
		return sentinel
	}

	return &wrappedError{sentinel: sentinel, cause: cause}
}

// wrappedError keeps the sentinel first in the chain so that errors.As(err, **Error) always
// yields the public sentinel and never an *Error that may sit deeper in the cause.
type wrappedError struct {
	sentinel *Error
	cause    error
}

func (w *wrappedError) Error() string {
	return w.sentinel.message + ": " + w.cause.Error()
}

func (w *wrappedError) Unwrap() []error {
	return []error{w.sentinel, w.cause}
}
