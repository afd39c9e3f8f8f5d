// Package addrspace defines the two views that every kind of evidence is
// reduced to: a process's virtual address space (AddressSpace) and a file or
// physical view (an io.ReaderAt plus the ranges that hold data).
//
// Windows-structure code is written once against AddressSpace and so serves
// minidumps, userdumps and physical images alike.
package addrspace

import (
	"errors"
	"fmt"
	"io"
	"sort"
)

// Range is a run of addresses (virtual or file offsets) that hold data.
type Range struct {
	Start uint64
	Size  uint64
}

// End returns the first address past the range (saturating at 2^64-1).
func (r Range) End() uint64 {
	if e := r.Start + r.Size; e >= r.Start {
		return e
	}
	return ^uint64(0)
}

// Contains reports whether a lies inside the range.
func (r Range) Contains(a uint64) bool { return a >= r.Start && a-r.Start < r.Size }

// AddressSpace reads a process's virtual memory.
type AddressSpace interface {
	// ReadAt reads len(p) bytes at virtual address va. It returns the number
	// of bytes read; when n < len(p) the error says why (an *UnmappedError
	// when the address is not in the evidence).
	ReadAt(p []byte, va uint64) (n int, err error)
	// PointerSize is 4 or 8.
	PointerSize() int
	// Ranges lists the readable ranges in ascending order.
	Ranges() []Range
}

// UnmappedError reports a read of an address the evidence does not hold.
type UnmappedError struct{ Addr uint64 }

func (e *UnmappedError) Error() string {
	return fmt.Sprintf("address 0x%x is not in the dump", e.Addr)
}

// IsUnmapped reports whether err says an address was absent from the evidence.
func IsUnmapped(err error) bool {
	var u *UnmappedError
	return errors.As(err, &u)
}

// Segment maps a run of virtual addresses to bytes of a file.
type Segment struct {
	VA      uint64
	Size    uint64
	FileOff uint64
}

// Segmented is an AddressSpace over a file whose memory is stored as
// segments (minidump memory lists, userdump memory regions).
type Segmented struct {
	r    io.ReaderAt
	segs []Segment // sorted by VA, non-overlapping
	ptr  int
}

// NewSegmented builds an address space from segments. Segments are sorted;
// a segment that overlaps an earlier one is trimmed to the part not yet
// covered (the first one recorded wins), and empty segments are dropped.
// Callers must have bounded each segment by the size of r.
func NewSegmented(r io.ReaderAt, ptrSize int, segs []Segment) *Segmented {
	s := make([]Segment, 0, len(segs))
	for _, g := range segs {
		if g.Size == 0 {
			continue
		}
		if g.VA+g.Size < g.VA && g.VA+g.Size != 0 { // wraps: keep what fits below 2^64
			g.Size = -g.VA
		}
		s = append(s, g)
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].VA < s[j].VA })
	out := s[:0]
	var end uint64 // end of the last segment kept; 0 with top set: 2^64
	top := false
	for i, g := range s {
		if top {
			break // the last segment kept reaches the top of the address space
		}
		if i > 0 && g.VA < end {
			cut := end - g.VA
			if cut >= g.Size {
				continue
			}
			g.VA += cut
			g.FileOff += cut
			g.Size -= cut
		}
		out = append(out, g)
		end = g.VA + g.Size
		top = end == 0
	}
	return &Segmented{r: r, segs: out, ptr: ptrSize}
}

// PointerSize implements AddressSpace.
func (s *Segmented) PointerSize() int { return s.ptr }

// ReaderAt returns the file the segments point into.
func (s *Segmented) ReaderAt() io.ReaderAt { return s.r }

// Segments returns the segments in VA order.
func (s *Segmented) Segments() []Segment { return s.segs }

// Ranges implements AddressSpace.
func (s *Segmented) Ranges() []Range {
	out := make([]Range, len(s.segs))
	for i, g := range s.segs {
		out[i] = Range{g.VA, g.Size}
	}
	return out
}

// find returns the index of the segment holding va, or -1.
func (s *Segmented) find(va uint64) int {
	// Compare with each segment's last byte: VA+Size may be 2^64 (0).
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].VA+(s.segs[i].Size-1) >= va })
	if i < len(s.segs) && s.segs[i].VA <= va {
		return i
	}
	return -1
}

// Translate returns the file offset that holds va.
func (s *Segmented) Translate(va uint64) (uint64, bool) {
	i := s.find(va)
	if i < 0 {
		return 0, false
	}
	return s.segs[i].FileOff + (va - s.segs[i].VA), true
}

// FileToVA maps a file offset back to the virtual address stored there.
func (s *Segmented) FileToVA(off uint64) (uint64, bool) {
	for _, g := range s.segs {
		if off >= g.FileOff && off-g.FileOff < g.Size {
			return g.VA + (off - g.FileOff), true
		}
	}
	return 0, false
}

// ReadAt implements AddressSpace. Reads may span adjacent segments.
func (s *Segmented) ReadAt(p []byte, va uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := va + uint64(n)
		if a < va {
			return n, &UnmappedError{Addr: a}
		}
		i := s.find(a)
		if i < 0 {
			return n, &UnmappedError{Addr: a}
		}
		g := s.segs[i]
		avail := g.Size - (a - g.VA)
		want := uint64(len(p) - n)
		if want > avail {
			want = avail
		}
		m, err := s.r.ReadAt(p[n:n+int(want)], int64(g.FileOff+(a-g.VA)))
		n += m
		if m < int(want) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("reading 0x%x at file offset 0x%x: %w", a, g.FileOff+(a-g.VA), err)
		}
	}
	return n, nil
}
