package win

import (
	"fmt"
	"runtime/debug"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/peimage"
)

// Limits on what the evidence can make the walk do.
const (
	// MaxModules bounds each loader list walk.
	MaxModules = 4096
	// MaxEnvironment bounds the environment block read, in bytes.
	MaxEnvironment = 4 << 20
)

// Hints are what the caller knows from outside the process's memory: the
// dump's thread list and system information.
type Hints struct {
	TEBs    []uint64 // thread environment blocks, in thread-list order
	PEB     uint64   // PEB address if known (0 otherwise)
	OSMajor uint32   // operating system version from the dump (0: unknown)
	OSMinor uint32
	OSBuild uint32
	Is64    bool // the dump's architecture is 64-bit
}

// Process is what a process's own memory says about it.
type Process struct {
	Arch   string `json:"arch"`   // "x86" or "x64": the layout the structures were read with
	Layout string `json:"layout"` // the build the layout was taken from

	TEB       uint64 `json:"teb"`        // the TEB the PEB was found through (0 if found otherwise)
	PEB       uint64 `json:"peb"`        // 0 when no PEB was found (then only Wow64 may be set)
	PEBSource string `json:"peb_source"` // "teb", "hint" or "fixed" (a well-known address, checked)

	BeingDebugged      bool   `json:"being_debugged"`
	ImageBaseAddress   uint64 `json:"image_base_address"`
	Ldr                uint64 `json:"ldr"`
	ProcessParameters  uint64 `json:"process_parameters"`
	ProcessHeap        uint64 `json:"process_heap"`
	NumberOfHeaps      uint32 `json:"number_of_heaps"`
	NumberOfProcessors uint32 `json:"number_of_processors"`
	OSMajorVersion     uint32 `json:"os_major_version"`
	OSMinorVersion     uint32 `json:"os_minor_version"`
	OSBuildNumber      uint16 `json:"os_build_number"`
	OSCSDVersion       uint16 `json:"os_csd_version"`
	OSPlatformID       uint32 `json:"os_platform_id"`
	SessionID          uint32 `json:"session_id"`

	LdrLength             uint32   `json:"ldr_length"`
	LdrInitialized        bool     `json:"ldr_initialized"`
	InLoadOrder           []Module `json:"in_load_order"`
	InMemoryOrder         []Module `json:"in_memory_order"`
	InInitializationOrder []Module `json:"in_initialization_order"`

	Params *Params `json:"params,omitempty"`

	// Wow64 is the 32-bit side of a WOW64 process (PEB32, its loader lists
	// and parameters), found from the 64-bit TEBs.
	Wow64 *Process `json:"wow64,omitempty"`
}

// Module is one LDR_DATA_TABLE_ENTRY.
type Module struct {
	Entry       uint64 `json:"entry"` // address of the LDR_DATA_TABLE_ENTRY
	DllBase     uint64 `json:"dll_base"`
	EntryPoint  uint64 `json:"entry_point"`
	SizeOfImage uint32 `json:"size_of_image"`
	FullDllName string `json:"full_dll_name"`
	BaseDllName string `json:"base_dll_name"`
	// LdrTimeDateStamp is the loader entry's own copy (0 when the build's
	// entry has none or the loader left it unset).
	LdrTimeDateStamp uint32 `json:"ldr_time_date_stamp"`
	// TimeDateStamp is the PE header's, read from the image mapped at
	// DllBase; HeaderInMemory says whether that header was readable (when
	// false, TimeDateStamp is 0 and PDB nil).
	TimeDateStamp  uint32            `json:"time_date_stamp"`
	HeaderInMemory bool              `json:"header_in_memory"`
	PDB            *peimage.CodeView `json:"pdb,omitempty"`
}

