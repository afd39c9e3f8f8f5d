package physmem

import (
	"bytes"
	"cmp"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/remnant-forensics/remnant/minidump"
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

// FuzzProcessOutputs runs the minidump writer and the reverse page map over
// arbitrary page tables: no panic, a dump remnant's reader opens, and every
// attributed offset maps back to a page of the walked space.
func FuzzProcessOutputs(f *testing.F) {
	seed := make([]byte, 4*pageSize)
	put64(seed, 0, 0x1000|tTable)
	put64(seed, 0x1000, 0x2000|tTable)
	put64(seed, 0x2000, 0x3000|tTable)
	put64(seed, 0x3000, 0x3000|tTable)
	put64(seed, 0x3008, 0x1000|tTrans)
	f.Add(seed, uint64(0), uint8(ModeX64))
	f.Add(seed, uint64(0x20), uint8(ModePAE))
	f.Add(seed, uint64(0), uint8(ModeX86))
	f.Fuzz(func(t *testing.T, mem []byte, dtb uint64, mode uint8) {
		if len(mem) > 1<<20 {
			return
		}
		m := Mode(mode%3 + 1)
		im := &Image{ph: newPhys(bytes.NewReader(mem), []Run{{PA: 0, Size: uint64(len(mem))}})}
		im.k.mode = m
		p := Process{PID: 7, DTB: dtb}
		var buf bytes.Buffer
		if _, _, err := im.WriteMinidump(&buf, p); err != nil {
			return
		}
		if _, err := minidump.NewFile(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			t.Fatalf("written dump unreadable: %v", err)
		}
		a := &Attributor{procs: []attrProc{{pid: 7, name: "x"}}}
		var used atomic.Int64
		a.maps, _ = a.walkProcess(im, p, 0, &used, 1<<16)
		slices.SortFunc(a.maps, func(x, y pageMapping) int { return cmp.Compare(x.pfn, y.pfn) })
		s := newSpace(im.ph, m, dtb, false)
		for _, mp := range a.maps[:min(len(a.maps), 64)] {
			va := (mp.pv & (1<<pvPageBits - 1)) * pageSize
			if !slices.Contains(a.Locate(mp.pfn*pageSize+5), addrspace.Location{PID: 7, Process: "x", VA: va + 5}) {
				t.Fatalf("frame 0x%x: va 0x%x not located", mp.pfn, va)
			}
			if pa, err := s.Translate(va); err != nil || pa != mp.pfn*pageSize {
				t.Fatalf("va 0x%x: walk says frame 0x%x, translation 0x%x (%v)", va, mp.pfn, pa, err)
			}
		}
	})
}
