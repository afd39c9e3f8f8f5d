package minidump

import (
	"bytes"
	"testing"
)

// FuzzUserDump feeds mutated userdumps to NewUserDump: it must not panic or
// hang, every segment of the address space must lie inside the input, and
// every table must be no longer than its count allows.
func FuzzUserDump(f *testing.F) {
	f.Add(udSpec32().build().file)
	f.Add(udSpec64().build().file)
	d := udSpec32()
	d.ctxSize = 0xcc
	f.Add(d.build().file)
	d = udSpec64()
	d.order = []string{"data", "version", "mod", "event", "state", "mbi", "ctx"}
	f.Add(d.build().file)
	f.Add([]byte("USERDU64"))

	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := NewUserDump(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		h := u.Header
		if uint64(len(u.Threads)) > uint64(h.ThreadCount) || uint64(len(u.Modules)) > uint64(h.ModuleCount) ||
			uint64(len(u.Regions)) > uint64(h.MemoryRegionCount) {
			t.Fatalf("more entries than counted: %d/%d threads, %d/%d modules, %d/%d regions",
				len(u.Threads), h.ThreadCount, len(u.Modules), h.ModuleCount, len(u.Regions), h.MemoryRegionCount)
		}
		for _, th := range u.Threads {
			if th.ContextOff < 0 || th.ContextOff+int64(th.ContextSize) > int64(len(b)) {
				t.Fatalf("context %#x+%#x outside the %d-byte input", th.ContextOff, th.ContextSize, len(b))
			}
		}
		as := u.AddressSpace()
		var buf [16]byte
		for _, g := range as.Segments() {
			if g.Size == 0 || g.FileOff+g.Size > uint64(len(b)) || g.FileOff+g.Size < g.FileOff || g.VA+g.Size-1 < g.VA {
				t.Fatalf("bad segment %+v for a %d-byte input", g, len(b))
			}
			n := min(uint64(len(buf)), g.Size)
			if _, err := as.ReadAt(buf[:n], g.VA+g.Size-n); err != nil {
				t.Fatalf("reading the end of segment %+v: %v", g, err)
			}
		}
	})
}
