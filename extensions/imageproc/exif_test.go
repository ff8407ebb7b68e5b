package imageproc

import (
	"encoding/binary"
	"testing"
)

func TestJPEGOrientation(t *testing.T) {
	t.Parallel()

	plain := encodeJPEG(t, photoImage(16, 16))

	// badTIFF returns an Exif APP1 segment around a hand-made TIFF body.
	badTIFF := func(tiff []byte) []byte {
		payload := append([]byte("Exif\x00\x00"), tiff...)
		seg := []byte{0xff, 0xe1, 0, 0}
		binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
		return append(seg, payload...)
	}
	app0 := []byte{0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	xmp := []byte{0xff, 0xe1, 0x00, 0x08, 'h', 't', 't', 'p', ':', '/'}

	scenarios := []struct {
		name string
		data []byte
		want int
	}{
		{"no EXIF", plain, 1},
		{"not a JPEG", []byte("GIF89a"), 1},
		{"orientation 6, big-endian", withSegments(plain, orientationSegment(binary.BigEndian, 6)), 6},
		{"orientation 8, little-endian", withSegments(plain, orientationSegment(binary.LittleEndian, 8)), 8},
		{"after APP0 and an XMP APP1", withSegments(plain, app0, xmp, orientationSegment(binary.BigEndian, 3)), 3},
		{"after other IFD0 tags", withSegments(plain, exifSegment(binary.LittleEndian, true,
			exifEntry{tag: 0x010f, typ: 4, value: 7}, // Make, as a bogus LONG
			exifEntry{tag: exifOrientationTag, typ: 3, value: 5},
		)), 5},
		{"only the first Exif segment counts", withSegments(plain,
			orientationSegment(binary.BigEndian, 2), orientationSegment(binary.BigEndian, 7)), 2},
		{"Exif after the first scan is ignored", append(append([]byte{}, plain[:len(plain)-2]...),
			append(orientationSegment(binary.BigEndian, 6), 0xff, 0xd9)...), 1},
		{"value 0 is invalid", withSegments(plain, orientationSegment(binary.BigEndian, 0)), 1},
		{"value 9 is invalid", withSegments(plain, orientationSegment(binary.BigEndian, 9)), 1},
		{"orientation stored as LONG is invalid", withSegments(plain,
			exifSegment(binary.BigEndian, false, exifEntry{tag: exifOrientationTag, typ: 4, value: 6})), 1},
		{"bad byte order", withSegments(plain, badTIFF([]byte("XX\x00\x2a\x00\x00\x00\x08\x00\x00"))), 1},
		{"bad TIFF magic", withSegments(plain, badTIFF([]byte("MM\x00\x2b\x00\x00\x00\x08\x00\x00"))), 1},
		{"IFD offset past the end", withSegments(plain, badTIFF([]byte("MM\x00\x2a\x7f\xff\xff\xff"))), 1},
		{"IFD entry count past the end", withSegments(plain, badTIFF([]byte("MM\x00\x2a\x00\x00\x00\x08\xff\xff\x01\x12"))), 1},
		{"segment length past the end", []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x'}, 1},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if got := jpegOrientation(s.data); got != s.want {
				t.Fatalf("orientation = %d, want %d", got, s.want)
			}
		})
	}
}
