package physmem

import (
	"sync"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Limits of a page-table walk that enumerates mapped ranges.
const (
	maxWalkTables = 1 << 16 // paging-structure pages read by one Ranges walk
	maxWalkRanges = 1 << 18 // ranges kept by one Ranges walk
)

// Space is a virtual address space seen through one set of page tables: a
// process's (its DirectoryTableBase) or the kernel's. It implements
// addrspace.AddressSpace. Reads of pages that are not present fail with an
// *addrspace.UnmappedError. Safe for concurrent use.
type Space struct {
	pg     pager
	lo, hi uint64 // the part of the address space Ranges enumerates

	once      sync.Once
	ranges    []addrspace.Range
	truncated bool
}

// newSpace makes an address space; kernel selects which half Ranges walks.
func newSpace(ph *phys, mode Mode, dtb uint64, kernel bool) *Space {
	s := &Space{pg: pager{ph: ph, mode: mode, dtb: dtb}}
	if kernel {
		s.lo, s.hi = mode.userEnd(), ^uint64(0)
		if mode != ModeX64 {
			s.hi = 0xffffffff
		}
	} else {
		s.lo, s.hi = 0, mode.userEnd()-1
	}
	return s
}

// DTB returns the physical address of the top-level paging structure.
func (s *Space) DTB() uint64 { return s.pg.dtb }

// Mode returns the paging mode.
func (s *Space) Mode() Mode { return s.pg.mode }

// PointerSize implements addrspace.AddressSpace.
func (s *Space) PointerSize() int { return s.pg.mode.PointerSize() }

// Translate returns the physical address that holds va. The error is a
// *TranslateError; errors.Is(err, ErrNotPresent) for pages not present.
func (s *Space) Translate(va uint64) (uint64, error) {
	pa, _, err := s.pg.translate(va)
	return pa, err
}

// ReadAt implements addrspace.AddressSpace, page by page.
func (s *Space) ReadAt(p []byte, va uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := va + uint64(n)
		if a < va {
			return n, &addrspace.UnmappedError{Addr: a}
		}
		pa, left, err := s.pg.translate(a)
		if err != nil {
			// Not present, or a paging structure the image does not hold:
			// either way the page is not in the evidence.
			return n, &addrspace.UnmappedError{Addr: a}
		}
		want := uint64(len(p) - n)
		if want > left {
			want = left
		}
		m, err := s.pg.ph.read(p[n:n+int(want)], pa)
		n += m
		if err != nil {
			if addrspace.IsUnmapped(err) {
				return n, &addrspace.UnmappedError{Addr: a + uint64(m)}
			}
			return n, err
		}
	}
	return n, nil
}

// Ranges implements addrspace.AddressSpace: the mapped pages (valid or in
// transition) of the user half for a process space, the kernel half for the
// kernel space, merged into ranges. The walk reads at most 65536 paging
// structures and keeps at most 262144 ranges; Truncated says if it stopped.
// A paging structure reached twice at the same level is walked once.
func (s *Space) Ranges() []addrspace.Range {
	s.once.Do(func() {
		w := walker{pg: &s.pg, lo: s.lo, hi: s.hi}
		w.walk()
		s.ranges, s.truncated = w.out, w.truncated
	})
	return s.ranges
}

// Truncated reports whether Ranges stopped at a limit.
func (s *Space) Truncated() bool {
	s.Ranges()
	return s.truncated
}

// level describes one level of paging structures.
type level struct {
	shift     uint   // VA bit of the entry's span
	entries   int    // entries per table
	esize     int    // bytes per entry
	large     bool   // a present entry with PS set maps a large page
	largeMask uint64 // frame mask of such a large page
}

var (
	levels64 = []level{
		{39, 512, 8, false, 0},
		{30, 512, 8, true, 0x000fffffc0000000},
		{21, 512, 8, true, 0x000fffffffe00000},
		{12, 512, 8, false, 0},
	}
	levelsPAE = []level{
		{30, 4, 8, false, 0},
		{21, 512, 8, true, 0x000fffffffe00000},
		{12, 512, 8, false, 0},
	}
	levels86 = []level{
		{22, 1024, 4, true, 0xffc00000},
		{12, 1024, 4, false, 0},
	}
)

