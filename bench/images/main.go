// Command images benchmarks Tangerine's upload image pipeline against libvips.
//
// It generates a photo-like 12-megapixel JPEG (4000x3000: gradients, texture and noise, so the
// codecs cannot shortcut flat areas) and a 40-megapixel one, then measures:
//
//   - the Go pipeline: imageproc.Process (normalise: decode, EXIF, long edge 2048, JPEG q82)
//     followed by PocketBase's own thumbnailer (filesystem.System.CreateThumb) for 320x0 and
//     1080x0 from the stored normalised file, exactly as PocketBase serves ?thumb= requests;
//   - the baseline: vipsthumbnail (libvips) producing the same three sizes from the same
//     12 MP file (2048 box at Q=82 stripped, 320 wide, 1080 wide), timed around os/exec;
//   - milliseconds per image (median of -n runs), images/s with 2 workers on both cores, and
//     peak memory: the process RSS high-water mark (VmHWM) and the peak Go heap, for the 12 MP
//     runs and for one 40 MP image.
//
// Each Go measurement runs in a fresh child process (this binary with -child) so that VmHWM
// belongs to that measurement alone and not to image generation or an earlier run.
//
// Usage:
//
//	GOTOOLCHAIN=go1.27.3 go run ./bench/images -n 9
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pocketbase/pocketbase/tools/filesystem"

	"github.com/tangerine-market/tangerine/extensions/imageproc"
)

var (
	runs    = flag.Int("n", 9, "runs per median")
	parN    = flag.Int("par-images", 24, "images per 2-worker throughput run")
	workers = flag.Int("workers", 2, "workers for the throughput run")
	dirFlag = flag.String("dir", "", "work directory (default: a new temporary directory, removed at exit)")
	child   = flag.String("child", "", "internal: run one Go measurement (seq, par, mem40) and print JSON")
)

const (
	photo12 = "photo12.jpg" // 4000x3000
	photo40 = "photo40.jpg" // 7300x5476 = 39.97 MP
)

// thumbSizes are the PocketBase thumbs of posts.images/products.image that a feed requests.
var thumbSizes = []string{"320x0", "1080x0"}

func main() {
	log.SetFlags(0)
	flag.Parse()

	if *child != "" {
		if err := runChild(*child, *dirFlag); err != nil {
			log.Fatalf("child %s: %v", *child, err)
		}
		return
	}

	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	dir := *dirFlag
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tangerine-bench-images-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}

	log.Printf("generating inputs in %s", dir)
	if err := generate(filepath.Join(dir, photo12), 4000, 3000); err != nil {
		return err
	}
	if err := generate(filepath.Join(dir, photo40), 7300, 5476); err != nil {
		return err
	}

	log.Printf("Go: %d sequential runs", *runs)
	seq, err := spawn("seq", dir)
	if err != nil {
		return err
	}
	log.Printf("Go: %d images on %d workers", *parN, *workers)
	par, err := spawn("par", dir)
	if err != nil {
		return err
	}
	log.Printf("Go: one 40 MP image")
	mem40, err := spawn("mem40", dir)
	if err != nil {
		return err
	}

	log.Printf("vipsthumbnail: %d sequential runs", *runs)
	vseq, err := vipsSequential(dir, filepath.Join(dir, photo12))
	if err != nil {
		return err
	}
	log.Printf("vipsthumbnail: %d images per process", *runs)
	vbatch, err := vipsBatch(dir, filepath.Join(dir, photo12), *runs)
	if err != nil {
		return err
	}
	log.Printf("vipsthumbnail: %d images on %d workers", *parN, *workers)
	vpar, err := vipsParallel(dir, filepath.Join(dir, photo12))
	if err != nil {
		return err
	}
	log.Printf("vipsthumbnail: one 40 MP image")
	v40, err := vipsOnce(dir, filepath.Join(dir, photo40), "v40")
	if err != nil {
		return err
	}

	report(dir, seq, par, mem40, vseq, vbatch, vpar, v40)
	return nil
}

