// Package gen writes synthetic Windows physical memory images for tests:
// page tables, a kernel image with its PDB record, KDBG, KUSER_SHARED_DATA,
// the System process and a process list with PEBs, placed with the offsets
// of published layouts (Vergilius Project, JPCERT symbol tables, Geoff
// Chappell's Windows 2000 study) that the test passes in, so that reading
// them back checks physmem against those sources rather than against its own
// tables.
package gen

import (
	"encoding/binary"
	"io"
	"sort"
)

const pageSize = 0x1000

var le = binary.LittleEndian

// Sparse is a physical memory of a given size in which only written pages
// take memory; the rest reads as zeros. It is an io.ReaderAt.
type Sparse struct {
	Size  int64
	pages map[uint64][]byte // frame number -> 4096 bytes
}

// NewSparse returns an empty memory of size bytes.
func NewSparse(size int64) *Sparse { return &Sparse{Size: size, pages: map[uint64][]byte{}} }

func (s *Sparse) page(pfn uint64) []byte {
	p := s.pages[pfn]
	if p == nil {
		p = make([]byte, pageSize)
		s.pages[pfn] = p
	}
	return p
}

// Write copies b to physical address pa.
func (s *Sparse) Write(pa uint64, b []byte) {
	for len(b) > 0 {
		p := s.page(pa / pageSize)
		n := copy(p[pa%pageSize:], b)
		b = b[n:]
		pa += uint64(n)
	}
}

// Put32 and Put64 write little-endian values.
func (s *Sparse) Put32(pa uint64, v uint32) {
	var b [4]byte
	le.PutUint32(b[:], v)
	s.Write(pa, b[:])
}

// Put64 writes a little-endian uint64.
func (s *Sparse) Put64(pa uint64, v uint64) {
	var b [8]byte
	le.PutUint64(b[:], v)
	s.Write(pa, b[:])
}

// Get64 reads a little-endian uint64.
func (s *Sparse) Get64(pa uint64) uint64 {
	var b [8]byte
	s.ReadAt(b[:], int64(pa))
	return le.Uint64(b[:])
}

// Get32 reads a little-endian uint32.
func (s *Sparse) Get32(pa uint64) uint32 {
	var b [4]byte
	s.ReadAt(b[:], int64(pa))
	return le.Uint32(b[:])
}

// ReadAt implements io.ReaderAt.
func (s *Sparse) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off >= s.Size {
		return 0, io.EOF
	}
	n := len(b)
	if rem := s.Size - off; int64(n) > rem {
		n = int(rem)
	}
	for i := 0; i < n; {
		a := uint64(off) + uint64(i)
		m := pageSize - int(a%pageSize)
		if m > n-i {
			m = n - i
		}
		if p := s.pages[a/pageSize]; p != nil {
			copy(b[i:i+m], p[a%pageSize:])
		} else {
			clear(b[i : i+m])
		}
		i += m
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// Frames returns the written frame numbers in order.
func (s *Sparse) Frames() []uint64 {
	out := make([]uint64, 0, len(s.pages))
	for f := range s.pages {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
