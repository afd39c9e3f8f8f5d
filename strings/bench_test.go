package strings

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

var benchData = sync.OnceValue(func() []byte {
	// REMNANT_BENCH_CORPUS names a corpus file (bench/mkcorpus) whose first
	// 256 MiB are used instead of generated data.
	if f := os.Getenv("REMNANT_BENCH_CORPUS"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		return b[:min(len(b), 256<<20)]
	}
	// Memory-like: a third zero pages, the rest generated runs and noise.
	rng := rand.New(rand.NewPCG(5, 6))
	b := genMemory(rng, 32<<20)
	for p := 0; p+4096 <= len(b); p += 4096 {
		if rng.IntN(3) == 0 {
			clear(b[p : p+4096])
		}
	}
	return b
})

// BenchmarkWriteText is the CLI's text path: both encodings, lines
// formatted by all workers, written to io.Discard.
func BenchmarkWriteText(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := WriteText(context.Background(), memView(data), Options{}, io.Discard, 'd'); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteText1 is WriteText on one worker: the cost per core.
func BenchmarkWriteText1(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := WriteText(context.Background(), memView(data), Options{Scan: scan.Options{Workers: 1}}, io.Discard, 'd'); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScan is the library callback path.
func BenchmarkScan(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		if err := Scan(context.Background(), memView(data), Options{}, func(s String) error { n += len(s.Text); return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKernel is one core finding runs, without output.
func BenchmarkKernel(b *testing.B) {
	data := benchData()
	opt, _ := Options{}.normalized()
	k := newKernel(&opt)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for off := 0; off < len(data); off += scan.DefaultChunkSize {
			k.reset()
			k.scan(data[off:min(off+scan.DefaultChunkSize, len(data))], uint64(off), true)
		}
	}
}

// BenchmarkWriteTextFile is what `remnant strings --raw FILE > out` does: the
// whole REMNANT_BENCH_CORPUS file mapped (or read, with
// REMNANT_BENCH_READ=1), lines written to a file.
func BenchmarkWriteTextFile(b *testing.B) {
	name := os.Getenv("REMNANT_BENCH_CORPUS")
	if name == "" {
		b.Skip("REMNANT_BENCH_CORPUS not set")
	}
	f, err := os.Open(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	v := addrspace.Whole(f, st.Size())
	if os.Getenv("REMNANT_BENCH_READ") == "" {
		m, err := scan.Map(f)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		v.R = m
	}
	out, err := os.Create(filepath.Join(b.TempDir(), "out"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	b.SetBytes(st.Size())
	for b.Loop() {
		if err := out.Truncate(0); err != nil {
			b.Fatal(err)
		}
		if _, err := out.Seek(0, 0); err != nil {
			b.Fatal(err)
		}
		if err := WriteText(context.Background(), v, Options{}, out, 'd'); err != nil {
			b.Fatal(err)
		}
	}
}

// memView is a view of data whose chunks are slices of it, as of a mapped
// file (scan.Slicer).
func memView(data []byte) addrspace.View {
	return addrspace.Whole(memSlicer{bytes.NewReader(data), data}, int64(len(data)))
}

type memSlicer struct {
	*bytes.Reader
	b []byte
}

func (m memSlicer) Slice(off int64, n int) []byte {
	if off < 0 || n < 0 || off > int64(len(m.b)) || int64(n) > int64(len(m.b))-off {
		return nil
	}
	return m.b[off : off+int64(n)]
}
