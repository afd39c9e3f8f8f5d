package minidump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// No real userdump sample is available, so these tests write dumps field by
// field from the public layout descriptions and check that every parsed field
// is the value the writer put in. Offsets and sizes below come from:
//   - ntiodump.h (WDK; public copy in Microsoft Research Singularity,
//     base/Windows/Inc/Dump.h): USERMODE_CRASHDUMP_HEADER32/64,
//     CRASH_THREAD32/64, CRASH_MODULE32/64, CRASHDUMP_VERSION_INFO;
//   - Ghidra's ghidra/file/formats/dump/userdump (Userdump.java: CONTEXTs
//     at ThreadOffset, region data back to back from DataOffset;
//     MemoryInfo.java: the 48-byte MEMORY_BASIC_INFORMATION64);
//   - OpenJ9's NewWinDump.UserDump (28-byte MEMORY_BASIC_INFORMATION in
//     32-bit dumps, data back to back from DataOffset);
//   - winnt.h: DEBUG_EVENT, EXCEPTION_RECORD, CONTEXT sizes.

type udTestThread struct {
	id, suspend, prioClass, prio uint32
	teb                          uint64
}

type udTestModule struct {
	base    uint64
	size    uint32
	name    []byte // written as is; ImageNameLength = len(name)
	want    string // the decoded name, when it is not name up to its NUL
	nameLen uint32 // overrides ImageNameLength when nonzero
}

type udTestRegion struct {
	base, allocBase     uint64
	allocProtect        uint32
	size                uint64
	state, protect, typ uint32
	noData              bool   // write no data for it (hostile cases)
	fill                byte   // seed of the data pattern
	data                []byte // real contents; the pattern when nil
}

type udTestEvent struct {
	code, pid, tid     uint32
	excCode, excFlags  uint32
	excRecord, excAddr uint64
	params             []uint64
	nparams            uint32 // overrides NumberParameters when nonzero
	firstChance        uint32
}

// udTestDump describes a dump for build to write.
type udTestDump struct {
	is64                  bool
	major, minor, machine uint32
	threads               []udTestThread
	ctxSize               int // bytes per CONTEXT written at ThreadOffset
	modules               []udTestModule
	regions               []udTestRegion
	event                 *udTestEvent
	version               *UserDumpVersionInfo
	order                 []string // structures after the header: state ctx mod mbi data event version
}

// udLayout is where build put things.
type udLayout struct {
	hdr       UserDumpHeader
	start     map[string]int
	end       map[string]int
	modEnd    []int
	dataStart []int
	ctx       [][]byte // CONTEXT bytes written per thread
	file      []byte
}

