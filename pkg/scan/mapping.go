package scan

import "io"

// Slicer is implemented by readers whose bytes are already in memory. Scan
// then gives workers slices of it instead of reading into buffers.
type Slicer interface {
	// Slice returns the n bytes at off, or nil if they are not all there.
	Slice(off int64, n int) []byte
}

// Mapping is a file mapped into memory (see Map). It implements
// io.ReaderAt and Slicer.
//
// A mapped file that shrinks while it is scanned makes the process fault on
// the missing pages; Scan turns such a fault in a worker into an error
// instead of a crash.
type Mapping struct {
	b []byte
}

// Len returns the size of the mapping.
func (m *Mapping) Len() int { return len(m.b) }

// ReadAt implements io.ReaderAt.
func (m *Mapping) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Slice implements Slicer.
func (m *Mapping) Slice(off int64, n int) []byte {
	if off < 0 || n < 0 || off > int64(len(m.b)) || int64(n) > int64(len(m.b))-off {
		return nil
	}
	return m.b[off : off+int64(n) : off+int64(n)]
}

// releaser lets Scan drop the pages of a chunk it has scanned from the
// process's resident memory (they stay in the page cache), so that a scan
// of a mapped file keeps memory bounded by the chunks in flight.
type releaser interface {
	release(off int64, n int)
}

// populater lets Scan map a chunk's pages of a mapping at once before a
// worker reads them.
type populater interface {
	populate(off int64, n int)
}
