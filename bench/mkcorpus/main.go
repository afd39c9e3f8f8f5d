// Command mkcorpus writes a reproducible memory-like corpus for the strings
// benchmark: page-aligned regions of the system's binaries and libraries,
// text, the same text as UTF-16LE, zero pages and random bytes, in a mix
// drawn from a fixed seed. The same seed on the same system gives the same
// bytes.
//
//	go run ./bench/mkcorpus -o corpus.bin -size 1073741824
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf16"
)

const page = 4096

// source cycles through the contents of a sorted list of files.
type source struct {
	files []string
	i     int
	buf   []byte
}

func newSource(roots []string, keep func(path string, size int64) bool) *source {
	s := &source{}
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err == nil && keep(p, info.Size()) {
				s.files = append(s.files, p)
			}
			return nil
		})
	}
	slices.Sort(s.files)
	return s
}

// read returns the next n bytes of the concatenated files (cycling).
func (s *source) read(n int, conv func([]byte) []byte) []byte {
	for len(s.buf) < n && len(s.files) > 0 {
		b, err := os.ReadFile(s.files[s.i%len(s.files)])
		s.i++
		if err == nil {
			s.buf = append(s.buf, conv(b)...)
		}
		if s.i > 100*len(s.files) {
			break
		}
	}
	if len(s.buf) < n {
		return make([]byte, n)
	}
	out := s.buf[:n]
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = nil
	}
	return out
}

func same(b []byte) []byte { return b }

func toUTF16LE(b []byte) []byte {
	u := utf16.Encode([]rune(string(b)))
	out := make([]byte, 2*len(u))
	for i, c := range u {
		out[2*i], out[2*i+1] = byte(c), byte(c>>8)
	}
	return out
}

func main() {
	out := flag.String("o", "", "output file")
	size := flag.Int64("size", 1<<30, "size in bytes (rounded down to pages)")
	seed := flag.Uint64("seed", 1, "seed of the mix")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "mkcorpus: -o is required")
		os.Exit(2)
	}
	bins := newSource([]string{"/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/local/go/pkg/tool"},
		func(p string, n int64) bool { return n >= page })
	text := newSource([]string{"/usr/local/go/src", "/usr/include", "/usr/share/common-licenses"},
		func(p string, n int64) bool {
			return strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".h") || strings.Contains(p, "common-licenses")
		})
	rng := rand.New(rand.NewPCG(*seed, 0x72656d6e616e74))

	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkcorpus:", err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	kinds := []struct {
		name   string
		weight int
		gen    func(n int) []byte
	}{
		{"zero", 30, func(n int) []byte { return make([]byte, n) }},
		{"binary", 40, func(n int) []byte { return bins.read(n, same) }},
		{"text", 12, func(n int) []byte { return text.read(n, same) }},
		{"utf16le", 12, func(n int) []byte {
			b := toUTF16LE(text.read(n/2, same))
			return b[:min(n, len(b))] // short (padded with zeros) when text had non-ASCII
		}},
		{"random", 6, func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}},
	}
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	written := make(map[string]int64)
	pages := *size / page
	for done := int64(0); done < pages; {
		n := min(int64(1+rng.IntN(64)), pages-done)
		x := rng.IntN(total)
		for _, k := range kinds {
			if x -= k.weight; x < 0 {
				b := k.gen(int(n * page))
				if len(b) != int(n*page) {
					b = append(b, make([]byte, int(n*page)-len(b))...)
				}
				if _, err := w.Write(b); err != nil {
					fmt.Fprintln(os.Stderr, "mkcorpus:", err)
					os.Exit(1)
				}
				written[k.name] += n * page
				break
			}
		}
		done += n
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "mkcorpus:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "mkcorpus:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mkcorpus: %s: %d bytes (%d binaries, %d text files)\n", *out, pages*page, len(bins.files), len(text.files))
	for _, k := range kinds {
		fmt.Fprintf(os.Stderr, "  %-8s %5.1f %%\n", k.name, 100*float64(written[k.name])/float64(pages*page))
	}
}
