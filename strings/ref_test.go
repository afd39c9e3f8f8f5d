package strings

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// found is a string as tests compare them.
type found struct {
	Off  uint64
	Enc  Encoding
	Text string
}

func (f found) String() string { return fmt.Sprintf("%d %s %q", f.Off, f.Enc, f.Text) }

// gnuGraphic is STRING_ISGRAPHIC of binutils' strings.c for a character
// value c: tab or 0x20..0x7e, or any isspace character with -w.
func gnuGraphic(c int, ws bool) bool {
	if c < 0 || c > 255 {
		return false
	}
	if c == '\t' || (c >= 0x20 && c <= 0x7e) {
		return true
	}
	return ws && (c == ' ' || (c >= '\t' && c <= '\r'))
}

// reference follows binutils' print_strings loop one character at a time:
// try to read min graphic characters from address; on a non-graphic one,
// unget all but its first byte and try again; once min are read, extend to
// the first non-graphic character. It is deliberately simple and slow: the
// parallel kernel is checked against it.
func reference(data []byte, base uint64, enc Encoding, min int, ws bool) []found {
	width := 1
	if enc == UTF16LE {
		width = 2
	}
	getChar := func(pos int) (c int, next int, eof bool) {
		if pos+width > len(data) {
			return 0, pos, true
		}
		if width == 1 {
			return int(data[pos]), pos + 1, false
		}
		return int(data[pos]) | int(data[pos+1])<<8, pos + 2, false
	}
	var out []found
	addr := 0
	for {
		start := addr
		var buf []byte
		ok := true
		for len(buf) < min {
			c, next, eof := getChar(addr)
			if eof {
				return out
			}
			addr = next
			if !gnuGraphic(c, ws) {
				addr -= width - 1 // unget_part_char
				ok = false
				break
			}
			buf = append(buf, byte(c))
		}
		if !ok {
			continue
		}
		for {
			c, next, eof := getChar(addr)
			if eof {
				break
			}
			addr = next
			if !gnuGraphic(c, ws) {
				addr -= width - 1
				break
			}
			buf = append(buf, byte(c))
		}
		out = append(out, found{base + uint64(start), enc, string(buf)})
	}
}

// referenceView runs the reference on each data range of v and merges the
// encodings in the order Scan promises.
func referenceView(v addrspace.View, data []byte, opt Options) []found {
	opt, _ = opt.normalized()
	var out []found
	for _, r := range scan.Ranges(v) {
		b := data[r.Start:r.End()]
		var a, u []found
		if opt.Encodings&ASCII != 0 {
			a = reference(b, r.Start, ASCII, opt.MinLen, opt.AllWhitespace)
		}
		if opt.Encodings&UTF16LE != 0 {
			u = reference(b, r.Start, UTF16LE, opt.MinLen, opt.AllWhitespace)
		}
		all := append(a, u...)
		slices.SortStableFunc(all, func(x, y found) int {
			if x.Off != y.Off {
				return cmpU64(x.Off, y.Off)
			}
			return int(x.Enc) - int(y.Enc)
		})
		out = append(out, all...)
	}
	if opt.MaxLen > 0 {
		for i := range out {
			if len(out[i].Text) > opt.MaxLen {
				out[i].Text = out[i].Text[:opt.MaxLen]
			}
		}
	}
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// collect runs Scan and keeps what it found, checking Len against the text
// when the text is whole.
func collect(t testing.TB, v addrspace.View, opt Options) []found {
	t.Helper()
	var out []found
	err := Scan(context.Background(), v, opt, func(s String) error {
		if opt.MaxLen == 0 && uint64(len(s.Text)) != s.Len {
			return fmt.Errorf("string at %d: Len %d, text %d bytes", s.Off, s.Len, len(s.Text))
		}
		out = append(out, found{s.Off, s.Enc, string(s.Text)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diff(t testing.TB, what string, got, want []found) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	g, w := "(end)", "(end)"
	if i < len(got) {
		g = got[i].String()
	}
	if i < len(want) {
		w = want[i].String()
	}
	t.Fatalf("%s: %d strings, want %d; first difference at #%d:\n got  %s\n want %s", what, len(got), len(want), i, g, w)
}

func view(data []byte) addrspace.View {
	return addrspace.Whole(bytes.NewReader(data), int64(len(data)))
}
