// Package wstr decodes the UTF-16LE strings of Windows structures (WCHAR
// buffers of UNICODE_STRING, MINIDUMP_STRING, fixed name arrays).
package wstr

import (
	"encoding/binary"
	"unicode/utf16"
)

// Decode decodes little-endian UTF-16: surrogate pairs are joined, an
// unpaired surrogate becomes U+FFFD, an odd last byte is dropped. NULs are
// kept.
func Decode(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// DecodeZ is Decode up to the first NUL code unit (a WCHAR array holding a
// NUL-terminated string).
func DecodeZ(b []byte) string {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return Decode(b[:i])
		}
	}
	return Decode(b)
}
