package imageproc

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"
)

// Fixtures are generated in code so that every expectation is visible next to the bytes it
// checks. The only exception is WebP: golang.org/x/image has no WebP encoder, so the three
// files below were made once with Debian's cwebp 1.2.4 from 8x8/16x16 PNGs drawn by hand.

// webpLosslessAlpha is `cwebp -lossless -exact` of an 8x8 image whose left half is opaque red
// (255,0,0,255) and right half fully transparent.
var webpLosslessAlpha = []byte{
	0x52, 0x49, 0x46, 0x46, 0x1e, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c,
	0x12, 0x00, 0x00, 0x00, 0x2f, 0x07, 0xc0, 0x01, 0x10, 0x0f, 0x10, 0xf3, 0xbf, 0xff, 0xf3, 0x1f,
	0x2a, 0xfa, 0x10, 0xd1, 0xff, 0x00,
}

// webpLossy is `cwebp -q 90` of a 16x16 image filled with (0,128,255).
var webpLossy = []byte{
	0x52, 0x49, 0x46, 0x46, 0x40, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x20,
	0x34, 0x00, 0x00, 0x00, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00, 0x00, 0xc0,
	0x12, 0x25, 0xa0, 0x02, 0x74, 0xba, 0x01, 0xf8, 0x01, 0xfa, 0x00, 0x03, 0xc8, 0x00, 0xfe, 0xf0,
	0x9b, 0x43, 0xff, 0xba, 0x03, 0x64, 0x59, 0xdd, 0x1f, 0xfb, 0xa0, 0x4f, 0xff, 0x60, 0x04, 0x31,
	0x17, 0xa4, 0xff, 0xd7, 0xc3, 0x00, 0x00, 0x00,
}

// webpLossyAlpha is `cwebp -q 90 -exact` of the same image as webpLosslessAlpha: a VP8X header,
// an ALPH chunk and a lossy VP8 frame (decoded as *image.NYCbCrA).
var webpLossyAlpha = []byte{
	0x52, 0x49, 0x46, 0x46, 0x80, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x58,
	0x0a, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x07, 0x00, 0x00, 0x41, 0x4c,
	0x50, 0x48, 0x0b, 0x00, 0x00, 0x00, 0x01, 0x0f, 0x30, 0xff, 0x11, 0x11, 0xa2, 0x0f, 0x11, 0xfd,
	0x0f, 0x00, 0x56, 0x50, 0x38, 0x20, 0x4e, 0x00, 0x00, 0x00, 0x30, 0x03, 0x00, 0x9d, 0x01, 0x2a,
	0x08, 0x00, 0x08, 0x00, 0x00, 0xc0, 0x12, 0x25, 0xa8, 0x02, 0x74, 0xba, 0x01, 0xf8, 0x01, 0x46,
	0x03, 0xf0, 0x02, 0xbb, 0xff, 0x70, 0x00, 0x11, 0x81, 0xdc, 0xac, 0xc0, 0x00, 0xfe, 0xfd, 0x9e,
	0xbf, 0xfe, 0x73, 0x21, 0xb7, 0xff, 0xbb, 0x64, 0x49, 0x82, 0x91, 0x3f, 0xeb, 0xa2, 0x7e, 0xdb,
	0x22, 0x4c, 0x14, 0x89, 0xff, 0xf5, 0xa3, 0x9f, 0xfe, 0x35, 0x2c, 0xa1, 0x23, 0x95, 0xcd, 0xfe,
	0x35, 0x2c, 0xa1, 0x23, 0x97, 0xde, 0x00, 0x00,
}

// Quadrant colours, far apart so that JPEG error never confuses one with another.
var (
	colorTL = color.RGBA{230, 20, 20, 255}  // red
	colorTR = color.RGBA{20, 200, 20, 255}  // green
	colorBL = color.RGBA{20, 20, 230, 255}  // blue
	colorBR = color.RGBA{240, 240, 20, 255} // yellow
)

