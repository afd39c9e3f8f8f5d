package gen

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
	"unicode/utf16"
)

// Arch is the paging model of a generated image.
type Arch int

// Paging models.
const (
	X86 Arch = iota // two-level, 32-bit entries
	PAE             // three-level, 64-bit entries
	X64             // four-level
)

// Layout holds the offsets the generator places fields at. The test fills
// it from a published source; names are the symbol names of the structures
// (EPROCESS: UniqueProcessId, ActiveProcessLinks, ...; PEB: Ldr, ...). A
// field missing from a map is not written.
type Layout struct {
	EPROCESS     map[string]int
	KProcessDTB  int // KPROCESS.DirectoryTableBase
	KProcessSize int
	EProcessSize int
	HandleCount  int // HANDLE_TABLE.HandleCount, -1 when the build has none
	SessionID    int // MM_SESSION_SPACE.SessionId, -1 when EPROCESS holds it
	PEB          map[string]int
	LdrData      map[string]int // PEB_LDR_DATA
	LdrEntry     map[string]int // LDR_DATA_TABLE_ENTRY
	Params       map[string]int // RTL_USER_PROCESS_PARAMETERS
}

// Proc describes one process to place in the image.
type Proc struct {
	PID, PPID   uint32
	Name        string // ImageFileName as the kernel keeps it (15 characters at most)
	Path        string // full image path
	CmdLine     string
	CurDir      string
	Env         []string
	DLLs        []string // full paths of loaded DLLs, after the image itself
	Create      time.Time
	Exit        time.Time // non-zero: exited (and left off the list)
	Threads     int
	Handles     int
	Session     int
	Wow64       bool
	Unlinked    bool // off ActiveProcessLinks although running
	ParamsOut   bool // the process parameters page is paged out
	PEBInTrans  bool // the PEB page is in transition (valid bit clear, frame kept)
	NoUserSpace bool // System: no PEB
}

// Spec describes an image.
type Spec struct {
	Arch                Arch
	Major, Minor, Build uint32
	L                   Layout
	MemSize             int64  // physical address space, bytes (sparse)
	KernelBase          uint64 // ntoskrnl load address
	PDBGUID             [16]byte
	PDBAge              uint32
	PDBName             string
	KDBG                bool // write a plain (unencoded) KDBG block
	LowStub             bool // write the x64 processor start block
	ProtectedPoolTag    bool // tag process blocks "Pro\xe3" (Windows XP/2003) instead of "Proc"
	Time                time.Time
	TimeZoneBias        time.Duration
	SystemRoot          string
	Processors          uint32
	Procs               []Proc // the first is System
	// Symbols overrides the RVAs of the kernel's variables (PDB names:
	// PsActiveProcessHead, PsLoadedModuleList, PsInitialSystemProcess,
	// KdDebuggerDataBlock, KeNumberProcessors, NtBuildNumber), so that a
	// symbol file of the build describes the image. Missing names keep
	// their default RVA; the pages holding them are mapped and SizeOfImage
	// covers them.
	Symbols map[string]uint64
}

// defaultRVAs are the kernel variables' RVAs when Spec.Symbols has none.
var defaultRVAs = map[string]uint64{
	"PsInitialSystemProcess": 0x3000,
	"KeNumberProcessors":     0x3040,
	"NtBuildNumber":          0x3048,
	"PsActiveProcessHead":    0x3100,
	"PsLoadedModuleList":     0x3120,
	"KdDebuggerDataBlock":    0x3200,
}

// rva returns the RVA of a kernel variable.
func (s *Spec) rva(name string) uint64 {
	if v, ok := s.Symbols[name]; ok {
		return v
	}
	return defaultRVAs[name]
}

// ProcOut is where a process was placed.
type ProcOut struct {
	EPROCESS   uint64 // kernel VA
	EPROCESSPA uint64
	DTB        uint64
	PEB        uint64
}

// Image is a generated image and where things were placed.
type Image struct {
	Mem                 *Sparse
	DTB                 uint64 // kernel page tables (System's)
	KernelBase          uint64
	KDBG                uint64
	PsActiveProcessHead uint64
	PsLoadedModuleList  uint64
	Procs               []ProcOut
}

