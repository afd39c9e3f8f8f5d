package scan

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// TestMappingMatchesReads checks that a scan of a mapped file hands out the
// same chunks as a scan that reads, including a view that claims more bytes
// than the file has.
func TestMappingMatchesReads(t *testing.T) {
	file := make([]byte, 100_000)
	for i := range file {
		file[i] = byte(i * 13)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Map(f)
	if err != nil {
		t.Skip("no mmap here:", err)
	}
	defer m.Close()
	if m.Len() != len(file) {
		t.Fatalf("mapping of %d bytes, want %d", m.Len(), len(file))
	}
	ranges := []addrspace.Range{{Start: 5, Size: 50_000}, {Start: 60_000, Size: 50_000}}
	opt := Options{ChunkSize: 4000, Lookbehind: 8, Overlap: 300}
	mapped := collect(t, addrspace.View{R: m, Size: 110_000, Data: ranges}, opt)
	read := collect(t, addrspace.View{R: bytes.NewReader(file), Size: 110_000, Data: ranges}, opt)
	if !reflect.DeepEqual(mapped, read) {
		t.Fatal("chunks of the mapping differ from chunks read")
	}
	if last := mapped[len(mapped)-1]; last.err == nil {
		t.Fatal("no error for the bytes past the end of the file")
	}
	if m.Slice(99_999, 2) != nil || m.Slice(-1, 1) != nil || len(m.Slice(99_999, 1)) != 1 {
		t.Fatal("Slice bounds")
	}
	p := make([]byte, 10)
	if n, err := m.ReadAt(p, 99_995); n != 5 || err == nil {
		t.Fatalf("ReadAt at the end = %d, %v", n, err)
	}
}