func udPtr(b []byte, is64 bool, v uint64) []byte {
	if is64 {
		return binary.LittleEndian.AppendUint64(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, uint32(v))
}

func udU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// udRegionData is the byte the writer stores at offset j of a region.
func udRegionData(r udTestRegion, j int) byte { return r.fill + byte(j*7) }

func (d *udTestDump) build() udLayout {
	hsz := udHeaderSize32
	if d.is64 {
		hsz = udHeaderSize64
	}
	lay := udLayout{start: map[string]int{}, end: map[string]int{}}
	b := make([]byte, hsz) // header filled in last
	for _, part := range d.order {
		lay.start[part] = len(b)
		switch part {
		case "version": // CRASHDUMP_VERSION_INFO: int IgnoreGuardPages @0, ULONG PointerSize @4
			b = udU32(b, uint32(d.version.IgnoreGuardPages))
			b = udU32(b, d.version.PointerSize)
		case "event": // DEBUG_EVENT (winnt.h), native layout of the dump's pointer size
			e := d.event
			b = udU32(b, e.code) // @0 dwDebugEventCode
			b = udU32(b, e.pid)  // @4 dwProcessId
			b = udU32(b, e.tid)  // @8 dwThreadId
			if d.is64 {
				b = udU32(b, 0) // @12 pad: the union is 8-aligned
			}
			b = udU32(b, e.excCode)           // ExceptionCode
			b = udU32(b, e.excFlags)          // ExceptionFlags
			b = udPtr(b, d.is64, e.excRecord) // ExceptionRecord
			b = udPtr(b, d.is64, e.excAddr)   // ExceptionAddress
			n := uint32(len(e.params))
			if e.nparams != 0 {
				n = e.nparams
			}
			b = udU32(b, n) // NumberParameters
			if d.is64 {
				b = udU32(b, 0) // pad before ExceptionInformation (ULONG_PTR alignment)
			}
			for i := range 15 { // ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS]
				var v uint64
				if i < len(e.params) {
					v = e.params[i]
				} else {
					v = 0xdead0000 + uint64(i) // must not be read as a parameter
				}
				b = udPtr(b, d.is64, v)
			}
			b = udU32(b, e.firstChance) // dwFirstChance
			if d.is64 {
				b = udU32(b, 0) // tail pad to 8
			}
		case "state": // CRASH_THREAD32/64
			for _, t := range d.threads {
				b = udU32(b, t.id)        // @0 ThreadId
				b = udU32(b, t.suspend)   // @4 SuspendCount
				b = udU32(b, t.prioClass) // @8 PriorityClass
				b = udU32(b, t.prio)      // @12 Priority
				b = udPtr(b, d.is64, t.teb)
				for range 7 { // Spare0..Spare6
					b = udPtr(b, d.is64, 0xeeeeeeeeeeeeeeee)
				}
			}
		case "ctx": // CONTEXT records, one per thread (Ghidra: THREAD_CONTEXTS at ThreadOffset)
			for i := range d.threads {
				c := make([]byte, d.ctxSize)
				for j := range c {
					c[j] = byte(0x40 + i*0x10 + j)
				}
				lay.ctx = append(lay.ctx, c)
				b = append(b, c...)
			}
		case "mod": // CRASH_MODULE32/64: BaseOfImage, SizeOfImage, ImageNameLength, ImageName[]
			for _, m := range d.modules {
				b = udPtr(b, d.is64, m.base)
				b = udU32(b, m.size)
				n := uint32(len(m.name))
				if m.nameLen != 0 {
					n = m.nameLen
				}
				b = udU32(b, n)
				b = append(b, m.name...)
				lay.modEnd = append(lay.modEnd, len(b))
			}
		case "mbi": // MEMORY_BASIC_INFORMATION32 (28 bytes) / MEMORY_BASIC_INFORMATION64 (48 bytes)
			for _, r := range d.regions {
				b = udPtr(b, d.is64, r.base)      // BaseAddress
				b = udPtr(b, d.is64, r.allocBase) // AllocationBase
				b = udU32(b, r.allocProtect)      // AllocationProtect
				if d.is64 {
					b = udU32(b, 0xaaaaaaaa) // __alignment1
				}
				b = udPtr(b, d.is64, r.size) // RegionSize
				b = udU32(b, r.state)        // State
				b = udU32(b, r.protect)      // Protect
				b = udU32(b, r.typ)          // Type
				if d.is64 {
					b = udU32(b, 0xaaaaaaaa) // __alignment2
				}
			}
		case "data": // region contents, back to back in descriptor order
			for _, r := range d.regions {
				lay.dataStart = append(lay.dataStart, len(b))
				if r.noData {
					continue
				}
				if r.data != nil {
					b = append(b, r.data...)
					continue
				}
				for j := range int(r.size) {
					b = append(b, udRegionData(r, j))
				}
			}
		}
		lay.end[part] = len(b)
	}

	h := UserDumpHeader{
		Signature:         udSig32,
		MajorVersion:      d.major,
		MinorVersion:      d.minor,
		MachineImageType:  d.machine,
		ThreadCount:       uint32(len(d.threads)),
		ModuleCount:       uint32(len(d.modules)),
		MemoryRegionCount: uint32(len(d.regions)),
		Spare1:            0,
	}
	if d.is64 {
		h.Signature = udSig64
	}
	off := func(part string) uint64 {
		if o, ok := lay.start[part]; ok {
			return uint64(o)
		}
		return 0
	}
	h.ThreadOffset = off("ctx")
	h.ModuleOffset = off("mod")
	h.DataOffset = off("data")
	h.MemoryRegionOffset = off("mbi")
	h.DebugEventOffset = off("event")
	h.ThreadStateOffset = off("state")
	h.VersionInfoOffset = off("version")

	// USERMODE_CRASHDUMP_HEADER32/64 (ntiodump.h): @0 Signature 'USER',
	// @4 ValidDump 'DUMP'/'DU64', @8 MajorVersion, @0xc MinorVersion,
	// @0x10 MachineImageType, @0x14 ThreadCount, @0x18 ModuleCount,
	// @0x1c MemoryRegionCount, @0x20 ThreadOffset, ModuleOffset, DataOffset,
	// MemoryRegionOffset, DebugEventOffset, ThreadStateOffset,
	// VersionInfoOffset, Spare1 (ULONG each in 32-bit, ULONGLONG in 64-bit).
	hdr := []byte(h.Signature)
	for _, v := range []uint32{h.MajorVersion, h.MinorVersion, h.MachineImageType, h.ThreadCount, h.ModuleCount, h.MemoryRegionCount} {
		hdr = udU32(hdr, v)
	}
	for _, v := range []uint64{h.ThreadOffset, h.ModuleOffset, h.DataOffset, h.MemoryRegionOffset,
		h.DebugEventOffset, h.ThreadStateOffset, h.VersionInfoOffset, h.Spare1} {
		hdr = udPtr(hdr, d.is64, v)
	}
	if len(hdr) != hsz {
		panic("header size")
	}
	copy(b, hdr)
	lay.hdr = h
	lay.file = b
	return lay
}

// udSpec32 is a 32-bit x86 dump with every structure.
func udSpec32() *udTestDump {
	return &udTestDump{
		major: 5, minor: 1, machine: 0x14c,
		threads: []udTestThread{
			{id: 0x5a4, suspend: 1, prioClass: 0x20, prio: 0, teb: 0x7ffdf000},
			{id: 0x71c, suspend: 2, prioClass: 0x20, prio: 2, teb: 0x7ffde000},
		},
		ctxSize: 0x2cc,
		modules: []udTestModule{
			{base: 0x00400000, size: 0x19000, name: []byte("C:\\WINDOWS\\notepad.exe\x00")},
			{base: 0x7c900000, size: 0xaf000, name: []byte("C:\\WINDOWS\\system32\\ntdll.dll")},
			// ANSI (cp1252) bytes, not UTF-8: decoded as Latin-1.
			{base: 0x10000000, size: 0x1000, name: []byte("C:\\Programme\\Gr\xfc\xdfe.dll\x00"), want: "C:\\Programme\\Grüße.dll"},
		},
		regions: []udTestRegion{
			{base: 0x00010000, allocBase: 0x00010000, allocProtect: 0x04, size: 0x30, state: 0x1000, protect: 0x04, typ: 0x20000, fill: 0x11},
			{base: 0x00400000, allocBase: 0x00400000, allocProtect: 0x80, size: 0x20, state: 0x1000, protect: 0x02, typ: 0x1000000, fill: 0x22},
			{base: 0x00400020, allocBase: 0x00400000, allocProtect: 0x80, size: 0x40, state: 0x1000, protect: 0x20, typ: 0x1000000, fill: 0x33},
		},
		event: &udTestEvent{code: 1, pid: 0x1a8, tid: 0x5a4, excCode: 0xc0000005, excFlags: 0,
			excRecord: 0, excAddr: 0x7c90120e, params: []uint64{1, 0x00000010}, firstChance: 1},
		version: &UserDumpVersionInfo{IgnoreGuardPages: 1, PointerSize: 32},
		order:   []string{"version", "event", "state", "ctx", "mod", "mbi", "data"},
	}
}

// udSpec64 is a 64-bit x64 dump with every structure, laid out in another
// order than udSpec32 (the reader must follow the offsets).
func udSpec64() *udTestDump {
	return &udTestDump{
		is64: true, major: 6, minor: 0, machine: 0x8664,
		threads: []udTestThread{
			{id: 0x1f40, suspend: 0, prioClass: 0x20, prio: 0, teb: 0x000000d52a6ff000},
			{id: 0x2b0c, suspend: 1, prioClass: 0x20, prio: 15, teb: 0x000000d52a701000},
			{id: 0x0e44, suspend: 1, prioClass: 0x80, prio: -2 & 0xffffffff, teb: 0x000000d52a703000},
		},
		ctxSize: 0x4d0,
		modules: []udTestModule{
			{base: 0x00007ff6b8a20000, size: 0x38000, name: []byte("C:\\Windows\\System32\\notepad.exe\x00")},
			{base: 0x00007ffd3a1f0000, size: 0x1f8000, name: []byte("C:\\Windows\\SYSTEM32\\ntdll.dll\x00")},
		},
		regions: []udTestRegion{
			{base: 0x000000d52a6ff000, allocBase: 0x000000d52a600000, allocProtect: 0x04, size: 0x28, state: 0x1000, protect: 0x04, typ: 0x20000, fill: 0x55},
			{base: 0x00007ff6b8a20000, allocBase: 0x00007ff6b8a20000, allocProtect: 0x80, size: 0x18, state: 0x1000, protect: 0x02, typ: 0x1000000, fill: 0x66},
			{base: 0x00007ff6b8a20018, allocBase: 0x00007ff6b8a20000, allocProtect: 0x80, size: 0x30, state: 0x1000, protect: 0x20, typ: 0x1000000, fill: 0x77},
			{base: 0x00000224f0000000, allocBase: 0x00000224f0000000, allocProtect: 0x04, size: 0x10, state: 0x1000, protect: 0x104, typ: 0x40000, fill: 0x88},
		},
		event: &udTestEvent{code: 1, pid: 0x3e8, tid: 0x2b0c, excCode: 0x80000003, excFlags: 1,
			excRecord: 0x000000d52a8ff5a0, excAddr: 0x00007ffd3a2b0d70, params: []uint64{0, 0x00007ffd3a2b0d70, 0xffffffffffffffff}, firstChance: 0},
		version: &UserDumpVersionInfo{IgnoreGuardPages: 0, PointerSize: 64},
		order:   []string{"mbi", "ctx", "mod", "state", "event", "version", "data"},
	}
}

func udParse(t *testing.T, file []byte) *UserDump {
	t.Helper()
	u, err := NewUserDump(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("NewUserDump: %v", err)
	}
	return u
}

func udCheckAll(t *testing.T, d *udTestDump) {
	lay := d.build()
	u := udParse(t, lay.file)
	if len(u.Warnings) != 0 {
		t.Errorf("warnings on a well-formed dump: %v", u.Warnings)
	}
	if diff := cmp.Diff(lay.hdr, u.Header); diff != "" {
		t.Errorf("header (-written +parsed):\n%s", diff)
	}
	if u.Is64 != d.is64 {
		t.Errorf("Is64 = %v", u.Is64)
	}
	wantArch, ptr := ArchX86, 4
	if d.is64 {
		wantArch, ptr = ArchAMD64, 8
	}
	if u.Arch != wantArch {
		t.Errorf("Arch = %v, want %v", u.Arch, wantArch)
	}
	if !u.HasPID || u.PID != d.event.pid {
		t.Errorf("PID = %d (has %v), want %d", u.PID, u.HasPID, d.event.pid)
	}
	if u.Format() != "userdump" || u.Summary() != &u.Process {
		t.Errorf("Format/Summary wrong")
	}

	// Threads: CRASH_THREAD fields, and the CONTEXT written for each.
	var want []Thread
	for i, th := range d.threads {
		want = append(want, Thread{ID: th.id, SuspendCount: th.suspend, PriorityClass: th.prioClass, Priority: th.prio,
			TEB: th.teb, ContextOff: int64(lay.start["ctx"] + i*d.ctxSize), ContextSize: uint32(d.ctxSize)})
	}
	if diff := cmp.Diff(want, u.Threads); diff != "" {
		t.Errorf("threads (-written +parsed):\n%s", diff)
	}
	for i, th := range u.Threads {
		got := lay.file[th.ContextOff : th.ContextOff+int64(th.ContextSize)]
		if !bytes.Equal(got, lay.ctx[i]) {
			t.Errorf("thread %d context bytes differ", i)
		}
	}

	// Modules.
	var wantMods []Module
	for _, m := range d.modules {
		name := m.want
		if name == "" {
			name = string(bytes.TrimRight(m.name, "\x00"))
		}
		wantMods = append(wantMods, Module{Base: m.base, Size: m.size, Name: name})
	}
	if diff := cmp.Diff(wantMods, u.Modules); diff != "" {
		t.Errorf("modules (-written +parsed):\n%s", diff)
	}

	// Region descriptors.
	var wantRegions []MemoryInfo
	for _, r := range d.regions {
		wantRegions = append(wantRegions, MemoryInfo{BaseAddress: r.base, AllocationBase: r.allocBase,
			AllocationProtect: r.allocProtect, RegionSize: r.size, State: r.state, Protect: r.protect, Type: r.typ})
	}
	if diff := cmp.Diff(wantRegions, u.Regions); diff != "" {
		t.Errorf("regions (-written +parsed):\n%s", diff)
	}

	// Debug event.
	e := d.event
	wantEv := &UserDumpDebugEvent{Code: e.code, ProcessID: e.pid, ThreadID: e.tid, HasException: true,
		ExceptionCode: e.excCode, ExceptionFlags: e.excFlags, ExceptionRecord: e.excRecord,
		ExceptionAddress: e.excAddr, NumberParameters: uint32(len(e.params)), Parameters: e.params,
		FirstChance: e.firstChance}
	if diff := cmp.Diff(wantEv, u.DebugEvent); diff != "" {
		t.Errorf("debug event (-written +parsed):\n%s", diff)
	}
	if diff := cmp.Diff(d.version, u.VersionInfo); diff != "" {
		t.Errorf("version info (-written +parsed):\n%s", diff)
	}

	// Address space: every region reads back the bytes the writer stored.
	as := u.AddressSpace()
	if as.PointerSize() != ptr {
		t.Errorf("PointerSize = %d, want %d", as.PointerSize(), ptr)
	}
	for i, r := range d.regions {
		got := make([]byte, r.size)
		if _, err := as.ReadAt(got, r.base); err != nil {
			t.Fatalf("region %d at 0x%x: %v", i, r.base, err)
		}
		for j := range got {
			if got[j] != udRegionData(r, j) {
				t.Fatalf("region %d byte %d = %#x, want %#x", i, j, got[j], udRegionData(r, j))
			}
		}
		if off, ok := as.Translate(r.base); !ok || off != uint64(lay.dataStart[i]) {
			t.Errorf("region %d translates to %#x (%v), want %#x", i, off, ok, lay.dataStart[i])
		}
	}
	// Regions 1 and 2 are adjacent: a read spanning both.
	r1, r2 := d.regions[1], d.regions[2]
	span := make([]byte, 8)
	if _, err := as.ReadAt(span, r1.base+r1.size-4); err != nil {
		t.Fatalf("read across regions: %v", err)
	}
	wantSpan := []byte{udRegionData(r1, int(r1.size)-4), udRegionData(r1, int(r1.size)-3), udRegionData(r1, int(r1.size)-2),
		udRegionData(r1, int(r1.size)-1), udRegionData(r2, 0), udRegionData(r2, 1), udRegionData(r2, 2), udRegionData(r2, 3)}
	if !bytes.Equal(span, wantSpan) {
		t.Errorf("spanning read = % x, want % x", span, wantSpan)
	}
	if _, err := as.ReadAt(span, 0x1000); !addrspace.IsUnmapped(err) {
		t.Errorf("read of unmapped 0x1000: err = %v, want unmapped", err)
	}
}

func TestUserDump32(t *testing.T) { udCheckAll(t, udSpec32()) }
func TestUserDump64(t *testing.T) { udCheckAll(t, udSpec64()) }

func TestIsUserDump(t *testing.T) {
	for _, c := range []struct {
		hdr  string
		want bool
	}{
		{"USERDUMP\x05\x00", true}, {"USERDU64", true}, {"USERDU32", false}, {"MDMP\x93\xa7", false},
		{"PAGEDUMP", false}, {"USERDUM", false}, {"", false},
	} {
		if got := IsUserDump([]byte(c.hdr)); got != c.want {
			t.Errorf("IsUserDump(%q) = %v", c.hdr, got)
		}
	}
}

func TestUserDumpFatal(t *testing.T) {
	full := udSpec64().build().file
	for _, c := range []struct {
		name string
		file []byte
		off  int64
	}{
		{"empty", nil, 0},
		{"short signature", []byte("USER"), 0},
		{"minidump", append([]byte("MDMP"), make([]byte, 0x100)...), 0},
		{"bad ValidDump", append([]byte("USERDUMX"), make([]byte, 0x100)...), 0},
		{"32-bit header cut", udSpec32().build().file[:0x3f], 0x3f},
		{"64-bit header cut", full[:0x5f], 0x5f},
		{"64-bit with 32-bit header size", full[:0x40], 0x40},
	} {
		_, err := NewUserDump(bytes.NewReader(c.file), int64(len(c.file)))
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want *FormatError", c.name, err)
			continue
		}
		if fe.Off != c.off {
			t.Errorf("%s: error offset %#x, want %#x (%v)", c.name, fe.Off, c.off, err)
		}
	}
}