// quadrantImage is w x h with a different colour in each quadrant, so that any flip or turn
// moves a known colour into a known corner.
func quadrantImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := colorTL
			switch {
			case x >= w/2 && y < h/2:
				c = colorTR
			case x < w/2 && y >= h/2:
				c = colorBL
			case x >= w/2 && y >= h/2:
				c = colorBR
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// photoImage is photo-like content (smooth gradients plus noise) that a codec cannot shortcut.
func photoImage(w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			n := rng.IntN(24)
			img.SetRGBA(x, y, color.RGBA{
				uint8((x*255/w + n) & 0xff),
				uint8((y*255/h + n) & 0xff),
				uint8(((x+y)*255/(w+h) + n) & 0xff),
				255,
			})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// palettedFrame is a w x h frame of palette index idx (from palette.Plan9, with index 0 made
// transparent when transparent is set).
func palettedFrame(w, h int, idx uint8, transparent bool) *image.Paletted {
	pal := make(color.Palette, len(palette.Plan9))
	copy(pal, palette.Plan9)
	if transparent {
		pal[0] = color.RGBA{}
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for i := range img.Pix {
		img.Pix[i] = idx
	}
	return img
}

func encodeGIF(t testing.TB, frames ...*image.Paletted) []byte {
	t.Helper()
	g := &gif.GIF{LoopCount: 0}
	for _, f := range frames {
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withGIFBlocks inserts extension blocks just before the trailer of a GIF.
func withGIFBlocks(data []byte, blocks ...[]byte) []byte {
	out := append([]byte{}, data[:len(data)-1]...)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, 0x3b)
}

// gifComment is a comment extension block carrying text.
func gifComment(text string) []byte {
	b := []byte{0x21, 0xfe, byte(len(text))}
	b = append(b, text...)
	return append(b, 0x00)
}

// gifXMP is an "XMP DataXMP" application extension block carrying payload.
func gifXMP(payload string) []byte {
	b := []byte{0x21, 0xff, 11}
	b = append(b, "XMP DataXMP"...)
	b = append(b, byte(len(payload)))
	b = append(b, payload...)
	return append(b, 0x00)
}

// exifEntry is one IFD entry of type SHORT or LONG with its value in the entry itself.
type exifEntry struct {
	tag, typ uint16
	value    uint32
}

// exifSegment builds a complete APP1 segment (marker included): "Exif\0\0", a TIFF header in the
// given byte order, IFD0 with entries, and, when gps is set, a GPS IFD (pointed to from IFD0 by
// tag 0x8825) holding a latitude reference and the string "GPS-SECRET" in a maker-ish ASCII tag.
func exifSegment(order binary.ByteOrder, gps bool, entries ...exifEntry) []byte {
	tiff := new(bytes.Buffer)
	if order == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	put16 := func(v uint16) { _ = binary.Write(tiff, order, v) }
	put32 := func(v uint32) { _ = binary.Write(tiff, order, v) }
	put16(42)
	put32(8)

	if gps {
		// GPS IFD directly follows IFD0 (2 + 12*n + 4 bytes).
		gpsOffset := uint32(8 + 2 + 12*(len(entries)+1) + 4)
		entries = append(entries, exifEntry{tag: 0x8825, typ: 4, value: gpsOffset})
	}
	put16(uint16(len(entries)))
	for _, e := range entries {
		put16(e.tag)
		put16(e.typ)
		put32(1)
		if e.typ == 3 {
			put16(uint16(e.value))
			put16(0)
		} else {
			put32(e.value)
		}
	}
	put32(0) // no IFD1

	if gps {
		secret := "GPS-SECRET\x00"
		secretOffset := uint32(tiff.Len() + 2 + 12*2 + 4)
		put16(2)
		put16(0x0001) // GPSLatitudeRef "N"
		put16(2)
		put32(2)
		tiff.WriteString("N\x00\x00\x00")
		put16(0x001b) // GPSProcessingMethod, stored out of line
		put16(7)
		put32(uint32(len(secret)))
		put32(secretOffset)
		put32(0)
		tiff.WriteString(secret)
	}

	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// orientationSegment is an Exif APP1 segment with only an orientation tag.
func orientationSegment(order binary.ByteOrder, o uint16) []byte {
	return exifSegment(order, false, exifEntry{tag: exifOrientationTag, typ: 3, value: uint32(o)})
}

// withSegments splices JPEG segments right after SOI, where cameras put them.
func withSegments(jpg []byte, segments ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(b, uint32(len(data)))
	copy(b[4:], typ)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// withPNGChunks inserts chunks right after IHDR.
func withPNGChunks(p []byte, chunks ...[]byte) []byte {
	const afterIHDR = 8 + 8 + 13 + 4
	out := append([]byte{}, p[:afterIHDR]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[afterIHDR:]...)
}

// pngBomb is a 57-byte PNG whose header claims w x h RGBA pixels and whose image data is empty.
func pngBomb(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, pngChunk("IHDR", ihdr)...)
	b = append(b, pngChunk("IDAT", nil)...)
	return append(b, pngChunk("IEND", nil)...)
}

// gifBomb is a 14-byte GIF whose logical screen is w x h.
func gifBomb(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0, 0x3b)
}

// jpegBomb is a JPEG whose SOF0 claims w x h 3-component pixels, followed by a scan header and
// no scan data: image/jpeg allocates the full image when it reaches the scan.
func jpegBomb(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08}
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	b = append(b, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	b = append(b, 0xff, 0xda, 0x00, 0x0c, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0x00, 0x3f, 0x00)
	return append(b, 0xff, 0xd9)
}

// webpVP8X is a bare extended WebP header (no image chunk) with the given flags and canvas.
func webpVP8X(flags byte, w, h uint32) []byte {
	chunk := []byte{flags, 0, 0, 0}
	chunk = append(chunk, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	chunk = append(chunk, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(4+8+len(chunk)))
	b = append(b, "WEBPVP8X"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(chunk)))
	return append(b, chunk...)
}

// near reports whether two colours are within tol per channel (8-bit, non-premultiplied).
func near(a, b color.Color, tol int) bool {
	na := color.NRGBAModel.Convert(a).(color.NRGBA)
	nb := color.NRGBAModel.Convert(b).(color.NRGBA)
	d := func(x, y uint8) bool { return max(int(x)-int(y), int(y)-int(x)) <= tol }
	return d(na.R, nb.R) && d(na.G, nb.G) && d(na.B, nb.B) && d(na.A, nb.A)
}

// hasJPEGSegment reports whether a JPEG carries a segment with the given marker before its
// first scan (where every metadata segment lives).
func hasJPEGSegment(t testing.TB, data []byte, marker byte) bool {
	t.Helper()
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			t.Fatalf("bad JPEG structure at %d", i)
		}
		m := data[i+1]
		if m == marker {
			return true
		}
		if m == 0xda {
			return false
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return false
}
