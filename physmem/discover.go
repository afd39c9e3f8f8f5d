package physmem

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/remnant-forensics/remnant/pkg/wstr"
	"time"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/peimage"
)

// kernel is what was found about the running kernel, and how.
type kernel struct {
	mode   Mode
	dtb    uint64
	dtbHow string
	space  *Space // kernel half, through dtb

	entry uint64 // kernel entry point from the processor start block

	kdbg    uint64 // VA of KDDEBUGGER_DATA64
	kdbgPA  uint64 // its physical address, when found by a physical scan
	kdbgHow string

	base    uint64 // ntoskrnl image base
	baseHow string
	pe      *peimage.Info

	psHead, psModules uint64 // PsActiveProcessHead, PsLoadedModuleList
	psHeadHow         string

	system    uint64 // VA of the System process's EPROCESS
	systemPA  uint64
	systemHow string
	located   bool // layout located from the System process, not from tables

	major, minor, build uint32
	verHow              string

	layout    *Layout
	layoutHow string

	time       time.Time
	timeHow    string
	tzBias     time.Duration // UTC - local
	systemRoot string
	processors uint32
	procHow    string
}

// Fixed virtual addresses of KUSER_SHARED_DATA.
const (
	kuserX86 = 0xffdf0000
	kuserX64 = 0xfffff78000000000
)

// discover finds the kernel: paging mode and page tables, the System
// process, the version and the structure layout. Each step that fails adds
// a warning; later steps use what earlier ones found.
func (im *Image) discover() {
	k := &im.k
	if h := im.crash; h != nil {
		k.dtb, k.dtbHow = h.DirectoryTableBase, "crash dump header"
		switch {
		case h.MachineImageType == MachineAMD64 || h.Is64:
			k.mode = ModeX64
		case h.PaeEnabled:
			k.mode = ModePAE
		default:
			k.mode = ModeX86
		}
		k.psHead, k.psModules, k.psHeadHow = h.PsActiveProcessHead, h.PsLoadedModuleList, "crash dump header"
		if h.KdDebuggerDataBlock != 0 {
			k.kdbg, k.kdbgHow = h.KdDebuggerDataBlock, "crash dump header"
		}
		if h.MinorVersion > 0 && h.MinorVersion < 0x10000 {
			k.build, k.verHow = h.MinorVersion, "crash dump header"
		}
		if h.NumberProcessors > 0 && h.NumberProcessors <= 4096 {
			k.processors, k.procHow = h.NumberProcessors, "crash dump header"
		}
		if !h.SystemTime.IsZero() {
			k.time, k.timeHow = h.SystemTime, "crash dump header"
		}
	}
	if k.dtb == 0 {
		im.findLowStub()
	}
	if k.dtb == 0 || k.mode == ModeX86 || k.mode == ModePAE {
		// Without a DTB, or on x86 where nothing cheap finds the System
		// process, scan physical memory for it (and for self-referencing
		// page directories).
		if k.system == 0 {
			im.scanForKernel()
		}
	}
	if k.dtb == 0 {
		im.warn(warnf("", 0, "no kernel page tables found: not a Windows image, or an unsupported one"))
		return
	}
	k.space = newSpace(im.ph, k.mode, k.dtb, true)
	im.readKUSER()
	im.readKDBG()
	im.findKernelBase()
	im.findSystem()
	im.chooseLayout()
	im.headFromSystem()
}

// headFromSystem takes PsActiveProcessHead, when nothing gave it, as the
// Blink of the System process's links: System is the first process, so the
// entry before it is the list head, inside the kernel image.
func (im *Image) headFromSystem() {
	k := &im.k
	if k.psHead != 0 || k.layout == nil || k.system == 0 {
		return
	}
	links := k.system + uint64(k.layout.ActiveProcessLinks)
	blink, err := addrspace.Ptr(k.space, links+uint64(k.mode.PointerSize()))
	if err != nil {
		return
	}
	if f, err := addrspace.Ptr(k.space, blink); err != nil || f != links {
		im.warn(warnf("va", blink, "the System process's Blink does not point back to it: PsActiveProcessHead unknown"))
		return
	}
	if k.pe != nil && (blink < k.base || blink >= k.base+uint64(k.pe.SizeOfImage)) {
		im.warn(warnf("va", blink, "the entry before the System process lies outside the kernel image: the list does not start at System"))
		return
	}
	k.psHead, k.psHeadHow = blink, "Blink of the System process's ActiveProcessLinks"
}

