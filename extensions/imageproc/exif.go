package imageproc

import (
	"bytes"
	"encoding/binary"
)

// exifOrientationTag is the TIFF tag (0x0112) that says how the stored pixels must be turned
// to stand upright.
const exifOrientationTag = 0x0112

// jpegOrientation returns the EXIF orientation (1..8) of a JPEG, or 1 when there is none or it
// cannot be read. Only the first Exif APP1 segment counts, as in browsers; a malformed segment
// means "as stored" rather than an error, because the pixels themselves are still fine.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return 1
	}

	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return 1
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte before a marker
			i++
			continue
		case marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8):
			i += 2 // TEM, RSTn and SOI carry no length
			continue
		case marker == 0xda || marker == 0xd9:
			return 1 // metadata segments all come before the first scan
		}

		size := int(binary.BigEndian.Uint16(data[i+2:]))
		if size < 2 || i+2+size > len(data) {
			return 1
		}
		segment := data[i+4 : i+2+size]
		if marker == 0xe1 && bytes.HasPrefix(segment, []byte("Exif\x00\x00")) {
			if o := tiffOrientation(segment[6:]); o != 0 {
				return o
			}
			return 1
		}
		i += 2 + size
	}

	return 1
}

// tiffOrientation reads the orientation tag from IFD0 of a TIFF structure (the body of an Exif
// segment), or returns 0 when it is missing or malformed.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}

	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0
	}
	if order.Uint16(t[2:]) != 42 {
		return 0
	}

	ifd := uint64(order.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > uint64(len(t)) {
		return 0
	}
	count := int(order.Uint16(t[ifd:]))
	for k := range count {
		entry := ifd + 2 + 12*uint64(k)
		if entry+12 > uint64(len(t)) {
			return 0
		}
		if order.Uint16(t[entry:]) != exifOrientationTag {
			continue
		}

		const typeShort = 3
		if order.Uint16(t[entry+2:]) != typeShort || order.Uint32(t[entry+4:]) != 1 {
			return 0
		}
		// A single SHORT sits left-justified in the 4-byte value field.
		v := int(order.Uint16(t[entry+8:]))
		if v < 1 || v > 8 {
			return 0
		}
		return v
	}

	return 0
}