// ---------------------------------------------------------------------------------------------
// inputs

// generate writes a photo-like JPEG: smooth colour gradients, a sinusoidal texture and per-pixel
// noise. Quality starts at 90 and steps down if the file would exceed the 15 MB upload limit.
func generate(path string, w, h int) error {
	if _, err := os.Stat(path); err == nil {
		return nil // reuse a previous run's file with -dir
	}

	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(12, 3000))
	texX := make([]float64, w)
	for x := range texX {
		texX[x] = 18 * math.Sin(float64(x)/37.0)
	}
	for y := range h {
		texY := 14 * math.Sin(float64(y)/23.0)
		for x := range w {
			v := 40 + 150*float64(x)/float64(w) + 40*float64(y)/float64(h) + texX[x] + texY + float64(rng.IntN(25))
			img.Y[y*img.YStride+x] = clamp8(v)
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			i := y*img.CStride + x
			img.Cb[i] = clamp8(90 + 80*float64(y)/float64(h/2) + float64(rng.IntN(9)))
			img.Cr[i] = clamp8(170 - 70*float64(x)/float64(w/2) + float64(rng.IntN(9)))
		}
	}

	for q := 90; q >= 60; q -= 5 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			return err
		}
		if buf.Len() <= 14<<20 {
			log.Printf("  %s: %dx%d, %.1f MB at quality %d", filepath.Base(path), w, h, float64(buf.Len())/(1<<20), q)
			return os.WriteFile(path, buf.Bytes(), 0o644)
		}
	}
	return errors.New("could not fit " + path + " under 14 MB")
}

func clamp8(v float64) uint8 {
	return uint8(max(0, min(255, v)))
}

// ---------------------------------------------------------------------------------------------
// Go measurements (child processes)

// goStats is what a child reports.
type goStats struct {
	NormaliseMs []float64 `json:"normaliseMs"`
	ThumbsMs    []float64 `json:"thumbsMs"`
	TotalMs     []float64 `json:"totalMs"`
	CPUMs       []float64 `json:"cpuMs"`
	WallMs      float64   `json:"wallMs"`
	Images      int       `json:"images"`
	HWMKB       int64     `json:"hwmKB"`
	HeapPeak    uint64    `json:"heapPeak"`
	OutBytes    int       `json:"outBytes"`
	OutW        int       `json:"outW"`
	OutH        int       `json:"outH"`
}

func spawn(mode, dir string) (*goStats, error) {
	cmd := exec.Command(os.Args[0],
		"-child", mode, "-dir", dir,
		"-n", strconv.Itoa(*runs), "-par-images", strconv.Itoa(*parN), "-workers", strconv.Itoa(*workers),
	)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("child %s: %w", mode, err)
	}
	var s goStats
	if err := json.Unmarshal(out, &s); err != nil {
		return nil, fmt.Errorf("child %s output %q: %w", mode, out, err)
	}
	return &s, nil
}