// findLowStub looks for the x64 processor start block (PROCESSOR_START_BLOCK)
// in the first megabyte of physical memory: a jmp (E9 xx xx then 06 00 01 00
// 00 00 masked as MemProcFS does), the kernel entry (LmTarget) at 0x70 and
// CR3 at 0xa0 (ProcessorState.SpecialRegisters.Cr3).
func (im *Image) findLowStub() {
	buf := make([]byte, 0xa8)
	for pa := uint64(0x1000); pa < 0x100000; pa += pageSize {
		if _, err := im.ph.read(buf, pa); err != nil {
			continue
		}
		if le.Uint64(buf)&0xffffffffffff00ff != 0x00000001000600e9 {
			continue
		}
		entry, cr3 := le.Uint64(buf[0x70:]), le.Uint64(buf[0xa0:])
		if entry&0xfffff80000000003 != 0xfffff80000000000 || cr3&0xffffff0000000fff != 0 || cr3 == 0 {
			continue
		}
		if !im.validPML4(cr3) {
			im.warn(warnf("phys", pa, "processor start block gives CR3 0x%x, which is not a valid PML4", cr3))
			continue
		}
		im.k.mode, im.k.dtb, im.k.entry = ModeX64, cr3, entry
		im.k.dtbHow = fmt.Sprintf("processor start block at physical 0x%x", pa)
		return
	}
}

// validPML4 checks a candidate PML4 as MemProcFS does: a self-referencing
// entry in the kernel half and at least a few valid kernel entries inside
// the image.
func (im *Image) validPML4(pa uint64) bool {
	b := make([]byte, pageSize)
	if _, err := im.ph.read(b, pa); err != nil {
		return false
	}
	end := im.ph.end()
	self, valid := false, 0
	for i := 256; i < 512; i++ {
		e := le.Uint64(b[i*8:])
		if e&0x8000000000000087 == 0x03 && e&frameMask64 < end {
			valid++
		}
		if e&0x0000fffffffff083 == pa|0x03 {
			self = true
		}
	}
	return self && valid >= 2
}

// scanForKernel makes one pass over physical memory looking for the System
// process's EPROCESS (the name "System" preceded, at a layout's distance,
// by a process dispatcher header) and, on x86, page directories that map
// themselves at 0xc0000000.
func (im *Image) scanForKernel() {
	k := &im.k
	arch := ""
	if k.mode == ModeX64 {
		arch = "x64"
	} else if k.mode != ModeUnknown {
		arch = "x86"
	}
	cands := candidateLayouts(arch)
	var selfRef86, selfRefPAE, kdbgPA uint64
	pat := []byte("System\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	for _, r := range im.ph.runs {
		for off := uint64(0); off < r.Size; off += chunk {
			n := r.Size - off
			if n > chunk {
				n = chunk
			}
			b := buf[:n]
			if _, err := im.ph.read(b, r.PA+off); err != nil {
				continue
			}
			base := r.PA + off
			for i := 0; ; {
				j := bytes.Index(b[i:], pat)
				if j < 0 {
					break
				}
				hit := base + uint64(i+j)
				i += j + 1
				if im.trySystem(hit, cands) {
					return
				}
			}
			if arch == "x64" {
				continue
			}
			if kdbgPA == 0 {
				kdbgPA = findKDBGTag(b, base)
			}
			for p := uint64(0); p+pageSize <= n; p += pageSize {
				pa := base + p
				if selfRef86 == 0 && isSelfRef86(b[p:p+pageSize], pa, im.ph.end()) {
					selfRef86 = pa
				}
				if selfRefPAE == 0 && isSelfRefPAE(b[p:p+pageSize], pa) {
					selfRefPAE = pa
				}
			}
		}
	}
	if k.dtb != 0 {
		return
	}
	k.kdbgPA = kdbgPA
	switch {
	case selfRef86 != 0:
		k.mode, k.dtb = ModeX86, selfRef86
		k.dtbHow = fmt.Sprintf("self-referencing page directory at physical 0x%x", selfRef86)
	case selfRefPAE != 0:
		if pdpt := im.findPDPT(selfRefPAE); pdpt != 0 {
			k.mode, k.dtb = ModePAE, pdpt
			k.dtbHow = fmt.Sprintf("PAE page directory pointer table at physical 0x%x (self-referencing page directory at 0x%x)", pdpt, selfRefPAE)
		}
	}
}

