package strings

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// WriteText writes one line per string to w, in offset order: the offset in
// the given radix ('d', 'x' or 'o') right-aligned in 7 columns as GNU
// strings -t prints it, the encoding ("ascii  " or "utf16le"), and the text.
// Lines are formatted by the workers; this is the fast path of the CLI.
func WriteText(ctx context.Context, v addrspace.View, opt Options, w io.Writer, radix byte) error {
	base := 0
	switch radix {
	case 'd':
		base = 10
	case 'x':
		base = 16
	case 'o':
		base = 8
	default:
		return fmt.Errorf("unknown radix %q (want d, x or o)", radix)
	}
	opt, err := opt.normalized()
	if err != nil {
		return err
	}
	free := newFreeList(3*workers(opt)+2, func() *lines { return new(lines) })
	return run(ctx, v, opt, func(cs *chunkScan) *lines {
		l := free.get()
		l.errs = append(l.errs[:0], cs.errs...)
		var r rec
		out := l.out[:0] // a local: no write barrier per line
		m := cs.merge()
		// Offsets of strings of this chunk start in its body: when the
		// first and last have as many decimal digits, so do all.
		c := cs.c
		var df decFmt
		if base == 10 && c.Hi > c.Lo {
			if a, b := ndigits(c.BodyOff(), 10), ndigits(c.Off+uint64(c.Hi)-1, 10); a == b && a <= 16 {
				df.init(a, c.BodyOff())
			}
		}
		maxLen := uint64(cs.opt.MaxLen)
		data := c.Data
		for {
			// Most lines are ASCII runs before the next UTF-16LE one.
			if df.nd > 0 {
				var k int
				out, k = appendASCIILines(out, data, m.a[m.i:], m.lim, c.Off, maxLen, &df)
				m.i += k
			}
			if m.i < len(m.a) && m.a[m.i].start <= m.lim && m.a[m.i].end != extEnd {
				sp := m.a[m.i]
				m.i++
				r = rec{off: sp.start, chars: sp.end - sp.start, enc: ASCII}
			} else if !m.next(&r) {
				break
			}
			if df.nd > 0 && !r.ext && r.enc == UTF16LE {
				out = appendUTF16Line(out, data, int(r.off-c.Off), int(min(r.chars, maxLen)), r.off, &df)
				continue
			}
			out = appendLine(out, cs, &r, base)
		}
		l.out = out
		return l
	}, func(l *lines) error {
		defer free.put(l)
		_, err := w.Write(l.out)
		return err
	})
}

// lines is the formatted output of one chunk.
type lines struct {
	out  []byte
	errs []error
}

func (l *lines) readErrors() []error { return l.errs }

const spaces = "                "

// Encoding tags of text lines, 9 bytes each, as little-endian words plus a
// last byte.
var (
	tagASCII = binary.LittleEndian.Uint64([]byte(" ascii  "))
	tagUTF16 = binary.LittleEndian.Uint64([]byte(" utf16le"))
)

// pairs holds the two ASCII digits of 0..99 as little-endian words (256
// entries so that a byte index needs no bounds check).
var pairs = func() (t [256]uint16) {
	for i := range 100 {
		t[i] = uint16('0'+i/10) | uint16('0'+i%10)<<8
	}
	return t
}()

// spaces8 is eight spaces as a little-endian word.
const spaces8 = 0x2020202020202020

// digits8 returns the 8 decimal digits of v < 1e8, most significant first
// in memory order (little-endian), computed in parallel in the lanes of a
// word: two 4-digit halves, then four 2-digit quarters, then eight digits.
func digits8(v uint64) uint64 {
	x := v/10000 | (v%10000)<<32
	y := (x * 5243 >> 19) & 0x0000007f0000007f // x / 100 in each 32-bit lane
	x = y | (x-y*100)<<16
	y = (x * 103 >> 10) & 0x000f000f000f000f // x / 10 in each 16-bit lane
	x = y | (x-y*10)<<8
	return x + 0x3030303030303030
}

// zeroesToSpaces returns what turns the first n bytes of a word of digits
// from '0' into ' ' by xor.
func zeroesToSpaces(n int) uint64 {
	if n >= 8 {
		return 0x1010101010101010
	}
	return 0x1010101010101010 & (1<<(8*uint(n)) - 1)
}

var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
	1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// ndigits returns the number of digits of v in base 10, 16 or 8.
func ndigits(v uint64, base int) int {
	l := bits.Len64(v)
	switch base {
	case 16:
		return max(1, (l+3)/4)
	case 8:
		return max(1, (l+2)/3)
	}
	n := l * 1233 >> 12 // about log10(2^l)
	if n < len(pow10) && v >= pow10[n] {
		n++
	}
	return max(1, n)
}

