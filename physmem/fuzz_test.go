package physmem

import (
	"bytes"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// FuzzOpen feeds arbitrary bytes to the container parsers and the kernel
// search: no panic, no runaway, whatever the input.
func FuzzOpen(f *testing.F) {
	h := crash64(DumpTypeFull)
	put32(h, 0x88, 1)
	put64(h, 0xa0, 1)
	f.Add(append(h, page(1)...))
	b := crash64(DumpTypeBitmapFull)
	s := make([]byte, 0x100)
	copy(s, "SDMPDUMP")
	put64(s, 0x20, 0x2100)
	put64(s, 0x30, 8)
	s[0x38] = 3
	f.Add(append(append(b, s...), page(2)...))
	f.Add(append(lime(0, 0xfff), page(3)...))
	f.Add([]byte("PAGEDUMP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		v := im.View()
		for _, r := range v.Data {
			if r.Size == 0 {
				t.Fatalf("empty range %v", r)
			}
			buf := make([]byte, 16)
			v.R.ReadAt(buf, int64(r.Start))
		}
		_ = im.Warnings()
		_ = im.Info()
		ps, _ := im.Processes()
		for _, p := range ps {
			if sp, err := im.ProcessSpace(p); err == nil {
				_ = sp.Ranges()
			}
		}
	})
}

// FuzzPageWalk runs translation and the range walk over arbitrary page
// tables in every paging mode.
func FuzzPageWalk(f *testing.F) {
	seed := make([]byte, 3*pageSize)
	put64(seed, 0, 0x1000|tTable)
	put64(seed, 0x1000, 0x2000|tTable|tPS)
	put64(seed, 0x2008, 0x2000|tTrans)
	f.Add(seed, uint64(0), uint8(ModeX64), uint64(0x1000))
	f.Add(seed, uint64(0x20), uint8(ModePAE), uint64(0xfff))
	f.Add(seed, uint64(0), uint8(ModeX86), uint64(0x80000000))
	f.Fuzz(func(t *testing.T, mem []byte, dtb uint64, mode uint8, va uint64) {
		if len(mem) > 1<<20 {
			return
		}
		ph := newPhys(bytes.NewReader(mem), []Run{{PA: 0, Size: uint64(len(mem))}})
		m := Mode(mode%3 + 1)
		for _, kernel := range []bool{false, true} {
			s := newSpace(ph, m, dtb, kernel)
			for _, r := range s.Ranges() {
				if r.Size == 0 {
					t.Fatalf("empty range at 0x%x", r.Start)
				}
			}
			buf := make([]byte, 64)
			n, err := s.ReadAt(buf, va)
			if err == nil && n != len(buf) {
				t.Fatalf("short read without error")
			}
			if err != nil && !addrspace.IsUnmapped(err) {
				t.Fatalf("read error %v is not unmapped", err)
			}
		}
	})
}