func runChild(mode, dir string) error {
	fsys, err := filesystem.NewLocal(filepath.Join(dir, "storage-"+mode))
	if err != nil {
		return err
	}
	defer fsys.Close()

	peak := startHeapSampler()
	stats := &goStats{}
	var seq atomic.Int64

	pipeline := func(src []byte) error {
		n := seq.Add(1)
		key := fmt.Sprintf("rec/%d/photo.jpg", n)

		cpu0 := cpuTime()
		start := time.Now()
		res, err := imageproc.Process(bytes.NewReader(src), imageproc.Options{})
		if err != nil {
			return err
		}
		normalised := time.Now()
		if err := fsys.Upload(res.Data, key); err != nil {
			return err
		}
		for _, size := range thumbSizes {
			thumbKey := fmt.Sprintf("rec/%d/thumbs_photo.jpg/%s_photo.jpg", n, size)
			if err := fsys.CreateThumb(key, thumbKey, size); err != nil {
				return err
			}
		}
		done := time.Now()

		if mode != "par" {
			stats.NormaliseMs = append(stats.NormaliseMs, ms(normalised.Sub(start)))
			stats.ThumbsMs = append(stats.ThumbsMs, ms(done.Sub(normalised)))
			stats.TotalMs = append(stats.TotalMs, ms(done.Sub(start)))
			stats.CPUMs = append(stats.CPUMs, ms(cpuTime()-cpu0))
			stats.OutBytes, stats.OutW, stats.OutH = len(res.Data), res.Width, res.Height
		}
		return nil
	}

	switch mode {
	case "seq":
		src, err := os.ReadFile(filepath.Join(dir, photo12))
		if err != nil {
			return err
		}
		if err := pipeline(src); err != nil { // warm-up, not counted
			return err
		}
		stats = &goStats{}
		for range *runs {
			if err := pipeline(src); err != nil {
				return err
			}
		}
		stats.Images = *runs

	case "par":
		src, err := os.ReadFile(filepath.Join(dir, photo12))
		if err != nil {
			return err
		}
		jobs := make(chan struct{}, *parN)
		for range *parN {
			jobs <- struct{}{}
		}
		close(jobs)
		var (
			wg       sync.WaitGroup
			firstErr atomic.Value
		)
		start := time.Now()
		for range *workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					if err := pipeline(src); err != nil {
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return err
		}
		stats.WallMs = ms(time.Since(start))
		stats.Images = *parN

	case "mem40":
		src, err := os.ReadFile(filepath.Join(dir, photo40))
		if err != nil {
			return err
		}
		if err := pipeline(src); err != nil {
			return err
		}
		stats.Images = 1

	default:
		return fmt.Errorf("unknown mode %q", mode)
	}

	stats.HWMKB = vmHWM()
	stats.HeapPeak = peak()
	return json.NewEncoder(os.Stdout).Encode(stats)
}

// startHeapSampler records the largest live-plus-garbage heap seen every millisecond, through
// runtime/metrics (no stop-the-world, unlike runtime.ReadMemStats), and returns a reader.
func startHeapSampler() func() uint64 {
	var peak atomic.Uint64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return func() uint64 {
		metrics.Read(sample)
		return max(peak.Load(), sample[0].Value.Uint64())
	}
}

// cpuTime returns the user+system CPU time of this process (all threads) so far: unlike wall
// time it hardly moves when other work shares the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmHWM returns this process's peak resident set size in KB, from /proc/self/status.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return -1
}

// ---------------------------------------------------------------------------------------------
// libvips baseline

// vipsSizes are the vipsthumbnail equivalents of the Go outputs: the normalised image (2048 box,
// quality 82, metadata stripped) and PocketBase's 320x0 and 1080x0 (width only).
var vipsSizes = []struct{ name, size, opts string }{
	{"2048", "2048", "[Q=82,strip]"},
	{"320x0", "320x", ""},
	{"1080x0", "1080x", ""},
}

type vipsStats struct {
	NormaliseMs []float64
	ThumbsMs    []float64
	TotalMs     []float64
	CPUMs       []float64
	WallMs      float64
	Images      int
	MaxRSSKB    int64
}

// vipsOnce makes the three sizes of src with three vipsthumbnail runs, as a caller would.
func vipsOnce(dir, src, tag string) (*vipsStats, error) {
	s := &vipsStats{Images: 1}
	var thumbs, cpu time.Duration
	start := time.Now()
	for i, v := range vipsSizes {
		t := time.Now()
		out := filepath.Join(dir, fmt.Sprintf("vips-%s-%s.jpg", tag, v.name))
		cmd := exec.Command("vipsthumbnail", "-s", v.size, src, "-o", out+v.opts)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("vipsthumbnail: %w: %s", err, msg)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.MaxRSSKB = max(s.MaxRSSKB, ru.Maxrss)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if i == 0 {
			s.NormaliseMs = append(s.NormaliseMs, ms(time.Since(t)))
		} else {
			thumbs += time.Since(t)
		}
	}
	s.ThumbsMs = append(s.ThumbsMs, ms(thumbs))
	s.TotalMs = append(s.TotalMs, ms(time.Since(start)))
	s.CPUMs = append(s.CPUMs, ms(cpu))
	return s, nil
}

