// Package strings finds printable ASCII and UTF-16LE strings in evidence, in
// one pass over all cores, with the rules of GNU strings.
//
// A string is a run of at least MinLen printable characters: bytes 0x20..0x7e
// and tab (with AllWhitespace, also \n \v \f \r, as GNU's -w). A UTF-16LE
// string is a run of 16-bit little-endian code units whose high byte is zero
// and whose low byte is printable, at an even or an odd offset, as GNU's
// strings -e l. The view's data ranges are read in parallel chunks
// (pkg/scan); strings that cross a chunk's edge are found exactly once, and
// results come in offset order. A string never spans two data ranges.
package strings

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// Encoding is a set of character encodings to look for.
type Encoding uint8

// Encodings.
const (
	ASCII   Encoding = 1 << iota // single 7-bit bytes
	UTF16LE                      // 16-bit little-endian code units < 0x80
	Both    = ASCII | UTF16LE
)

func (e Encoding) String() string {
	switch e {
	case ASCII:
		return "ascii"
	case UTF16LE:
		return "utf16le"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// ParseEncoding accepts "ascii", "utf16le" and "both" (and GNU's "s" and
// "l").
func ParseEncoding(s string) (Encoding, error) {
	switch s {
	case "ascii", "s":
		return ASCII, nil
	case "utf16le", "l":
		return UTF16LE, nil
	case "both", "":
		return Both, nil
	}
	return 0, fmt.Errorf("unknown encoding %q (want ascii, utf16le or both)", s)
}

// DefaultMinLen is GNU strings' default minimum length.
const DefaultMinLen = 4

// DefaultChunkSize is the chunk size of a scan when Options.Scan does not
// set one: as fast as larger chunks here, and half the memory of 4 MiB ones.
const DefaultChunkSize = 1 << 20

// MaxText is the most characters of one string that are kept (and
// printed): a run longer than 64 Mi characters is cut, where GNU strings
// would print it whole.
const MaxText = 64 << 20

// Options select what is a string and how the view is read. The zero value
// finds strings of at least 4 characters in both encodings.
type Options struct {
	// MinLen is the minimum length in characters (DefaultMinLen when 0).
	MinLen int
	// Encodings to look for (Both when 0).
	Encodings Encoding
	// AllWhitespace makes \n, \v, \f and \r printable too, as GNU's -w.
	AllWhitespace bool
	// MaxLen keeps only the first MaxLen characters of each string's text
	// (String.Len still tells the whole length); MaxText when 0. It bounds
	// the memory a single huge run (hostile or not) can take.
	MaxLen int
	// Scan tunes the parallel scan (chunk size, workers, progress).
	// Lookbehind and Overlap are set by this package.
	Scan scan.Options
	// ReadError, when set, is called in offset order for each read error;
	// the scan goes on with the rest of the view. When nil, read errors are
	// ignored (what could be read is scanned).
	ReadError func(err error)
}

func (o Options) normalized() (Options, error) {
	if o.MinLen == 0 {
		o.MinLen = DefaultMinLen
	}
	if o.MinLen < 1 {
		return o, fmt.Errorf("minimum length %d: must be at least 1", o.MinLen)
	}
	if o.Encodings == 0 {
		o.Encodings = Both
	}
	if o.Encodings&^Both != 0 {
		return o, fmt.Errorf("unknown encoding set %d", o.Encodings)
	}
	if o.MaxLen <= 0 || o.MaxLen > MaxText {
		o.MaxLen = MaxText
	}
	if o.Scan.ChunkSize <= 0 {
		o.Scan.ChunkSize = DefaultChunkSize
	}
	o.Scan.Lookbehind = 8
	if o.Scan.Overlap <= 0 {
		o.Scan.Overlap = scan.DefaultOverlap
	}
	o.Scan.Overlap = (o.Scan.Overlap + 1) &^ 1
	return o, nil
}

// String is one string found in the view.
type String struct {
	// Off is the view offset of the string's first byte.
	Off uint64
	// Enc is ASCII or UTF16LE.
	Enc Encoding
	// Len is the length of the whole string in characters.
	Len uint64
	// Text holds the characters (at most Options.MaxLen of them), one byte
	// each. It is only valid during the callback.
	Text []byte
}

// Scan calls fn for each string of the view, in offset order (at equal
// offsets, ASCII first), from the calling goroutine. It stops at the first
// error from fn or when ctx is canceled, and returns that error.
func Scan(ctx context.Context, v addrspace.View, opt Options, fn func(String) error) error {
	opt, err := opt.normalized()
	if err != nil {
		return err
	}
	batches := newFreeList(3*workers(opt)+2, func() *batch { return new(batch) })
	return run(ctx, v, opt, func(cs *chunkScan) *batch {
		b := batches.get()
		b.reset(cs)
		var r rec
		strs, ends, text := b.strs, b.ends, b.text // locals: no write barriers
		for m := cs.merge(); m.next(&r); {
			strs = append(strs, String{Off: r.off, Enc: r.enc, Len: r.chars})
			text = cs.appendText(text, &r)
			ends = append(ends, len(text))
		}
		b.strs, b.ends, b.text = strs, ends, text
		from := 0
		for i, end := range b.ends {
			b.strs[i].Text = b.text[from:end:end]
			from = end
		}
		return b
	}, func(b *batch) error {
		defer batches.put(b)
		for _, s := range b.strs {
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	})
}

// batch is the strings of one chunk, with their texts.
type batch struct {
	strs []String
	ends []int
	text []byte
	errs []error
}

func (b *batch) reset(cs *chunkScan) {
	b.strs, b.ends, b.text = b.strs[:0], b.ends[:0], b.text[:0]
	b.errs = append(b.errs[:0], cs.errs...)
}

func (b *batch) readErrors() []error { return b.errs }

var errStop = errors.New("stop")

// All returns an iterator over the strings of the view, in offset order.
// A failure ends the sequence with a zero String and the error. String.Text
// is only valid until the next iteration.
func All(ctx context.Context, v addrspace.View, opt Options) iter.Seq2[String, error] {
	return func(yield func(String, error) bool) {
		err := Scan(ctx, v, opt, func(s String) error {
			if !yield(s, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(String{}, err)
		}
	}
}
