package physmem

import (
	"fmt"
	"io"
	"sort"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

const pageSize = 0x1000

// Run maps a run of physical addresses to bytes of the image file.
type Run struct {
	PA      uint64 // first physical address
	Size    uint64 // bytes
	FileOff uint64 // file offset of PA
}

// phys reads physical memory through a sorted list of runs.
type phys struct {
	r    io.ReaderAt
	runs []Run // sorted by PA, non-overlapping, each inside the file
}

// newPhys sorts runs, drops empty ones and trims overlaps (the first one
// recorded wins). Callers have bounded each run by the file size.
func newPhys(r io.ReaderAt, runs []Run) *phys {
	s := make([]Run, 0, len(runs))
	for _, g := range runs {
		if g.Size == 0 {
			continue
		}
		if g.PA+g.Size < g.PA {
			g.Size = -g.PA
		}
		s = append(s, g)
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].PA < s[j].PA })
	out := s[:0]
	var end uint64
	for i, g := range s {
		if i > 0 && g.PA < end {
			cut := end - g.PA
			if cut >= g.Size {
				continue
			}
			g.PA += cut
			g.FileOff += cut
			g.Size -= cut
		}
		// Merge with the previous run when both address spaces continue.
		if n := len(out); n > 0 && out[n-1].PA+out[n-1].Size == g.PA && out[n-1].FileOff+out[n-1].Size == g.FileOff {
			out[n-1].Size += g.Size
		} else {
			out = append(out, g)
		}
		end = g.PA + g.Size
	}
	return &phys{r: r, runs: out}
}

// find returns the index of the run holding pa, or -1.
func (p *phys) find(pa uint64) int {
	i := sort.Search(len(p.runs), func(i int) bool { return p.runs[i].PA+p.runs[i].Size > pa })
	if i < len(p.runs) && p.runs[i].PA <= pa {
		return i
	}
	return -1
}

// fileOff returns the file offset of physical address pa.
func (p *phys) fileOff(pa uint64) (uint64, bool) {
	i := p.find(pa)
	if i < 0 {
		return 0, false
	}
	return p.runs[i].FileOff + (pa - p.runs[i].PA), true
}

// ReadAt reads physical memory; addresses the image does not hold give an
// *addrspace.UnmappedError. It implements io.ReaderAt over physical
// addresses (off is a physical address).
func (p *phys) ReadAt(b []byte, off int64) (int, error) {
	return p.read(b, uint64(off))
}

func (p *phys) read(b []byte, pa uint64) (int, error) {
	n := 0
	for n < len(b) {
		a := pa + uint64(n)
		if a < pa {
			return n, &addrspace.UnmappedError{Addr: a}
		}
		i := p.find(a)
		if i < 0 {
			return n, &addrspace.UnmappedError{Addr: a}
		}
		g := p.runs[i]
		avail := g.Size - (a - g.PA)
		want := uint64(len(b) - n)
		if want > avail {
			want = avail
		}
		m, err := p.r.ReadAt(b[n:n+int(want)], int64(g.FileOff+(a-g.PA)))
		n += m
		if m < int(want) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("physical 0x%x at file offset 0x%x: %w", a, g.FileOff+(a-g.PA), err)
		}
	}
	return n, nil
}

// ranges returns the physical ranges that hold data.
func (p *phys) ranges() []addrspace.Range {
	out := make([]addrspace.Range, len(p.runs))
	for i, g := range p.runs {
		out[i] = addrspace.Range{Start: g.PA, Size: g.Size}
	}
	return out
}

// end returns the first physical address past the last run.
func (p *phys) end() uint64 {
	if len(p.runs) == 0 {
		return 0
	}
	g := p.runs[len(p.runs)-1]
	return g.PA + g.Size
}

func (p *phys) u32(pa uint64) (uint32, bool) {
	var b [4]byte
	if _, err := p.read(b[:], pa); err != nil {
		return 0, false
	}
	return le.Uint32(b[:]), true
}

func (p *phys) u64(pa uint64) (uint64, bool) {
	var b [8]byte
	if _, err := p.read(b[:], pa); err != nil {
		return 0, false
	}
	return le.Uint64(b[:]), true
}
