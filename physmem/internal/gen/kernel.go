package gen

import (
	"encoding/binary"
	"strings"
	"time"
)

func filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()/100) + 116444736000000000
}

// writeKernelPE writes ntoskrnl's headers (PE32 or PE32+, one section), an
// export directory naming PsInitialSystemProcess, and a debug directory
// with the RSDS record, all inside the mapped pages of the image.
func (b *builder) writeKernelPE(size uint64) {
	base := b.s.KernelBase
	h := make([]byte, pageSize)
	copy(h, "MZ")
	binary.LittleEndian.PutUint32(h[0x3c:], 0x80)
	copy(h[0x80:], "PE\x00\x00")
	fh := h[0x84:]
	machine, optSize, magic := uint16(0x14c), uint16(0xe0), uint16(0x10b)
	if b.ps == 8 {
		machine, optSize, magic = 0x8664, 0xf0, 0x20b
	}
	binary.LittleEndian.PutUint16(fh[0:], machine)
	binary.LittleEndian.PutUint16(fh[2:], 1) // sections
	binary.LittleEndian.PutUint32(fh[4:], 0x5a5a5a5a)
	binary.LittleEndian.PutUint16(fh[16:], optSize)
	binary.LittleEndian.PutUint16(fh[18:], 0x22)
	opt := h[0x98:]
	binary.LittleEndian.PutUint16(opt[0:], magic)
	binary.LittleEndian.PutUint32(opt[16:], 0x1000) // AddressOfEntryPoint
	var dd []byte
	if b.ps == 8 {
		binary.LittleEndian.PutUint64(opt[24:], base)
		dd = opt[112:]
	} else {
		// The link-time base: saferwall/pe rejects a header whose ImageBase
		// is not 64 KB aligned, as the load address of XP's kernel is not.
		binary.LittleEndian.PutUint32(opt[28:], 0x400000)
		dd = opt[96:]
	}
	binary.LittleEndian.PutUint32(opt[32:], 0x1000) // SectionAlignment
	binary.LittleEndian.PutUint32(opt[36:], 0x200)  // FileAlignment
	binary.LittleEndian.PutUint16(opt[40:], uint16(b.s.Major))
	binary.LittleEndian.PutUint16(opt[42:], uint16(b.s.Minor))
	binary.LittleEndian.PutUint32(opt[56:], uint32(size)) // SizeOfImage
	binary.LittleEndian.PutUint32(opt[60:], 0x400)        // SizeOfHeaders
	binary.LittleEndian.PutUint16(opt[68:], 1)            // Subsystem native
	if b.ps == 8 {
		binary.LittleEndian.PutUint32(opt[108:], 16)
	} else {
		binary.LittleEndian.PutUint32(opt[92:], 16)
	}
	binary.LittleEndian.PutUint32(dd[0:], 0x2000) // export directory
	binary.LittleEndian.PutUint32(dd[4:], 0x100)
	binary.LittleEndian.PutUint32(dd[6*8:], 0x2400) // debug directory
	binary.LittleEndian.PutUint32(dd[6*8+4:], 28)
	sec := h[0x98+int(optSize):]
	copy(sec, ".data\x00\x00\x00")
	binary.LittleEndian.PutUint32(sec[8:], uint32(size-0x1000))
	binary.LittleEndian.PutUint32(sec[12:], 0x1000)
	binary.LittleEndian.PutUint32(sec[16:], uint32(size-0x1000))
	binary.LittleEndian.PutUint32(sec[20:], 0x1000)
	binary.LittleEndian.PutUint32(sec[36:], 0xc8000040)
	b.kwrite(base, h)

	// Export directory at RVA 0x2000, names sorted.
	names := []string{"KeNumberProcessors", "NtBuildNumber", "PsInitialSystemProcess"}
	rvas := []uint32{uint32(b.s.rva(names[0])), uint32(b.s.rva(names[1])), uint32(b.s.rva(names[2]))}
	ed := make([]byte, 0x100)
	binary.LittleEndian.PutUint32(ed[0x0c:], 0x20c0)             // Name
	binary.LittleEndian.PutUint32(ed[0x10:], 1)                  // Base
	binary.LittleEndian.PutUint32(ed[0x14:], uint32(len(names))) // NumberOfFunctions
	binary.LittleEndian.PutUint32(ed[0x18:], uint32(len(names))) // NumberOfNames
	binary.LittleEndian.PutUint32(ed[0x1c:], 0x2040)
	binary.LittleEndian.PutUint32(ed[0x20:], 0x2060)
	binary.LittleEndian.PutUint32(ed[0x24:], 0x2080)
	for i := range names {
		binary.LittleEndian.PutUint32(ed[0x40+4*i:], rvas[i])
		binary.LittleEndian.PutUint32(ed[0x60+4*i:], uint32(0x2100+0x20*i))
		binary.LittleEndian.PutUint16(ed[0x80+2*i:], uint16(i))
	}
	copy(ed[0xc0:], "ntoskrnl.exe\x00")
	b.kwrite(base+0x2000, ed)
	for i, n := range names {
		b.kwrite(base+0x2100+uint64(0x20*i), []byte(n+"\x00"))
	}
	b.k32(base+b.s.rva("KeNumberProcessors"), b.s.Processors)
	b.k32(base+b.s.rva("NtBuildNumber"), b.s.Build|0xf0000000)

	// IMAGE_DEBUG_DIRECTORY at RVA 0x2400 -> RSDS record at RVA 0x2500.
	name := b.s.PDBName
	cv := append([]byte("RSDS"), b.s.PDBGUID[:]...)
	cv = binary.LittleEndian.AppendUint32(cv, b.s.PDBAge)
	cv = append(cv, name+"\x00"...)
	dbg := make([]byte, 28)
	binary.LittleEndian.PutUint32(dbg[12:], 2) // IMAGE_DEBUG_TYPE_CODEVIEW
	binary.LittleEndian.PutUint32(dbg[16:], uint32(len(cv)))
	binary.LittleEndian.PutUint32(dbg[20:], 0x2500) // AddressOfRawData
	binary.LittleEndian.PutUint32(dbg[24:], 0x2500) // PointerToRawData
	b.kwrite(base+0x2400, dbg)
	b.kwrite(base+0x2500, cv)
}

