package strings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	gostrings "strings"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// genMemory makes memory-like bytes: zero stretches, ASCII runs of every
// length around the usual minimums, UTF-16LE runs at even and odd offsets,
// whitespace, bytes >= 0x80 and random noise.
func genMemory(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+256)
	printable := func() byte {
		switch rng.IntN(20) {
		case 0:
			return '\t'
		case 1:
			return byte("\n\v\f\r"[rng.IntN(4)])
		}
		return byte(0x20 + rng.IntN(0x5f))
	}
	for len(b) < n {
		switch rng.IntN(8) {
		case 0:
			b = append(b, make([]byte, rng.IntN(200))...)
		case 1, 2:
			for range rng.IntN(12) + rng.IntN(2)*rng.IntN(300) {
				b = append(b, printable())
			}
		case 3, 4:
			if rng.IntN(2) == 0 {
				b = append(b, byte(rng.IntN(256)))
			}
			for range rng.IntN(12) + rng.IntN(2)*rng.IntN(300) {
				b = append(b, printable(), 0)
			}
		case 5:
			for range rng.IntN(40) {
				b = append(b, byte(rng.IntN(256)))
			}
		case 6:
			b = append(b, byte(0x7f+rng.IntN(0x81)))
		case 7:
			b = append(b, 0)
		}
	}
	return b[:n]
}

// kernels runs f with the portable kernel and, where the CPU has one, the
// SIMD kernel.
func kernels(t *testing.T, f func(t *testing.T)) {
	t.Run("portable", func(t *testing.T) {
		defer usePortable()()
		f(t)
	})
	for _, m := range simdMasks {
		t.Run(m.name, func(t *testing.T) {
			saved := fastMasks
			fastMasks = m.f
			defer func() { fastMasks = saved }()
			f(t)
		})
	}
	if len(simdMasks) == 0 {
		t.Log("no SIMD kernel on this CPU")
	}
}

// usePortable turns the SIMD kernel off and returns what turns it back on.
func usePortable() func() {
	saved := fastMasks
	fastMasks = nil
	return func() { fastMasks = saved }
}