// appendLine appends "offset encoding text\n" for r: the offset right-
// aligned in 7 columns like GNU's -t. It writes in place after one capacity
// check.
func appendLine(out []byte, cs *chunkScan, r *rec, base int) []byte {
	if r.ext {
		return appendLineSlow(out, cs, r, base)
	}
	tl := int(min(r.chars, uint64(cs.opt.MaxLen)))
	n := len(out)
	need := 24 + 9 + tl + 1
	if cap(out)-n < need {
		out = slices.Grow(out, need)
	}
	b := out[n : n+need]

	// Offset.
	v := r.off
	nd := ndigits(v, base)
	w := max(nd, 7)
	binary.LittleEndian.PutUint64(b, spaces8) // padding; digits overwrite
	i := w
	switch {
	case base == 10 && nd <= 16:
		var f decFmt
		f.init(nd, v)
		f.put(b, v)
	case base == 16:
		for ; nd > 0; nd-- {
			i--
			b[i] = "0123456789abcdef"[v&15]
			v >>= 4
		}
	case base == 8:
		for ; nd > 0; nd-- {
			i--
			b[i] = byte('0' + v&7)
			v >>= 3
		}
	default:
		for ; nd > 0; nd-- {
			i--
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}

	// Encoding.
	if r.enc == ASCII {
		binary.LittleEndian.PutUint64(b[w:], tagASCII)
	} else {
		binary.LittleEndian.PutUint64(b[w:], tagUTF16)
	}
	b[w+8] = ' '
	p := w + 9

	// Text.
	data := cs.c.Data
	s := int(r.off - cs.c.Off)
	if r.enc == ASCII {
		copy(b[p:p+tl], data[s:s+tl])
	} else {
		narrow(b[p:], data[s:], tl)
	}
	p += tl
	b[p] = '\n'
	return out[:n+p+1]
}

// decFmt writes the decimal offsets of one chunk's lines, which all have
// nd digits and come in increasing order.
type decFmt struct {
	nd, w int // digits, columns (at least 7)
	// Offsets are written as the digits of hi/1e8 (prefix, nd-8 of them
	// from byte 0, when nd > 8) and the 8 digits of the offset minus hi
	// at byte off, which is below 1e8 until an offset reaches the next
	// multiple of 1e8 (hi is 0 when nd <= 8). Those 8 digits are xored
	// with xor and shifted right by shift bits: leading zeroes become
	// spaces, and fewer than 7 digits take 7 columns.
	hi     uint64
	prefix uint64
	off    int
	xor    uint64
	shift  uint
}

// init prepares f for offsets of nd (1..16) digits from v on.
func (f *decFmt) init(nd int, v uint64) {
	f.nd, f.w = nd, max(nd, 7)
	if nd > 8 {
		f.off = nd - 8
		f.setHi(v)
		return
	}
	f.xor = zeroesToSpaces(8 - nd)
	if nd < 8 {
		f.shift = 8 // 7 columns; the byte after them is rewritten after
	}
}

func (f *decFmt) setHi(v uint64) {
	h := v / 1e8
	f.hi = h * 1e8
	f.prefix = digits8(h) >> (8 * (16 - f.nd) & 63)
}

// put writes v, of f.nd digits, right-aligned in f.w columns at the start of
// b (which has room for 16 bytes).
func (f *decFmt) put(b []byte, v uint64) {
	_ = b[15]
	l := v - f.hi
	if l >= 1e8 {
		f.setHi(v)
		l = v - f.hi
	}
	// Without a prefix, the digits overwrite it.
	binary.LittleEndian.PutUint64(b, f.prefix)
	binary.LittleEndian.PutUint64(b[f.off:], (digits8(l)^f.xor)>>(f.shift&63))
}

// appendASCIILines appends the lines of the ASCII runs at the start of
// runs that start at or before lim and whose text is in data (whose first
// byte is at offset off), with texts of at most maxLen bytes and offsets
// formatted by f, and returns how many runs it took.
func appendASCIILines(out, data []byte, runs []span, lim, off, maxLen uint64, f *decFmt) ([]byte, int) {
	w := f.w
	for k, sp := range runs {
		if sp.start > lim || sp.end == extEnd {
			return out, k
		}
		s, tl := int(sp.start-off), int(min(sp.end-sp.start, maxLen))
		n := len(out)
		need := 16 + 9 + 16 + tl + 1
		if cap(out)-n < need {
			out = slices.Grow(out, need)
		}
		b := out[n : n+need]
		// f.put, by hand: a call per line costs more than the line.
		l := sp.start - f.hi
		if l >= 1e8 {
			f.setHi(sp.start)
			l = sp.start - f.hi
		}
		binary.LittleEndian.PutUint64(b, f.prefix)
		binary.LittleEndian.PutUint64(b[f.off:], (digits8(l)^f.xor)>>(f.shift&63))
		binary.LittleEndian.PutUint64(b[w:], tagASCII)
		b[w+8] = ' '
		t := b[w+9:]
		if tl <= 16 && s+16 <= len(data) {
			// Two words, whatever the length: the newline and the next
			// line overwrite what follows the text.
			src := data[s : s+16]
			binary.LittleEndian.PutUint64(t, binary.LittleEndian.Uint64(src))
			binary.LittleEndian.PutUint64(t[8:], binary.LittleEndian.Uint64(src[8:]))
		} else {
			copy(t, data[s:s+tl])
		}
		t[tl] = '\n'
		out = out[:n+w+10+tl]
	}
	return out, len(runs)
}

// appendUTF16Line appends the line of the UTF-16LE text of tl characters
// at data[s:] at offset v, formatted by f.
func appendUTF16Line(out, data []byte, s, tl int, v uint64, f *decFmt) []byte {
	n := len(out)
	need := 16 + 9 + tl + 1
	if cap(out)-n < need {
		out = slices.Grow(out, need)
	}
	b := out[n : n+need]
	f.put(b, v)
	w := f.w
	binary.LittleEndian.PutUint64(b[w:], tagUTF16)
	b[w+8] = ' '
	narrow(b[w+9:], data[s:], tl)
	b[w+9+tl] = '\n'
	return out[:n+w+10+tl]
}

// appendLineSlow is appendLine for texts in the arena.
func appendLineSlow(out []byte, cs *chunkScan, r *rec, base int) []byte {
	var num [24]byte
	d := strconv.AppendUint(num[:0], r.off, base)
	if len(d) < 7 {
		out = append(out, spaces[:7-len(d)]...)
	}
	out = append(out, d...)
	if r.enc == ASCII {
		out = append(out, " ascii   "...)
	} else {
		out = append(out, " utf16le "...)
	}
	out = cs.appendText(out, r)
	return append(out, '\n')
}
