package minidump

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzMinidump opens arbitrary bytes as a minidump and reads all captured
// memory: it must never panic, loop or allocate beyond the input's size.
func FuzzMinidump(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/minidump/*.dmp")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		as := d.AddressSpace()
		var total uint64
		for _, r := range as.Ranges() {
			total += r.Size
		}
		if total > uint64(len(data)) {
			t.Fatalf("address space holds %d bytes, the file %d", total, len(data))
		}
		buf := make([]byte, 256)
		for _, r := range as.Ranges() {
			as.ReadAt(buf[:min(uint64(len(buf)), r.Size)], r.Start)
		}
	})
}
