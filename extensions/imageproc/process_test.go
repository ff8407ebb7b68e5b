package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"runtime"
	"strings"
	"testing"
	"time"
)

func decodeOutput(t *testing.T, res *Result) image.Image {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(res.Data))
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	if Format(format) != res.Format {
		t.Fatalf("output bytes are %s but Result.Format says %s", format, res.Format)
	}
	if b := img.Bounds(); b.Dx() != res.Width || b.Dy() != res.Height {
		t.Fatalf("output is %dx%d but Result says %dx%d", b.Dx(), b.Dy(), res.Width, res.Height)
	}
	return img
}

func TestProcessOutputTypeSizeAndPixels(t *testing.T) {
	t.Parallel()

	alphaPNG := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := range alphaPNG.Pix {
		alphaPNG.Pix[i] = 200
	}
	alphaPNG.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0})
	alphaPNG.SetNRGBA(39, 29, color.NRGBA{250, 100, 50, 128})

	opaqueNRGBA := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := range opaqueNRGBA.Pix {
		opaqueNRGBA.Pix[i] = 255 // an alpha channel that is all 255 is not transparency
	}

	bigAlpha := image.NewNRGBA(image.Rect(0, 0, 2100, 3000))
	for i := 3; i < len(bigAlpha.Pix); i += 4 {
		bigAlpha.Pix[i] = 255
	}
	bigAlpha.SetNRGBA(0, 0, color.NRGBA{}) // one transparent pixel is enough to keep PNG

	animated := encodeGIF(t,
		palettedFrame(64, 48, 4, false),
		palettedFrame(64, 48, 100, false),
		palettedFrame(64, 48, 200, false),
	)
	animatedWithMeta := withGIFBlocks(animated, gifComment("shot at 52.5N 13.4E"), gifXMP("<x:xmpmeta>secret</x:xmpmeta>"))

	scenarios := []struct {
		name       string
		input      []byte
		opts       Options
		wantFormat Format
		wantW      int
		wantH      int
		wantKept   bool
		check      func(t *testing.T, img image.Image, res *Result)
	}{
		{
			name:       "large JPEG is scaled to a 2048 long edge",
			input:      encodeJPEG(t, quadrantImage(3000, 1000)),
			wantFormat: FormatJPEG, wantW: 2048, wantH: 683,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if c := img.At(5, 5); !near(c, colorTL, 12) {
					t.Errorf("top-left = %v, want about %v", c, colorTL)
				}
				if c := img.At(2042, 677); !near(c, colorBR, 12) {
					t.Errorf("bottom-right = %v, want about %v", c, colorBR)
				}
			},
		},
		{
			name:       "portrait JPEG is scaled on its height",
			input:      encodeJPEG(t, quadrantImage(1000, 2500)),
			wantFormat: FormatJPEG, wantW: 819, wantH: 2048,
		},
		{
			name:       "small JPEG is not upscaled",
			input:      encodeJPEG(t, quadrantImage(300, 200)),
			wantFormat: FormatJPEG, wantW: 300, wantH: 200,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if c := img.At(295, 5); !near(c, colorTR, 12) {
					t.Errorf("top-right = %v, want about %v", c, colorTR)
				}
			},
		},
		{
			name:       "PNG with transparency stays PNG with its alpha",
			input:      encodePNG(t, alphaPNG),
			wantFormat: FormatPNG, wantW: 40, wantH: 30,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
					t.Errorf("alpha at (0,0) = %d, want 0", a>>8)
				}
				if c := color.NRGBAModel.Convert(img.At(39, 29)).(color.NRGBA); c.A != 128 || c.R != 250 {
					t.Errorf("pixel (39,29) = %v, want {250 100 50 128}", c)
				}
				if c := color.NRGBAModel.Convert(img.At(10, 10)).(color.NRGBA); c != (color.NRGBA{200, 200, 200, 200}) {
					t.Errorf("pixel (10,10) = %v, want {200 200 200 200}", c)
				}
			},
		},
		{
			name:       "large PNG with transparency is scaled and stays PNG",
			input:      encodePNG(t, bigAlpha),
			wantFormat: FormatPNG, wantW: 1434, wantH: 2048,
		},
		{
			name:       "PNG with an all-opaque alpha channel becomes JPEG",
			input:      encodePNG(t, opaqueNRGBA),
			wantFormat: FormatJPEG, wantW: 40, wantH: 30,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if c := img.At(20, 15); !near(c, color.White, 3) {
					t.Errorf("pixel = %v, want white", c)
				}
			},
		},
		{
			name:       "opaque RGB PNG becomes JPEG",
			input:      encodePNG(t, quadrantImage(64, 64)),
			wantFormat: FormatJPEG, wantW: 64, wantH: 64,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if c := img.At(60, 60); !near(c, colorBR, 12) {
					t.Errorf("bottom-right = %v, want about %v", c, colorBR)
				}
			},
		},
		{
			name:       "lossy WebP becomes JPEG",
			input:      webpLossy,
			wantFormat: FormatJPEG, wantW: 16, wantH: 16,
			check: func(t *testing.T, img image.Image, res *Result) {
				if res.Source != FormatWebP {
					t.Errorf("Source = %s, want webp", res.Source)
				}
				// cwebp's own lossy coding already moves this colour by ~16 per channel.
				if c := color.NRGBAModel.Convert(img.At(8, 8)); !near(c, color.RGBA{0, 128, 255, 255}, 24) {
					t.Errorf("pixel = %v, want about (0,128,255)", c)
				}
			},
		},
		{
			name:       "lossless WebP with alpha becomes PNG with alpha",
			input:      webpLosslessAlpha,
			wantFormat: FormatPNG, wantW: 8, wantH: 8,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if c := color.NRGBAModel.Convert(img.At(1, 1)).(color.NRGBA); c != (color.NRGBA{255, 0, 0, 255}) {
					t.Errorf("left pixel = %v, want opaque red", c)
				}
				if _, _, _, a := img.At(6, 6).RGBA(); a != 0 {
					t.Errorf("right pixel alpha = %d, want 0", a>>8)
				}
			},
		},
		{
			name:       "lossy WebP with an alpha chunk becomes PNG with alpha",
			input:      webpLossyAlpha,
			wantFormat: FormatPNG, wantW: 8, wantH: 8,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if c := img.At(1, 1); !near(c, color.RGBA{255, 0, 0, 255}, 24) {
					t.Errorf("left pixel = %v, want about opaque red", c)
				}
				if _, _, _, a := img.At(6, 6).RGBA(); a != 0 {
					t.Errorf("right pixel alpha = %d, want 0", a>>8)
				}
			},
		},
		{
			name:       "static opaque GIF becomes JPEG",
			input:      encodeGIF(t, palettedFrame(50, 20, 9, false)),
			wantFormat: FormatJPEG, wantW: 50, wantH: 20,
			check: func(t *testing.T, img image.Image, _ *Result) {
				want := palettedFrame(1, 1, 9, false).At(0, 0)
				if c := img.At(25, 10); !near(c, want, 8) {
					t.Errorf("pixel = %v, want about %v", c, want)
				}
			},
		},
		{
			name:       "static transparent GIF becomes PNG",
			input:      encodeGIF(t, palettedFrame(50, 20, 0, true)),
			wantFormat: FormatPNG, wantW: 50, wantH: 20,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if _, _, _, a := img.At(25, 10).RGBA(); a != 0 {
					t.Errorf("alpha = %d, want 0", a>>8)
				}
			},
		},
		{
			name:       "small animated GIF keeps its frames, loses its metadata blocks",
			input:      animatedWithMeta,
			wantFormat: FormatGIF, wantW: 64, wantH: 48, wantKept: true,
			check: func(t *testing.T, _ image.Image, res *Result) {
				g, err := gif.DecodeAll(bytes.NewReader(res.Data))
				if err != nil {
					t.Fatal(err)
				}
				if len(g.Image) != 3 || g.Delay[1] != 10 {
					t.Errorf("frames = %d (delay %v), want 3 frames of 10", len(g.Image), g.Delay)
				}
				if g.Image[2].Pix[0] != 200 {
					t.Errorf("frame 3 index = %d, want 200", g.Image[2].Pix[0])
				}
				for _, leak := range []string{"52.5N", "xmpmeta", "XMP DataXMP"} {
					if bytes.Contains(res.Data, []byte(leak)) {
						t.Errorf("output still contains %q", leak)
					}
				}
				if !bytes.Contains(res.Data, []byte("NETSCAPE2.0")) {
					t.Error("the loop-count block was removed")
				}
				if len(res.Data) != len(animated) {
					t.Errorf("output is %d bytes, want the %d bytes of the original without the added blocks", len(res.Data), len(animated))
				}
			},
		},
		{
			name: "animated GIF wider than 1080 becomes its first frame as JPEG",
			input: encodeGIF(t,
				palettedFrame(1200, 40, 9, false),
				palettedFrame(1200, 40, 200, false),
			),
			wantFormat: FormatJPEG, wantW: 1200, wantH: 40,
			check: func(t *testing.T, img image.Image, _ *Result) {
				want := palettedFrame(1, 1, 9, false).At(0, 0)
				if c := img.At(600, 20); !near(c, want, 8) {
					t.Errorf("pixel = %v, want the first frame's %v", c, want)
				}
			},
		},
		{
			name:       "animated GIF over the byte limit becomes its first frame as JPEG",
			input:      animated,
			opts:       Options{AnimatedGIFMaxBytes: int64(len(animated) - 1)},
			wantFormat: FormatJPEG, wantW: 64, wantH: 48,
		},
		{
			name: "animated GIF with a transparent first frame over the limit is flattened on white",
			input: encodeGIF(t,
				palettedFrame(1100, 20, 0, true),
				palettedFrame(1100, 20, 9, true),
			),
			wantFormat: FormatJPEG, wantW: 1100, wantH: 20,
			check: func(t *testing.T, img image.Image, _ *Result) {
				if c := img.At(550, 10); !near(c, color.White, 3) {
					t.Errorf("pixel = %v, want white", c)
				}
			},
		},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			res, err := Process(bytes.NewReader(s.input), s.opts)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if res.Format != s.wantFormat || res.Width != s.wantW || res.Height != s.wantH || res.Kept != s.wantKept {
				t.Fatalf("got %s %dx%d kept=%v, want %s %dx%d kept=%v",
					res.Format, res.Width, res.Height, res.Kept, s.wantFormat, s.wantW, s.wantH, s.wantKept)
			}
			img := decodeOutput(t, res)
			if s.check != nil {
				s.check(t, img, res)
			}
		})
	}
}

