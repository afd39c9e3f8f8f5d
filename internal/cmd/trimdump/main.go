// Command trimdump makes a small sample from a full-memory minidump: it
// keeps every stream but only the memory pages that reconstructing the
// process (TEB, PEB, loader lists, parameters, environment, module
// headers) reads, plus the pages holding any extra strings named with -keep.
// The bytes kept are the dump's own; only the Memory64List is rewritten.
//
//	go run ./internal/cmd/trimdump -o testdata/sample/nc32.dmp full.dmp
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"sync"
	"unicode/utf16"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/process"
)

const page = 4096

// recorder remembers which file pages were read.
type recorder struct {
	r     io.ReaderAt
	mu    sync.Mutex
	pages map[int64]bool
}

func (rec *recorder) ReadAt(p []byte, off int64) (int, error) {
	rec.mu.Lock()
	for pg := off / page; pg <= (off+int64(len(p))-1)/page && len(p) > 0; pg++ {
		rec.pages[pg] = true
	}
	rec.mu.Unlock()
	return rec.r.ReadAt(p, off)
}

type strList []string

func (s *strList) String() string     { return fmt.Sprint(*s) }
func (s *strList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	out := flag.String("o", "", "output file")
	var keep strList
	flag.Var(&keep, "keep", "also keep pages holding this text (ASCII and UTF-16LE); repeatable")
	flag.Parse()
	if flag.NArg() != 1 || *out == "" {
		log.Fatal("usage: trimdump -o OUT [-keep TEXT]... FULL.dmp")
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	rec := &recorder{r: bytes.NewReader(data), pages: map[int64]bool{}}
	f, err := minidump.NewFile(rec, int64(len(data)))
	if err != nil {
		log.Fatal(err)
	}
	var base uint64
	for _, s := range f.Streams {
		if s.Type == minidump.Memory64ListStream {
			base = binary.LittleEndian.Uint64(data[s.Off+8:])
		}
	}
	if base == 0 {
		log.Fatal("no Memory64List: only full-memory dumps can be trimmed")
	}
	for _, s := range f.Streams {
		if s.Type != minidump.Memory64ListStream && uint64(s.Off)+uint64(s.Size) > base {
			log.Fatalf("stream %s lies after the memory data; cannot trim", s.Type)
		}
	}
	rec.pages = map[int64]bool{} // forget the header reads
	p := process.FromDump(f)
	for _, k := range keep {
		for _, needle := range [][]byte{[]byte(k), utf16le(k)} {
			for i := bytes.Index(data[base:], needle); i >= 0; {
				at := int64(base) + int64(i)
				// Keep 2 KiB from the match: the text goes on past the needle.
				for pg := at / page; pg <= (at+int64(len(needle))+2047)/page; pg++ {
					rec.pages[pg] = true
				}
				j := bytes.Index(data[at+1:], needle)
				if j < 0 {
					break
				}
				i = int(at+1+int64(j)) - int(base)
			}
		}
	}
	// Map kept file pages to virtual pages of the memory list.
	type rng struct{ va, size, off uint64 }
	var kept []rng
	for _, m := range f.Memory {
		for o := uint64(0); o < m.Size; o += page {
			off := uint64(m.FileOff) + o
			if rec.pages[int64(off/page)] || rec.pages[int64((off+min(page, m.Size-o)-1)/page)] {
				kept = append(kept, rng{m.VA + o, min(page, m.Size-o), off})
			}
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].va < kept[j].va })
	// Merge pages that follow each other in memory and in the file.
	merged := kept[:0]
	for _, k := range kept {
		if n := len(merged); n > 0 && merged[n-1].va+merged[n-1].size == k.va && merged[n-1].off+merged[n-1].size == k.off {
			merged[n-1].size += k.size
			continue
		}
		merged = append(merged, k)
	}
	kept = merged
	var dir minidump.Stream
	for _, s := range f.Streams {
		if s.Type == minidump.Memory64ListStream {
			dir = s
		}
	}
	n := uint64(len(kept))
	if 16+16*n > uint64(dir.Size) {
		log.Fatalf("%d pages do not fit the old Memory64List", n)
	}
	outb := append([]byte(nil), data[:base]...)
	list := outb[dir.Off : dir.Off+int64(dir.Size)]
	clear(list)
	le := binary.LittleEndian
	le.PutUint64(list, n)
	le.PutUint64(list[8:], base)
	for i, k := range kept {
		le.PutUint64(list[16+16*i:], k.va)
		le.PutUint64(list[24+16*i:], k.size)
	}
	// The directory entry's DataSize.
	for i := range f.Streams {
		e := int(f.Header.StreamDirectoryRva) + 12*i
		if minidump.StreamType(le.Uint32(outb[e:])) == minidump.Memory64ListStream {
			le.PutUint32(outb[e+4:], uint32(16+16*n))
		}
	}
	for _, k := range kept { // after the list: appending may move outb
		outb = append(outb, data[k.off:k.off+k.size]...)
	}
	if err := os.WriteFile(*out, outb, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d ranges kept of %d bytes of memory; %s %q\n", *out, n, len(data)-int(base), p.Name, p.CommandLine)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}
