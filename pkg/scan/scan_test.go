package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

type piece struct {
	seq                  int
	off                  uint64
	data                 []byte
	lo, hi               int
	rangeStart, rangeEnd bool
	err                  error
}

func collect(t *testing.T, v addrspace.View, opt Options) []piece {
	t.Helper()
	var got []piece
	err := Scan(context.Background(), v, opt, func(_ context.Context, c *Chunk) (piece, error) {
		return piece{c.Seq, c.Off, bytes.Clone(c.Data), c.Lo, c.Hi, c.AtRangeStart(), c.AtRangeEnd(), c.Err}, nil
	}, func(p piece) error {
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestChunksCoverRanges checks that chunk bodies tile every clipped range
// exactly once, in order, and that lookbehind and lookahead hold the bytes
// around the body without leaving the range.
func TestChunksCoverRanges(t *testing.T) {
	file := make([]byte, 10000)
	for i := range file {
		file[i] = byte(i * 7)
	}
	v := addrspace.View{R: bytes.NewReader(file), Size: int64(len(file)), Data: []addrspace.Range{
		{Start: 10, Size: 1000}, {Start: 1010, Size: 5}, {Start: 2000, Size: 3001},
		{Start: 4000, Size: 10},  // overlaps the previous range: clipped to nothing
		{Start: 9990, Size: 100}, // runs past the end of the file: clipped
	}}
	want := []addrspace.Range{{Start: 10, Size: 1000}, {Start: 1010, Size: 5}, {Start: 2000, Size: 3001}, {Start: 9990, Size: 10}}
	if got := Ranges(v); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Ranges = %v, want %v", got, want)
	}
	for _, opt := range []Options{
		{ChunkSize: 1},
		{ChunkSize: 7, Lookbehind: 3, Overlap: 5, Workers: 3},
		{ChunkSize: 256, Lookbehind: 2, Overlap: 1000, Workers: 2, InFlight: 2},
		{ChunkSize: 1 << 20, Overlap: 4},
	} {
		var done, total uint64
		opt.Progress = func(d, t uint64) { done, total = d, t }
		got := collect(t, v, opt)
		ri, pos := 0, want[0].Start
		for i, p := range got {
			if p.seq != i {
				t.Fatalf("%+v: chunk %d has seq %d", opt, i, p.seq)
			}
			if p.err != nil {
				t.Fatal(p.err)
			}
			r := want[ri]
			if p.off+uint64(p.lo) != pos {
				t.Fatalf("%+v: chunk %d body at %d, want %d", opt, i, p.off+uint64(p.lo), pos)
			}
			if !bytes.Equal(p.data, file[p.off:p.off+uint64(len(p.data))]) {
				t.Fatalf("%+v: chunk %d data differs from the file", opt, i)
			}
			if p.off < r.Start || p.off+uint64(len(p.data)) > r.End() {
				t.Fatalf("%+v: chunk %d [%d,%d) leaves range %v", opt, i, p.off, p.off+uint64(len(p.data)), r)
			}
			wantLo := min(opt.Lookbehind, int(pos-r.Start))
			if p.lo != wantLo {
				t.Fatalf("%+v: chunk %d lookbehind %d, want %d", opt, i, p.lo, wantLo)
			}
			body := min(uint64(opt.ChunkSize), r.End()-pos)
			if p.hi-p.lo != int(body) {
				t.Fatalf("%+v: chunk %d body %d bytes, want %d", opt, i, p.hi-p.lo, body)
			}
			end := pos + body
			if wantHi := min(uint64(opt.Overlap), r.End()-end); uint64(len(p.data)-p.hi) != wantHi {
				t.Fatalf("%+v: chunk %d lookahead %d, want %d", opt, i, len(p.data)-p.hi, wantHi)
			}
			if p.rangeStart != (p.off == r.Start) || p.rangeEnd != (p.off+uint64(len(p.data)) == r.End()) {
				t.Fatalf("%+v: chunk %d range edges wrong", opt, i)
			}
			pos = end
			if pos == r.End() {
				ri++
				if ri < len(want) {
					pos = want[ri].Start
				}
			}
		}
		if ri != len(want) {
			t.Fatalf("%+v: chunks stopped in range %d", opt, ri)
		}
		if done != 4016 || total != 4016 {
			t.Fatalf("%+v: progress %d/%d, want 4016/4016", opt, done, total)
		}
	}
}

func TestEmpty(t *testing.T) {
	v := addrspace.View{R: bytes.NewReader(nil), Size: 0, Data: []addrspace.Range{{Start: 0, Size: 100}}}
	if got := collect(t, v, Options{}); len(got) != 0 {
		t.Fatalf("%d chunks from an empty file", len(got))
	}
}

// errReader fails reads that touch [bad, bad+1).
type errReader struct {
	r   io.ReaderAt
	bad int64
}

func (e errReader) ReadAt(p []byte, off int64) (int, error) {
	if off <= e.bad && e.bad < off+int64(len(p)) {
		n, _ := e.r.ReadAt(p[:e.bad-off], off)
		return n, errors.New("bad sector")
	}
	return e.r.ReadAt(p, off)
}

func TestReadErrorReachesWork(t *testing.T) {
	file := bytes.Repeat([]byte("x"), 10000)
	v := addrspace.Whole(errReader{bytes.NewReader(file), 5000}, 10000)
	got := collect(t, v, Options{ChunkSize: 1000, Overlap: 4000, Lookbehind: 8})
	if len(got) != 10 {
		t.Fatalf("%d chunks, want 10", len(got))
	}
	for i, p := range got {
		// Chunks 1 to 4 read the bad page (zero-filled) in their lookahead; only chunk 5
		// holds it in its body and reports it.
		if (p.err != nil) != (i == 5) {
			t.Fatalf("chunk %d: err %v", i, p.err)
		}
		covers := p.off <= 5000 && 5000 < p.off+uint64(len(p.data))
		for j, b := range p.data {
			off := p.off + uint64(j)
			if wantZero := covers && off >= 5000 && off < 8192; (b == 0) != wantZero {
				t.Fatalf("chunk %d: byte at %d is %#x", i, off, b)
			}
		}
	}
	if !got[9].rangeEnd {
		t.Fatal("last chunk does not reach the range end")
	}
}

func TestStopOnErrors(t *testing.T) {
	file := make([]byte, 1<<20)
	v := addrspace.Whole(bytes.NewReader(file), int64(len(file)))
	opt := Options{ChunkSize: 1024, Workers: 4}
	boom := errors.New("boom")

	var calls atomic.Int64
	err := Scan(context.Background(), v, opt, func(_ context.Context, c *Chunk) (int, error) {
		calls.Add(1)
		if c.Seq == 100 {
			return 0, boom
		}
		return c.Seq, nil
	}, func(int) error { return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("work error: got %v", err)
	}
	if calls.Load() >= 1024 {
		t.Fatalf("scan went on after a work error (%d chunks)", calls.Load())
	}

	n := 0
	err = Scan(context.Background(), v, opt, func(_ context.Context, c *Chunk) (int, error) {
		return c.Seq, nil
	}, func(int) error {
		if n++; n == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 10 {
		t.Fatalf("deliver error: got %v after %d deliveries", err, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = Scan(ctx, v, opt, func(_ context.Context, c *Chunk) (int, error) {
		return c.Seq, nil
	}, func(int) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: got %v", err)
	}
}

// TestOrderUnderRandomDelays checks in-order delivery when workers finish
// out of order, with the in-flight bound respected.
func TestOrderUnderRandomDelays(t *testing.T) {
	file := make([]byte, 500)
	v := addrspace.Whole(bytes.NewReader(file), int64(len(file)))
	var live, peak atomic.Int64
	next := 0
	err := Scan(context.Background(), v, Options{ChunkSize: 3, Workers: 4, InFlight: 6}, func(_ context.Context, c *Chunk) (int, error) {
		if l := live.Add(1); l > peak.Load() {
			peak.Store(l)
		}
		for range rand.IntN(2000) {
			_ = rand.Int()
		}
		return c.Seq, nil
	}, func(s int) error {
		live.Add(-1)
		if s != next {
			return fmt.Errorf("got chunk %d, want %d", s, next)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != 167 {
		t.Fatalf("%d chunks delivered, want 167", next)
	}
	if peak.Load() > 6 {
		t.Fatalf("%d chunks in flight, bound is 6", peak.Load())
	}
}

func TestReadMoreStopsAtRangeEnd(t *testing.T) {
	file := []byte("0123456789abcdef")
	r := bytes.NewReader(file)
	c := Chunk{Range: addrspace.Range{Start: 2, Size: 10}}
	p := make([]byte, 8)
	n, err := c.ReadMore(r, p, 8)
	if err != nil || n != 4 || string(p[:n]) != "89ab" {
		t.Fatalf("ReadMore = %d %q %v", n, p[:n], err)
	}
	if n, err := c.ReadMore(r, p, 12); n != 0 || err != nil {
		t.Fatalf("ReadMore past the range = %d %v", n, err)
	}
	c.Range = addrspace.Range{Start: 0, Size: 100} // past the file's end
	if _, err := c.ReadMore(r, p, 12); err == nil {
		t.Fatal("short read past the file's end gave no error")
	}
}