// findKDBGTag returns the physical address of the first KDBG block in b
// (at physical address base): the owner tag at 0x10 of an 8-aligned block
// whose Size is plausible.
func findKDBGTag(b []byte, base uint64) uint64 {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("KDBG"))
		if j < 0 {
			return 0
		}
		at := i + j
		i = at + 1
		if at < kdbgOwnerTag || (base+uint64(at-kdbgOwnerTag))%8 != 0 || at+8 > len(b) {
			continue
		}
		if sz := le.Uint32(b[at+4:]); sz >= 0x80 && sz <= 0x1000 {
			return base + uint64(at-kdbgOwnerTag)
		}
	}
}

// isSelfRef86 reports whether a page is an x86 page directory whose entry
// 0x300 (0xc0000000) maps the directory itself, with other valid kernel
// entries, and every valid entry pointing inside physical memory (end).
func isSelfRef86(p []byte, pa, end uint64) bool {
	if le.Uint32(p[0xc00:])&0xfffff003 != uint32(pa)|3 || pa > 0xfffff000 {
		return false
	}
	valid := 0
	for i := 0; i < 0x400; i++ {
		e := le.Uint32(p[i*4:])
		if e&1 == 0 {
			continue
		}
		if e&0x80 == 0 && uint64(e&0xfffff000) >= end {
			return false
		}
		if i >= 0x200 {
			valid++
		}
	}
	return valid >= 3
}

// isSelfRefPAE reports whether a page is the PAE page directory of
// 0xc0000000-0xffffffff: its first four entries map the four page
// directories (0xc0600000-0xc0603fff), the fourth being itself.
func isSelfRefPAE(p []byte, pa uint64) bool {
	if le.Uint64(p[0x18:])&0x000ffffffffff003 != pa|3 {
		return false
	}
	for i := 0; i < 3; i++ {
		e := le.Uint64(p[i*8:])
		if e&1 == 0 || e&frameMask64 == pa {
			return false
		}
	}
	return true
}

// findPDPT looks for the 32-byte PDPT whose four entries point at the page
// directories the self-referencing one lists.
func (im *Image) findPDPT(pd3 uint64) uint64 {
	var want [4]uint64
	for i := range want {
		e, ok := im.ph.u64(pd3 + uint64(i)*8)
		if !ok {
			return 0
		}
		want[i] = e & frameMask64
	}
	buf := make([]byte, pageSize)
	for _, r := range im.ph.runs {
		for off := uint64(0); off+pageSize <= r.Size; off += pageSize {
			if _, err := im.ph.read(buf, r.PA+off); err != nil {
				continue
			}
			for o := 0; o < pageSize; o += 32 {
				ok := true
				for i := 0; i < 4 && ok; i++ {
					e := le.Uint64(buf[o+i*8:])
					ok = e&1 != 0 && e&frameMask64 == want[i]
				}
				if ok {
					return r.PA + off + uint64(o)
				}
			}
		}
	}
	return 0
}