type builder struct {
	s        Spec
	mem      *Sparse
	ps       int               // pointer size
	next     uint64            // next free physical frame address
	kdtb     uint64            // kernel top-level table
	kmap     map[uint64]uint64 // kernel VA page -> PA page
	pool     uint64            // next free pool VA
	poolEnd  uint64
	procTop  uint64 // top-level table of the process being built
	umap     map[uint64]uint64
	userNext uint64
}

const (
	x64Pool   = 0xfffffa8000000000
	x86Pool   = 0x81000000
	x64KUSER  = 0xfffff78000000000
	x86KUSER  = 0xffdf0000
	poolPages = 256
)

// Build lays out the image.
func Build(s Spec) (*Image, error) {
	if s.MemSize < 64<<20 {
		return nil, fmt.Errorf("memory size %d too small", s.MemSize)
	}
	b := &builder{s: s, mem: NewSparse(s.MemSize), ps: 4, next: 0x100000, kmap: map[uint64]uint64{}}
	if s.Arch == X64 {
		b.ps = 8
	}
	out := &Image{Mem: b.mem, KernelBase: s.KernelBase}
	b.kdtb = b.newTop()
	out.DTB = b.kdtb
	// Kernel regions are mapped before any process copies the kernel half.
	b.pool, b.poolEnd = x86Pool, x86Pool+poolPages*pageSize
	kuser := uint64(x86KUSER)
	if s.Arch == X64 {
		b.pool, b.poolEnd, kuser = x64Pool, x64Pool+poolPages*pageSize, x64KUSER
	}
	for va := b.pool; va < b.poolEnd; va += pageSize {
		b.kmapPage(va)
	}
	imageSize := uint64(8 * pageSize)
	for i := uint64(0); i < imageSize; i += pageSize {
		b.kmapPage(s.KernelBase + i)
	}
	// Variables' pages, in a fixed order so that images are reproducible; a
	// KDBG block spans 0x340 bytes, so two pages from each RVA.
	names := make([]string, 0, len(defaultRVAs))
	for name := range defaultRVAs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for pg := s.rva(name) &^ (pageSize - 1); pg <= (s.rva(name)+0x340)&^(pageSize-1); pg += pageSize {
			if _, ok := b.kmap[s.KernelBase+pg]; !ok {
				b.kmapPage(s.KernelBase + pg)
			}
			imageSize = max(imageSize, pg+pageSize)
		}
	}
	b.kmapPage(kuser)
	b.selfMap(b.kdtb)

	img := s.KernelBase
	head := img + s.rva("PsActiveProcessHead")
	mods := img + s.rva("PsLoadedModuleList")
	out.PsActiveProcessHead, out.PsLoadedModuleList = head, mods
	b.kptr(mods, mods)
	b.kptr(mods+uint64(b.ps), mods)
	b.writeKernelPE(imageSize)
	b.writeKUSER(kuser)

	// Processes. Each EPROCESS sits in its own pool page.
	var eps []uint64
	for i := range s.Procs {
		p := &s.Procs[i]
		ep, pa, dtb, peb := b.process(p)
		eps = append(eps, ep)
		out.Procs = append(out.Procs, ProcOut{EPROCESS: ep, EPROCESSPA: pa, DTB: dtb, PEB: peb})
	}
	// ActiveProcessLinks: head <-> listed processes in order <-> head.
	apl := uint64(s.L.EPROCESS["ActiveProcessLinks"])
	prev := head
	for i, p := range s.Procs {
		links := eps[i] + apl
		if p.Unlinked || !p.Exit.IsZero() {
			b.kptr(links, links)
			b.kptr(links+uint64(b.ps), links)
			continue
		}
		b.kptr(prev, links)
		b.kptr(links+uint64(b.ps), prev)
		prev = links
	}
	b.kptr(prev, head)
	b.kptr(head+uint64(b.ps), prev)
	// PsInitialSystemProcess (exported) holds System's EPROCESS.
	b.kptr(img+s.rva("PsInitialSystemProcess"), eps[0])
	// An Idle process in the image's data, off every list and out of pool.
	b.idle(img + 0x4000)
	if s.KDBG {
		out.KDBG = img + s.rva("KdDebuggerDataBlock")
		b.writeKDBG(out.KDBG, head, mods)
	}
	if s.LowStub && s.Arch == X64 {
		b.lowStub(0x6000, s.KernelBase+0x1000)
	}
	return out, nil
}

