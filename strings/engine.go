package strings

import (
	"context"
	"encoding/binary"
	"io"
	"runtime"
	"slices"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// rec is a string found in a chunk. Its text is read from the chunk's data,
// or, for a string that runs past the data, from the arena.
type rec struct {
	off   uint64
	chars uint64 // length in characters
	enc   Encoding
	ext   bool // text in arena[text:text+tlen]
	text  int
	tlen  int
}

// chunkScan is one worker's state for one chunk.
type chunkScan struct {
	opt *Options
	r   io.ReaderAt
	k   *kernel
	c   *scan.Chunk
	// Owned runs of the tracks (ASCII, UTF-16LE even, odd), each in offset
	// order: slices of the kernel's runs. A run whose end is extEnd stands
	// for tail[i], a run followed past the data with its text in the arena.
	lists [3][]span
	tail  [3]rec
	arena []byte
	more  []byte
	errs  []error
}

func newChunkScan(opt *Options, r io.ReaderAt) *chunkScan {
	return &chunkScan{opt: opt, r: r, k: newKernel(opt)}
}

// process finds the strings that start in the chunk's body.
func (cs *chunkScan) process(ctx context.Context, c *scan.Chunk) {
	cs.c = c
	cs.arena = cs.arena[:0]
	cs.errs = cs.errs[:0]
	if c.Err != nil {
		cs.errs = append(cs.errs, c.Err)
	}
	k := cs.k
	k.reset()
	final := c.AtRangeEnd()
	k.scan(c.Data, c.Off, final)
	lo, hi := c.BodyOff(), c.Off+uint64(c.Hi)
	tracks := [3]*track{&k.a, &k.u[0], &k.u[1]}
	for i, t := range tracks {
		enc := UTF16LE
		if i == 0 {
			enc = ASCII
		}
		// Runs are in order: only the first ones can start before the
		// body (in the lookbehind), only the last ones after it.
		runs := t.runs
		for len(runs) > 0 && runs[0].start < lo {
			runs = runs[1:]
		}
		for len(runs) > 0 && runs[len(runs)-1].start >= hi {
			runs = runs[:len(runs)-1]
		}
		if !final && t.active && t.start >= lo && t.start < hi {
			if r, ok := cs.finish(ctx, t, enc); ok {
				cs.tail[i] = r
				// The active run comes after every completed run of the
				// track.
				runs = append(runs, span{t.start, extEnd})
			}
		}
		cs.lists[i] = runs
	}
}

// extEnd marks the run of a list that stands for the chunk's tail record.
const extEnd = ^uint64(0)

// finish follows a run that goes past the chunk's data by reading on, and
// keeps its text in the arena.
func (cs *chunkScan) finish(ctx context.Context, t *track, enc Encoding) (rec, bool) {
	c := cs.c
	end := c.Off + uint64(len(c.Data))
	pos := end
	if enc == UTF16LE && (end-t.start)&1 != 0 {
		pos = end - 1 // the last unit straddles the data's end
	}
	r := rec{off: t.start, chars: (pos - t.start) / t.stride, enc: enc, ext: true, text: len(cs.arena)}
	cs.arena = cs.appendChars(cs.arena, c.Data[t.start-c.Off:pos-c.Off], enc, 0)
	if cs.more == nil {
		cs.more = make([]byte, 64<<10)
	}
	table := &cs.k.cls.table
	for ctx.Err() == nil {
		n, err := c.ReadMore(cs.r, cs.more, pos)
		b := cs.more[:n]
		i := 0
		if enc == ASCII {
			for i < n && table[b[i]] {
				i++
			}
		} else {
			for i+1 < n && b[i+1] == 0 && table[b[i]] {
				i += 2
			}
		}
		cs.arena = cs.appendChars(cs.arena, b[:i], enc, r.chars)
		r.chars += uint64(i) / t.stride
		pos += uint64(i)
		// A read error ends the run; the chunk that holds the bad bytes
		// reports it.
		if i < n-int(t.stride-1) || n < len(cs.more) || err != nil {
			break
		}
	}
	r.tlen = len(cs.arena) - r.text
	return r, r.chars >= t.min
}

// appendChars appends the characters of raw (bytes, or UTF-16LE units with
// zero high bytes) to dst, keeping at most MaxLen characters in all when
// have characters were already kept.
func (cs *chunkScan) appendChars(dst, raw []byte, enc Encoding, have uint64) []byte {
	n := uint64(len(raw))
	if enc == UTF16LE {
		n /= 2
	}
	if m := uint64(cs.opt.MaxLen); m > 0 { // always, once normalized
		if have >= m {
			return dst
		}
		n = min(n, m-have)
	}
	if enc == ASCII {
		return append(dst, raw[:n]...)
	}
	return appendUTF16(dst, raw[:2*n])
}

// appendUTF16 appends the low bytes of the UTF-16LE units in raw.
func appendUTF16(dst, raw []byte) []byte {
	n := len(raw) / 2
	l := len(dst)
	dst = slices.Grow(dst, n)[:l+n]
	narrow(dst[l:], raw, n)
	return dst
}

// narrowGo is narrow in Go: four units per 64-bit word, then one by one.
func narrowGo(dst, src []byte, n int) {
	_, _ = dst[:n], src[:2*n]
	i := 0
	for ; i+4 <= n; i += 4 {
		x := binary.LittleEndian.Uint64(src[2*i:])
		x = (x | x>>8) & 0x0000ffff0000ffff
		x = (x | x>>16) & 0x00000000ffffffff
		binary.LittleEndian.PutUint32(dst[i:], uint32(x))
	}
	for ; i < n; i++ {
		dst[i] = src[2*i]
	}
}

// appendText appends the (possibly truncated) text of r.
func (cs *chunkScan) appendText(dst []byte, r *rec) []byte {
	if r.ext {
		return append(dst, cs.arena[r.text:r.text+r.tlen]...)
	}
	i := r.off - cs.c.Off
	if r.enc == ASCII {
		return cs.appendChars(dst, cs.c.Data[i:i+r.chars], ASCII, 0)
	}
	return cs.appendChars(dst, cs.c.Data[i:i+2*r.chars], UTF16LE, 0)
}

// merger yields the strings of a chunk in offset order (ASCII first at an
// equal offset).
type merger struct {
	cs      *chunkScan
	a, e, o []span
	i, j, k int
	lim     uint64 // start of the next UTF-16LE run, none if none
}

// none is a start no run has.
const none = ^uint64(0)

func (cs *chunkScan) merge() merger {
	m := merger{cs: cs, a: cs.lists[0], e: cs.lists[1], o: cs.lists[2]}
	m.setLim()
	return m
}

func (m *merger) setLim() {
	m.lim = none
	if m.j < len(m.e) {
		m.lim = m.e[m.j].start
	}
	if m.k < len(m.o) {
		m.lim = min(m.lim, m.o[m.k].start)
	}
}

// next sets r to the next string and reports whether there was one.
func (m *merger) next(r *rec) bool {
	// ASCII runs up to the next UTF-16LE one: the common case.
	if m.i < len(m.a) && m.a[m.i].start <= m.lim {
		sp := m.a[m.i]
		m.i++
		if sp.end == extEnd {
			*r = m.cs.tail[0]
		} else {
			*r = rec{off: sp.start, chars: sp.end - sp.start, enc: ASCII}
		}
		return true
	}
	var sp span
	switch {
	case m.j < len(m.e) && m.e[m.j].start == m.lim:
		sp = m.e[m.j]
		m.j++
		if sp.end == extEnd {
			*r = m.cs.tail[1]
		}
	case m.k < len(m.o):
		sp = m.o[m.k]
		m.k++
		if sp.end == extEnd {
			*r = m.cs.tail[2]
		}
	default:
		return false
	}
	m.setLim()
	if sp.end != extEnd {
		*r = rec{off: sp.start, chars: (sp.end - sp.start) / 2, enc: UTF16LE}
	}
	return true
}

// run scans the view with one chunkScan per busy worker; build turns a
// scanned chunk into a result, deliver consumes results in order.
func run[R interface{ readErrors() []error }](ctx context.Context, v addrspace.View, opt Options,
	build func(cs *chunkScan) R, deliver func(R) error) error {
	scans := newFreeList(workers(opt), func() *chunkScan { return newChunkScan(&opt, v.R) })
	return scan.Scan(ctx, v, opt.Scan, func(ctx context.Context, c *scan.Chunk) (R, error) {
		cs := scans.get()
		defer scans.put(cs)
		cs.process(ctx, c)
		return build(cs), ctx.Err()
	}, func(r R) error {
		if opt.ReadError != nil {
			for _, err := range r.readErrors() {
				opt.ReadError(err)
			}
		}
		return deliver(r)
	})
}

// workers returns the number of workers a scan with opt uses.
func workers(opt Options) int {
	if opt.Scan.Workers > 0 {
		return opt.Scan.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// freeList keeps objects for reuse during one scan. Unlike a sync.Pool, a
// garbage collection does not empty it, so that buffers that grew to the
// size of a chunk's output stay grown.
type freeList[T any] struct {
	c   chan *T
	new func() *T
}

func newFreeList[T any](n int, fn func() *T) *freeList[T] {
	return &freeList[T]{c: make(chan *T, n), new: fn}
}

func (f *freeList[T]) get() *T {
	select {
	case x := <-f.c:
		return x
	default:
		return f.new()
	}
}

func (f *freeList[T]) put(x *T) {
	select {
	case f.c <- x:
	default:
	}
}