func vipsSequential(dir, src string) (*vipsStats, error) {
	if _, err := vipsOnce(dir, src, "warm"); err != nil { // page cache and shared libraries
		return nil, err
	}
	all := &vipsStats{Images: *runs}
	for i := range *runs {
		s, err := vipsOnce(dir, src, "seq"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		all.NormaliseMs = append(all.NormaliseMs, s.NormaliseMs...)
		all.ThumbsMs = append(all.ThumbsMs, s.ThumbsMs...)
		all.TotalMs = append(all.TotalMs, s.TotalMs...)
		all.CPUMs = append(all.CPUMs, s.CPUMs...)
		all.MaxRSSKB = max(all.MaxRSSKB, s.MaxRSSKB)
	}
	return all, nil
}

// vipsBatch makes each size of n copies of src in one vipsthumbnail process per size, so that
// libvips' start-up (about 0.1-0.2 s here: Debian's build loads its format modules) is shared
// by n images: the per-image figure is libvips' own work, the strictest baseline.
func vipsBatch(dir, src string, n int) (*vipsStats, error) {
	batch := filepath.Join(dir, "vips-batch")
	if err := os.MkdirAll(batch, 0o755); err != nil {
		return nil, err
	}
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = filepath.Join(batch, fmt.Sprintf("in%d.jpg", i))
		_ = os.Remove(inputs[i])
		if err := os.Symlink(src, inputs[i]); err != nil {
			return nil, err
		}
	}

	s := &vipsStats{Images: n}
	var thumbs, cpu float64
	for i, v := range vipsSizes {
		args := append([]string{"-s", v.size}, inputs...)
		args = append(args, "-o", filepath.Join(batch, "%s_"+v.name+".jpg"+v.opts))
		cmd := exec.Command("vipsthumbnail", args...)
		start := time.Now()
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("vipsthumbnail batch: %w: %s", err, msg)
		}
		perImage := ms(time.Since(start)) / float64(n)
		cpu += ms(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()) / float64(n)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.MaxRSSKB = max(s.MaxRSSKB, ru.Maxrss)
		}
		if i == 0 {
			s.NormaliseMs = []float64{perImage}
		} else {
			thumbs += perImage
		}
	}
	s.ThumbsMs = []float64{thumbs}
	s.TotalMs = []float64{s.NormaliseMs[0] + thumbs}
	s.CPUMs = []float64{cpu}
	return s, nil
}

func vipsParallel(dir, src string) (*vipsStats, error) {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		maxRSS  int64
		failure error
	)
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(*parN) {
					return
				}
				s, err := vipsOnce(dir, src, "par"+strconv.FormatInt(n, 10))
				mu.Lock()
				if err != nil && failure == nil {
					failure = err
				}
				if s != nil {
					maxRSS = max(maxRSS, s.MaxRSSKB)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		return nil, failure
	}
	return &vipsStats{WallMs: ms(time.Since(start)), Images: *parN, MaxRSSKB: maxRSS}, nil
}

// ---------------------------------------------------------------------------------------------
// report

