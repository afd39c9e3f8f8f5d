// Command mkbigdump makes a large full-memory minidump for benchmarks: it
// copies a trimmed sample (testdata/sample/nc64.dmp) and adds one memory
// range of the requested size at an unused high address, filled with a
// reproducible mix of text and pseudo-random bytes. The sample's own
// Memory64List has spare room for the extra descriptor.
//
//	go run ./bench/mkbigdump -mb 512 -o /tmp/big.dmp testdata/sample/nc64.dmp
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"log"
	"math/rand/v2"
	"os"

	"github.com/remnant-forensics/remnant/minidump"
)

func main() {
	mb := flag.Int("mb", 256, "size of the added memory in MiB")
	out := flag.String("o", "", "output file")
	flag.Parse()
	if flag.NArg() != 1 || *out == "" {
		log.Fatal("usage: mkbigdump -mb N -o OUT SAMPLE.dmp")
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	f, err := minidump.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		log.Fatal(err)
	}
	le := binary.LittleEndian
	var dirEntry int
	var list minidump.Stream
	for i, s := range f.Streams {
		if s.Type == minidump.Memory64ListStream {
			dirEntry, list = int(f.Header.StreamDirectoryRva)+12*i, s
		}
	}
	if list.Size == 0 {
		log.Fatal("no Memory64List")
	}
	n := le.Uint64(data[list.Off:])
	base := le.Uint64(data[list.Off+8:])
	end := list.Off + 16 + 16*int64(n)
	if end+16 > int64(base) || binary.LittleEndian.Uint64(data[end:]) != 0 {
		log.Fatal("no spare room after the Memory64List")
	}
	size := uint64(*mb) << 20
	le.PutUint64(data[list.Off:], n+1)
	le.PutUint64(data[end:], 0x7ff000000000)
	le.PutUint64(data[end+8:], size)
	le.PutUint32(data[dirEntry+4:], list.Size+16)
	// The new range's data goes after all existing memory data.
	fh, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	w.Write(data)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	text := []byte("Reply from 192.0.2.15: bytes=32 time<10ms TTL=128\r\n")
	for done := uint64(0); done < size; done += uint64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
		}
		for i := 0; i+len(text) < len(buf); i += 4096 * 7 {
			copy(buf[i:], text)
		}
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		log.Fatal(err)
	}
}