type walker struct {
	pg        *pager
	lo, hi    uint64
	tables    int
	out       []addrspace.Range
	truncated bool
	seen      map[[2]uint64]bool // (levels left, table address) already walked
	// visit, when set, is called for each mapped page or large page with
	// its virtual address, physical address and size.
	visit func(va, pa, size uint64)
}

func (w *walker) levels() []level {
	switch w.pg.mode {
	case ModeX64:
		return levels64
	case ModePAE:
		return levelsPAE
	case ModeX86:
		return levels86
	}
	return nil
}

func (w *walker) walk() {
	lv := w.levels()
	if lv == nil {
		return
	}
	top := w.pg.dtb & frameMask64
	if w.pg.mode == ModePAE {
		top = w.pg.dtb & 0xffffffe0
	} else if w.pg.mode == ModeX86 {
		top = w.pg.dtb & frameMask32
	}
	w.table(lv, top, 0)
}

// table walks one paging structure at physical address pa covering virtual
// addresses from base.
func (w *walker) table(lv []level, pa, base uint64) {
	if w.truncated {
		return
	}
	if w.tables >= maxWalkTables {
		w.truncated = true
		return
	}
	// A table reached twice at the same level (shared, or a loop through a
	// self-map) is walked once.
	key := [2]uint64{uint64(len(lv)), pa}
	if w.seen[key] {
		return
	}
	if w.seen == nil {
		w.seen = map[[2]uint64]bool{}
	}
	w.seen[key] = true
	w.tables++
	l := lv[0]
	size := l.entries * l.esize
	buf := make([]byte, size)
	if _, err := w.pg.ph.read(buf, pa); err != nil {
		return // a table not in the image maps nothing we can read
	}
	span := uint64(1) << l.shift
	for i := 0; i < l.entries; i++ {
		va := base + uint64(i)*span
		if w.pg.mode == ModeX64 && va&(1<<47) != 0 {
			va |= 0xffff000000000000 // sign-extend the kernel half
		}
		last := va + span - 1
		if last < w.lo || va > w.hi {
			continue
		}
		var e uint64
		if l.esize == 8 {
			e = le.Uint64(buf[i*8:])
		} else {
			e = uint64(le.Uint32(buf[i*4:]))
		}
		// The PAE PDPT is loaded by the processor and must be valid; any
		// other entry may be in transition (its table or page still in RAM).
		if w.pg.mode == ModePAE && len(lv) == 3 {
			if e&ptePresent == 0 {
				continue
			}
		} else if !entryPresent(e) {
			continue
		}
		switch {
		case len(lv) == 1:
			w.add(va, span)
			if w.visit != nil {
				mask := uint64(frameMask64)
				if l.esize == 4 {
					mask = frameMask32
				}
				w.visit(va, e&mask, span)
			}
		case l.large && e&ptePresent != 0 && e&pteLarge != 0:
			w.add(va, span)
			if w.visit != nil {
				pa := e & l.largeMask
				if l.esize == 4 {
					pa |= (e >> 13 & 0xff) << 32 // PSE-36
				}
				w.visit(va, pa, span)
			}
		default:
			mask := uint64(frameMask64)
			if l.esize == 4 {
				mask = frameMask32
			}
			w.table(lv[1:], e&mask, va&^(0xffff000000000000))
		}
		if w.truncated {
			return
		}
	}
}

func (w *walker) add(va, size uint64) {
	if n := len(w.out); n > 0 && w.out[n-1].Start+w.out[n-1].Size == va {
		w.out[n-1].Size += size
		return
	}
	if len(w.out) >= maxWalkRanges {
		w.truncated = true
		return
	}
	w.out = append(w.out, addrspace.Range{Start: va, Size: size})
}
