package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/disintegration/imaging"
	"golang.org/x/image/webp"
)

// Defaults of [Options]; see each field there.
const (
	DefaultMaxBytes            int64 = 15 << 20
	DefaultMaxPixels           int64 = 40_000_000
	DefaultMaxEdge                   = 2048
	DefaultJPEGQuality               = 82
	DefaultAnimatedGIFMaxBytes int64 = 2 << 20
	DefaultAnimatedGIFMaxEdge        = 1080
)

// maxJPEGScans caps the scans of a (progressive) JPEG: each scan walks every block of the
// image, so a small file made of thousands of scans would cost minutes of CPU. Real encoders
// write about ten.
const maxJPEGScans = 100

// Options tune [Process]. The zero value means the defaults that API.md promises.
type Options struct {
	// MaxBytes is the largest accepted input in bytes (default 15 MiB).
	MaxBytes int64

	// MaxPixels is the largest accepted width*height, read from the header before any
	// decoding (default 40 megapixels).
	MaxPixels int64

	// MaxEdge is the longest edge of the output in pixels (default 2048). Smaller images are
	// never upscaled.
	MaxEdge int

	// JPEGQuality is the quality of every JPEG written (default 82).
	JPEGQuality int

	// AnimatedGIFMaxBytes and AnimatedGIFMaxEdge decide which animated GIFs keep their
	// animation: those no larger than AnimatedGIFMaxBytes (default 2 MiB) with both edges at
	// most AnimatedGIFMaxEdge (default 1080) are kept as they are (minus metadata blocks);
	// larger ones become their first frame as a JPEG.
	AnimatedGIFMaxBytes int64
	AnimatedGIFMaxEdge  int
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxEdge <= 0 {
		o.MaxEdge = DefaultMaxEdge
	}
	if o.JPEGQuality <= 0 || o.JPEGQuality > 100 {
		o.JPEGQuality = DefaultJPEGQuality
	}
	if o.AnimatedGIFMaxBytes <= 0 {
		o.AnimatedGIFMaxBytes = DefaultAnimatedGIFMaxBytes
	}
	if o.AnimatedGIFMaxEdge <= 0 {
		o.AnimatedGIFMaxEdge = DefaultAnimatedGIFMaxEdge
	}
	return o
}

// Format is an image encoding, as sniffed from the bytes.
type Format string

// The formats Process accepts. Output is always JPEG, PNG or (kept animations) GIF.
const (
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatGIF  Format = "gif"
	FormatWebP Format = "webp"
)

// ContentType returns the MIME type of f, e.g. "image/jpeg".
func (f Format) ContentType() string {
	return "image/" + string(f)
}

// Ext returns the file extension for f, with the dot, e.g. ".jpg".
func (f Format) Ext() string {
	if f == FormatJPEG {
		return ".jpg"
	}
	return "." + string(f)
}

// Result is a normalised image.
type Result struct {
	// Data is the encoded output; it carries no metadata.
	Data []byte

	// Format is the encoding of Data (FormatJPEG, FormatPNG or FormatGIF).
	Format Format

	// Source is the sniffed format of the input.
	Source Format

	// Width and Height are the pixel dimensions of Data, after orientation.
	Width  int
	Height int

	// Kept is true when Data is the input's own image data (an animated GIF small enough to
	// keep its animation) rather than a re-encoding.
	Kept bool
}

// Process reads one image from r and returns it normalised: type sniffed from the bytes (JPEG,
// PNG, WebP or GIF), pixel count checked from the header before decoding, EXIF orientation
// applied (JPEG), long edge scaled down to Options.MaxEdge, re-encoded as JPEG (or PNG when it
// has transparent pixels) with no metadata. See the package documentation for GIFs.
//
// Errors are *Error sentinels (ErrTooLarge, ErrUnsupported, ErrTooManyPixels, ErrCorrupt) wrapped
// with their cause, or a plain error when reading r fails.
//
// Process decodes a whole image in memory: call it through a [Pool] to bound how many run at
// once.
func Process(r io.Reader, opts Options) (*Result, error) {
	opts = opts.withDefaults()

	data, err := readLimited(r, opts.MaxBytes)
	if err != nil {
		return nil, err
	}

	return processBytes(data, opts)
}