// writeKUSER writes KUSER_SHARED_DATA: SystemTime 0x14 and TimeZoneBias
// 0x20 (KSYSTEM_TIME), NtSystemRoot 0x30, NtBuildNumber 0x260 (Windows 10
// and later), NtProductType 0x264, NtMajorVersion 0x26c, NtMinorVersion
// 0x270, ActiveProcessorCount 0x3c0 (offsets of the JPCERT ISF files).
func (b *builder) writeKUSER(va uint64) {
	ks := func(off uint64, v int64) {
		b.k32(va+off, uint32(v))
		b.k32(va+off+4, uint32(v>>32))
		b.k32(va+off+8, uint32(v>>32))
	}
	ks(0x14, int64(filetime(b.s.Time)))
	ks(0x20, int64(b.s.TimeZoneBias/100))
	root := utf16le(b.s.SystemRoot)
	b.kwrite(va+0x30, root)
	if b.s.Major >= 10 {
		b.k32(va+0x260, b.s.Build)
	}
	b.k32(va+0x264, 1)
	b.k32(va+0x26c, b.s.Major)
	b.k32(va+0x270, b.s.Minor)
	if b.s.Major >= 6 {
		b.k32(va+0x3c0, b.s.Processors)
	}
}

// writeKDBG writes a KDDEBUGGER_DATA64 header and the pointers physmem
// reads (offsets of Volatility 3's kdbg.json): OwnerTag "KDBG" 0x10, Size
// 0x14, KernBase 0x18, PsLoadedModuleList 0x48, PsActiveProcessHead 0x50.
// Pointers are 64-bit, sign-extended on x86.
func (b *builder) writeKDBG(va, head, mods uint64) {
	sx := func(v uint64) uint64 {
		if b.ps == 4 && v&0x80000000 != 0 {
			return v | 0xffffffff00000000
		}
		return v
	}
	b.k64(va, sx(va))
	b.k64(va+8, sx(va))
	b.kwrite(va+0x10, []byte("KDBG"))
	size := uint32(0x340)
	if b.ps == 4 {
		size = 0x290
	}
	b.k32(va+0x14, size)
	b.k64(va+0x18, sx(b.s.KernelBase))
	b.k64(va+0x48, sx(mods))
	b.k64(va+0x50, sx(head))
}

// lowStub writes the x64 PROCESSOR_START_BLOCK fields MemProcFS checks: the
// jmp at 0, LmTarget at 0x70, Cr3 at 0xa0.
func (b *builder) lowStub(pa, entry uint64) {
	b.mem.Put64(pa, 0x00000001000600e9|0x1200) // E9 with a displacement byte
	b.mem.Put64(pa+0x70, entry)
	b.mem.Put64(pa+0xa0, b.kdtb)
}

// idle writes an Idle EPROCESS (PID 0) into the kernel image's data.
func (b *builder) idle(va uint64) {
	l := b.s.L
	b.kwrite(va, []byte{3, 0, byte(l.KProcessSize / 4), 0})
	b.kptr(va+uint64(l.KProcessDTB), b.kdtb)
	b.kwrite(va+uint64(l.EPROCESS["ImageFileName"]), []byte("Idle"))
}

