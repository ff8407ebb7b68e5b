package imageproc

import (
	"bytes"
	"errors"
	"testing"
)

func TestScanGIF(t *testing.T) {
	t.Parallel()

	one := encodeGIF(t, palettedFrame(20, 10, 4, false))
	two := encodeGIF(t, palettedFrame(20, 10, 4, false), palettedFrame(20, 10, 5, false))
	loop := []byte("NETSCAPE2.0")
	if !bytes.Contains(two, loop) {
		t.Fatal("fixture: image/gif wrote no loop block")
	}
	icc := append([]byte{0x21, 0xff, 11}, "ICCRGBG1012"...)
	icc = append(icc, 3, 'i', 'c', 'c', 0)

	scenarios := []struct {
		name       string
		data       []byte
		wantErr    error
		wantFrames int
		wantOut    []byte // nil: the input itself
	}{
		{name: "one frame", data: one, wantFrames: 1},
		{name: "two frames", data: two, wantFrames: 2},
		{name: "comment, XMP and ICC blocks are removed", data: withGIFBlocks(two, gifComment("hi"), gifXMP("x"), icc), wantFrames: 2, wantOut: two},
		{name: "missing trailer after a whole frame is tolerated", data: two[:len(two)-1], wantFrames: 2, wantOut: two},
		{name: "header only", data: one[:13], wantErr: ErrCorrupt},
		{name: "cut in the colour table", data: one[:20], wantErr: ErrCorrupt},
		{name: "cut in the last frame", data: two[:len(two)-4], wantErr: ErrCorrupt},
		{name: "cut in an extension", data: withGIFBlocks(one, gifComment("hello"))[:len(one)+2], wantErr: ErrCorrupt},
		{name: "unknown block", data: append(append([]byte{}, one[:len(one)-1]...), 0x99), wantErr: ErrCorrupt},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			scan, err := scanGIF(s.data)
			if s.wantErr != nil {
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("err = %v, want %v", err, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if scan.frames != s.wantFrames {
				t.Errorf("frames = %d, want %d", scan.frames, s.wantFrames)
			}
			want := s.wantOut
			if want == nil {
				want = s.data
			}
			if !bytes.Equal(scan.stripped, want) {
				t.Errorf("stripped output differs from the expected %d bytes (got %d)", len(want), len(scan.stripped))
			}
		})
	}
}