// ---- physical pages and page tables ----

func (b *builder) alloc() uint64 {
	pa := b.next
	b.next += pageSize
	if int64(b.next) > b.mem.Size {
		panic("gen: out of physical memory")
	}
	b.mem.Write(pa, make([]byte, pageSize)) // materialize the page
	return pa
}

// newTop allocates a top-level table (for PAE, a PDPT in a page).
func (b *builder) newTop() uint64 {
	pa := b.alloc()
	if b.s.Arch == PAE {
		// Four page directories, each present.
		for i := uint64(0); i < 4; i++ {
			b.mem.Put64(pa+i*8, b.alloc()|1)
		}
	}
	return pa
}

const (
	fP, fRW, fUS, fA, fD, fPS = 1, 2, 4, 0x20, 0x40, 0x80
	fTrans                    = 1 << 11
	kernelFlags               = fP | fRW | fA | fD
	userFlags                 = fP | fRW | fUS | fA | fD
)

// entryAddr returns the physical address of the entry for va at each level,
// creating intermediate tables.
func (b *builder) leaf(top, va uint64, user bool) uint64 {
	tf := uint64(fP | fRW | fA)
	if user {
		tf |= fUS
	}
	switch b.s.Arch {
	case X64:
		t := top
		for _, sh := range []uint{39, 30, 21} {
			e := t + (va>>sh&0x1ff)*8
			v := b.mem.Get64(e)
			if v&1 == 0 {
				v = b.alloc() | tf
				b.mem.Put64(e, v)
			}
			t = v & 0x000ffffffffff000
		}
		return t + (va>>12&0x1ff)*8
	case PAE:
		pd := b.mem.Get64(top+(va>>30&3)*8) & 0x000ffffffffff000
		e := pd + (va>>21&0x1ff)*8
		v := b.mem.Get64(e)
		if v&1 == 0 {
			v = b.alloc() | tf
			b.mem.Put64(e, v)
		}
		return v&0x000ffffffffff000 + (va>>12&0x1ff)*8
	default:
		e := top + (va>>22)*4
		v := uint64(b.mem.Get32(e))
		if v&1 == 0 {
			v = b.alloc() | tf
			b.mem.Put32(e, uint32(v))
		}
		return v&0xfffff000 + (va>>12&0x3ff)*4
	}
}

func (b *builder) setPTE(top, va, val uint64, user bool) {
	e := b.leaf(top, va, user)
	if b.s.Arch == X86 {
		b.mem.Put32(e, uint32(val))
	} else {
		b.mem.Put64(e, val)
	}
}

func (b *builder) kmapPage(va uint64) uint64 {
	pa := b.alloc()
	b.setPTE(b.kdtb, va, pa|kernelFlags, false)
	b.kmap[va&^0xfff] = pa
	return pa
}

// selfMap installs the self-referencing entry Windows keeps: PML4[0x1ed]
// on x64, PDE 0x300 on x86, and the four page directories at 0xc0600000 on
// PAE.
func (b *builder) selfMap(top uint64) {
	switch b.s.Arch {
	case X64:
		b.mem.Put64(top+0x1ed*8, top|fP|fRW|fA|fD)
	case PAE:
		pd3 := b.mem.Get64(top+3*8) & 0x000ffffffffff000
		for i := uint64(0); i < 4; i++ {
			b.mem.Put64(pd3+i*8, b.mem.Get64(top+i*8)&0x000ffffffffff000|fP|fRW|fA|fD)
		}
	default:
		b.mem.Put32(top+0x300*4, uint32(top)|fP|fRW|fA|fD)
	}
}