// storedPoint maps a pixel of the upright (displayed) image back to the stored pixel, for a
// stored image of w x h, following the EXIF definition of each orientation (where row 0 and
// column 0 of the stored image end up). It is written independently of orient().
func storedPoint(o, x, y, w, h int) (int, int) {
	switch o {
	case 2: // row 0 top, column 0 right
		return w - 1 - x, y
	case 3: // row 0 bottom, column 0 right
		return w - 1 - x, h - 1 - y
	case 4: // row 0 bottom, column 0 left
		return x, h - 1 - y
	case 5: // row 0 left, column 0 top
		return y, x
	case 6: // row 0 right, column 0 top
		return y, h - 1 - x
	case 7: // row 0 right, column 0 bottom
		return w - 1 - y, h - 1 - x
	case 8: // row 0 left, column 0 bottom
		return w - 1 - y, x
	default:
		return x, y
	}
}

func TestProcessAppliesEXIFOrientation(t *testing.T) {
	t.Parallel()

	const w, h = 80, 48
	stored := quadrantImage(w, h)
	plain := encodeJPEG(t, stored)

	for o := 1; o <= 8; o++ {
		for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			t.Run(string(rune('0'+o))+"/"+order.String(), func(t *testing.T) {
				t.Parallel()
				res, err := Process(bytes.NewReader(withSegments(plain, orientationSegment(order, uint16(o)))), Options{})
				if err != nil {
					t.Fatal(err)
				}
				img := decodeOutput(t, res)

				dw, dh := w, h
				if o >= 5 {
					dw, dh = h, w
				}
				if res.Width != dw || res.Height != dh {
					t.Fatalf("size %dx%d, want %dx%d", res.Width, res.Height, dw, dh)
				}

				const inset = 4 // away from the JPEG-blurred quadrant borders
				for _, p := range []image.Point{{inset, inset}, {dw - 1 - inset, inset}, {inset, dh - 1 - inset}, {dw - 1 - inset, dh - 1 - inset}} {
					sx, sy := storedPoint(o, p.X, p.Y, w, h)
					want := stored.At(sx, sy)
					if got := img.At(p.X, p.Y); !near(got, want, 16) {
						t.Errorf("corner %v = %v, want %v (stored %d,%d)", p, got, want, sx, sy)
					}
				}
			})
		}
	}
}