// Walk reconstructs the process in as: TEB to PEB (or h.PEB, or a
// well-known PEB address of old Windows, each checked), the PEB's fields,
// the three loader lists, the process parameters and, in a 64-bit space,
// the WOW64 side. It never panics: what could be read is returned with
// warnings saying what could not. The Process is nil when no PEB was found.
func Walk(as addrspace.AddressSpace, h Hints) (p *Process, warns []Warning) {
	defer func() {
		if r := recover(); r != nil {
			warns = append(warns, Warning{Msg: fmt.Sprintf("internal error, walk stopped: %v\n%s", r, debug.Stack())})
		}
	}()
	w := &walker{as: as, h: h, osBuild: h.OSBuild, images: map[uint64]*imageHeader{}}
	arch := X86
	if h.Is64 || as.PointerSize() == 8 {
		arch = X64
	}
	p = w.walk(arch, h.TEBs, h.PEB, "")
	if arch == X64 {
		if p32 := w.wow64(); p32 != nil {
			if p == nil {
				p = &Process{Arch: X64.String(), Layout: LayoutFor(X64, w.osBuild).Name}
			}
			p.Wow64 = p32
		}
	}
	return p, w.warns
}

type walker struct {
	as      addrspace.AddressSpace
	h       Hints
	osBuild uint32 // the dump's build, else the first PEB's (0: unknown)
	warns   []Warning
	images  map[uint64]*imageHeader // PE headers by DllBase, read once
	// tebs64 are the TEBs the 64-bit walk validated (the WOW64 search
	// starts from them).
	tebs64 []uint64
}

type imageHeader struct {
	info *peimage.Info // nil when the header was absent or not a PE header
}

func (w *walker) mem(l *Layout, prefix string) *mem {
	return &mem{as: w.as, l: l, prefix: prefix, warns: &w.warns}
}

// walk finds the PEB of one architecture and reads everything under it.
func (w *walker) walk(arch Arch, tebs []uint64, pebHint uint64, prefix string) *Process {
	l := LayoutFor(arch, w.osBuild)
	m := w.mem(l, prefix)
	peb, teb, source := w.findPEB(m, tebs, pebHint)
	if peb == 0 {
		return nil
	}
	p := &Process{Arch: arch.String(), PEB: peb, TEB: teb, PEBSource: source}
	w.readPEB(m, p)
	// The PEB's fields read so far are at the same offsets in every build.
	// Without a build from the dump, the PEB's chooses the layout.
	switch {
	case w.osBuild == 0 && p.OSBuildNumber != 0:
		w.osBuild = uint32(p.OSBuildNumber)
		l = LayoutFor(arch, w.osBuild)
		m.l = l
	case w.h.OSBuild != 0 && p.OSBuildNumber != 0 && uint32(p.OSBuildNumber) != w.h.OSBuild:
		// Application compatibility shims can make the PEB lie.
		m.warnf(peb+uint64(l.PEB.OSBuildNumber), "PEB says %d.%d.%d, the dump %d.%d.%d; using the dump's layout",
			p.OSMajorVersion, p.OSMinorVersion, p.OSBuildNumber, w.h.OSMajor, w.h.OSMinor, w.h.OSBuild)
	}
	p.Layout = l.Name
	w.readLoader(m, p)
	w.readParams(m, p)
	return p
}

// pebReadSize is how much of the PEB is read: through SessionId, its last
// member on Windows 2000 (so that a dump holding exactly sizeof(PEB) of
// that build is enough).
func pebReadSize(l *Layout) int {
	pl := l.PEB
	n := span(l.PointerSize(), pl.ImageBaseAddress, pl.Ldr, pl.ProcessParameters, pl.ProcessHeap, pl.ProcessHeaps)
	if m := span(4, pl.NumberOfProcessors, pl.NumberOfHeaps, pl.OSMajorVersion, pl.OSMinorVersion,
		pl.OSPlatformID, pl.SessionID); m > n {
		n = m
	}
	return n
}

