package physmem

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// The crash dump headers below are laid out from Volatility 3's
// symbols/windows/crash.json, crash64.json and crash_common.json (commit
// a1961401), a different source from the one the parser was written from
// (Microsoft's mindumpdef.h as published); the two agree.

func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

func page(fill byte) []byte { return bytes.Repeat([]byte{fill}, pageSize) }

// crash64 returns a PAGEDU64 header page pair.
func crash64(dumpType uint32) []byte {
	h := make([]byte, 0x2000)
	copy(h, "PAGEDU64")
	put32(h, 0x8, 0xf)
	put32(h, 0xc, 7601)
	put64(h, 0x10, 0x187000)            // DirectoryTableBase
	put64(h, 0x18, 0xfffffa8000000000)  // PfnDataBase
	put64(h, 0x20, 0xfffff80002a6de90)  // PsLoadedModuleList
	put64(h, 0x28, 0xfffff80002a50b90)  // PsActiveProcessHead
	put32(h, 0x30, 0x8664)              // MachineImageType
	put32(h, 0x34, 2)                   // NumberProcessors
	put32(h, 0x38, 0xe2)                // BugCheckCode
	put64(h, 0x40, 1)                   // BugCheckCodeParameter[0]
	put64(h, 0x80, 0xfffff800029f10a0)  // KdDebuggerDataBlock
	put32(h, 0xf98, dumpType)           // DumpType
	put64(h, 0xfa8, 130000000000000000) // SystemTime
	copy(h[0xfb0:], "remnant test")     // Comment
	return h
}

func TestCrash64Full(t *testing.T) {
	h := crash64(DumpTypeFull)
	// PHYSICAL_MEMORY_DESCRIPTOR64 at 0x88: NumberOfRuns, NumberOfPages, Run[] at +0x10.
	put32(h, 0x88, 2)
	put64(h, 0x90, 3)
	put64(h, 0x98, 1)  // run 0: page 1
	put64(h, 0xa0, 2)  //        2 pages
	put64(h, 0xa8, 16) // run 1: page 16
	put64(h, 0xb0, 1)  //        1 page
	file := append(h, append(append(page(0xa1), page(0xa2)...), page(0xb1)...)...)
	im, err := Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if im.Format() != FormatCrash64 {
		t.Fatalf("format %v", im.Format())
	}
	c := im.Crash()
	if c.DirectoryTableBase != 0x187000 || c.PsActiveProcessHead != 0xfffff80002a50b90 || c.PsLoadedModuleList != 0xfffff80002a6de90 ||
		c.KdDebuggerDataBlock != 0xfffff800029f10a0 || c.MachineImageType != MachineAMD64 || c.NumberProcessors != 2 ||
		c.BugCheckCode != 0xe2 || c.BugCheckParameters[0] != 1 || c.MinorVersion != 7601 || c.Comment != "remnant test" ||
		c.NumberOfRuns != 2 || c.NumberOfPages != 3 || c.DumpType != DumpTypeFull {
		t.Errorf("header %+v", c)
	}
	// 130000000000000000 * 100 ns since 1601 = 1355526400 s since 1970
	// (GNU date -u -d @1355526400: Fri Dec 14 23:06:40 UTC 2012).
	if want := time.Date(2012, 12, 14, 23, 6, 40, 0, time.UTC); !c.SystemTime.Equal(want) {
		t.Errorf("system time %v, want %v", c.SystemTime, want)
	}
	want := []addrspace.Range{{Start: 0x1000, Size: 0x2000}, {Start: 0x10000, Size: 0x1000}}
	if got := im.View().Data; !equalRanges(got, want) {
		t.Errorf("data ranges %v, want %v", got, want)
	}
	b := make([]byte, 2)
	for pa, fill := range map[uint64]byte{0x1000: 0xa1, 0x2fff: 0xa2, 0x10000: 0xb1} {
		if _, err := im.ReadPhys(b[:1], pa); err != nil || b[0] != fill {
			t.Errorf("phys 0x%x: %x %v, want %x", pa, b[0], err, fill)
		}
	}
	if _, err := im.ReadPhys(b, 0x2fff); err == nil {
		t.Error("read across the gap after 0x3000 succeeded")
	}
	if _, err := im.ReadPhys(b, 0); !addrspace.IsUnmapped(err) {
		t.Errorf("phys 0: %v, want unmapped", err)
	}
	if im.k.mode != ModeX64 || im.k.dtb != 0x187000 {
		t.Errorf("mode %v dtb 0x%x", im.k.mode, im.k.dtb)
	}
}