// process writes one process: pool block, EPROCESS, handle table, session,
// threads and, unless NoUserSpace, page tables with PEB, loader data and
// parameters.
func (b *builder) process(p *Proc) (ep, epPA, dtb, peb uint64) {
	l := b.s.L
	e := l.EPROCESS
	ps := uint64(b.ps)
	// Pool block: POOL_HEADER, OBJECT_HEADER (body at 0x18 on x86, 0x30 on
	// x64), EPROCESS.
	poolHdr, objBody := uint64(8), uint64(0x18)
	if b.ps == 8 {
		poolHdr, objBody = 16, 0x30
	}
	block := poolHdr + objBody + uint64(l.EProcessSize)
	blk := b.poolAlloc(int(block)+0x40, true) + 0x40
	tag := "Proc"
	if b.s.ProtectedPoolTag {
		tag = "Pro\xe3"
	}
	if b.ps == 8 {
		b.kwrite(blk, []byte{0, 0, byte((block + 15) / 16), 2})
	} else {
		b.kwrite(blk, []byte{0, 0, byte((block + 7) / 8), byte(((block+7)/8)>>8) | 2<<1})
	}
	b.kwrite(blk+4, []byte(tag))
	ep = blk + poolHdr + objBody
	epPA = b.kpa(ep)

	// Page tables: System runs on the kernel's; each other process has its own.
	top := b.kdtb
	if !p.NoUserSpace {
		top = b.newTop()
	}
	dtb = top
	if b.s.Arch == PAE && !p.NoUserSpace {
		dtb = top + 0x20 // a PDPT need only be 32-byte aligned
		b.mem.Write(dtb, func() []byte { x := make([]byte, 32); b.mem.ReadAt(x, int64(top)); return x }())
	}
	b.procTop = dtb
	if !p.NoUserSpace {
		b.copyKernelHalf(dtb)
		if b.s.Arch != PAE {
			b.selfMap(dtb)
		}
	}
	b.umap = map[uint64]uint64{}
	b.userNext = 0x10000

	b.kwrite(ep, []byte{3, 0, byte(l.KProcessSize / 4), 0})
	b.kptr(ep+uint64(l.KProcessDTB), dtb)
	set := func(name string, v uint64) {
		if off, ok := e[name]; ok {
			b.kptr(ep+uint64(off), v)
		}
	}
	set64 := func(name string, v uint64) {
		if off, ok := e[name]; ok {
			b.k64(ep+uint64(off), v)
		}
	}
	set("UniqueProcessId", uint64(p.PID))
	set("InheritedFromUniqueProcessId", uint64(p.PPID))
	name := p.Name
	if len(name) > 15 {
		name = name[:15]
	}
	b.kwrite(ep+uint64(e["ImageFileName"]), append([]byte(name), make([]byte, 15-len(name))...))
	set64("CreateTime", filetime(p.Create))
	set64("ExitTime", filetime(p.Exit))
	if off, ok := e["ActiveThreads"]; ok {
		b.k32(ep+uint64(off), uint32(p.Threads))
	}
	// Thread list (ETHREAD list entries) for builds without ActiveThreads.
	if off, ok := e["ThreadListHead"]; ok {
		h := ep + uint64(off)
		prev := h
		for i := 0; i < p.Threads; i++ {
			t := b.poolAlloc(int(2*ps), false)
			b.kptr(prev, t)
			b.kptr(t+ps, prev)
			prev = t
		}
		b.kptr(prev, h)
		b.kptr(h+ps, prev)
	}
	if off, ok := e["ObjectTable"]; ok && l.HandleCount >= 0 {
		ht := b.poolAlloc(0x80, false)
		b.k32(ht+uint64(l.HandleCount), uint32(p.Handles))
		b.kptr(ep+uint64(off), ht)
	}
	if off, ok := e["SessionId"]; ok {
		b.k32(ep+uint64(off), uint32(p.Session))
	} else if off, ok := e["Session"]; ok && p.PID > 4 && l.SessionID >= 0 {
		ss := b.poolAlloc(0x40, false)
		b.k32(ss+uint64(l.SessionID), uint32(p.Session))
		b.kptr(ep+uint64(off), ss)
	}
	if off, ok := e["Wow64Process"]; ok && p.Wow64 {
		b.kptr(ep+uint64(off), b.poolAlloc(0x20, false))
	}
	if p.NoUserSpace {
		return ep, epPA, dtb, 0
	}
	peb = b.userSpace(p)
	set("Peb", peb)
	return ep, epPA, dtb, peb
}

