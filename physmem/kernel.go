package physmem

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// kernelExport returns the address of a name exported by the kernel image,
// reading its export directory (bounded: at most 65536 names, binary search).
func (im *Image) kernelExport(name string) (uint64, error) {
	k := &im.k
	s := k.space
	hdr := make([]byte, 0x400)
	if _, err := s.ReadAt(hdr, k.base); err != nil {
		return 0, err
	}
	lfa := uint64(le.Uint32(hdr[0x3c:]))
	if lfa+24+112+8 > uint64(len(hdr)) {
		return 0, fmt.Errorf("PE header offset 0x%x too large", lfa)
	}
	opt := lfa + 24
	dd := opt + 96 // PE32
	if le.Uint16(hdr[opt:]) == 0x20b {
		dd = opt + 112 // PE32+
	}
	rva, size := le.Uint32(hdr[dd:]), le.Uint32(hdr[dd+4:])
	if rva == 0 || size < 40 {
		return 0, errors.New("no export directory")
	}
	ed := make([]byte, 40)
	if _, err := s.ReadAt(ed, k.base+uint64(rva)); err != nil {
		return 0, fmt.Errorf("export directory: %w", err)
	}
	nfun, nnames := le.Uint32(ed[0x14:]), le.Uint32(ed[0x18:])
	afun, anames, aords := le.Uint32(ed[0x1c:]), le.Uint32(ed[0x20:]), le.Uint32(ed[0x24:])
	if nnames > 1<<16 || nfun > 1<<16 {
		return 0, fmt.Errorf("export directory counts %d names, %d functions: too many", nnames, nfun)
	}
	names := make([]byte, 4*nnames)
	if _, err := s.ReadAt(names, k.base+uint64(anames)); err != nil {
		return 0, fmt.Errorf("export names: %w", err)
	}
	var ferr error
	nameAt := func(i int) string {
		b := make([]byte, 64)
		n, err := s.ReadAt(b, k.base+uint64(le.Uint32(names[4*i:])))
		if n == 0 && err != nil {
			ferr = err
		}
		if j := bytes.IndexByte(b[:n], 0); j >= 0 {
			return string(b[:j])
		}
		return string(b[:n])
	}
	i := sort.Search(int(nnames), func(i int) bool { return nameAt(i) >= name })
	if ferr != nil {
		return 0, fmt.Errorf("export names: %w", ferr)
	}
	if i >= int(nnames) || nameAt(i) != name {
		return 0, fmt.Errorf("%s is not exported", name)
	}
	ord, err := addrspace.U16(s, k.base+uint64(aords)+2*uint64(i))
	if err != nil {
		return 0, err
	}
	if uint32(ord) >= nfun {
		return 0, fmt.Errorf("%s: ordinal %d out of range", name, ord)
	}
	f, err := addrspace.U32(s, k.base+uint64(afun)+4*uint64(ord))
	if err != nil {
		return 0, err
	}
	return k.base + uint64(f), nil
}

// chooseLayout picks the EPROCESS layout: the one for the version found
// (the nearest known build), checked on the System process; else any known
// layout that fits the System process; else offsets located on the System
// process itself.
func (im *Image) chooseLayout() {
	k := &im.k
	arch := "x86"
	if k.mode == ModeX64 {
		arch = "x64"
	}
	var firstLinks uint64
	if k.system == 0 && k.psHead != 0 {
		if f, err := addrspace.Ptr(k.space, k.psHead); err == nil && kernelPtr(f, k.mode.PointerSize()) {
			firstLinks = f
		}
	}
	// The table for the version first, then the layout the physical scan
	// found the System process with, then any known layout.
	var tries []*Layout
	versioned := false
	if k.major != 0 {
		if l := LayoutFor(arch, k.major, k.minor, k.build); l != nil {
			tries, versioned = append(tries, l), true
		}
	}
	scanned := k.layout
	if scanned != nil {
		tries = append(tries, scanned)
	}
	tries = append(tries, candidateLayouts(arch)...)
	for i, l := range tries {
		sys := k.system
		if sys == 0 {
			if firstLinks == 0 {
				break
			}
			sys = firstLinks - uint64(l.ActiveProcessLinks)
		}
		if !im.isSystem(sys, l) {
			continue
		}
		k.system = sys
		if k.systemHow == "" {
			k.systemHow = "first entry of PsActiveProcessHead"
		}
		switch {
		case versioned && i == 0:
			k.layoutHow = fmt.Sprintf("table for %d.%d.%d (%s), checked on the System process", k.major, k.minor, k.build, l.Source)
		case l == scanned:
			k.layoutHow = fmt.Sprintf("table entry %s (%s) with which the physical scan found the System process", l, l.Source)
		default:
			k.layoutHow = fmt.Sprintf("table entry %s (%s) that fits the System process", l, l.Source)
			if versioned && (l.Major != k.major || l.Minor != k.minor) {
				im.warn(warnf("", 0, "version %d.%d.%d but the System process fits the %s layout", k.major, k.minor, k.build, l))
			}
		}
		k.layout = l
		if k.major == 0 {
			k.major, k.minor = l.Major, l.Minor
			k.verHow = "layout that fits the System process (major.minor only)"
		}
		return
	}
	k.layout, k.layoutHow = nil, ""
	sys := k.system
	if sys == 0 && firstLinks != 0 {
		if l := im.locateLayout(firstLinks, arch); l != nil {
			return
		}
	}
	if sys != 0 {
		if l := im.locateFromSystem(sys, arch); l != nil {
			return
		}
	}
	im.warn(warnf("", 0, "no EPROCESS layout fits the System process: processes cannot be listed"))
}

// isSystem checks an EPROCESS at va against a layout: process dispatcher
// header, PID 4 (8 on Windows 2000), name "System", and list links whose
// neighbours point back.
func (im *Image) isSystem(va uint64, l *Layout) bool {
	b, err := im.readEPROCESS(va, l)
	if err != nil || !processHeader(b, l) {
		return false
	}
	ps := l.PointerSize()
	if pid := ptrAt(b, l.UniqueProcessId, ps); pid != 4 && pid != 8 {
		return false
	}
	if cstring(b[l.ImageFileName:l.ImageFileName+15]) != "System" {
		return false
	}
	return im.linksBack(va+uint64(l.ActiveProcessLinks), ptrAt(b, l.ActiveProcessLinks, ps), ptrAt(b, l.ActiveProcessLinks+ps, ps))
}

// linksBack checks a LIST_ENTRY at va: Flink's Blink and Blink's Flink are va.
func (im *Image) linksBack(va, flink, blink uint64) bool {
	s := im.k.space
	ps := uint64(s.PointerSize())
	fb, err1 := addrspace.Ptr(s, flink+ps)
	bf, err2 := addrspace.Ptr(s, blink)
	return err1 == nil && err2 == nil && fb == va && bf == va
}

// readEPROCESS reads the part of an EPROCESS that holds the fields a layout
// names.
func (im *Image) readEPROCESS(va uint64, l *Layout) ([]byte, error) {
	b := make([]byte, l.extent())
	if _, err := im.k.space.ReadAt(b, va); err != nil {
		return nil, err
	}
	return b, nil
}