// findPEB tries, in order: each TEB (its Self pointer and its PEB pointer
// checked), the hint, and the well-known PEB addresses of old Windows
// (checked structurally).
func (w *walker) findPEB(m *mem, tebs []uint64, hint uint64) (peb, teb uint64, source string) {
	l := m.l
	for _, t := range tebs {
		if t == 0 {
			continue
		}
		b, err := m.block(t, span(l.PointerSize(), l.TEB.Self, l.TEB.PEB))
		if err != nil {
			m.warnf(t, "TEB not readable: %v", err)
			continue
		}
		tb := buf{b, l.PointerSize()}
		if self := tb.ptrAt(l.TEB.Self); self != t {
			m.warnf(t, "TEB NtTib.Self is 0x%x, not the TEB's address", self)
			continue
		}
		p := tb.ptrAt(l.TEB.PEB)
		if ok, why := w.plausiblePEB(m, p, false); !ok {
			m.warnf(t, "TEB's PEB pointer 0x%x: %s", p, why)
			continue
		}
		if l.Arch == X64 {
			w.tebs64 = append(w.tebs64, t)
		}
		switch {
		case peb == 0:
			peb, teb = p, t
		case p != peb:
			m.warnf(t, "TEB points to PEB 0x%x, an earlier TEB to 0x%x; keeping the first", p, peb)
		}
	}
	if peb != 0 {
		return peb, teb, "teb"
	}
	if hint != 0 {
		ok, why := w.plausiblePEB(m, hint, true)
		if ok {
			return hint, 0, "hint"
		}
		m.warnf(hint, "PEB hint rejected: %s", why)
	}
	for _, a := range fixedPEBs(l.Arch) {
		if ok, _ := w.plausiblePEB(m, a, true); ok {
			m.warnf(a, "no TEB led to a PEB; using the well-known PEB address 0x%x, which looks like a PEB", a)
			return a, 0, "fixed"
		}
	}
	if len(tebs) > 0 || hint != 0 {
		m.warnf(0, "no PEB found")
	}
	return 0, 0, ""
}

// fixedPEBs are PEB addresses of Windows before address space layout
// randomisation (0x7FFDF000 on x86 before XP SP2; XP SP2 to 7 pick one of
// the 16 pages below it), the WOW64 PEB32 of 7 (0x7EFDE000) and the x64
// PEB range of Vista and 7 (0x7FFFFFD3000-0x7FFFFFDF000).
func fixedPEBs(a Arch) []uint64 {
	var out []uint64
	switch a {
	case X86:
		for p := uint64(0x7ffdf000); p >= 0x7ffd0000; p -= 0x1000 {
			out = append(out, p)
		}
		out = append(out, 0x7efde000)
	case X64:
		for p := uint64(0x7fffffdf000); p >= 0x7fffffd0000; p -= 0x1000 {
			out = append(out, p)
		}
		out = append(out, 0x7efdf000)
	}
	return out
}

// plausiblePEB reads the PEB at va and says whether it looks like one.
// strict (for addresses not given by a TEB) also requires a Windows NT
// platform id, a known major version, a 64 KiB-aligned image base and a
// loader data pointer.
func (w *walker) plausiblePEB(m *mem, va uint64, strict bool) (bool, string) {
	if va == 0 {
		return false, "null"
	}
	l := m.l
	b, err := m.block(va, pebReadSize(l))
	if err != nil {
		return false, fmt.Sprintf("not readable: %v", err)
	}
	pb := buf{b, l.PointerSize()}
	if !strict {
		return true, ""
	}
	switch {
	case pb.u32(l.PEB.OSPlatformID) != 2:
		return false, fmt.Sprintf("OSPlatformId %d is not 2 (NT)", pb.u32(l.PEB.OSPlatformID))
	case !knownMajor(pb.u32(l.PEB.OSMajorVersion)):
		return false, fmt.Sprintf("OSMajorVersion %d", pb.u32(l.PEB.OSMajorVersion))
	case pb.ptrAt(l.PEB.ImageBaseAddress) == 0 || pb.ptrAt(l.PEB.ImageBaseAddress)%0x10000 != 0:
		return false, fmt.Sprintf("ImageBaseAddress 0x%x", pb.ptrAt(l.PEB.ImageBaseAddress))
	case pb.ptrAt(l.PEB.Ldr) == 0:
		return false, "null Ldr"
	}
	return true, ""
}