// TestMasksAgree checks the SIMD masks against the portable ones on every
// byte value at every position and on random blocks.
func TestMasksAgree(t *testing.T) {
	if len(simdMasks) == 0 {
		t.Skip("no SIMD kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([]byte, 64*300)
	for i := range 256 * 64 {
		data[i] = byte(i/64 + i)
	}
	for i := 256 * 64; i < len(data); i++ {
		data[i] = byte(rng.IntN(256))
	}
	for _, ws := range []bool{false, true} {
		c := newClassifier(ws)
		p1, z1 := make([]uint64, 300), make([]uint64, 300)
		portableMasks(&c, data, p1, z1)
		for _, m := range simdMasks {
			p2, z2 := make([]uint64, 300), make([]uint64, 300)
			m.f(&c, data, p2, z2)
			for i := range p1 {
				if p1[i] != p2[i] || z1[i] != z2[i] {
					t.Fatalf("%s ws=%v block %d: portable %016x %016x, simd %016x %016x", m.name, ws, i, p1[i], z1[i], p2[i], z2[i])
				}
			}
		}
		// And the portable masks against the byte table.
		for i, b := range data {
			if got := p1[i/64]>>(i%64)&1 == 1; got != c.table[b] {
				t.Fatalf("ws=%v byte %#x: printable %v", ws, b, got)
			}
			if got := z1[i/64]>>(i%64)&1 == 1; got != (b == 0) {
				t.Fatalf("byte %#x: zero %v", b, got)
			}
		}
	}
}

func TestTinyExamples(t *testing.T) {
	data := []byte("xyzA\x00B\x00C\x00D\x00\x01abc\tde\nfgh\x7fijkl\x80mnop")
	// Expected lines checked by hand against GNU strings 2.40:
	// strings -a -t d (ASCII) and strings -a -e l -t d (UTF-16LE).
	want := []found{
		{0, ASCII, "xyzA"}, {3, UTF16LE, "ABCD"}, {12, ASCII, "abc\tde"},
		{23, ASCII, "ijkl"}, {28, ASCII, "mnop"},
	}
	diff(t, "default", collect(t, view(data), Options{}), want)
	diff(t, "reference", referenceView(view(data), data, Options{}), want)
}

// TestAgainstReference compares the parallel scan with the one-character-at-
// a-time reference on generated memory, for many chunk sizes (so that runs
// straddle chunk edges, lookahead ends and continuation reads) and options.
func TestAgainstReference(t *testing.T) { kernels(t, testAgainstReference) }

func testAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := genMemory(rng, 200_000)
	v := view(data)
	for _, o := range []Options{
		{},
		{MinLen: 1},
		{MinLen: 2, AllWhitespace: true},
		{MinLen: 3, Encodings: UTF16LE},
		{MinLen: 5, Encodings: ASCII},
		{MinLen: 8, MaxLen: 10},
		{MinLen: 33},
		{MinLen: 40, AllWhitespace: true},
		{MinLen: 70},
	} {
		want := referenceView(v, data, o)
		for _, sc := range []scan.Options{
			{},
			{ChunkSize: 64, Overlap: 2, Workers: 3},
			{ChunkSize: 100, Overlap: 7, Workers: 2},
			{ChunkSize: 1000, Overlap: 64, Workers: 4},
			{ChunkSize: 4097, Overlap: 128},
		} {
			opt := o
			opt.Scan = sc
			diff(t, fmt.Sprintf("%+v", opt), collect(t, v, opt), want)
		}
	}
}

// TestPathological checks inputs that are one huge run, no run at all, or a
// run boundary every byte, with small chunks.
func TestPathological(t *testing.T) { kernels(t, testPathological) }

func testPathological(t *testing.T) {
	const n = 50_000
	inputs := map[string][]byte{
		"all printable": bytes.Repeat([]byte("a"), n),
		"all zero":      make([]byte, n),
		"all 0xff":      bytes.Repeat([]byte{0xff}, n),
		"utf16 even":    bytes.Repeat([]byte("a\x00"), n/2),
		"utf16 odd":     append([]byte{0x80}, bytes.Repeat([]byte("a\x00"), n/2)...),
		"alternating":   bytes.Repeat([]byte("a\x01"), n/2),
		"pairs":         bytes.Repeat([]byte("ab\x01"), n/3),
		"quads":         bytes.Repeat([]byte("abcd\x00"), n/5),
		"utf16 quads":   bytes.Repeat([]byte("a\x00b\x00c\x00d\x00\x00\x00"), n/10),
		"utf16 shifts":  bytes.Repeat([]byte("a\x00b\x00c\x00d\x00\x01"), n/9),
		"tabs":          bytes.Repeat([]byte("\t"), n),
		"all ascii":     allBytes(n, 0x80),
		"all bytes":     allBytes(n, 0x100),
	}
	for name, data := range inputs {
		for _, o := range []Options{{}, {MinLen: 1}, {MinLen: 5, MaxLen: 3}, {MinLen: 100, AllWhitespace: true}} {
			want := referenceView(view(data), data, o)
			for _, sc := range []scan.Options{{}, {ChunkSize: 64, Overlap: 2}, {ChunkSize: 999, Overlap: 10, Workers: 3}} {
				opt := o
				opt.Scan = sc
				diff(t, fmt.Sprintf("%s %+v", name, opt), collect(t, view(data), opt), want)
			}
		}
	}
}

func allBytes(n, mod int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % mod)
	}
	return b
}

// TestRangesAreSeparate checks that a string never spans two data ranges,
// even adjacent ones, and that gaps are not read.
func TestRangesAreSeparate(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), 100)
	v := addrspace.View{R: bytes.NewReader(data), Size: int64(len(data)), Data: []addrspace.Range{
		{Start: 2, Size: 10}, {Start: 12, Size: 3}, {Start: 15, Size: 100}, {Start: 200, Size: 5000},
	}}
	want := []found{{2, ASCII, "cdefghabcd"}, {15, ASCII, string(data[15:115])}, {200, ASCII, string(data[200:])}}
	for _, sc := range []scan.Options{{}, {ChunkSize: 7, Overlap: 2}} {
		diff(t, "ranges", collect(t, v, Options{Scan: sc}), want)
	}
	diff(t, "reference", referenceView(v, data, Options{}), want)
}

