package physmem

import (
	"bytes"
	"errors"
	"testing"

	"github.com/remnant-forensics/remnant/physmem/internal/gen"
	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Entry bits used below, from the Intel SDM vol. 3 tables 4-14..4-20 (P=1,
// RW=2, US=4, A=0x20, D=0x40, PS=0x80) and Windows' MMPTE_TRANSITION
// (Prototype bit 10, Transition bit 11).
const (
	tP, tRW, tUS, tA, tD, tPS = 1, 2, 4, 0x20, 0x40, 0x80
	tProto, tTrans            = 1 << 10, 1 << 11
	tTable                    = tP | tRW | tUS | tA
)

func sparseImage(t *testing.T, m *gen.Sparse) *Image {
	t.Helper()
	im, err := Open(m, m.Size)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func fillPage(m *gen.Sparse, pa uint64, b byte) { m.Write(pa, bytes.Repeat([]byte{b}, pageSize)) }

func TestPagingX64(t *testing.T) {
	m := gen.NewSparse(3 << 30)
	const pml4, pdpt, pd, pt = 0x1000, 0x2000, 0x3000, 0x4000
	m.Put64(pml4+0*8, pdpt|tTable)
	m.Put64(pdpt+0*8, pd|tTable)
	m.Put64(pd+0*8, pt|tTable)
	m.Put64(pt+1*8, 0x10000|tTable|tD)          // va 0x1000 valid
	m.Put64(pt+2*8, 0x11000|tTrans|0x80)        // va 0x2000 in transition (protection bits set)
	m.Put64(pt+3*8, 0x12000|tTrans|tProto)      // va 0x3000 prototype: not resolvable here
	m.Put64(pt+4*8, 0x13000|0x80)               // va 0x4000 paged out (software PTE)
	m.Put64(pd+1*8, 0x400000|tTable|tD|tPS)     // va 0x200000: 2 MB page at 0x400000
	m.Put64(pdpt+1*8, 0x40000000|tTable|tD|tPS) // va 0x40000000: 1 GB page at 0x40000000
	m.Put64(pml4+0x1f0*8, 0x5000|tP|tRW|tA)     // kernel half
	m.Put64(0x5000, 0x6000|tP|tRW|tA)           // pdpt[0]
	m.Put64(0x6000, 0x7000|tP|tRW|tA)           // pd[0]
	m.Put64(0x7000+8, 0x14000|tP|tRW|tA)        // pt[1]: va 0xfffff80000001000
	m.Put64(pml4+2*8, 0x7fff0000000|tTable)     // pml4[2]: a table outside the image
	fillPage(m, 0x10000, 0xa0)
	fillPage(m, 0x11000, 0xa1)
	fillPage(m, 0x12000, 0xa2)
	fillPage(m, 0x14000, 0xa4)
	m.Write(0x400000+0x1234, []byte{0xb2})
	m.Write(0x40000000+0x123456, []byte{0xc3})
	im := sparseImage(t, m)
	s := im.NewSpace(ModeX64, pml4)

	for va, want := range map[uint64]uint64{
		0x1000: 0x10000, 0x1fff: 0x10fff, 0x2010: 0x11010,
		0x201234: 0x401234, 0x40123456: 0x40123456,
		0xfffff80000001008: 0x14008,
	} {
		pa, err := s.Translate(va)
		if err != nil || pa != want {
			t.Errorf("translate 0x%x = 0x%x, %v; want 0x%x", va, pa, err, want)
		}
	}
	for _, va := range []uint64{0, 0x3000, 0x4000, 0x5000, 0x0000800000000000, 0x10000000000, 0xfffff80000002000} {
		if _, err := s.Translate(va); err == nil {
			t.Errorf("translate 0x%x succeeded", va)
		}
	}
	if _, err := s.Translate(0x3000); !errors.Is(err, ErrNotPresent) {
		t.Errorf("prototype PTE: %v, want ErrNotPresent", err)
	}
	b := make([]byte, 0x20)
	if n, err := s.ReadAt(b, 0x1ff0); err != nil || n != 0x20 || b[0] != 0xa0 || b[0x1f] != 0xa1 {
		t.Errorf("read across pages: %d %v % x", n, err, b)
	}
	if n, err := s.ReadAt(b, 0x2ff0); !addrspace.IsUnmapped(err) || n != 0x10 {
		t.Errorf("read into a prototype page: %d %v", n, err)
	}
	if _, err := s.ReadAt(b, 0x10000000000); !addrspace.IsUnmapped(err) {
		t.Errorf("read through a missing table: %v", err)
	}
	if v, err := addrspace.U32(s, 0x40123454); err != nil || v != 0xc3<<16 {
		t.Errorf("1 GB page read 0x%x %v", v, err)
	}
	want := []addrspace.Range{{Start: 0x1000, Size: 0x2000}, {Start: 0x200000, Size: 0x200000}, {Start: 0x40000000, Size: 0x40000000}}
	if got := s.Ranges(); !equalRanges(got, want) {
		t.Errorf("user ranges %x, want %x", got, want)
	}
	k := newSpace(im.ph, ModeX64, pml4, true)
	if got := k.Ranges(); !equalRanges(got, []addrspace.Range{{Start: 0xfffff80000001000, Size: 0x1000}}) {
		t.Errorf("kernel ranges %x", got)
	}
}

func TestPagingPAE(t *testing.T) {
	m := gen.NewSparse(64 << 20)
	const pdpt = 0x5020 // 32-byte aligned, inside a page
	m.Put64(pdpt+0*8, 0x6000|tP)
	m.Put64(pdpt+3*8, 0x8000|tP)
	m.Put64(0x6000, 0x7000|tTable)
	m.Put64(0x7000+5*8, 0x9000|tTable)
	m.Put64(0x7000+6*8, 0xa000|tTrans)
	m.Put64(0x8000+0x1ff*8, 0x800000|tP|tRW|tA|tD|tPS)
	fillPage(m, 0x9000, 0x99)
	fillPage(m, 0xa000, 0xaa)
	m.Write(0x800000+0x1ffff0, []byte{0x88})
	im := sparseImage(t, m)
	s := im.NewSpace(ModePAE, pdpt)
	for va, want := range map[uint64]uint64{0x5000: 0x9000, 0x6abc: 0xaabc, 0xfffffff0: 0x9ffff0} {
		if pa, err := s.Translate(va); err != nil || pa != want {
			t.Errorf("translate 0x%x = 0x%x %v, want 0x%x", va, pa, err, want)
		}
	}
	for _, va := range []uint64{0x4000, 0x7000, 0x40000000, 0x100000000} {
		if _, err := s.Translate(va); err == nil {
			t.Errorf("translate 0x%x succeeded", va)
		}
	}
	if got := s.Ranges(); !equalRanges(got, []addrspace.Range{{Start: 0x5000, Size: 0x2000}}) {
		t.Errorf("user ranges %x", got)
	}
	if got := newSpace(im.ph, ModePAE, pdpt, true).Ranges(); !equalRanges(got, []addrspace.Range{{Start: 0xffe00000, Size: 0x200000}}) {
		t.Errorf("kernel ranges %x", got)
	}
}

func TestPagingX86(t *testing.T) {
	m := gen.NewSparse(8 << 30)
	const pd = 0xa000
	m.Put32(pd+0*4, 0xb000|tTable|tD)
	m.Put32(0xb000+0x10*4, 0xc000|tTable|tD)
	m.Put32(0xb000+0x11*4, 0xd000|tTrans)
	m.Put32(0xb000+0x12*4, 0xe000|tTrans|tProto)
	m.Put32(pd+0x200*4, 0x1000000|tP|tRW|tA|tD|tPS)
	m.Put32(pd+0x201*4, 0x400000|1<<13|tP|tRW|tA|tD|tPS) // PSE-36: physical bit 32
	im := sparseImage(t, m)
	s := im.NewSpace(ModeX86, pd)
	for va, want := range map[uint64]uint64{0x10123: 0xc123, 0x11000: 0xd000, 0x80000004: 0x1000004, 0x80400010: 0x100400010} {
		if pa, err := s.Translate(va); err != nil || pa != want {
			t.Errorf("translate 0x%x = 0x%x %v, want 0x%x", va, pa, err, want)
		}
	}
	for _, va := range []uint64{0x12000, 0x13000, 0x400000, 0x1_0000_0000} {
		if _, err := s.Translate(va); err == nil {
			t.Errorf("translate 0x%x succeeded", va)
		}
	}
	if got := s.Ranges(); !equalRanges(got, []addrspace.Range{{Start: 0x10000, Size: 0x2000}}) {
		t.Errorf("user ranges %x", got)
	}
	if got := newSpace(im.ph, ModeX86, pd, true).Ranges(); !equalRanges(got, []addrspace.Range{{Start: 0x80000000, Size: 0x800000}}) {
		t.Errorf("kernel ranges %x", got)
	}
}

// A page directory that maps itself everywhere must not make Ranges run away.
func TestPagingSelfMapBounded(t *testing.T) {
	m := gen.NewSparse(1 << 20)
	for i := uint64(0); i < 512; i++ {
		m.Put64(0x1000+i*8, 0x1000|tTable)
	}
	im := sparseImage(t, m)
	s := im.NewSpace(ModeX64, 0x1000)
	r := s.Ranges()
	if len(r) == 0 {
		t.Errorf("self-mapped tables: %d ranges, truncated %v", len(r), s.Truncated())
	}
}
