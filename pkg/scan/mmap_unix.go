//go:build unix

package scan

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Map maps a regular file read-only. A scan of a view whose reader is the
// mapping hands out slices of the mapping instead of copying (see Slicer).
// The caller must Close it after the scan. Mapping fails (and callers fall
// back to reads) for empty files, files larger than the address space and
// files that cannot be mapped.
func Map(f *os.File) (*Mapping, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("%s: cannot map a file of %d bytes", f.Name(), size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", f.Name(), err)
	}
	_ = unix.Madvise(b, unix.MADV_SEQUENTIAL)
	return &Mapping{b: b}, nil
}

// Close unmaps the file. Slices handed out must not be used afterwards.
func (m *Mapping) Close() error {
	if m.b == nil {
		return nil
	}
	err := unix.Munmap(m.b)
	m.b = nil
	return err
}

// release implements releaser: madvise(MADV_DONTNEED) on the whole pages of
// [off, off+n). Other workers may still read neighbouring bytes: a shared
// read-only file mapping just faults them in again.
func (m *Mapping) release(off int64, n int) {
	start := (off + PageSize - 1) &^ (PageSize - 1)
	end := (off + int64(n)) &^ (PageSize - 1)
	if m.b == nil || start >= end || end > int64(len(m.b)) {
		return
	}
	_ = unix.Madvise(m.b[start:end], unix.MADV_DONTNEED)
}

// madvPopulateRead is MADV_POPULATE_READ (Linux 5.14 and later); other
// systems reject it, and pages are then faulted in as they are read.
const madvPopulateRead = 0x16

// populate implements populater: it maps the pages of [off, off+n) in one
// call instead of one page fault per few pages.
func (m *Mapping) populate(off int64, n int) {
	start := off &^ (PageSize - 1)
	end := off + int64(n)
	if m.b == nil || start < 0 || start >= end || end > int64(len(m.b)) {
		return
	}
	_ = unix.Madvise(m.b[start:end], madvPopulateRead)
}
