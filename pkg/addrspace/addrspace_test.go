package addrspace

import (
	"bytes"
	"testing"
)

func TestSegmented(t *testing.T) {
	file := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	s := NewSegmented(bytes.NewReader(file), 4, []Segment{
		{VA: 0x2000, Size: 4, FileOff: 20}, // "klmn"
		{VA: 0x1000, Size: 10, FileOff: 0}, // "0123456789"
		{VA: 0x100a, Size: 6, FileOff: 10}, // "abcdef", adjacent to the previous
		{VA: 0x1004, Size: 4, FileOff: 30}, // overlaps the second: dropped
		{VA: 0x100e, Size: 4, FileOff: 30}, // overlaps partly: trimmed to 0x1010..
		{VA: 0x3000, Size: 0, FileOff: 0},  // empty: dropped
		{VA: ^uint64(0) - 1, Size: 8, FileOff: 0},
		{VA: ^uint64(0), Size: 1, FileOff: 5}, // inside the previous one
	})
	want := []Range{{0x1000, 10}, {0x100a, 6}, {0x1010, 2}, {0x2000, 4}, {^uint64(0) - 1, 2}}
	if got := s.Ranges(); len(got) != len(want) {
		t.Fatalf("ranges %v, want %v", got, want)
	} else {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("ranges %v, want %v", got, want)
			}
		}
	}
	buf := make([]byte, 18)
	if n, err := s.ReadAt(buf, 0x1000); err != nil || n != 18 || string(buf) != "0123456789abcdefgh"[:16]+"wx" {
		t.Errorf("read across segments: %d %v %q", n, err, buf[:n])
	}
	n, err := s.ReadAt(make([]byte, 8), 0x200)
	if n != 0 || !IsUnmapped(err) {
		t.Errorf("unmapped read: %d %v", n, err)
	}
	n, err = s.ReadAt(make([]byte, 8), 0x2002)
	if n != 2 || !IsUnmapped(err) {
		t.Errorf("read off the end of a segment: %d %v", n, err)
	}
	if off, ok := s.Translate(0x100b); !ok || off != 11 {
		t.Errorf("translate: %d %v", off, ok)
	}
	if va, ok := s.FileToVA(22); !ok || va != 0x2002 {
		t.Errorf("file to va: 0x%x %v", va, ok)
	}
	if v, err := U32(s, 0x1000); err != nil || v != 0x33323130 {
		t.Errorf("U32: 0x%x %v", v, err)
	}
	if v, err := Ptr(s, 0x2000); err != nil || v != 0x6e6d6c6b {
		t.Errorf("Ptr: 0x%x %v", v, err)
	}
	if v, err := U16(s, ^uint64(0)-1); err != nil || v != 0x3130 {
		t.Errorf("last two bytes of the address space: 0x%x %v", v, err)
	}
	if _, err := U32(s, ^uint64(0)-1); !IsUnmapped(err) {
		t.Errorf("read wrapping past 2^64: %v", err)
	}
	if _, err := U64(s, 0x2000); err == nil {
		t.Error("U64 past the segment read")
	}
}

func TestRange(t *testing.T) {
	r := Range{Start: ^uint64(0) - 3, Size: 10}
	if r.End() != ^uint64(0) || !r.Contains(^uint64(0)-1) || r.Contains(3) {
		t.Errorf("%v end 0x%x", r, r.End())
	}
}
