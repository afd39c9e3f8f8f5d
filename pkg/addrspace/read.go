package addrspace

import "encoding/binary"

// ReadFull reads exactly len(p) bytes at va.
func ReadFull(as AddressSpace, p []byte, va uint64) error {
	_, err := as.ReadAt(p, va)
	return err
}

// U16 reads a little-endian uint16 at va.
func U16(as AddressSpace, va uint64) (uint16, error) {
	var b [2]byte
	if err := ReadFull(as, b[:], va); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

// U32 reads a little-endian uint32 at va.
func U32(as AddressSpace, va uint64) (uint32, error) {
	var b [4]byte
	if err := ReadFull(as, b[:], va); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// U64 reads a little-endian uint64 at va.
func U64(as AddressSpace, va uint64) (uint64, error) {
	var b [8]byte
	if err := ReadFull(as, b[:], va); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Ptr reads a pointer of the address space's size at va.
func Ptr(as AddressSpace, va uint64) (uint64, error) {
	if as.PointerSize() == 8 {
		return U64(as, va)
	}
	v, err := U32(as, va)
	return uint64(v), err
}