func TestCrash64Truncated(t *testing.T) {
	h := crash64(DumpTypeFull)
	put32(h, 0x88, 2)
	put64(h, 0x98, 0)
	put64(h, 0xa0, 2)
	put64(h, 0xa8, 8)
	put64(h, 0xb0, 4)
	file := append(h, append(page(1), page(2)...)...)
	file = append(file, page(3)[:100]...)
	im, err := Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Warnings()) == 0 {
		t.Error("no warning for a truncated dump")
	}
	if got := im.View().Data; !equalRanges(got, []addrspace.Range{{Start: 0, Size: 0x2000}}) {
		t.Errorf("ranges %v", got)
	}
}

func TestCrash64Bitmap(t *testing.T) {
	h := crash64(DumpTypeBitmapFull)
	// _SUMMARY_DUMP at 0x2000: Signature, ValidDump, HeaderSize (first page
	// file offset) at 0x20, Pages at 0x28, BitmapSize at 0x30, bits at 0x38.
	s := make([]byte, 0x1000)
	copy(s, "FDMPDUMP")
	put64(s, 0x20, 0x3000)
	put64(s, 0x28, 4)
	put64(s, 0x30, 72)   // 72 pages of address space
	s[0x38] = 0b00001011 // pages 0, 1, 3
	s[0x38+8] = 0x01     // page 64
	file := append(h, s...)
	for _, f := range []byte{0xc0, 0xc1, 0xc3, 0xd0} {
		file = append(file, page(f)...)
	}
	im, err := Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range im.Warnings() {
		if w.Where == "file" { // the kernel search has nothing to find here
			t.Errorf("warning %v", w)
		}
	}
	if c := im.Crash(); c.BitmapSignature != "FDMP" || c.FirstPage != 0x3000 || c.BitmapPages != 4 || c.BitmapBits != 72 {
		t.Errorf("summary %+v", c)
	}
	want := []addrspace.Range{{Start: 0, Size: 0x2000}, {Start: 0x3000, Size: 0x1000}, {Start: 0x40000, Size: 0x1000}}
	if got := im.View().Data; !equalRanges(got, want) {
		t.Errorf("ranges %v, want %v", got, want)
	}
	b := make([]byte, 1)
	for pa, fill := range map[uint64]byte{0: 0xc0, 0x1fff: 0xc1, 0x3000: 0xc3, 0x40000: 0xd0} {
		if _, err := im.ReadPhys(b, pa); err != nil || b[0] != fill {
			t.Errorf("phys 0x%x: %x %v, want %x", pa, b[0], err, fill)
		}
	}
	if _, err := im.ReadPhys(b, 0x2000); !addrspace.IsUnmapped(err) {
		t.Errorf("page 2 should be absent: %v", err)
	}
}

func TestCrash32FullPAE(t *testing.T) {
	h := make([]byte, 0x1000)
	copy(h, "PAGEDUMP")
	put32(h, 0x8, 0xf)
	put32(h, 0xc, 2600)
	put32(h, 0x10, 0x31c000)   // DirectoryTableBase
	put32(h, 0x18, 0x8055a420) // PsLoadedModuleList
	put32(h, 0x1c, 0x8055b158) // PsActiveProcessHead
	put32(h, 0x20, 0x14c)
	put32(h, 0x24, 1)
	h[0x5c] = 1                // PaeEnabled
	put32(h, 0x60, 0x80545ae0) // KdDebuggerDataBlock
	put32(h, 0x64, 1)          // NumberOfRuns
	put32(h, 0x68, 2)          // NumberOfPages
	put32(h, 0x6c, 0)          // Run[0].BasePage
	put32(h, 0x70, 2)          // Run[0].PageCount
	put32(h, 0xf88, DumpTypeFull)
	put64(h, 0xfc0, 128000000000000000)
	file := append(h, append(page(7), page(8)...)...)
	im, err := Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	c := im.Crash()
	if im.Format() != FormatCrash32 || c.Is64 || !c.PaeEnabled || c.DirectoryTableBase != 0x31c000 || c.PsActiveProcessHead != 0x8055b158 ||
		c.KdDebuggerDataBlock != 0x80545ae0 || c.MinorVersion != 2600 {
		t.Errorf("header %+v", c)
	}
	// GNU date -u -d @1155526400: Mon Aug 14 03:33:20 UTC 2006.
	if want := time.Date(2006, 8, 14, 3, 33, 20, 0, time.UTC); !c.SystemTime.Equal(want) {
		t.Errorf("time %v want %v", c.SystemTime, want)
	}
	if im.k.mode != ModePAE {
		t.Errorf("mode %v", im.k.mode)
	}
	b := make([]byte, 1)
	if _, err := im.ReadPhys(b, 0x1800); err != nil || b[0] != 8 {
		t.Errorf("phys 0x1800 = %x %v", b[0], err)
	}
}