// readLimited reads all of r but refuses to hold more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if s, ok := r.(interface{ Size() int64 }); ok && s.Size() > 0 && s.Size() <= limit {
		buf.Grow(int(s.Size()) + bytes.MinRead) // one allocation for the common multipart case
	}

	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read the image: %w", err)
	}
	if n > limit {
		return nil, ErrTooLarge.withMessage(fmt.Sprintf(
			"The image file is too large; the maximum is %s.", formatBytes(limit),
		))
	}

	return buf.Bytes(), nil
}

func processBytes(data []byte, opts Options) (*Result, error) {
	src := sniff(data)
	if src == "" {
		return nil, ErrUnsupported
	}

	cfg, err := decodeConfig(src, data)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, wrap(ErrCorrupt, fmt.Errorf("invalid dimensions %dx%d", cfg.Width, cfg.Height))
	}
	if int64(cfg.Width)*int64(cfg.Height) > opts.MaxPixels {
		return nil, wrap(ErrTooManyPixels.withMessage(fmt.Sprintf(
			"The image has too many pixels; the maximum is %s.", formatPixels(opts.MaxPixels),
		)), fmt.Errorf("header declares %dx%d", cfg.Width, cfg.Height))
	}

	// firstFrameOnly marks an animation too large to keep: it becomes a flat JPEG.
	var firstFrameOnly bool
	if src == FormatGIF {
		scan, err := scanGIF(data)
		if err != nil {
			return nil, err
		}
		if scan.frames > 1 {
			if int64(len(data)) <= opts.AnimatedGIFMaxBytes &&
				cfg.Width <= opts.AnimatedGIFMaxEdge && cfg.Height <= opts.AnimatedGIFMaxEdge {
				// The structure walk proved every block complete; decoding the first frame
				// also proves the pixel data is sane without holding every frame at once.
				if _, err := decodeImage(FormatGIF, data); err != nil {
					return nil, err
				}
				return &Result{
					Data:   scan.stripped,
					Format: FormatGIF,
					Source: FormatGIF,
					Width:  cfg.Width,
					Height: cfg.Height,
					Kept:   true,
				}, nil
			}
			firstFrameOnly = true
		}
	}
	if src == FormatJPEG {
		if n := bytes.Count(data, []byte{0xff, 0xda}); n > maxJPEGScans {
			return nil, wrap(ErrUnsupported, fmt.Errorf("jpeg has %d scans", n))
		}
	}

	img, err := decodeImage(src, data)
	if err != nil {
		return nil, err
	}
	if src == FormatGIF {
		img = onCanvas(img, cfg.Width, cfg.Height)
	}

	orientation := 1
	if src == FormatJPEG {
		orientation = jpegOrientation(data)
	}

	// Decided on the full-size image: a few transparent pixels could average away in the
	// downscale and the PNG would silently become a JPEG.
	keepAlpha := !firstFrameOnly && hasAlpha(img)

	// Scale before rotating: the long-edge limit does not care about orientation and rotating
	// the small image costs a fraction of rotating a 40 MP one.
	img = fit(img, opts.MaxEdge)
	img = orient(img, orientation)

	out := FormatJPEG
	if keepAlpha {
		out = FormatPNG
	}

	var buf bytes.Buffer
	if err := encode(&buf, img, out, opts.JPEGQuality); err != nil {
		return nil, fmt.Errorf("failed to encode %s: %w", out, err)
	}

	b := img.Bounds()
	return &Result{
		Data:   buf.Bytes(),
		Format: out,
		Source: src,
		Width:  b.Dx(),
		Height: b.Dy(),
	}, nil
}

// sniff names the format from the leading magic bytes, ignoring any name or declared type.
func sniff(data []byte) Format {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return FormatJPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP
	}
	return ""
}

// decodeConfig reads only the header. The decoders stop after it, so a tiny file claiming a
// 30000x30000 image costs nothing here.
func decodeConfig(f Format, data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = wrap(ErrCorrupt, fmt.Errorf("%s header decoder panic: %v", f, r))
		}
	}()

	r := bytes.NewReader(data)
	switch f {
	case FormatJPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case FormatPNG:
		cfg, err = png.DecodeConfig(r)
	case FormatGIF:
		cfg, err = gif.DecodeConfig(r)
	case FormatWebP:
		if isAnimatedWebP(data) {
			return cfg, ErrUnsupported.withMessage("Animated WebP images are not supported; upload a GIF or a still image.")
		}
		cfg, err = webp.DecodeConfig(r)
	default:
		return cfg, ErrUnsupported
	}
	if err != nil {
		return cfg, classifyDecodeErr(err)
	}

	return cfg, nil
}

