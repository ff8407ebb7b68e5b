package imageproc

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"
)

// ycbcrPhoto is a YCbCr image of the given subsampling with smooth colour gradients and
// per-pixel luma noise (chroma sampled at the top-left pixel of each chroma block): what a
// camera JPEG looks like to a resampler, without sharp chroma edges that 4:2:0 output would
// legitimately blur.
func ycbcrPhoto(w, h int, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	rng := rand.New(rand.NewPCG(3, 4))
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	for y := range h {
		for x := range w {
			n := uint8(rng.IntN(40))
			yy, cb, cr := color.RGBToYCbCr(uint8(x*200/w)+n, uint8(y*200/h)+n, 100+n)
			dst.Y[dst.YOffset(x, y)] = yy
			dst.Cb[dst.COffset(x, y)] = cb
			dst.Cr[dst.COffset(x, y)] = cr
		}
	}
	return dst
}

// meanAbsDiff is the mean per-channel difference of two same-sized images, in 8-bit units.
func meanAbsDiff(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, d := range []int{int(ca.R) - int(cb.R), int(ca.G) - int(cb.G), int(ca.B) - int(cb.B)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
}

func TestResizePlanesMatchesImaging(t *testing.T) {
	t.Parallel()

	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444,
		image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440,
		image.YCbCrSubsampleRatio411,
	}
	for _, ratio := range ratios {
		t.Run(ratio.String(), func(t *testing.T) {
			src := ycbcrPhoto(301, 203, ratio)
			got := resize(src, 150, 0)
			if _, ok := got.(*image.YCbCr); !ok {
				t.Fatalf("got %T, want the *image.YCbCr fast path", got)
			}
			if b := got.Bounds(); b.Dx() != 150 || b.Dy() != 101 {
				t.Fatalf("size %v, want 150x101", b)
			}
			want := imaging.Resize(src, 150, 101, imaging.Lanczos)
			// The reference filters in RGB and keeps full chroma; ours filters in YCbCr (the
			// same maths up to rounding) and writes 4:2:0 chroma.
			if d := meanAbsDiff(got, want); d > 1.5 {
				t.Fatalf("mean difference from imaging.Resize = %.2f, want <= 1.5", d)
			}
		})
	}
}

func TestResizeKeepsFlatAreasFlat(t *testing.T) {
	t.Parallel()

	gray := image.NewGray(image.Rect(0, 0, 999, 777))
	for i := range gray.Pix {
		gray.Pix[i] = 77
	}
	got, ok := resize(gray, 0, 100).(*image.Gray)
	if !ok {
		t.Fatalf("got %T, want *image.Gray", got)
	}
	if b := got.Bounds(); b.Dx() != 129 || b.Dy() != 100 {
		t.Fatalf("size %v, want 129x100", b)
	}
	for i, v := range got.Pix {
		if v != 77 {
			t.Fatalf("pixel %d = %d, want 77", i, v)
		}
	}
}

func TestResizeOtherTypesUseImaging(t *testing.T) {
	t.Parallel()

	src := photoImage(64, 64)
	got := resize(src, 32, 32)
	want := imaging.Resize(src, 32, 32, imaging.Lanczos)
	if d := meanAbsDiff(got, want); d != 0 {
		t.Fatalf("RGBA input differs from imaging.Resize by %.2f", d)
	}
}