func TestCrashBadHeaders(t *testing.T) {
	for name, file := range map[string][]byte{
		"short":   []byte("PAGEDU64xxxx"),
		"short32": append([]byte("PAGEDUMP"), make([]byte, 0x800)...),
	} {
		if _, err := Open(bytes.NewReader(file), int64(len(file))); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A bitmap whose size claims more than the file.
	h := crash64(DumpTypeBitmapFull)
	s := make([]byte, 0x100)
	copy(s, "SDMPDUMP")
	put64(s, 0x20, 0x3000)
	put64(s, 0x30, 1<<40)
	file := append(h, s...)
	if _, err := Open(bytes.NewReader(file), int64(len(file))); err == nil {
		t.Error("huge bitmap: no error")
	}
}

func lime(start, end uint64) []byte {
	h := make([]byte, limeHeaderSize)
	copy(h, "EMiL")
	put32(h, 4, 1)
	put64(h, 8, start)
	put64(h, 16, end)
	return h
}

func TestLiME(t *testing.T) {
	file := append(lime(0x1000, 0x2fff), append(page(1), page(2)...)...)
	file = append(file, lime(0x100000, 0x100fff)...)
	file = append(file, page(3)...)
	im, err := Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if im.Format() != FormatLiME {
		t.Fatalf("format %v", im.Format())
	}
	want := []addrspace.Range{{Start: 0x1000, Size: 0x2000}, {Start: 0x100000, Size: 0x1000}}
	if got := im.View().Data; !equalRanges(got, want) {
		t.Errorf("ranges %v", got)
	}
	b := make([]byte, 1)
	if _, err := im.ReadPhys(b, 0x100800); err != nil || b[0] != 3 {
		t.Errorf("phys 0x100800 = %x %v", b[0], err)
	}
	if off, ok := im.FileOffset(0x100000); !ok || off != 0x2000+2*limeHeaderSize {
		t.Errorf("file offset 0x%x %v", off, ok)
	}
	// Truncated second range, then garbage.
	file = append(lime(0, 0xfff), page(1)...)
	file = append(file, lime(0x2000, 0x3fff)...)
	file = append(file, page(2)[:0x800]...)
	im, err = Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Warnings()) == 0 {
		t.Error("truncated LiME gave no warning")
	}
	want = []addrspace.Range{{Start: 0, Size: 0x1000}, {Start: 0x2000, Size: 0x800}}
	if got := im.View().Data; !equalRanges(got, want) {
		t.Errorf("ranges %v", got)
	}
	file = append(lime(0, 0xfff), page(1)...)
	file = append(file, []byte("this is not a lime header......!")...)
	im, err = Open(bytes.NewReader(file), int64(len(file)))
	if err != nil || len(im.Warnings()) == 0 {
		t.Errorf("bad second header: %v, %v", err, im.Warnings())
	}
}

func TestRaw(t *testing.T) {
	file := append(page(5), page(6)...)
	im, err := Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if im.Format() != FormatRaw {
		t.Errorf("format %v", im.Format())
	}
	v := im.View()
	if v.Size != 0x2000 || !equalRanges(v.Data, []addrspace.Range{{Start: 0, Size: 0x2000}}) {
		t.Errorf("view %+v", v)
	}
}

func equalRanges(a, b []addrspace.Range) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
