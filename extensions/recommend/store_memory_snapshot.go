package recommend

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// snapshotMagic starts every [MemoryStore] snapshot; the trailing digit is the format version.
const snapshotMagic = "TGRVEC1\n"

// ErrBadSnapshot is returned (wrapped) by [MemoryStore.ReadFrom] for data that is not a complete
// snapshot of this format: wrong magic, truncated, or a failed checksum.
var ErrBadSnapshot = errors.New("recommend: bad vector snapshot")

// WriteTo writes a snapshot of every item and of the approximate index to w, so that
// [MemoryStore.ReadFrom] restores the store without retraining. It implements io.WriterTo.
//
// Format (little endian): magic, dim u32, items u64, tops u32, leaves u32, trainedAt u64, top
// and leaf centroids (f32), each leaf's top (u32), then per item: list u32, id, kind and owner
// (u16 length + bytes), published u8, created i64, vector (f32); last a CRC-32 (IEEE) of
// everything before it. Writers hold the read lock, so searches continue meanwhile.
func (s *MemoryStore) WriteTo(w io.Writer) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}

	cw := &countingWriter{w: w}
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(cw, crc), 1<<16)
	e := &encoder{w: bw}

	e.bytes([]byte(snapshotMagic))
	e.u32(uint32(s.cfg.Dim))
	e.u64(uint64(len(s.byId)))
	x := s.index
	if x == nil {
		x = &ivfIndex{}
	}
	e.u32(uint32(len(x.children)))
	e.u32(uint32(x.nleaf()))
	e.u64(uint64(x.trainedAt))
	e.floats(x.tops)
	e.floats(x.leaves)
	for _, t := range x.leafParent {
		e.u32(uint32(t))
	}
	for l, list := range s.lists {
		for _, n := range list.slots {
			sl := &s.slots[n]
			e.u32(uint32(l))
			e.str(sl.id)
			e.str(sl.kind)
			e.str(sl.owner)
			if sl.published {
				e.bytes([]byte{1})
			} else {
				e.bytes([]byte{0})
			}
			e.u64(uint64(sl.created))
			e.floats(s.vectorOf(n))
		}
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err == nil {
		var sum [4]byte
		binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
		_, e.err = cw.Write(sum[:])
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("recommend: write vector snapshot: %w", e.err)
	}
	return cw.n, nil
}