// trySystem checks whether the "System" at physical address hit is the
// ImageFileName of the System process for one of the candidate layouts,
// and if so takes its DTB, paging mode and list links.
func (im *Image) trySystem(hit uint64, cands []*Layout) bool {
	for _, l := range cands {
		if hit < uint64(l.ImageFileName) {
			continue
		}
		base := hit - uint64(l.ImageFileName)
		size := l.EProcessSize
		if size <= 0 || size > 0x1000 {
			size = l.ImageFileName + 16
		}
		b := make([]byte, size)
		if _, err := im.ph.read(b, base); err != nil {
			continue
		}
		if !processHeader(b, l) {
			continue
		}
		ps := l.PointerSize()
		pid := ptrAt(b, l.UniqueProcessId, ps)
		if pid != 4 && !(pid == 8 && l.Major == 5 && l.Minor == 0) {
			continue
		}
		dtb := ptrAt(b, l.DirectoryTableBase, ps)
		flink := ptrAt(b, l.ActiveProcessLinks, ps)
		blink := ptrAt(b, l.ActiveProcessLinks+ps, ps)
		if !kernelPtr(flink, ps) || !kernelPtr(blink, ps) || dtb == 0 {
			continue
		}
		// The list head's Flink is this EPROCESS's links, whose physical
		// address we know: that checks the DTB and the paging mode.
		modes := []Mode{ModeX64}
		if ps == 4 {
			modes = []Mode{ModePAE, ModeX86}
			if dtb&0xfff != 0 {
				modes = []Mode{ModePAE}
			}
		}
		for _, m := range modes {
			s := newSpace(im.ph, m, dtb, true)
			head, err := addrspace.Ptr(s, blink)
			if err != nil {
				continue
			}
			pa, err := s.Translate(head)
			if err != nil || pa != base+uint64(l.ActiveProcessLinks) {
				// Not the head: the System process may not be first (a
				// smeared list); accept the previous entry's Flink too.
				if pa2, err2 := s.Translate(blink); err2 != nil || pa2 == 0 {
					continue
				}
				prevFlink, err := addrspace.Ptr(s, blink)
				if err != nil {
					continue
				}
				if pa3, err := s.Translate(prevFlink); err != nil || pa3 != base+uint64(l.ActiveProcessLinks) {
					continue
				}
			}
			k := &im.k
			if k.dtb != 0 && k.dtb&frameMask64 != dtb&frameMask64 {
				im.warn(warnf("phys", base, "System process DTB 0x%x differs from the DTB found before (0x%x)", dtb, k.dtb))
			}
			if k.dtb == 0 {
				k.dtb, k.mode = dtb, m
				k.dtbHow = fmt.Sprintf("System process (dispatcher header and name) at physical 0x%x", base)
			}
			k.system, k.systemPA = head-uint64(l.ActiveProcessLinks), base
			k.systemHow = fmt.Sprintf("physical scan for the dispatcher header and name (layout %s)", l)
			if k.psHead == 0 {
				k.psHead, k.psHeadHow = blink, "Blink of the System process"
			}
			if k.layout == nil {
				k.layout, k.layoutHow = l, "System process found with it"
			}
			return true
		}
	}
	return false
}

// processHeader checks the DISPATCHER_HEADER at the start of a KPROCESS:
// Type 3 (ProcessObject) and Size = sizeof(KPROCESS) in 4-byte units. From
// Windows 10 2004 (x64) that quotient no longer fits the Size byte; what
// the kernel stores there then is not checked (no public source says).
func processHeader(b []byte, l *Layout) bool {
	if len(b) < 4 || b[0] != 3 {
		return false
	}
	if q := l.KProcessSize / 4; q <= 0xff {
		return int(b[2]) == q
	}
	return b[2] != 0
}

func ptrAt(b []byte, off, ps int) uint64 {
	if off < 0 || off+ps > len(b) {
		return 0
	}
	if ps == 8 {
		return le.Uint64(b[off:])
	}
	return uint64(le.Uint32(b[off:]))
}

// kernelPtr reports whether v looks like a kernel-mode address.
func kernelPtr(v uint64, ps int) bool {
	if ps == 8 {
		return v >= 0xffff800000000000
	}
	return v >= 0x80000000 && v <= 0xffffffff
}

// readKUSER reads KUSER_SHARED_DATA: version (NtMajorVersion 0x26c,
// NtMinorVersion 0x270, NtBuildNumber 0x260 from Windows 10), system time
// (0x14) and time zone bias (0x20) as KSYSTEM_TIME, NtSystemRoot (0x30) and
// ActiveProcessorCount (0x3c0, Windows Vista and later).
func (im *Image) readKUSER() {
	k := &im.k
	va := uint64(kuserX86)
	if k.mode == ModeX64 {
		va = kuserX64
	}
	b := make([]byte, 0x3c4)
	if _, err := k.space.ReadAt(b, va); err != nil {
		im.warn(warnf("va", va, "KUSER_SHARED_DATA is not readable: %v", err))
		return
	}
	major, minor := le.Uint32(b[0x26c:]), le.Uint32(b[0x270:])
	if major < 4 || major > 10 || minor > 10 {
		im.warn(warnf("va", va, "KUSER_SHARED_DATA gives version %d.%d: ignored", major, minor))
		return
	}
	k.major, k.minor = major, minor
	how := "KUSER_SHARED_DATA"
	if k.verHow != "" {
		how = k.verHow + " (build), KUSER_SHARED_DATA (major.minor)"
	}
	if major >= 10 {
		if nb := le.Uint32(b[0x260:]) & 0xffff; nb >= 10000 && (k.build == 0 || k.build == nb) {
			k.build = nb
			how = "KUSER_SHARED_DATA"
		}
	}
	k.verHow = how
	if t, ok := ksystemTime(b[0x14:]); ok && t != 0 {
		ts := filetime(uint64(t))
		if !ts.IsZero() && k.time.IsZero() {
			k.time, k.timeHow = ts, "KUSER_SHARED_DATA.SystemTime"
		}
	}
	if bias, ok := ksystemTime(b[0x20:]); ok {
		k.tzBias = time.Duration(bias) * 100
	}
	k.systemRoot = wstr.DecodeZ(b[0x30 : 0x30+520])
	if major >= 6 && k.processors == 0 {
		if n := le.Uint32(b[0x3c0:]); n > 0 && n <= 4096 {
			k.processors, k.procHow = n, "KUSER_SHARED_DATA.ActiveProcessorCount"
		}
	}
}