func TestProcessStripsMetadata(t *testing.T) {
	t.Parallel()

	xmp := append([]byte{0xff, 0xe1, 0, 0}, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>XMP-SECRET</x:xmpmeta>"...)
	binary.BigEndian.PutUint16(xmp[2:], uint16(len(xmp)-2))
	comment := append([]byte{0xff, 0xfe, 0, 0}, "COM-SECRET"...)
	binary.BigEndian.PutUint16(comment[2:], uint16(len(comment)-2))

	gpsJPEG := withSegments(encodeJPEG(t, photoImage(320, 240)),
		exifSegment(binary.BigEndian, true, exifEntry{tag: exifOrientationTag, typ: 3, value: 1}),
		xmp, comment,
	)
	// sanity: the fixture really carries what must disappear
	for _, s := range []string{"Exif", "GPS-SECRET", "XMP-SECRET", "COM-SECRET"} {
		if !bytes.Contains(gpsJPEG, []byte(s)) {
			t.Fatalf("fixture lacks %q", s)
		}
	}

	alpha := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	metaPNG := withPNGChunks(encodePNG(t, alpha),
		pngChunk("tEXt", []byte("Comment\x00TEXT-SECRET")),
		pngChunk("eXIf", exifSegment(binary.BigEndian, true)[10:]), // the TIFF part only
	)

	scenarios := []struct {
		name  string
		input []byte
		leaks []string
	}{
		{"JPEG with GPS EXIF, XMP and a comment", gpsJPEG, []string{"Exif", "GPS-SECRET", "XMP-SECRET", "COM-SECRET", "http://ns.adobe.com"}},
		{"PNG with text and eXIf chunks", metaPNG, []string{"TEXT-SECRET", "GPS-SECRET", "tEXt", "eXIf", "MM\x00\x2a"}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			res, err := Process(bytes.NewReader(s.input), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, leak := range s.leaks {
				if bytes.Contains(res.Data, []byte(leak)) {
					t.Errorf("output contains %q", leak)
				}
			}
			if res.Format == FormatJPEG {
				for _, m := range []byte{0xe1, 0xe2, 0xed, 0xfe} { // APP1 (EXIF/XMP), APP2 (ICC), APP13 (IPTC), COM
					if hasJPEGSegment(t, res.Data, m) {
						t.Errorf("output has a 0xFF%02X segment", m)
					}
				}
			}
			decodeOutput(t, res)
		})
	}
}

func TestProcessRejectsBadInput(t *testing.T) {
	t.Parallel()

	goodJPEG := encodeJPEG(t, photoImage(200, 150))
	goodPNG := encodePNG(t, photoImage(200, 150))
	goodAnimated := encodeGIF(t, palettedFrame(64, 48, 4, false), palettedFrame(64, 48, 100, false))

	// Frame 2 sits at x=10 and is 54 wide; widening it to 64 in its descriptor makes it stick
	// out of the 64 px screen.
	frame2 := palettedFrame(64, 48, 100, false).SubImage(image.Rect(10, 0, 64, 48)).(*image.Paletted)
	offScreen := encodeGIF(t, palettedFrame(64, 48, 4, false), frame2)
	descriptor := []byte{0x2c, 10, 0, 0, 0, 54, 0, 48, 0}
	if bytes.Count(offScreen, descriptor) != 1 {
		t.Fatal("cannot find frame 2's descriptor in the fixture")
	}
	offScreen[bytes.Index(offScreen, descriptor)+5] = 64

	over15MB := append(append([]byte{}, goodJPEG...), make([]byte, 16<<20)...)

	scenarios := []struct {
		name  string
		input []byte
		want  error
	}{
		{"HTML named .jpg", []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"), ErrUnsupported},
		{"SVG named .jpg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`), ErrUnsupported},
		{"SVG without XML prolog", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), ErrUnsupported},
		{"empty file", nil, ErrUnsupported},
		{"BMP", append([]byte("BM"), make([]byte, 60)...), ErrUnsupported},
		{"animated WebP", webpVP8X(1<<1, 10, 10), ErrUnsupported},
		{"JPEG with more scans than any encoder writes", append(append([]byte{}, goodJPEG...), bytes.Repeat([]byte{0xff, 0xda}, maxJPEGScans)...), ErrUnsupported},
		{"truncated JPEG", goodJPEG[:len(goodJPEG)/2], ErrCorrupt},
		{"JPEG cut before its end marker", goodJPEG[:len(goodJPEG)-2], ErrCorrupt},
		{"truncated PNG", goodPNG[:len(goodPNG)/2], ErrCorrupt},
		{"PNG without IEND", goodPNG[:len(goodPNG)-12], ErrCorrupt},
		{"truncated GIF (inside frame 2)", goodAnimated[:len(goodAnimated)-10], ErrCorrupt},
		{"truncated GIF header", goodAnimated[:9], ErrCorrupt},
		{"GIF frame outside its screen", offScreen, ErrCorrupt},
		{"truncated WebP", webpLossy[:40], ErrCorrupt},
		{"WebP header only", webpVP8X(0, 10, 10), ErrCorrupt},
		{"PNG header claiming 30000x30000", pngBomb(30000, 30000), ErrTooManyPixels},
		{"PNG header claiming 40000001 pixels", pngBomb(40000001, 1), ErrTooManyPixels},
		{"GIF header claiming 30000x30000", gifBomb(30000, 30000), ErrTooManyPixels},
		{"JPEG header claiming 30000x30000", jpegBomb(30000, 30000), ErrTooManyPixels},
		{"WebP header claiming 16384x16384", webpVP8X(0, 16384, 16384), ErrTooManyPixels},
		{"16 MB file", over15MB, ErrTooLarge},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			res, err := Process(bytes.NewReader(s.input), Options{})
			if !errors.Is(err, s.want) {
				t.Fatalf("err = %v (result %v), want %v", err, res != nil, s.want)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.Code() == "" || !strings.HasSuffix(perr.Error(), ".") {
				t.Fatalf("err %v has no public *Error sentence", err)
			}
			if strings.Contains(perr.Error(), "gif:") || strings.Contains(perr.Error(), "png:") || strings.Contains(perr.Error(), "jpeg:") {
				t.Errorf("public message leaks the decoder error: %q", perr.Error())
			}
		})
	}
}

func TestProcessAcceptsLimitsExactly(t *testing.T) {
	t.Parallel()

	// A file of exactly MaxBytes passes the size check (and then fails only on content).
	data := append(encodeJPEG(t, photoImage(16, 16)), make([]byte, 1000)...)
	if _, err := Process(bytes.NewReader(data), Options{MaxBytes: int64(len(data))}); err != nil {
		t.Fatalf("a JPEG with trailing bytes at exactly MaxBytes: %v", err)
	}
	_, err := Process(bytes.NewReader(data), Options{MaxBytes: int64(len(data) - 1)})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("one byte over MaxBytes: err = %v, want ErrTooLarge", err)
	}
	if want := "The image file is too large; the maximum is"; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message %q does not start with %q", err.Error(), want)
	}

	// MaxPixels: 100x100 passes at 10000, fails at 9999.
	small := encodePNG(t, photoImage(100, 100))
	if _, err := Process(bytes.NewReader(small), Options{MaxPixels: 10000}); err != nil {
		t.Fatalf("exactly MaxPixels: %v", err)
	}
	if _, err := Process(bytes.NewReader(small), Options{MaxPixels: 9999}); !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("one pixel over: err = %v, want ErrTooManyPixels", err)
	}
}

