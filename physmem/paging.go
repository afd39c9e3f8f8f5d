package physmem

import (
	"errors"
	"fmt"
)

// Mode is a paging mode.
type Mode int

// Paging modes.
const (
	ModeUnknown Mode = iota
	ModeX86          // two-level, 4 KB and 4 MB pages, 32-bit entries
	ModePAE          // three-level, 4 KB and 2 MB pages, 64-bit entries
	ModeX64          // four-level, 4 KB, 2 MB and 1 GB pages
)

func (m Mode) String() string {
	switch m {
	case ModeX86:
		return "x86"
	case ModePAE:
		return "x86-pae"
	case ModeX64:
		return "x64"
	}
	return "unknown"
}

// PointerSize is 8 for x64 and 4 otherwise.
func (m Mode) PointerSize() int {
	if m == ModeX64 {
		return 8
	}
	return 4
}

// userEnd is the first address past user space (the lower half on x86, the
// lower canonical half on x64).
func (m Mode) userEnd() uint64 {
	if m == ModeX64 {
		return 1 << 47
	}
	return 0x80000000
}

// Paging-structure entry bits (Intel SDM vol. 3 ch. 4; Windows MMPTE).
const (
	ptePresent    = 1 << 0
	pteLarge      = 1 << 7  // PS in a PDE or PDPTE
	ptePrototype  = 1 << 10 // Windows: software PTE pointing at a prototype PTE
	pteTransition = 1 << 11 // Windows: page in transition, frame still valid
	frameMask64   = 0x000ffffffffff000
	frameMask32   = 0xfffff000
)

// ErrNotPresent reports a virtual address whose translation stops at a
// non-present entry (paged out, never touched, or not mapped at all).
var ErrNotPresent = errors.New("page not present")

// TranslateError says where a translation stopped.
type TranslateError struct {
	VA    uint64
	Level string // "pml4e", "pdpte", "pde", "pte" or "va"
	Entry uint64 // the entry value that stopped it
	Err   error  // ErrNotPresent, or the physical read that failed
}

func (e *TranslateError) Error() string {
	return fmt.Sprintf("va 0x%x: %s 0x%x: %v", e.VA, e.Level, e.Entry, e.Err)
}

func (e *TranslateError) Unwrap() error { return e.Err }

// pager translates virtual addresses through one set of page tables.
type pager struct {
	ph   *phys
	mode Mode
	dtb  uint64
}

// entryPresent reports whether a paging entry gives a frame: a valid entry,
// or a Windows transition entry (valid clear, transition set, prototype
// clear), whose frame still holds the page.
func entryPresent(e uint64) bool {
	if e&ptePresent != 0 {
		return true
	}
	return e&pteTransition != 0 && e&ptePrototype == 0
}

// translate returns the physical address of va and the bytes left in its
// page (so a caller can read up to the page end at once).
func (t *pager) translate(va uint64) (pa, left uint64, err error) {
	switch t.mode {
	case ModeX64:
		return t.translate64(va)
	case ModePAE:
		return t.translatePAE(va)
	case ModeX86:
		return t.translate86(va)
	}
	return 0, 0, &TranslateError{VA: va, Level: "va", Err: errors.New("paging mode unknown")}
}

func (t *pager) entry64(pa uint64, level string, va uint64) (uint64, error) {
	e, ok := t.ph.u64(pa)
	if !ok {
		return 0, &TranslateError{VA: va, Level: level, Entry: pa, Err: fmt.Errorf("table entry at physical 0x%x is not in the image", pa)}
	}
	return e, nil
}

func (t *pager) translate64(va uint64) (uint64, uint64, error) {
	// Canonical: bits 63..47 all equal.
	if top := va >> 47; top != 0 && top != 0x1ffff {
		return 0, 0, &TranslateError{VA: va, Level: "va", Err: ErrNotPresent}
	}
	e, err := t.entry64(t.dtb&frameMask64+((va>>39)&0x1ff)*8, "pml4e", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pml4e", e, ErrNotPresent}
	}
	e, err = t.entry64(e&frameMask64+((va>>30)&0x1ff)*8, "pdpte", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pdpte", e, ErrNotPresent}
	}
	if e&ptePresent != 0 && e&pteLarge != 0 {
		off := va & (1<<30 - 1)
		return e&0x000fffffc0000000 + off, 1<<30 - off, nil
	}
	e, err = t.entry64(e&frameMask64+((va>>21)&0x1ff)*8, "pde", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pde", e, ErrNotPresent}
	}
	if e&ptePresent != 0 && e&pteLarge != 0 {
		off := va & (1<<21 - 1)
		return e&0x000fffffffe00000 + off, 1<<21 - off, nil
	}
	e, err = t.entry64(e&frameMask64+((va>>12)&0x1ff)*8, "pte", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pte", e, ErrNotPresent}
	}
	off := va & (pageSize - 1)
	return e&frameMask64 + off, pageSize - off, nil
}

func (t *pager) translatePAE(va uint64) (uint64, uint64, error) {
	if va > 0xffffffff {
		return 0, 0, &TranslateError{VA: va, Level: "va", Err: ErrNotPresent}
	}
	e, err := t.entry64(t.dtb&0xffffffe0+((va>>30)&3)*8, "pdpte", va)
	if err != nil {
		return 0, 0, err
	}
	if e&ptePresent == 0 {
		return 0, 0, &TranslateError{va, "pdpte", e, ErrNotPresent}
	}
	e, err = t.entry64(e&frameMask64+((va>>21)&0x1ff)*8, "pde", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pde", e, ErrNotPresent}
	}
	if e&ptePresent != 0 && e&pteLarge != 0 {
		off := va & (1<<21 - 1)
		return e&0x000fffffffe00000 + off, 1<<21 - off, nil
	}
	e, err = t.entry64(e&frameMask64+((va>>12)&0x1ff)*8, "pte", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pte", e, ErrNotPresent}
	}
	off := va & (pageSize - 1)
	return e&frameMask64 + off, pageSize - off, nil
}

func (t *pager) entry32(pa uint64, level string, va uint64) (uint64, error) {
	e, ok := t.ph.u32(pa)
	if !ok {
		return 0, &TranslateError{VA: va, Level: level, Entry: pa, Err: fmt.Errorf("table entry at physical 0x%x is not in the image", pa)}
	}
	return uint64(e), nil
}

func (t *pager) translate86(va uint64) (uint64, uint64, error) {
	if va > 0xffffffff {
		return 0, 0, &TranslateError{VA: va, Level: "va", Err: ErrNotPresent}
	}
	e, err := t.entry32(t.dtb&frameMask32+(va>>22)*4, "pde", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pde", e, ErrNotPresent}
	}
	if e&ptePresent != 0 && e&pteLarge != 0 {
		// 4 MB page; PSE-36 puts physical bits 32..39 in entry bits 13..20.
		off := va & (1<<22 - 1)
		base := e&0xffc00000 | (e>>13&0xff)<<32
		return base + off, 1<<22 - off, nil
	}
	e, err = t.entry32(e&frameMask32+((va>>12)&0x3ff)*4, "pte", va)
	if err != nil {
		return 0, 0, err
	}
	if !entryPresent(e) {
		return 0, 0, &TranslateError{va, "pte", e, ErrNotPresent}
	}
	off := va & (pageSize - 1)
	return e&frameMask32 + off, pageSize - off, nil
}
