package win

import (
	"encoding/binary"
	"fmt"
	"github.com/remnant-forensics/remnant/pkg/wstr"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Warning is a problem met while walking a process: where it was and what
// was wrong. The rest of the result is still usable.
type Warning struct {
	Addr uint64 `json:"addr"`
	Msg  string `json:"msg"`
}

func (w Warning) String() string { return fmt.Sprintf("0x%x: %s", w.Addr, w.Msg) }

// mem reads structures of one layout from an address space and collects
// warnings. Pointers are read at the layout's size, not the address
// space's: a WOW64 process has 32-bit structures in a 64-bit space.
type mem struct {
	as     addrspace.AddressSpace
	l      *Layout
	prefix string // "wow64: " for the 32-bit side of a WOW64 process
	warns  *[]Warning
}

func (m *mem) warnf(addr uint64, format string, args ...any) {
	*m.warns = append(*m.warns, Warning{Addr: addr, Msg: m.prefix + fmt.Sprintf(format, args...)})
}

// block reads n bytes at va; it fails unless all of them are present.
func (m *mem) block(va uint64, n int) ([]byte, error) {
	if va+uint64(n) < va {
		return nil, fmt.Errorf("0x%x+0x%x wraps around", va, n)
	}
	b := make([]byte, n)
	if _, err := m.as.ReadAt(b, va); err != nil {
		return nil, err
	}
	return b, nil
}

// prefix reads up to n bytes at va and returns those present before the
// first gap.
func (m *mem) prefixRead(va uint64, n int) []byte {
	if va+uint64(n) < va {
		n = int(-va)
	}
	b := make([]byte, n)
	k, _ := m.as.ReadAt(b, va)
	return b[:k]
}

// buf is a structure read into memory, with field accessors that return 0
// for an Absent field or one past the bytes read.
type buf struct {
	b   []byte
	ptr int
}

func (b buf) has(off, n int) bool { return off >= 0 && off+n <= len(b.b) }

func (b buf) u8(off int) uint8 {
	if !b.has(off, 1) {
		return 0
	}
	return b.b[off]
}

func (b buf) u16(off int) uint16 {
	if !b.has(off, 2) {
		return 0
	}
	return binary.LittleEndian.Uint16(b.b[off:])
}

func (b buf) u32(off int) uint32 {
	if !b.has(off, 4) {
		return 0
	}
	return binary.LittleEndian.Uint32(b.b[off:])
}

func (b buf) u64(off int) uint64 {
	if !b.has(off, 8) {
		return 0
	}
	return binary.LittleEndian.Uint64(b.b[off:])
}

func (b buf) ptrAt(off int) uint64 {
	if b.ptr == 8 {
		return b.u64(off)
	}
	return uint64(b.u32(off))
}

// span returns the number of bytes needed to read every listed field of
// size sz (Absent ones are skipped).
func span(sz int, offs ...int) int {
	n := 0
	for _, o := range offs {
		if o != Absent && o+sz > n {
			n = o + sz
		}
	}
	return n
}

// UnicodeString is a UNICODE_STRING and the text it points to.
type UnicodeString struct {
	Addr          uint64 `json:"addr"` // where the UNICODE_STRING itself lies
	Length        uint16 `json:"length"`
	MaximumLength uint16 `json:"maximum_length"`
	Buffer        uint64 `json:"buffer"` // absolute address of the text
	Text          string `json:"text"`
	// Complete is true when all Length bytes were read (always for an
	// empty string).
	Complete bool `json:"complete"`
}

// ustr decodes the UNICODE_STRING at off of b (which was read at va) and
// reads its text. rel, when not 0, is the base the Buffer is relative to
// (a non-normalized RTL_USER_PROCESS_PARAMETERS). what names it in
// warnings. text=false reads the header only (RuntimeData is binary).
func (m *mem) ustr(b buf, va uint64, off int, what string, rel uint64, text bool) UnicodeString {
	us := m.l.UnicodeString
	s := UnicodeString{
		Addr:          va + uint64(off),
		Length:        b.u16(off + us.Length),
		MaximumLength: b.u16(off + us.MaximumLength),
		Buffer:        b.ptrAt(off + us.Buffer),
	}
	if s.Buffer != 0 && rel != 0 {
		s.Buffer += rel
	}
	n := int(s.Length)
	if n == 0 {
		s.Complete = true
		return s
	}
	if s.Length > s.MaximumLength {
		m.warnf(s.Addr, "%s: Length %d is larger than MaximumLength %d", what, s.Length, s.MaximumLength)
	}
	if n%2 != 0 {
		m.warnf(s.Addr, "%s: odd Length %d", what, s.Length)
		n--
	}
	if s.Buffer == 0 {
		m.warnf(s.Addr, "%s: Length %d with a null Buffer", what, s.Length)
		return s
	}
	if !text {
		return s
	}
	raw := m.prefixRead(s.Buffer, n)
	if len(raw) < n {
		m.warnf(s.Buffer, "%s: only %d of %d bytes of its text are readable", what, len(raw), n)
	}
	s.Complete = len(raw) == int(s.Length)
	s.Text = wstr.Decode(raw)
	return s
}
