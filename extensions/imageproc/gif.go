package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// gifScan is what a structure walk of a GIF learns without decompressing any frame.
type gifScan struct {
	// frames is the number of image descriptors.
	frames int

	// stripped is the GIF with comment blocks and application blocks other than the loop
	// count removed (XMP, ICC and editor data live there); image data is copied byte for byte.
	stripped []byte
}

// keptApplications are the application extensions that drive playback (loop count); every
// other application extension is metadata.
var keptApplications = [][]byte{[]byte("NETSCAPE2.0"), []byte("ANIMEXTS1.0")}

var errGIFTruncated = errors.New("gif: truncated block")

// scanGIF walks the block structure of a whole GIF. It costs one pass over the bytes and no
// pixel memory, which matters because image/gif's DecodeAll would hold every frame at once: a
// 2 MB file of well-compressed 1080x1080 frames could expand to gigabytes. The walk also
// catches files truncated after the first frame, which gif.Decode (first frame only) accepts.
func scanGIF(data []byte) (gifScan, error) {
	const headerLen = 6 + 7 // signature + logical screen descriptor
	if len(data) < headerLen {
		return gifScan{}, wrap(ErrCorrupt, errGIFTruncated)
	}

	screenW := int(binary.LittleEndian.Uint16(data[6:]))
	screenH := int(binary.LittleEndian.Uint16(data[8:]))
	i := headerLen + colorTableLen(data[10])
	if i > len(data) {
		return gifScan{}, wrap(ErrCorrupt, errGIFTruncated)
	}

	out := bytes.NewBuffer(make([]byte, 0, len(data)))
	out.Write(data[:i])

	var frames int
	for {
		if i >= len(data) {
			// Some encoders omit the trailer; a file that ends cleanly between blocks after
			// at least one frame is complete for every decoder that matters.
			if frames == 0 {
				return gifScan{}, wrap(ErrCorrupt, errGIFTruncated)
			}
			out.WriteByte(0x3b)
			return gifScan{frames: frames, stripped: out.Bytes()}, nil
		}

		switch data[i] {
		case 0x3b: // trailer
			out.WriteByte(0x3b)
			return gifScan{frames: frames, stripped: out.Bytes()}, nil

		case 0x21: // extension: label, then data sub-blocks
			if i+2 > len(data) {
				return gifScan{}, wrap(ErrCorrupt, errGIFTruncated)
			}
			end, err := skipSubBlocks(data, i+2)
			if err != nil {
				return gifScan{}, err
			}
			if keepExtension(data[i+1], data[i+2:end]) {
				out.Write(data[i:end])
			}
			i = end

		case 0x2c: // image descriptor, optional local color table, LZW code size, sub-blocks
			if i+10 > len(data) {
				return gifScan{}, wrap(ErrCorrupt, errGIFTruncated)
			}
			left := int(binary.LittleEndian.Uint16(data[i+1:]))
			top := int(binary.LittleEndian.Uint16(data[i+3:]))
			w := int(binary.LittleEndian.Uint16(data[i+5:]))
			h := int(binary.LittleEndian.Uint16(data[i+7:]))
			if left+w > screenW || top+h > screenH {
				// image/gif refuses these too; browsers would clip, we refuse consistently.
				return gifScan{}, wrap(ErrCorrupt, fmt.Errorf("gif: frame %d bounds outside the screen", frames+1))
			}
			start := i
			i += 10 + colorTableLen(data[i+9]) + 1 // +1: LZW minimum code size
			if i > len(data) {
				return gifScan{}, wrap(ErrCorrupt, errGIFTruncated)
			}
			end, err := skipSubBlocks(data, i)
			if err != nil {
				return gifScan{}, err
			}
			out.Write(data[start:end])
			i = end
			frames++

		default:
			return gifScan{}, wrap(ErrCorrupt, fmt.Errorf("gif: unknown block 0x%02x", data[i]))
		}
	}
}

// colorTableLen returns the byte length of the color table announced by a packed field.
func colorTableLen(packed byte) int {
	if packed&0x80 == 0 {
		return 0
	}
	return 3 << (int(packed&0x07) + 1)
}

// skipSubBlocks returns the offset just past the sub-block chain starting at i (each block a
// length byte and that many bytes, ended by a zero length).
func skipSubBlocks(data []byte, i int) (int, error) {
	for {
		if i >= len(data) {
			return 0, wrap(ErrCorrupt, errGIFTruncated)
		}
		n := int(data[i])
		i++
		if n == 0 {
			return i, nil
		}
		i += n
	}
}

// keepExtension decides whether an extension block survives: graphic control (timing,
// disposal, transparency) and plain text render pixels; the loop-count application block drives
// playback. Comments and other application blocks are metadata and go.
func keepExtension(label byte, body []byte) bool {
	switch label {
	case 0xf9, 0x01:
		return true
	case 0xff:
		if len(body) < 12 || body[0] != 11 {
			return false
		}
		for _, id := range keptApplications {
			if bytes.Equal(body[1:12], id) {
				return true
			}
		}
		return false
	default:
		return false
	}
}
