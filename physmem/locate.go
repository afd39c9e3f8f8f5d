package physmem

import (
	"bytes"
	"fmt"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// locateLayout finds the System process from the address of the first
// entry of the process list when no table layout fits: the EPROCESS is the
// entry minus ActiveProcessLinks, and UniqueProcessId (4) sits just before
// ActiveProcessLinks in every known build.
func (im *Image) locateLayout(firstLinks uint64, arch string) *Layout {
	ps := uint64(im.k.mode.PointerSize())
	for apl := uint64(0x80); apl < 0x800; apl += ps {
		sys := firstLinks - apl
		var hdr [4]byte
		if _, err := im.k.space.ReadAt(hdr[:], sys); err != nil || hdr[0] != 3 || hdr[2] == 0 {
			continue
		}
		pid, err := addrspace.Ptr(im.k.space, sys+apl-ps)
		if err != nil || (pid != 4 && pid != 8) {
			continue
		}
		if l := im.locateFromSystem(sys, arch); l != nil {
			return l
		}
	}
	return nil
}

// locateFromSystem works out EPROCESS offsets from the System process and
// its neighbours, as MemProcFS does when it has no symbols: the name
// "System", the PID 4 followed by list links that point back, the DTB at
// its fixed KPROCESS offset; then, comparing the next processes, the
// parent PID, the PEB and the creation time. Fields it cannot place stay
// absent.
func (im *Image) locateFromSystem(sys uint64, arch string) *Layout {
	k := &im.k
	s := k.space
	ps := k.mode.PointerSize()
	b := make([]byte, 0x1000)
	n, _ := s.ReadAt(b, sys)
	if n < 0x200 {
		return nil
	}
	b = b[:n]
	if b[0] != 3 || b[2] == 0 {
		return nil
	}
	l := &Layout{Version: "located", Arch: arch, Source: "located on the System process",
		KProcessSize: int(b[2]) * 4, EProcessSize: n,
		InheritedFromUniqueProcessId: -1, CreateTime: -1, ExitTime: -1, ExitStatus: -1, Peb: -1, ObjectTable: -1,
		Wow64Process: -1, ThreadListHead: -1, ActiveThreads: -1, Session: -1, SessionId: -1, HandleCount: -1,
		SessionSpaceSessionId: -1}
	l.DirectoryTableBase = 0x18
	if ps == 8 {
		l.DirectoryTableBase = 0x28
	}
	l.ImageFileName = bytes.Index(b, []byte("System\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	if l.ImageFileName < 0 {
		return nil
	}
	l.UniqueProcessId = -1
	for o := l.KProcessSize; o+3*ps <= len(b); o += ps {
		if v := ptrAt(b, o, ps); v != 4 && v != 8 {
			continue
		}
		f, bl := ptrAt(b, o+ps, ps), ptrAt(b, o+2*ps, ps)
		if kernelPtr(f, ps) && kernelPtr(bl, ps) && im.linksBack(sys+uint64(o+ps), f, bl) {
			l.UniqueProcessId, l.ActiveProcessLinks = o, o+ps
			break
		}
	}
	if l.UniqueProcessId < 0 {
		return nil
	}
	// Collect a few other processes along the list.
	var others [][]byte
	pids := map[uint64]bool{ptrAt(b, l.UniqueProcessId, ps): true}
	links := ptrAt(b, l.ActiveProcessLinks, ps)
	for i := 0; i < 16 && len(others) < 8; i++ {
		e := links - uint64(l.ActiveProcessLinks)
		ob := make([]byte, len(b))
		m, _ := s.ReadAt(ob, e)
		if m < l.ImageFileName+16 || ob[0] != 3 {
			// the list head, or an unreadable entry
		} else {
			others = append(others, ob[:m])
			pids[ptrAt(ob, l.UniqueProcessId, ps)] = true
		}
		nx, err := addrspace.Ptr(s, links)
		if err != nil || nx == sys+uint64(l.ActiveProcessLinks) {
			break
		}
		links = nx
	}
	if len(others) >= 2 {
		im.locateOthers(l, b, others, pids)
	}
	k.layout, k.located = l, true
	k.layoutHow = fmt.Sprintf("offsets located on the System process and %d others (name 0x%x, PID 0x%x, links 0x%x, parent 0x%x, PEB 0x%x, create time 0x%x)",
		len(others), l.ImageFileName, l.UniqueProcessId, l.ActiveProcessLinks, l.InheritedFromUniqueProcessId, l.Peb, l.CreateTime)
	k.system = sys
	if k.systemHow == "" {
		k.systemHow = "first entry of PsActiveProcessHead"
	}
	im.warn(warnf("", 0, "no layout table fits this kernel: EPROCESS offsets were located heuristically; threads, handles, session and exit time are unknown"))
	return l
}

// locateOthers places the parent PID, PEB and creation time by comparing
// System (sys) with other processes.
func (im *Image) locateOthers(l *Layout, sys []byte, others [][]byte, pids map[uint64]bool) {
	ps := l.PointerSize()
	userEnd := im.k.mode.userEnd()
	minLen := len(sys)
	for _, o := range others {
		if len(o) < minLen {
			minLen = len(o)
		}
	}
	need := len(others) * 2 / 3
	if need < 2 {
		need = 2
	}
	score := func(off int, ok func([]byte) bool) bool {
		c := 0
		for _, o := range others {
			if ok(o) {
				c++
			}
		}
		return c >= need
	}
	start := l.ActiveProcessLinks + 2*ps
	for off := start; off+ps <= minLen && l.InheritedFromUniqueProcessId < 0; off += ps {
		if ptrAt(sys, off, ps) != 0 {
			continue
		}
		if score(off, func(o []byte) bool { v := ptrAt(o, off, ps); return v != 0 && v%4 == 0 && pids[v] }) {
			l.InheritedFromUniqueProcessId = off
		}
	}
	for off := start; off+ps <= minLen && l.Peb < 0; off += ps {
		if off == l.InheritedFromUniqueProcessId || ptrAt(sys, off, ps) != 0 {
			continue
		}
		if score(off, func(o []byte) bool {
			v := ptrAt(o, off, ps)
			if v == 0 || v >= userEnd || v&0xfff != 0 {
				return false
			}
			sp := newSpace(im.ph, im.k.mode, ptrAt(o, l.DirectoryTableBase, ps), false)
			img, err := addrspace.Ptr(sp, v+uint64(2*ps)) // PEB.ImageBaseAddress
			return err == nil && img != 0 && img < userEnd && img&0xffff == 0
		}) {
			l.Peb = off
		}
	}
	lo, hi := uint64(116444736000000000), uint64(116444736000000000+uint64(130*365*24*3600)*1e7)
	plausible := func(v uint64) bool { return v > lo && v < hi }
	for off := l.KProcessSize; off+8 <= minLen && l.CreateTime < 0; off += 8 {
		if !plausible(le.Uint64(sys[off:])) {
			continue
		}
		if score(off, func(o []byte) bool { return plausible(le.Uint64(o[off:])) }) {
			l.CreateTime = off
		}
	}
}