// userSpace writes the PEB, PEB_LDR_DATA with one entry per module, and
// RTL_USER_PROCESS_PARAMETERS, with the offsets of the published layout.
func (b *builder) userSpace(p *Proc) uint64 {
	l := b.s.L
	ps := uint64(b.ps)
	imageBase := uint64(0x400000)
	if b.ps == 8 {
		imageBase = 0x140000000
	}
	peb := uint64(0x7ffdf000)
	if b.ps == 8 {
		peb = 0x7fffffd5000
	}
	b.uwrite(peb, make([]byte, pageSize))
	b.uptr(peb+uint64(l.PEB["ImageBaseAddress"]), imageBase)
	u32 := func(field string, v uint32) {
		if off, ok := l.PEB[field]; ok {
			var x [4]byte
			binary.LittleEndian.PutUint32(x[:], v)
			b.uwrite(peb+uint64(off), x[:])
		}
	}
	u32("OSMajorVersion", b.s.Major)
	u32("OSMinorVersion", b.s.Minor)
	u32("OSBuildNumber", b.s.Build) // USHORT, then OSCSDVersion 0
	u32("OSPlatformId", 2)          // VER_PLATFORM_WIN32_NT

	// Modules: the image, then its DLLs.
	paths := append([]string{p.Path}, p.DLLs...)
	bases := []uint64{imageBase}
	for i := range p.DLLs {
		base := uint64(0x77000000) - uint64(i)*0x200000
		if b.ps == 8 {
			base = 0x7ff00000000 - uint64(i)*0x1000000
		}
		bases = append(bases, base)
	}
	for _, base := range bases {
		h := make([]byte, 0x200)
		copy(h, "MZ")
		b.uwrite(base, h)
	}
	ldr := b.ualloc(0x100)
	b.uptr(peb+uint64(l.PEB["Ldr"]), ldr)
	b.uwrite(ldr, []byte{0x30, 0, 0, 0, 1})
	// Names follow the entry, past the end of every build's
	// LDR_DATA_TABLE_ENTRY (0x138 bytes at most on x64).
	entrySize := 0x200
	lists := []string{"InLoadOrderModuleList", "InMemoryOrderModuleList"}
	links := []string{"InLoadOrderLinks", "InMemoryOrderLinks"}
	entries := make([]uint64, len(paths))
	for i := range paths {
		entries[i] = b.ualloc(entrySize + 0x400)
	}
	for li := range lists {
		head := ldr + uint64(l.LdrData[lists[li]])
		prev := head
		for _, en := range entries {
			at := en + uint64(l.LdrEntry[links[li]])
			b.uptr(prev, at)
			b.uptr(at+ps, prev)
			prev = at
		}
		b.uptr(prev, head)
		b.uptr(head+ps, prev)
	}
	for i, en := range entries {
		b.uptr(en+uint64(l.LdrEntry["DllBase"]), bases[i])
		b.uwrite(en+uint64(l.LdrEntry["SizeOfImage"]), []byte{0, 0, 1, 0})
		b.ustring(en+uint64(l.LdrEntry["FullDllName"]), paths[i], en+uint64(entrySize))
		base := paths[i][strings.LastIndexByte(paths[i], '\\')+1:]
		b.ustring(en+uint64(l.LdrEntry["BaseDllName"]), base, en+uint64(entrySize)+0x200)
		if off, ok := l.LdrEntry["LoadTime"]; ok {
			var x [8]byte
			binary.LittleEndian.PutUint64(x[:], filetime(p.Create))
			b.uwrite(en+uint64(off), x[:])
		}
	}

	// Process parameters (normalized: absolute pointers).
	env := ""
	for _, v := range p.Env {
		env += v + "\x00"
	}
	envBuf := utf16le(env) // ends with the double NUL
	pp := b.ualloc(0x2000)
	b.uwrite(pp, make([]byte, 0x400))
	b.uwrite(pp+8, []byte{1, 0, 0, 0}) // Flags: normalized
	str := pp + 0x400
	put := func(field, s string) {
		if off, ok := l.Params[field]; ok {
			b.ustring(pp+uint64(off), s, str)
			str += uint64(len(utf16le(s))+15) &^ 15
		}
	}
	put("CurrentDirectory", p.CurDir)
	put("DllPath", p.CurDir+";C:\\WINDOWS\\system32")
	put("ImagePathName", p.Path)
	put("CommandLine", p.CmdLine)
	put("WindowTitle", p.Path)
	envVA := b.ualloc(len(envBuf))
	b.uwrite(envVA, envBuf)
	b.uptr(pp+uint64(l.Params["Environment"]), envVA)
	if off, ok := l.Params["EnvironmentSize"]; ok {
		b.uptr(pp+uint64(off), uint64(len(envBuf)))
	}
	b.uptr(peb+uint64(l.PEB["ProcessParameters"]), pp)

	if p.ParamsOut {
		// A software PTE: not valid, not in transition, a page file offset.
		for va := pp; va < pp+0x2000; va += pageSize {
			b.setPTE(b.procTop, va, 0x12340000|0x80, true)
		}
	}
	if p.PEBInTrans {
		pa := b.umap[peb]
		b.setPTE(b.procTop, peb, pa|fTrans|0x80, true)
	}
	return peb
}
