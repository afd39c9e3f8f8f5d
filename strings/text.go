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
		nd := 0
		if base == 10 && c.Hi > c.Lo {
			if a, b := ndigits(c.BodyOff(), 10), ndigits(c.Off+uint64(c.Hi)-1, 10); a == b && a <= 16 {
				nd = a
			}
		}
		maxLen := uint64(cs.opt.MaxLen)
		for {
			// Most lines are ASCII runs before the next UTF-16LE one.
			if m.i < len(m.a) && m.a[m.i].start <= m.lim && m.a[m.i].end != extEnd {
				sp := m.a[m.i]
				m.i++
				if nd > 0 {
					s := sp.start - c.Off
					out = appendASCIILine(out, c.Data[s:s+min(sp.end-sp.start, maxLen)], sp.start, nd)
					continue
				}
				r = rec{off: sp.start, chars: sp.end - sp.start, enc: ASCII}
			} else if !m.next(&r) {
				break
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
		putDecimal(b, v, nd)
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

// appendASCIILine is appendLine for an ASCII text and a decimal offset of
// nd digits (at most 16).
func appendASCIILine(out, text []byte, v uint64, nd int) []byte {
	tl := len(text)
	n := len(out)
	need := 24 + 9 + tl + 1
	if cap(out)-n < need {
		out = slices.Grow(out, need)
	}
	b := out[n : n+need]
	w := max(nd, 7)
	putDecimal(b, v, nd)
	binary.LittleEndian.PutUint64(b[w:], tagASCII)
	b[w+8] = ' '
	copy(b[w+9:], text)
	b[w+9+tl] = '\n'
	return out[:n+w+10+tl]
}

// putDecimal writes v, of nd <= 16 digits, right-aligned in max(nd, 7)
// columns at the start of b (which has room for 16 bytes).
func putDecimal(b []byte, v uint64, nd int) {
	switch {
	case nd <= 8:
		x := digits8(v) ^ zeroesToSpaces(8-nd)
		if nd == 8 {
			binary.LittleEndian.PutUint64(b, x)
		} else {
			binary.LittleEndian.PutUint64(b, x>>8) // 7 columns; b[7] is rewritten after
		}
	case nd <= 10:
		hi := pairs[uint8(v/1e8)] // v < 1e10
		if nd == 9 {
			b[0] = byte(hi >> 8)
		} else {
			binary.LittleEndian.PutUint16(b, hi)
		}
		binary.LittleEndian.PutUint64(b[nd-8:], digits8(v%1e8))
	default:
		// The leading digits, shifted so that the first one lands at b[0].
		binary.LittleEndian.PutUint64(b, digits8(v/1e8)>>(8*(16-nd)&63))
		binary.LittleEndian.PutUint64(b[nd-8:], digits8(v%1e8))
	}
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