// TestUserDumpTruncated cuts the dump at every length and checks that each
// structure is read exactly when it lies wholly inside the cut file, region
// data are trimmed at the cut, and every cut is reported.
func TestUserDumpTruncated(t *testing.T) {
	for _, d := range []*udTestDump{udSpec32(), udSpec64()} {
		lay := d.build()
		full := lay.file
		hsz := udHeaderSize32
		stateRec, mbiRec, evFull := udThreadSize32, udMBISize32, udDebugEventSize32
		if d.is64 {
			hsz, stateRec, mbiRec, evFull = udHeaderSize64, udThreadSize64, udMBISize64, udDebugEventSize64
		}
		fits := func(start, recSize, count, L int) int {
			n := 0
			for n < count && start+(n+1)*recSize <= L {
				n++
			}
			return n
		}
		for L := 0; L <= len(full); L++ {
			u, err := NewUserDump(bytes.NewReader(full[:L]), int64(L))
			if L < hsz {
				if err == nil {
					t.Fatalf("is64=%v L=%d: no error for a cut header", d.is64, L)
				}
				continue
			}
			if err != nil {
				t.Fatalf("is64=%v L=%d: %v", d.is64, L, err)
			}
			if (L < len(full)) != (len(u.Warnings) > 0) {
				t.Errorf("is64=%v L=%d: warnings %v", d.is64, L, u.Warnings)
			}
			nState := fits(lay.start["state"], stateRec, len(d.threads), L)
			nCtx := fits(lay.start["ctx"], d.ctxSize, len(d.threads), L)
			if got, want := len(u.Threads), max(nState, nCtx); got != want {
				t.Errorf("is64=%v L=%d: %d threads, want %d", d.is64, L, got, want)
			}
			for i, th := range u.Threads {
				if (i < nState) != (th.ID == d.threads[i].id) {
					t.Errorf("is64=%v L=%d: thread %d ID %#x", d.is64, L, i, th.ID)
				}
				if (i < nCtx) != (th.ContextOff != 0) {
					t.Errorf("is64=%v L=%d: thread %d ContextOff %#x", d.is64, L, i, th.ContextOff)
				}
			}
			nMod := 0
			for nMod < len(d.modules) && lay.modEnd[nMod] <= L {
				nMod++
			}
			if len(u.Modules) != nMod {
				t.Errorf("is64=%v L=%d: %d modules, want %d", d.is64, L, len(u.Modules), nMod)
			}
			nReg := fits(lay.start["mbi"], mbiRec, len(d.regions), L)
			if len(u.Regions) != nReg {
				t.Errorf("is64=%v L=%d: %d regions, want %d", d.is64, L, len(u.Regions), nReg)
			}
			var wantSegs []addrspace.Segment
			for i := range nReg {
				r, start := d.regions[i], lay.dataStart[i]
				if n := min(int(r.size), L-start); n > 0 {
					wantSegs = append(wantSegs, addrspace.Segment{VA: r.base, Size: uint64(n), FileOff: uint64(start)})
				}
			}
			sort.Slice(wantSegs, func(i, j int) bool { return wantSegs[i].VA < wantSegs[j].VA })
			if diff := cmp.Diff(wantSegs, u.AddressSpace().Segments(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("is64=%v L=%d: segments (-want +got):\n%s", d.is64, L, diff)
			}
			ev := lay.start["event"]
			if (u.DebugEvent != nil) != (ev+12 <= L) {
				t.Errorf("is64=%v L=%d: debug event %+v", d.is64, L, u.DebugEvent)
			}
			if u.DebugEvent != nil && u.DebugEvent.HasException != (ev+evFull <= L) {
				t.Errorf("is64=%v L=%d: HasException %v", d.is64, L, u.DebugEvent.HasException)
			}
			if (u.VersionInfo != nil) != (lay.end["version"] <= L) {
				t.Errorf("is64=%v L=%d: version info %+v", d.is64, L, u.VersionInfo)
			}
		}
	}
}

// udPut32 overwrites a ULONG header field at off.
func udPut32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

// udPutOff sets header offset field k (0 ThreadOffset, 1 ModuleOffset,
// 2 DataOffset, 3 MemoryRegionOffset, 4 DebugEventOffset, 5 ThreadStateOffset,
// 6 VersionInfoOffset).
func udPutOff(b []byte, is64 bool, k int, v uint64) {
	if is64 {
		binary.LittleEndian.PutUint64(b[0x20+8*k:], v)
	} else {
		binary.LittleEndian.PutUint32(b[0x20+4*k:], uint32(v))
	}
}

func udHasWarning(u *UserDump, sub string) bool {
	for _, w := range u.Warnings {
		if strings.Contains(w.String(), sub) {
			return true
		}
	}
	return false
}

func TestUserDumpHugeCounts(t *testing.T) {
	for _, d := range []*udTestDump{udSpec32(), udSpec64()} {
		lay := d.build()
		f := bytes.Clone(lay.file)
		udPut32(f, 0x14, 0xffffffff) // ThreadCount
		udPut32(f, 0x18, 0xffffffff) // ModuleCount
		udPut32(f, 0x1c, 0xffffffff) // MemoryRegionCount

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		u := udParse(t, f)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(8*len(f))+512<<10 {
			t.Errorf("is64=%v: parsing a %d-byte file with huge counts allocated %d bytes", d.is64, len(f), alloc)
		}
		for _, w := range []string{"thread state records recorded", "thread contexts recorded", "memory region descriptors recorded"} {
			if !udHasWarning(u, w) {
				t.Errorf("is64=%v: no warning %q in %v", d.is64, w, u.Warnings)
			}
		}
		// Each table yields the records that fit before the end of the file.
		recSize, mbiSize := udThreadSize32, udMBISize32
		if d.is64 {
			recSize, mbiSize = udThreadSize64, udMBISize64
		}
		nState := (len(f) - lay.start["state"]) / recSize
		nCtx := (len(f) - lay.start["ctx"]) / d.ctxSize
		if len(u.Threads) != max(nState, nCtx) {
			t.Errorf("is64=%v: %d threads, want %d", d.is64, len(u.Threads), max(nState, nCtx))
		}
		if want := (len(f) - lay.start["mbi"]) / mbiSize; len(u.Regions) != want {
			t.Errorf("is64=%v: %d regions, want %d", d.is64, len(u.Regions), want)
		}
		// The genuine modules come first; what follows is garbage, but the
		// list stops at the end of the file.
		if len(u.Modules) < len(d.modules) || u.Modules[1].Name != string(bytes.TrimRight(d.modules[1].name, "\x00")) {
			t.Errorf("is64=%v: modules %v", d.is64, u.Modules)
		}
		for _, g := range u.AddressSpace().Segments() {
			if g.FileOff+g.Size > uint64(len(f)) {
				t.Errorf("is64=%v: segment %+v past end of file", d.is64, g)
			}
		}
	}
}

func TestUserDumpOffsetsPastEOF(t *testing.T) {
	names := []string{"thread contexts", "module records", "memory data", "memory region descriptors",
		"debug event", "thread state records", "version info"}
	for _, d := range []*udTestDump{udSpec32(), udSpec64()} {
		lay := d.build()
		for k, name := range names {
			for _, bad := range []uint64{uint64(len(lay.file)), uint64(len(lay.file)) + 0x1000, 0xffffffff, 0xffffffffffffffff} {
				f := bytes.Clone(lay.file)
				udPutOff(f, d.is64, k, bad)
				u := udParse(t, f)
				if !udHasWarning(u, name) || !udHasWarning(u, "past the end of the file") {
					t.Errorf("is64=%v %s=%#x: warnings %v", d.is64, name, bad, u.Warnings)
				}
				switch k {
				case 0:
					for _, th := range u.Threads {
						if th.ContextOff != 0 {
							t.Errorf("is64=%v: context at %#x with ThreadOffset past EOF", d.is64, th.ContextOff)
						}
					}
				case 1:
					if len(u.Modules) != 0 {
						t.Errorf("is64=%v: modules with ModuleOffset past EOF", d.is64)
					}
				case 2:
					if len(u.Regions) != len(d.regions) || len(u.AddressSpace().Segments()) != 0 {
						t.Errorf("is64=%v: DataOffset past EOF: %d regions, %d segments", d.is64, len(u.Regions), len(u.AddressSpace().Segments()))
					}
				case 3:
					if len(u.Regions) != 0 {
						t.Errorf("is64=%v: regions with MemoryRegionOffset past EOF", d.is64)
					}
				case 4:
					if u.DebugEvent != nil || u.HasPID {
						t.Errorf("is64=%v: debug event with DebugEventOffset past EOF", d.is64)
					}
				case 5:
					if len(u.Threads) != len(d.threads) || u.Threads[0].ID != 0 {
						t.Errorf("is64=%v: ThreadStateOffset past EOF: threads %+v", d.is64, u.Threads)
					}
				case 6:
					if u.VersionInfo != nil {
						t.Errorf("is64=%v: version info with VersionInfoOffset past EOF", d.is64)
					}
				}
			}
		}
	}
}

func TestUserDumpOverlappingRegions(t *testing.T) {
	d := udSpec64()
	// Region 3 overlaps the second half of region 0.
	d.regions[3].base = d.regions[0].base + 0x20
	lay := d.build()
	u := udParse(t, lay.file)
	if !udHasWarning(u, "overlaps") {
		t.Fatalf("no overlap warning: %v", u.Warnings)
	}
	// The region recorded first wins: 0x20..0x28 is region 0's data, and
	// region 3 supplies only what lies past region 0.
	r0, r3 := d.regions[0], d.regions[3]
	got := make([]byte, 0x10)
	if _, err := u.AddressSpace().ReadAt(got, r0.base+0x20); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for j := 0x20; j < 0x28; j++ {
		want = append(want, udRegionData(r0, j))
	}
	for j := 8; j < 0x10; j++ {
		want = append(want, udRegionData(r3, j))
	}
	if !bytes.Equal(got, want) {
		t.Errorf("overlap read = % x, want % x", got, want)
	}
}

func TestUserDumpRegionPastTopOfAddressSpace(t *testing.T) {
	for _, c := range []struct {
		d    *udTestDump
		base uint64
		keep uint64
	}{
		{udSpec64(), 0xfffffffffffffff0, 0x10},
		{udSpec32(), 0xfffffff8, 0x8},
	} {
		d := c.d
		d.regions[0].base = c.base
		lay := d.build()
		u := udParse(t, lay.file)
		if !udHasWarning(u, "past the top of the address space") {
			t.Errorf("is64=%v: no warning: %v", d.is64, u.Warnings)
		}
		segs := u.AddressSpace().Segments()
		last := segs[len(segs)-1]
		if last.VA != c.base || last.Size != c.keep || last.FileOff != uint64(lay.dataStart[0]) {
			t.Errorf("is64=%v: top segment %+v", d.is64, last)
		}
		// The data of later regions still start after the full RegionSize.
		r1 := d.regions[1]
		b := make([]byte, 1)
		if _, err := u.AddressSpace().ReadAt(b, r1.base); err != nil || b[0] != udRegionData(r1, 0) {
			t.Errorf("is64=%v: region 1 first byte %#x, %v", d.is64, b[0], err)
		}
	}
}

func TestUserDumpHugeRegionSize(t *testing.T) {
	for _, d := range []*udTestDump{udSpec32(), udSpec64()} {
		d.regions[1].size = 0xfffff000 // data claimed far beyond the file
		d.regions[1].noData = true
		lay := d.build()
		u := udParse(t, lay.file)
		if !udHasWarning(u, "trimmed") {
			t.Errorf("is64=%v: no trim warning: %v", d.is64, u.Warnings)
		}
		for _, g := range u.AddressSpace().Segments() {
			if g.FileOff+g.Size > uint64(len(lay.file)) {
				t.Errorf("is64=%v: segment %+v past end of file (%d)", d.is64, g, len(lay.file))
			}
		}
		if len(u.Regions) != len(d.regions) {
			t.Errorf("is64=%v: %d regions", d.is64, len(u.Regions))
		}
	}
}

func TestUserDumpModuleNameLength(t *testing.T) {
	d := udSpec32()
	d.modules[1].nameLen = 0x7fffffff
	u := udParse(t, d.build().file)
	if len(u.Modules) != 1 || !udHasWarning(u, "name length") {
		t.Errorf("modules %v, warnings %v", u.Modules, u.Warnings)
	}
	d = udSpec64()
	d.modules[1].nameLen = 0x1000 // within the limit, past the end of the file
	d.order = []string{"mbi", "ctx", "state", "event", "version", "data", "mod"}
	u = udParse(t, d.build().file)
	if len(u.Modules) != 1 || !udHasWarning(u, "module record 1 name") {
		t.Errorf("modules %v, warnings %v", u.Modules, u.Warnings)
	}
}

func TestUserDumpDebugEventParameters(t *testing.T) {
	for _, d := range []*udTestDump{udSpec32(), udSpec64()} {
		d.event.nparams = 100
		u := udParse(t, d.build().file)
		ev := u.DebugEvent
		if ev == nil || ev.NumberParameters != 100 || len(ev.Parameters) != 15 || !udHasWarning(u, "100 parameters") {
			t.Errorf("is64=%v: event %+v, warnings %v", d.is64, ev, u.Warnings)
		}
		if ev != nil && ev.Parameters[0] != d.event.params[0] {
			t.Errorf("is64=%v: parameter 0 = %#x", d.is64, ev.Parameters[0])
		}
	}
	// A non-exception event records only the process and thread.
	d := udSpec64()
	d.event.code = 3 // CREATE_PROCESS_DEBUG_EVENT
	u := udParse(t, d.build().file)
	if ev := u.DebugEvent; ev == nil || ev.HasException || ev.ProcessID != d.event.pid || ev.ThreadID != d.event.tid {
		t.Errorf("event %+v", ev)
	}
}

func TestUserDumpArchAndContexts(t *testing.T) {
	// NT 4 x86 CONTEXT (0xcc bytes) is recognised when it fills the space to
	// the next structure exactly.
	d := udSpec32()
	d.ctxSize = 0xcc
	lay := d.build()
	u := udParse(t, lay.file)
	if len(u.Warnings) != 0 {
		t.Errorf("warnings: %v", u.Warnings)
	}
	for i, th := range u.Threads {
		if th.ContextSize != 0xcc || th.ContextOff != int64(lay.start["ctx"]+i*0xcc) {
			t.Errorf("thread %d context %#x+%#x", i, th.ContextOff, th.ContextSize)
		}
	}

	// Unknown machine: threads from their state records, no contexts.
	d = udSpec64()
	d.machine = 0x1234
	u = udParse(t, d.build().file)
	if u.Arch != ArchUnknown || !udHasWarning(u, "MachineImageType") || len(u.Threads) != 3 ||
		u.Threads[2].ID != d.threads[2].id || u.Threads[2].ContextOff != 0 || u.AddressSpace().PointerSize() != 8 {
		t.Errorf("arch %v threads %+v warnings %v", u.Arch, u.Threads, u.Warnings)
	}

	// A machine type that contradicts the signature is reported.
	d = udSpec64()
	d.machine = 0x14c
	u = udParse(t, d.build().file)
	if !udHasWarning(u, "does not match") {
		t.Errorf("warnings %v", u.Warnings)
	}

	// No thread state records: threads from their contexts alone.
	d = udSpec32()
	d.order = []string{"version", "event", "ctx", "mod", "mbi", "data"}
	lay = d.build()
	u = udParse(t, lay.file)
	if len(u.Threads) != 2 || u.Threads[1].ContextOff != int64(lay.start["ctx"]+0x2cc) || !udHasWarning(u, "ThreadStateOffset 0") {
		t.Errorf("threads %+v warnings %v", u.Threads, u.Warnings)
	}

	// Version info that contradicts the signature.
	d = udSpec32()
	d.version.PointerSize = 64
	u = udParse(t, d.build().file)
	if !udHasWarning(u, "64-bit pointers") {
		t.Errorf("warnings %v", u.Warnings)
	}
}

// udNoDataReader fails the test when anything reads the memory data area.
type udNoDataReader struct {
	t          *testing.T
	r          io.ReaderAt
	start, end int64
}

func (n udNoDataReader) ReadAt(p []byte, off int64) (int, error) {
	if off < n.end && off+int64(len(p)) > n.start {
		n.t.Errorf("read of %d bytes at %#x touches the memory data [%#x, %#x)", len(p), off, n.start, n.end)
	}
	return n.r.ReadAt(p, off)
}

func TestUserDumpLazy(t *testing.T) {
	d := udSpec64()
	d.regions[0].size = 1 << 20
	lay := d.build()
	r := udNoDataReader{t: t, r: bytes.NewReader(lay.file), start: int64(lay.start["data"]), end: int64(lay.end["data"])}
	u, err := NewUserDump(r, int64(len(lay.file)))
	if err != nil || len(u.Warnings) != 0 {
		t.Fatalf("err %v warnings %v", err, u.Warnings)
	}
}

func TestOpenUserDump(t *testing.T) {
	lay := udSpec32().build()
	path := filepath.Join(t.TempDir(), "user.dmp")
	if err := os.WriteFile(path, lay.file, 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := OpenUserDump(path)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := u.AddressSpace().ReadAt(b, 0x00400000); err != nil || b[0] != 0x22 {
		t.Errorf("read %x, %v", b, err)
	}
	if err := u.Close(); err != nil {
		t.Error(err)
	}
	if err := u.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := OpenUserDump(filepath.Join(t.TempDir(), "missing.dmp")); err == nil {
		t.Error("no error for a missing file")
	}
	bad := filepath.Join(t.TempDir(), "bad.dmp")
	os.WriteFile(bad, []byte("MDMP\x93\xa7\x00\x00"), 0o600)
	if _, err := OpenUserDump(bad); err == nil || !strings.Contains(err.Error(), "bad.dmp") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}