func TestProcessRefusesBombsWithoutAllocating(t *testing.T) {
	bombs := map[string][]byte{
		"png":  pngBomb(30000, 30000),
		"gif":  gifBomb(30000, 30000),
		"jpeg": jpegBomb(30000, 30000),
		"webp": webpVP8X(0, 16384, 16384),
	}
	for name, bomb := range bombs {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Process(bytes.NewReader(bomb), Options{})
			took := time.Since(start)
			runtime.ReadMemStats(&after)

			if !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("err = %v, want ErrTooManyPixels", err)
			}
			// Decoding would allocate 900 MP x 4 bytes; the header path allocates a few KB
			// (the read buffer and the decoder's state).
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes to refuse a %d-byte bomb", alloc, len(bomb))
			}
			if took > 100*time.Millisecond {
				t.Errorf("took %v to refuse", took)
			}
		})
	}
}

func TestEncodedJPEGQuality(t *testing.T) {
	t.Parallel()

	// The DQT of a quality-82 image/jpeg file starts with the scaled luminance table's first
	// entry: (16 * (200 - 2*82) + 50) / 100 = 6.
	res, err := Process(bytes.NewReader(encodePNG(t, photoImage(64, 64))), Options{})
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(res.Data, []byte{0xff, 0xdb})
	if i < 0 || res.Data[i+5] != 6 {
		t.Fatalf("first luminance quantiser = %d, want 6 (quality 82)", res.Data[i+5])
	}

	q50, err := Process(bytes.NewReader(encodePNG(t, photoImage(64, 64))), Options{JPEGQuality: 50})
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(q50.Data, []byte{0xff, 0xdb}); q50.Data[i+5] != 16 {
		t.Fatalf("quality 50 quantiser = %d, want 16", q50.Data[i+5])
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		f           Format
		contentType string
		ext         string
	}{
		{FormatJPEG, "image/jpeg", ".jpg"},
		{FormatPNG, "image/png", ".png"},
		{FormatGIF, "image/gif", ".gif"},
		{FormatWebP, "image/webp", ".webp"},
	}
	for _, s := range scenarios {
		if s.f.ContentType() != s.contentType || s.f.Ext() != s.ext {
			t.Errorf("%s: %s %s, want %s %s", s.f, s.f.ContentType(), s.f.Ext(), s.contentType, s.ext)
		}
	}
}