// ksystemTime decodes a KSYSTEM_TIME (LowPart, High1Time, High2Time): valid
// when both high parts agree.
func ksystemTime(b []byte) (int64, bool) {
	lo, h1, h2 := le.Uint32(b), int32(le.Uint32(b[4:])), int32(le.Uint32(b[8:]))
	if h1 != h2 {
		return 0, false
	}
	return int64(h1)<<32 | int64(lo), true
}

// KDBG (KDDEBUGGER_DATA64, Volatility 3 kdbg.json): Header.List (16 bytes),
// OwnerTag "KDBG" at 0x10, Size at 0x14, KernBase 0x18, PsLoadedModuleList
// 0x48, PsActiveProcessHead 0x50. Pointers are 64-bit even on x86.
const (
	kdbgOwnerTag = 0x10
	kdbgSize     = 0x14
	kdbgKernBase = 0x18
	kdbgModules  = 0x48
	kdbgHead     = 0x50
)

// readKDBG reads the KDBG block at a known address (the crash dump
// header's), or looks for it in the kernel image once the base is known.
func (im *Image) readKDBG() {
	k := &im.k
	if k.kdbg == 0 && k.kdbgPA != 0 {
		b := make([]byte, kdbgHead+8)
		if _, err := im.ph.read(b, k.kdbgPA); err == nil && im.takeKDBG(b, 0, fmt.Sprintf("physical scan for the KDBG owner tag (physical 0x%x)", k.kdbgPA)) {
			return
		}
	}
	if k.kdbg == 0 {
		return
	}
	if !im.useKDBG(k.kdbg, k.kdbgHow) {
		im.warn(warnf("va", k.kdbg, "no valid KDBG block at the address the %s gives", k.kdbgHow))
		k.kdbg, k.kdbgHow = 0, ""
	}
}

// useKDBG validates a KDBG block at va and takes its pointers.
func (im *Image) useKDBG(va uint64, how string) bool {
	k := &im.k
	b := make([]byte, kdbgHead+8)
	if _, err := k.space.ReadAt(b, va); err != nil {
		return false
	}
	return im.takeKDBG(b, va, how)
}

// takeKDBG validates the bytes of a KDBG block (at va, 0 when known only
// physically) and takes its pointers.
func (im *Image) takeKDBG(b []byte, va uint64, how string) bool {
	k := &im.k
	if string(b[kdbgOwnerTag:kdbgOwnerTag+4]) != "KDBG" {
		return false
	}
	if sz := le.Uint32(b[kdbgSize:]); sz < 0x80 || sz > 0x1000 {
		return false
	}
	ps := k.mode.PointerSize()
	fix := func(v uint64) uint64 {
		if ps == 4 {
			return v & 0xffffffff
		}
		return v
	}
	base, mods, head := fix(le.Uint64(b[kdbgKernBase:])), fix(le.Uint64(b[kdbgModules:])), fix(le.Uint64(b[kdbgHead:]))
	if !kernelPtr(base, ps) || !kernelPtr(head, ps) {
		return false
	}
	if _, err := k.space.Translate(head); err != nil {
		return false
	}
	k.kdbg, k.kdbgHow = va, how
	if k.base == 0 {
		k.base, k.baseHow = base, "KDBG.KernBase"
	}
	if k.psHead == 0 {
		k.psHead, k.psModules, k.psHeadHow = head, mods, "KDBG"
	} else if k.psHead != head {
		im.warn(warnf("va", va, "KDBG PsActiveProcessHead 0x%x differs from the %s's 0x%x", head, k.psHeadHow, k.psHead))
	}
	if k.psModules == 0 {
		k.psModules = mods
	}
	return true
}

