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
		l.out = l.out[:0]
		l.errs = append(l.errs[:0], cs.errs...)
		var r rec
		for m := cs.merge(); m.next(&r); {
			l.out = appendLine(l.out, cs, &r, base)
		}
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

const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

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
// check and copies short texts a word at a time.
func appendLine(out []byte, cs *chunkScan, r *rec, base int) []byte {
	chars := r.chars
	if m := uint64(cs.opt.MaxLen); m > 0 && chars > m {
		chars = m
	}
	if r.ext || chars > 64 {
		return appendLineSlow(out, cs, r, base)
	}
	tl := int(chars)
	n := len(out)
	need := 24 + 9 + 64 + 8 + 1
	if cap(out)-n < need {
		out = slices.Grow(out, need)
	}
	b := out[n : n+need]

	// Offset.
	v := r.off
	nd := ndigits(v, base)
	w := max(nd, 7)
	for i := 0; i < w-nd; i++ {
		b[i] = ' '
	}
	i := w
	switch base {
	case 10:
		for v >= 100 {
			q := v / 100
			d := (v - q*100) * 2
			b[i-1], b[i-2] = digits2[d+1], digits2[d]
			i -= 2
			v = q
		}
		if v >= 10 {
			b[i-1], b[i-2] = digits2[2*v+1], digits2[2*v]
		} else {
			b[i-1] = byte('0' + v)
		}
	case 16:
		for ; nd > 0; nd-- {
			i--
			b[i] = "0123456789abcdef"[v&15]
			v >>= 4
		}
	default:
		for ; nd > 0; nd-- {
			i--
			b[i] = byte('0' + v&7)
			v >>= 3
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

	// Text, a word at a time while the source has room for whole words.
	data := cs.c.Data
	s := int(r.off - cs.c.Off)
	if r.enc == ASCII {
		if s+tl+8 <= len(data) {
			for j := 0; j < tl; j += 8 {
				binary.LittleEndian.PutUint64(b[p+j:], binary.LittleEndian.Uint64(data[s+j:]))
			}
		} else {
			copy(b[p:], data[s:s+tl])
		}
	} else {
		if s+2*tl+8 <= len(data) {
			for j := 0; j < tl; j += 4 {
				x := binary.LittleEndian.Uint64(data[s+2*j:])
				x = (x | x>>8) & 0x0000ffff0000ffff
				x = (x | x>>16) & 0x00000000ffffffff
				binary.LittleEndian.PutUint32(b[p+j:], uint32(x))
			}
		} else {
			for j := 0; j < tl; j++ {
				b[p+j] = data[s+2*j]
			}
		}
	}
	p += tl
	b[p] = '\n'
	return out[:n+p+1]
}

// appendLineSlow is appendLine for long texts and texts in the arena.
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