// failAt fails every read that touches offset bad.
type failAt struct {
	data []byte
	bad  int64
}

func (f failAt) ReadAt(p []byte, off int64) (int, error) {
	if off <= f.bad && f.bad < off+int64(len(p)) {
		return copy(p, f.data[off:f.bad]), errors.New("bad sector")
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

func TestReadErrorsAreReported(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefg\x00"), 2000)
	v := addrspace.Whole(failAt{data, 5000}, int64(len(data)))
	var errs []error
	got := map[found]bool{}
	err := Scan(context.Background(), v, Options{ReadError: func(err error) { errs = append(errs, err) }, Scan: scan.Options{ChunkSize: 1024}},
		func(s String) error {
			got[found{s.Off, s.Enc, string(s.Text)}] = true
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 {
		t.Fatalf("%d read errors reported, want 1: %v", len(errs), errs)
	}
	// The chunk whose body holds the bad offset (4096..5120) sees zeros from
	// there to the end of the page; every string elsewhere is found.
	for off := 0; off < len(data); off += 8 {
		want := off+7 <= 5000 || off >= 5120
		if f := (found{uint64(off), ASCII, "abcdefg"}); got[f] != want {
			t.Errorf("string at %d: found %v, want %v", off, got[f], want)
		}
	}
}

func TestCancel(t *testing.T) {
	data := bytes.Repeat([]byte("abcd\x00"), 100_000)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Scan(ctx, view(data), Options{Scan: scan.Options{ChunkSize: 4096}}, func(String) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v after %d strings", err, n)
	}
}

func TestAllIterator(t *testing.T) {
	data := []byte("hello\x00w\x00o\x00r\x00l\x00d\x00\x00\x00again")
	var got []found
	for s, err := range All(context.Background(), view(data), Options{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, found{s.Off, s.Enc, string(s.Text)})
		if len(got) == 2 {
			break
		}
	}
	// "o\x00" at offset 4 is the first UTF-16LE character.
	diff(t, "All", got, []found{{0, ASCII, "hello"}, {4, UTF16LE, "oworld"}})
}

func TestWriteText(t *testing.T) {
	data := append(bytes.Repeat([]byte{0}, 1234567), []byte("xyzA\x00B\x00C\x00D\x00")...)
	for radix, want := range map[byte]string{
		'd': "1234567 ascii   xyzA\n1234570 utf16le ABCD\n",
		'x': " 12d687 ascii   xyzA\n 12d68a utf16le ABCD\n",
		'o': "4553207 ascii   xyzA\n4553212 utf16le ABCD\n",
	} {
		var buf bytes.Buffer
		if err := WriteText(context.Background(), view(data), Options{}, &buf, radix); err != nil {
			t.Fatal(err)
		}
		if buf.String() != want {
			t.Errorf("radix %c: got %q, want %q", radix, buf.String(), want)
		}
	}
	if err := WriteText(context.Background(), view(data), Options{}, &bytes.Buffer{}, 'q'); err == nil {
		t.Error("radix q accepted")
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{MinLen: -1}, {Encodings: 4}} {
		if err := Scan(context.Background(), view(nil), o, func(String) error { return nil }); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := ParseEncoding("ebcdic"); err == nil {
		t.Error("ebcdic accepted")
	}
}

// TestWriteTextMatchesReference formats the reference's strings with
// fmt (GNU's "%7d " style) and compares with WriteText's lines, for every
// radix, long and short texts, texts at the very end of chunks and data,
// and both kernels.
func TestWriteTextMatchesReference(t *testing.T) { kernels(t, testWriteText) }

func testWriteText(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	data := genMemory(rng, 100_000)
	data = append(data, "tail\x00e\x00n\x00d\x00"...)
	data = append(data, bytes.Repeat([]byte("x"), 70)...)
	v := view(data)
	for _, o := range []Options{{}, {MinLen: 1, MaxLen: 65}, {MinLen: 6, MaxLen: 3, AllWhitespace: true}} {
		for _, radix := range []byte{'d', 'x', 'o'} {
			var want bytes.Buffer
			for _, f := range referenceView(v, data, o) {
				tag := "ascii"
				if f.Enc == UTF16LE {
					tag = "utf16le"
				}
				fmt.Fprintf(&want, "%7"+string(radix)+" %-7s %s\n", f.Off, tag, f.Text)
			}
			for _, sc := range []scan.Options{{}, {ChunkSize: 100, Overlap: 8, Workers: 3}} {
				opt := o
				opt.Scan = sc
				var got bytes.Buffer
				if err := WriteText(context.Background(), v, opt, &got, radix); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					g, w := got.String(), want.String()
					i := 0
					for i < len(g) && i < len(w) && g[i] == w[i] {
						i++
					}
					t.Fatalf("%+v radix %c: output differs at byte %d: got %q, want %q", opt, radix, i, g[max(0, i-40):min(len(g), i+40)], w[max(0, i-40):min(len(w), i+40)])
				}
			}
		}
	}
}

// TestOffsets checks the offset column against strconv for values around
// every power of the radix and random ones.
func TestOffsets(t *testing.T) {
	cs := &chunkScan{opt: &Options{MaxLen: MaxText}, c: &scan.Chunk{Data: []byte("abcd")}}
	vals := []uint64{0, ^uint64(0), ^uint64(0) - 1}
	for p := uint64(1); p < 1<<62; p *= 2 {
		vals = append(vals, p-1, p, p+1)
	}
	for p := uint64(1); p <= 1e19; p *= 10 {
		vals = append(vals, p-1, p, p+1)
		if p == 1e19 {
			break
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 10000 {
		vals = append(vals, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range vals {
		for _, base := range []int{10, 16, 8} {
			cs.c.Off = v
			r := rec{off: v, chars: 4, enc: ASCII}
			got := string(appendLine([]byte("x"), cs, &r, base))
			num := strconv.FormatUint(v, base)
			want := "x" + gostrings.Repeat(" ", max(0, 7-len(num))) + num + " ascii   abcd\n"
			if got != want {
				t.Fatalf("offset %d base %d: %q, want %q", v, base, got, want)
			}
		}
	}
}

func TestNarrow(t *testing.T) {
	src := make([]byte, 400)
	for i := range 200 {
		src[2*i] = byte(0x20 + i%0x5f)
	}
	for n := 0; n <= 200; n++ {
		got, want := make([]byte, n), make([]byte, n)
		narrow(got, src, n)
		narrowGo(want, src, n)
		for i := range want {
			if want[i] != src[2*i] {
				t.Fatalf("narrowGo n=%d: byte %d", n, i)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("narrow n=%d: %q, want %q", n, got, want)
		}
	}
}

// TestDecFmt checks the per-chunk decimal offsets against strconv on
// increasing offsets of every digit count, across multiples of 1e8.
func TestDecFmt(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for nd := 1; nd <= 16; nd++ {
		lo, hi := pow10[nd-1], pow10[nd]-1
		if nd == 1 {
			lo = 0
		}
		for _, start := range []uint64{lo, max(lo, 3e8-1000), max(lo, 1e9-500), max(lo, hi-min(hi, 5000))} {
			var f decFmt
			f.init(nd, start)
			for v := start; v <= hi && v-start < 1e6; v += uint64(rng.IntN(300)) {
				b := make([]byte, 16)
				f.put(b, v)
				num := strconv.FormatUint(v, 10)
				want := gostrings.Repeat(" ", max(0, 7-len(num))) + num
				if got := string(b[:len(want)]); got != want {
					t.Fatalf("nd %d from %d: %d written as %q", nd, start, v, got)
				}
			}
		}
	}
}