// copyKernelHalf makes a process's top-level table share the kernel's.
func (b *builder) copyKernelHalf(top uint64) {
	switch b.s.Arch {
	case X64:
		for i := uint64(256); i < 512; i++ {
			b.mem.Put64(top+i*8, b.mem.Get64(b.kdtb+i*8))
		}
	case PAE:
		for i := uint64(2); i < 4; i++ {
			b.mem.Put64(top+i*8, b.mem.Get64(b.kdtb+i*8))
		}
	default:
		for i := uint64(512); i < 1024; i++ {
			b.mem.Put32(top+i*4, b.mem.Get32(b.kdtb+i*4))
		}
	}
}

func (b *builder) kpa(va uint64) uint64 {
	pa, ok := b.kmap[va&^0xfff]
	if !ok {
		panic(fmt.Sprintf("gen: kernel va 0x%x not mapped", va))
	}
	return pa + va&0xfff
}

func (b *builder) kwrite(va uint64, p []byte) {
	for len(p) > 0 {
		n := pageSize - int(va&0xfff)
		if n > len(p) {
			n = len(p)
		}
		b.mem.Write(b.kpa(va), p[:n])
		p, va = p[n:], va+uint64(n)
	}
}

func (b *builder) kptr(va, v uint64) { b.kwrite(va, b.ptr(v)) }

func (b *builder) k32(va uint64, v uint32) {
	var x [4]byte
	binary.LittleEndian.PutUint32(x[:], v)
	b.kwrite(va, x[:])
}

func (b *builder) k64(va uint64, v uint64) {
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], v)
	b.kwrite(va, x[:])
}

func (b *builder) ptr(v uint64) []byte {
	x := make([]byte, b.ps)
	if b.ps == 8 {
		binary.LittleEndian.PutUint64(x, v)
	} else {
		binary.LittleEndian.PutUint32(x, uint32(v))
	}
	return x
}

// poolAlloc returns the VA of n bytes of pool, page-aligned when page is set.
func (b *builder) poolAlloc(n int, page bool) uint64 {
	if page {
		b.pool = (b.pool + pageSize - 1) &^ (pageSize - 1)
	}
	va := b.pool
	b.pool += uint64(n+15) &^ 15
	if b.pool > b.poolEnd {
		panic("gen: out of pool")
	}
	return va
}

// ---- user space ----

func (b *builder) uwrite(va uint64, p []byte) {
	for len(p) > 0 {
		pg := va &^ 0xfff
		pa, ok := b.umap[pg]
		if !ok {
			pa = b.alloc()
			b.umap[pg] = pa
			b.setPTE(b.procTop, pg, pa|userFlags, true)
		}
		n := pageSize - int(va&0xfff)
		if n > len(p) {
			n = len(p)
		}
		b.mem.Write(pa+va&0xfff, p[:n])
		p, va = p[n:], va+uint64(n)
	}
}

func (b *builder) uptr(va, v uint64) { b.uwrite(va, b.ptr(v)) }

// ualloc reserves n bytes of user memory in a fresh region.
func (b *builder) ualloc(n int) uint64 {
	va := b.userNext
	b.userNext += (uint64(n) + 0xfff) &^ 0xfff
	b.userNext += pageSize // a guard gap
	return va
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(out[2*i:], c)
	}
	return out
}

// ustring writes a UNICODE_STRING at va whose buffer is placed at buf.
func (b *builder) ustring(va uint64, s string, buf uint64) {
	data := utf16le(s)
	var hdr []byte
	l := uint16(len(data) - 2)
	if b.ps == 8 {
		hdr = make([]byte, 16)
		binary.LittleEndian.PutUint16(hdr, l)
		binary.LittleEndian.PutUint16(hdr[2:], l+2)
		binary.LittleEndian.PutUint64(hdr[8:], buf)
	} else {
		hdr = make([]byte, 8)
		binary.LittleEndian.PutUint16(hdr, l)
		binary.LittleEndian.PutUint16(hdr[2:], l+2)
		binary.LittleEndian.PutUint32(hdr[4:], uint32(buf))
	}
	b.uwrite(va, hdr)
	b.uwrite(buf, data)
}

// Frames lists the frames the image uses, for container writers.
func (im *Image) Frames() []uint64 {
	f := im.Mem.Frames()
	sort.Slice(f, func(i, j int) bool { return f[i] < f[j] })
	return f
}