func knownMajor(v uint32) bool { return v == 3 || v == 4 || v == 5 || v == 6 || v == 10 }

// readPEB fills p from the PEB.
func (w *walker) readPEB(m *mem, p *Process) {
	l := m.l
	b, _ := m.block(p.PEB, pebReadSize(l)) // checked readable by findPEB
	pb := buf{b, l.PointerSize()}
	pl := l.PEB
	p.BeingDebugged = pb.u8(pl.BeingDebugged) != 0
	p.ImageBaseAddress = pb.ptrAt(pl.ImageBaseAddress)
	p.Ldr = pb.ptrAt(pl.Ldr)
	p.ProcessParameters = pb.ptrAt(pl.ProcessParameters)
	p.ProcessHeap = pb.ptrAt(pl.ProcessHeap)
	p.NumberOfProcessors = pb.u32(pl.NumberOfProcessors)
	p.NumberOfHeaps = pb.u32(pl.NumberOfHeaps)
	p.OSMajorVersion = pb.u32(pl.OSMajorVersion)
	p.OSMinorVersion = pb.u32(pl.OSMinorVersion)
	p.OSBuildNumber = pb.u16(pl.OSBuildNumber)
	p.OSCSDVersion = pb.u16(pl.OSCSDVersion)
	p.OSPlatformID = pb.u32(pl.OSPlatformID)
	p.SessionID = pb.u32(pl.SessionID)
	if p.OSPlatformID != 2 {
		m.warnf(p.PEB+uint64(pl.OSPlatformID), "PEB OSPlatformId is %d, not 2 (NT)", p.OSPlatformID)
	}
}

// wow64 finds the 32-bit TEB of each validated 64-bit TEB and walks the
// PEB32 it points to. A TEB32 is looked for, in order, through the TEB64's
// WowTebOffset (10.0+), through its NtTib.ExceptionList (6.0-6.3) and at
// TEB64 + Wow64TEB32Offset; a candidate must point to itself (NtTib.Self)
// and to a PEB32 that passes the strict checks.
func (w *walker) wow64() *Process {
	tebs := w.tebs64
	if len(tebs) == 0 {
		tebs = w.h.TEBs // the 64-bit walk found no PEB; try the TEBs as given
	}
	l64 := LayoutFor(X64, w.osBuild)
	l32 := LayoutFor(X86, w.osBuild)
	m64 := w.mem(l64, "wow64: ")
	m32 := w.mem(l32, "wow64: ")
	var tebs32 []uint64
	seen := map[uint64]bool{}
	for _, t := range tebs {
		for _, c := range w.teb32Candidates(m64, t) {
			if c == 0 || c > 0xffffffff || seen[c] {
				continue
			}
			b, err := m32.block(c, span(4, l32.TEB.Self, l32.TEB.PEB))
			if err != nil {
				continue
			}
			tb := buf{b, 4}
			if uint64(tb.u32(l32.TEB.Self)) != c {
				continue
			}
			// Strict: 64-bit Wine keeps a TEB32 with an empty PEB32 in
			// native processes too.
			if ok, _ := w.plausiblePEB(m32, uint64(tb.u32(l32.TEB.PEB)), true); !ok {
				continue
			}
			seen[c] = true
			tebs32 = append(tebs32, c)
			break
		}
	}
	if len(tebs32) == 0 {
		return nil
	}
	return w.walk(X86, tebs32, 0, "wow64: ")
}

func (w *walker) teb32Candidates(m *mem, teb64 uint64) []uint64 {
	var out []uint64
	l := m.l
	if l.TEB.WowTebOffset != Absent {
		if b, err := m.block(teb64+uint64(l.TEB.WowTebOffset), 4); err == nil {
			if off := int32(buf{b, 8}.u32(0)); off != 0 {
				out = append(out, teb64+uint64(int64(off)))
			}
		}
	}
	if b, err := m.block(teb64+uint64(l.TEB.ExceptionList), 8); err == nil {
		out = append(out, buf{b, 8}.u64(0))
	}
	return append(out, teb64+Wow64TEB32Offset)
}