func report(dir string, seq, par, mem40 *goStats, vseq, vbatch, vpar, v40 *vipsStats) {
	vipsVersion, _ := exec.Command("vipsthumbnail", "--vips-version").Output()
	in12, _ := os.Stat(filepath.Join(dir, photo12))
	in40, _ := os.Stat(filepath.Join(dir, photo40))

	goTotal := median(seq.TotalMs)
	batchTotal := vbatch.TotalMs[0]
	ratio := goTotal / batchTotal

	fmt.Printf("\n### Image pipeline: 12 MP JPEG -> normalised 2048 + thumbs 320x0, 1080x0\n\n")
	fmt.Printf("%s, GOMAXPROCS=%d, %d CPUs, %s; %s; load average at the end: %s\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), cpuModel(), strings.TrimSpace(string(vipsVersion)), loadAvg())
	fmt.Printf("Inputs: 4000x3000 JPEG %.1f MB; 7300x5476 (40 MP) JPEG %.1f MB. Go output: %dx%d JPEG %.0f KB. Go and vips per call: medians of %d runs; vips batched: mean of %d images in one process per size.\n\n",
		mb(in12.Size()), mb(in40.Size()), seq.OutW, seq.OutH, float64(seq.OutBytes)/1024, *runs, *runs)

	fmt.Println("| measure | Go (imageproc + PocketBase CreateThumb) | vipsthumbnail, one process per call | vipsthumbnail, batched | Go / vips batched |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: |")
	row := func(name string, g, v, b float64) {
		fmt.Printf("| %s | %.0f ms | %.0f ms | %.0f ms | %.2fx |\n", name, g, v, b, g/b)
	}
	row("normalise (to 2048, q82), ms/image", median(seq.NormaliseMs), median(vseq.NormaliseMs), vbatch.NormaliseMs[0])
	row("thumbs 320x0 + 1080x0, ms/image", median(seq.ThumbsMs), median(vseq.ThumbsMs), vbatch.ThumbsMs[0])
	row("**total, ms/image (wall)**", goTotal, median(vseq.TotalMs), batchTotal)
	goCPU, batchCPU := median(seq.CPUMs), vbatch.CPUMs[0]
	row("**total CPU time (user+sys, all threads), ms/image**", goCPU, median(vseq.CPUMs), batchCPU)
	goRate := float64(par.Images) / (par.WallMs / 1000)
	vipsRate := float64(vpar.Images) / (vpar.WallMs / 1000)
	fmt.Printf("| images/s, %d workers (%d images) | %.2f | %.2f | | |\n", *workers, *parN, goRate, vipsRate)
	fmt.Printf("| peak RSS, 12 MP sequential | %.0f MB (Go heap peak %.0f MB) | %.0f MB | %.0f MB | |\n", kbMB(seq.HWMKB), mb(int64(seq.HeapPeak)), kbMB(vseq.MaxRSSKB), kbMB(vbatch.MaxRSSKB))
	fmt.Printf("| peak RSS, 12 MP on %d workers | %.0f MB (Go heap peak %.0f MB) | %.0f MB per process | | |\n", *workers, kbMB(par.HWMKB), mb(int64(par.HeapPeak)), kbMB(vpar.MaxRSSKB))
	fmt.Printf("| **peak RSS, one 40 MP image** | %.0f MB (Go heap peak %.0f MB), %.0f ms | %.0f MB, %.0f ms | | |\n",
		kbMB(mem40.HWMKB), mb(int64(mem40.HeapPeak)), mem40.TotalMs[0], kbMB(v40.MaxRSSKB), v40.TotalMs[0])

	fmt.Println()
	fmt.Printf("Targets: time per image <= 3x libvips (batched, the strict baseline): wall %s (%.2fx; %.2fx against one vips process per call), CPU time %s (%.2fx); peak memory for a 40 MP image <= 300 MB: %s (%.0f MB RSS).\n",
		verdict(ratio <= 3), ratio, goTotal/median(vseq.TotalMs), verdict(goCPU/batchCPU <= 3), goCPU/batchCPU, verdict(kbMB(mem40.HWMKB) <= 300), kbMB(mem40.HWMKB))
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return "unknown CPU"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mb(b int64) float64         { return float64(b) / (1 << 20) }
func kbMB(kb int64) float64      { return float64(kb) / 1024 }
