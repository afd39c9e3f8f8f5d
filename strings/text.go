package strings

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

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
	return run(ctx, v, opt, func(cs *chunkScan) *lines {
		l := linesPool.Get().(*lines)
		l.out = l.out[:0]
		l.errs = append(l.errs[:0], cs.errs...)
		cs.each(func(r *rec) {
			l.out = appendLine(l.out, cs, r, base)
		})
		return l
	}, func(l *lines) error {
		defer linesPool.Put(l)
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

var linesPool = sync.Pool{New: func() any { return new(lines) }}

const spaces = "                "

func appendLine(out []byte, cs *chunkScan, r *rec, base int) []byte {
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