// findKernelBase finds ntoskrnl's image base, scanning back page by page
// from a pointer known to lie inside it (the kernel entry point, the list
// head), then reads its headers, PDB record and, without a KDBG, looks for
// an unencoded KDBG in it.
func (im *Image) findKernelBase() {
	k := &im.k
	if k.base == 0 {
		for _, c := range []struct {
			va  uint64
			how string
		}{{k.entry, "processor start block entry point"}, {k.psHead, "PsActiveProcessHead"}, {k.psModules, "PsLoadedModuleList"}} {
			if c.va == 0 {
				continue
			}
			if b := im.scanBackForPE(c.va); b != 0 {
				k.base, k.baseHow = b, "PE header found below the "+c.how
				break
			}
		}
	}
	if k.base == 0 {
		im.warn(warnf("", 0, "kernel image base not found"))
		return
	}
	info, err := peimage.FromMemory(k.space, k.base, 0)
	if err != nil {
		im.warn(warnf("va", k.base, "kernel PE header: %v", err))
		return
	}
	k.pe = info
	if k.kdbg == 0 && k.kdbgHow == "" {
		im.scanKDBG()
	}
}

// scanBackForPE looks for an MZ/PE header at page boundaries at or below va,
// up to 64 MB down, whose SizeOfImage covers va. Unmapped stretches are
// skipped a table at a time.
func (im *Image) scanBackForPE(va uint64) uint64 {
	k := &im.k
	b := make([]byte, 0x400)
	low := uint64(0)
	if va > 64<<20 {
		low = va - 64<<20
	}
	for p := va &^ (pageSize - 1); p >= low && p <= va; {
		if _, err := k.space.Translate(p); err != nil {
			span := skipSpan(err, k.mode)
			next := p&^(span-1) - pageSize
			if next > p {
				break
			}
			p = next
			continue
		}
		if _, err := k.space.ReadAt(b, p); err == nil && b[0] == 'M' && b[1] == 'Z' {
			lfa := le.Uint32(b[0x3c:])
			if lfa >= 0x40 && lfa <= 0x400-0x60 && string(b[lfa:lfa+4]) == "PE\x00\x00" {
				size := le.Uint32(b[lfa+24+56:]) // SizeOfImage: same offset in PE32 and PE32+
				if uint64(size) > va-p {
					return p
				}
			}
		}
		if p < pageSize {
			break
		}
		p -= pageSize
	}
	return 0
}

// skipSpan is the span of virtual addresses a failed translation shows to
// be unmapped: the whole range of the entry it stopped at.
func skipSpan(err error, m Mode) uint64 {
	var te *TranslateError
	if !errors.As(err, &te) {
		return pageSize
	}
	switch te.Level {
	case "pml4e":
		return 1 << 39
	case "pdpte":
		return 1 << 30
	case "pde":
		if m == ModeX86 {
			return 1 << 22
		}
		return 1 << 21
	}
	return pageSize
}

// scanKDBG looks for an unencoded KDBG block in the kernel image's data
// (64-bit Windows 8 and later encode it; then none is found).
func (im *Image) scanKDBG() {
	k := &im.k
	size := uint64(k.pe.SizeOfImage)
	if size == 0 || size > 64<<20 {
		return
	}
	buf := make([]byte, pageSize)
	for off := uint64(0); off < size; off += pageSize {
		if _, err := k.space.ReadAt(buf, k.base+off); err != nil {
			continue
		}
		for i := 0; ; {
			j := bytes.Index(buf[i:], []byte("KDBG"))
			if j < 0 {
				break
			}
			at := i + j
			i = at + 1
			if at < kdbgOwnerTag || (at-kdbgOwnerTag)%8 != 0 {
				continue
			}
			va := k.base + off + uint64(at-kdbgOwnerTag)
			if im.useKDBG(va, "scan of the kernel image for the KDBG owner tag") {
				return
			}
		}
	}
}

// findSystem locates the System process's EPROCESS from the kernel's
// export PsInitialSystemProcess; failing that, chooseLayout takes the first
// entry of the process list.
func (im *Image) findSystem() {
	k := &im.k
	if k.system != 0 || k.pe == nil {
		return
	}
	va, err := im.kernelExport("PsInitialSystemProcess")
	if err != nil {
		im.warn(warnf("va", k.base, "kernel export PsInitialSystemProcess: %v", err))
		return
	}
	if p, err := addrspace.Ptr(k.space, va); err == nil && kernelPtr(p, k.mode.PointerSize()) {
		k.system, k.systemHow = p, "kernel export PsInitialSystemProcess"
	}
}