// ReadFrom replaces the store's content with the snapshot read from r (written by
// [MemoryStore.WriteTo] of a store with the same dimension). It reads r to the end of the
// snapshot (it may buffer bytes beyond it), verifies it completely before touching the store,
// and leaves the store unchanged on error ([ErrBadSnapshot], [ErrDimensionMismatch] or the reader's error, wrapped). It
// implements io.ReaderFrom.
func (s *MemoryStore) ReadFrom(r io.Reader) (int64, error) {
	crc := crc32.NewIEEE()
	cr := &countingReader{r: bufio.NewReaderSize(r, 1<<16)}
	d := &decoder{r: io.TeeReader(cr, crc)}

	if string(d.bytes(len(snapshotMagic))) != snapshotMagic && d.err == nil {
		return cr.n, fmt.Errorf("%w: unknown format", ErrBadSnapshot)
	}
	dim := int(d.u32())
	if d.err == nil && dim != s.cfg.Dim {
		return cr.n, fmt.Errorf("%w: snapshot has %d dimensions, the store %d", ErrDimensionMismatch, dim, s.cfg.Dim)
	}
	count := d.u64()
	ntop, nleaf := int(d.u32()), int(d.u32())
	trainedAt := int(d.u64())
	if d.err == nil && (ntop > maxLeaves || nleaf > maxLeaves || count > 1<<34) {
		return cr.n, fmt.Errorf("%w: implausible header", ErrBadSnapshot)
	}

	// the snapshot is decoded into a fresh store that replaces this one's state at the end.
	fresh := NewMemoryStore(s.cfg)
	if nleaf > 0 {
		x := &ivfIndex{dim: dim, trainedAt: trainedAt, children: make([][]int32, ntop)}
		x.tops = d.floats(ntop * dim)
		x.leaves = d.floats(nleaf * dim)
		x.leafParent = make([]int32, nleaf)
		for l := range nleaf {
			t := d.u32()
			if d.err == nil && int(t) >= ntop {
				return cr.n, fmt.Errorf("%w: leaf %d under missing top %d", ErrBadSnapshot, l, t)
			}
			x.leafParent[l] = int32(t)
			if d.err == nil {
				x.children[t] = append(x.children[t], int32(l))
			}
		}
		fresh.index = x
		fresh.lists = make([]invList, nleaf)
	}
	for i := uint64(0); i < count && d.err == nil; i++ {
		l := d.u32()
		sl := slot{id: d.str(), kind: d.str(), owner: d.str()}
		sl.published = d.bytes(1)[0] == 1
		sl.created = int64(d.u64())
		vec := d.floats(dim)
		if d.err != nil {
			break
		}
		if int(l) >= len(fresh.lists) {
			return cr.n, fmt.Errorf("%w: item %q in missing list %d", ErrBadSnapshot, sl.id, l)
		}
		if _, dup := fresh.byId[sl.id]; dup {
			return cr.n, fmt.Errorf("%w: duplicate item %q", ErrBadSnapshot, sl.id)
		}
		n := int32(len(fresh.slots))
		list := &fresh.lists[l]
		sl.list, sl.pos = int32(l), int32(len(list.slots))
		fresh.slots = append(fresh.slots, sl)
		fresh.byId[sl.id] = n
		list.slots = append(list.slots, n)
		list.attrs = append(list.attrs, fresh.attrOf(Item{Kind: sl.kind, Owner: sl.owner, Published: sl.published}))
		list.vecs = append(list.vecs, vec...)
	}
	want := crc.Sum32()
	var sum [4]byte
	if d.err == nil {
		_, d.err = io.ReadFull(cr, sum[:])
	}
	if d.err != nil {
		if errors.Is(d.err, io.EOF) || errors.Is(d.err, io.ErrUnexpectedEOF) {
			return cr.n, fmt.Errorf("%w: truncated: %w", ErrBadSnapshot, d.err)
		}
		return cr.n, fmt.Errorf("recommend: read vector snapshot: %w", d.err)
	}
	if binary.LittleEndian.Uint32(sum[:]) != want {
		return cr.n, fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cr.n, ErrClosed
	}
	s.slots, s.free, s.byId, s.lists, s.index = fresh.slots, nil, fresh.byId, fresh.lists, fresh.index
	s.kindCodes, s.ownerCodes = fresh.kindCodes, fresh.ownerCodes
	return cr.n, nil
}

// ----------------------------------------------------------------------------------------

// encoder writes little-endian values and remembers the first error, so WriteTo checks once.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.bytes(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.bytes(e.buf[:8])
}

func (e *encoder) str(s string) {
	binary.LittleEndian.PutUint16(e.buf[:2], uint16(len(s)))
	e.bytes(e.buf[:2])
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *encoder) floats(v []float32) {
	for _, f := range v {
		e.u32(math.Float32bits(f))
	}
}

// decoder is the reading twin of encoder; after an error it returns zero values.
type decoder struct {
	r   io.Reader
	err error
	buf [8]byte
}

func (d *decoder) bytes(n int) []byte {
	b := make([]byte, n)
	if d.err == nil {
		_, d.err = io.ReadFull(d.r, b)
	}
	return b
}

func (d *decoder) u32() uint32 {
	if d.err == nil {
		_, d.err = io.ReadFull(d.r, d.buf[:4])
	}
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(d.buf[:4])
}

func (d *decoder) u64() uint64 {
	if d.err == nil {
		_, d.err = io.ReadFull(d.r, d.buf[:8])
	}
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(d.buf[:8])
}

func (d *decoder) str() string {
	if d.err == nil {
		_, d.err = io.ReadFull(d.r, d.buf[:2])
	}
	if d.err != nil {
		return ""
	}
	return string(d.bytes(int(binary.LittleEndian.Uint16(d.buf[:2]))))
}

func (d *decoder) floats(n int) []float32 {
	if d.err != nil {
		return nil
	}
	raw := d.bytes(4 * n)
	if d.err != nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