// isAnimatedWebP reports whether the extended header (VP8X, always the first chunk when
// present) sets the animation flag; x/image/webp cannot decode ANMF frames.
func isAnimatedWebP(data []byte) bool {
	const animationBit = 1 << 1
	return len(data) > 20 && string(data[12:16]) == "VP8X" && data[20]&animationBit != 0
}

// decodeImage decodes the first (or only) frame. Decoder panics, which golang.org/x/image has
// had for crafted inputs, become ErrCorrupt instead of taking the process down.
func decodeImage(f Format, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img = nil
			err = wrap(ErrCorrupt, fmt.Errorf("%s decoder panic: %v", f, r))
		}
	}()

	r := bytes.NewReader(data)
	switch f {
	case FormatJPEG:
		img, err = jpeg.Decode(r)
	case FormatPNG:
		img, err = png.Decode(r)
	case FormatGIF:
		img, err = gif.Decode(r)
	case FormatWebP:
		img, err = webp.Decode(r)
	default:
		return nil, ErrUnsupported
	}
	if err != nil {
		return nil, classifyDecodeErr(err)
	}

	return img, nil
}

// onCanvas places a GIF frame on its logical screen: a first frame may cover only part of it,
// and what it leaves uncovered shows as transparent in browsers.
func onCanvas(img image.Image, width, height int) image.Image {
	screen := image.Rect(0, 0, width, height)
	if img.Bounds() == screen {
		return img
	}

	canvas := image.NewNRGBA(screen)
	draw.Draw(canvas, img.Bounds(), img, img.Bounds().Min, draw.Src)
	return canvas
}

// hasAlpha reports whether any pixel is not fully opaque; a PNG whose alpha channel is all 255
// has no transparency to preserve.
func hasAlpha(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return !o.Opaque()
	}

	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return true
			}
		}
	}
	return false
}

// fit scales img down so that its long edge is at most maxEdge, keeping the aspect ratio.
func fit(img image.Image, maxEdge int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= maxEdge && h <= maxEdge {
		return img
	}

	if w >= h {
		return resize(img, maxEdge, 0)
	}
	return resize(img, 0, maxEdge)
}

// encode writes img as JPEG or PNG. Encoders write pixels only, so no metadata survives.
func encode(w io.Writer, img image.Image, f Format, quality int) error {
	switch f {
	case FormatJPEG:
		return jpeg.Encode(w, jpegSource(img), &jpeg.Options{Quality: quality})
	case FormatPNG:
		enc := png.Encoder{CompressionLevel: png.DefaultCompression}
		return enc.Encode(w, img)
	default:
		return errors.New("unsupported output format " + string(f))
	}
}

// jpegSource returns img in a type that image/jpeg encodes on its fast paths (*image.YCbCr,
// *image.RGBA, *image.Gray); any other type goes through a per-pixel interface call that is
// several times slower. Transparent pixels are flattened onto white, as a JPEG has no alpha.
func jpegSource(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.YCbCr, *image.Gray:
		return m
	case *image.RGBA:
		if m.Opaque() {
			return m
		}
	case *image.NRGBA:
		if m.Opaque() {
			// With every alpha at 255, non-premultiplied and premultiplied bytes are equal.
			return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
		}
	}

	b := img.Bounds()
	dst := image.NewRGBA(b)
	if hasAlpha(img) {
		draw.Draw(dst, b, image.White, image.Point{}, draw.Src)
		draw.Draw(dst, b, img, b.Min, draw.Over)
	} else {
		draw.Draw(dst, b, img, b.Min, draw.Src)
	}
	return dst
}

// orient applies an EXIF orientation (1..8) so that the pixels stand upright on their own.
func orient(img image.Image, orientation int) image.Image {
	switch orientation {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img) // imaging rotates counter-clockwise: 270 CCW = 90 CW
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	default:
		return img
	}
}

func formatBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func formatPixels(n int64) string {
	if n >= 1_000_000 && n%1_000_000 == 0 {
		return fmt.Sprintf("%d megapixels", n/1_000_000)
	}
	return fmt.Sprintf("%d pixels", n)
}
