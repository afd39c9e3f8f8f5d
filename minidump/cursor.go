package minidump

import (
	"encoding/binary"
	"fmt"
	"github.com/remnant-forensics/remnant/pkg/wstr"
	"io"
)

// cursor decodes little-endian fields from a buffer read from the file. The
// first error sticks: later reads return zero, and err says where decoding
// stopped (as a file offset).
type cursor struct {
	b   []byte
	off int64 // file offset of b[0]
	pos int
	err error
}

func (c *cursor) need(n int, what string) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || c.pos+n > len(c.b) {
		c.err = &FormatError{Off: c.off + int64(c.pos), Msg: fmt.Sprintf("%s: need %d bytes, %d left", what, n, len(c.b)-c.pos)}
		return false
	}
	return true
}

func (c *cursor) u8() uint8 {
	if !c.need(1, "uint8") {
		return 0
	}
	v := c.b[c.pos]
	c.pos++
	return v
}

func (c *cursor) u16() uint16 {
	if !c.need(2, "uint16") {
		return 0
	}
	v := binary.LittleEndian.Uint16(c.b[c.pos:])
	c.pos += 2
	return v
}

func (c *cursor) u32() uint32 {
	if !c.need(4, "uint32") {
		return 0
	}
	v := binary.LittleEndian.Uint32(c.b[c.pos:])
	c.pos += 4
	return v
}

func (c *cursor) u64() uint64 {
	if !c.need(8, "uint64") {
		return 0
	}
	v := binary.LittleEndian.Uint64(c.b[c.pos:])
	c.pos += 8
	return v
}

func (c *cursor) bytes(n int) []byte {
	if !c.need(n, "bytes") {
		return nil
	}
	v := c.b[c.pos : c.pos+n]
	c.pos += n
	return v
}

func (c *cursor) skip(n int) { c.bytes(n) }

// at returns the file offset of the next field.
func (c *cursor) at() int64 { return c.off + int64(c.pos) }

// fileReader reads bounded pieces of the dump file.
type fileReader struct {
	r    io.ReaderAt
	size int64
	// budget bounds the bytes read for variable-length records (strings,
	// CodeView records) over the whole file, so that many records pointing
	// at the same long string cannot multiply the work.
	budget *int64
}

// spend takes n bytes from the budget, reporting whether there were enough.
func (f fileReader) spend(n uint64) bool {
	if f.budget == nil {
		return true
	}
	if uint64(*f.budget) < n {
		return false
	}
	*f.budget -= int64(n)
	return true
}

// errBudget is returned when a dump's strings add up to far more than the
// file could hold.
var errBudget = fmt.Errorf("variable-length records add up to more than the file could hold; the rest are not read")

// read returns n bytes at off, failing (without allocating) when the range
// is not inside the file.
func (f fileReader) read(off int64, n uint64, what string) ([]byte, error) {
	if off < 0 || off > f.size || n > uint64(f.size-off) {
		return nil, &FormatError{Off: off, Msg: fmt.Sprintf("%s: %d bytes at offset 0x%x run past the end of the file (size 0x%x)", what, n, off, f.size)}
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil && !(err == io.EOF && len(b) == int(n)) {
		return nil, &FormatError{Off: off, Msg: what, Err: err}
	}
	return b, nil
}

// cursorAt reads n bytes at off into a cursor.
func (f fileReader) cursorAt(off int64, n uint64, what string) (*cursor, error) {
	b, err := f.read(off, n, what)
	if err != nil {
		return nil, err
	}
	return &cursor{b: b, off: off}, nil
}

// maxString bounds MINIDUMP_STRING lengths (module paths, thread names).
const maxString = 64 << 10

// minidumpString reads a MINIDUMP_STRING (uint32 byte length, UTF-16LE).
func (f fileReader) minidumpString(rva uint32) (string, error) {
	b, err := f.read(int64(rva), 4, "MINIDUMP_STRING length")
	if err != nil {
		return "", err
	}
	n := binary.LittleEndian.Uint32(b)
	if n > maxString {
		return "", &FormatError{Off: int64(rva), Msg: fmt.Sprintf("MINIDUMP_STRING length %d exceeds %d", n, maxString)}
	}
	if !f.spend(uint64(n)) {
		return "", &FormatError{Off: int64(rva), Msg: "MINIDUMP_STRING", Err: errBudget}
	}
	b, err = f.read(int64(rva)+4, uint64(n&^1), "MINIDUMP_STRING")
	if err != nil {
		return "", err
	}
	return wstr.DecodeZ(b), nil
}

// cString returns b up to the first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
