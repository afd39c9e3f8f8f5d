package strings

import (
	"fmt"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/scan"
)

// FuzzScan compares the parallel scan, with fuzzed chunking and options,
// against the one-character-at-a-time reference (differential fuzzing).
func FuzzScan(f *testing.F) {
	f.Add([]byte("xyzA\x00B\x00C\x00D\x00\x01abc\tde\nfgh\x7fijkl\x80mnop"), uint8(4), uint16(7), uint8(2), uint8(0))
	f.Add([]byte("a\x00b\x00c\x00d\x00e\x00f\x00g\x00h\x00"), uint8(2), uint16(3), uint8(0), uint8(3))
	f.Add([]byte("\x00a\x00b\x00c\x00d\x00e\x00f\x00g\x00h"), uint8(3), uint16(5), uint8(1), uint8(5))
	f.Add(make([]byte, 300), uint8(1), uint16(64), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, min uint8, chunk uint16, overlap uint8, flags uint8) {
		opt := Options{
			MinLen:        int(min%24) + 1,
			AllWhitespace: flags&1 != 0,
			Encodings:     Encoding(flags >> 1 & 3),
			Scan: scan.Options{
				ChunkSize: int(chunk%1024) + 1,
				Overlap:   int(overlap),
				Workers:   int(flags>>3&3) + 1,
			},
		}
		if flags&0x20 != 0 {
			opt.MaxLen = int(min%7) + 1
		}
		if flags&0x40 != 0 {
			defer usePortable()()
		}
		v := view(data)
		diff(t, fmt.Sprintf("%+v", opt), collect(t, v, opt), referenceView(v, data, opt))
	})
}
