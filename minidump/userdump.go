package minidump

// The old user-mode dump format ("full user-mode dump"): written by
// userdump.exe, Dr. Watson's full dumps, windbg's user-mode ".dump /f" before
// it was retired, and still by dbgeng's IDebugClient::WriteDumpFile with
// DEBUG_DUMP_DEFAULT.
//
// Layout sources (no real sample was available; see userdump_test.go):
//   - ntiodump.h from the WDK (public copies, e.g. Microsoft Research
//     Singularity's base/Windows/Inc/Dump.h): USERMODE_CRASHDUMP_HEADER32/64,
//     CRASH_MODULE32/64, CRASH_THREAD32/64, CRASHDUMP_VERSION_INFO.
//   - Ghidra, ghidra/file/formats/dump/userdump/*: the same header field
//     positions (it calls DataOffset "MemoryRegionOffset" and
//     MemoryRegionOffset "MemoryDescriptorOffset"), CONTEXT array at
//     ThreadOffset, MEMORY_BASIC_INFORMATION64 descriptors whose data lie
//     back to back from DataOffset, DEBUG_EVENT at DebugEventOffset.
//   - Eclipse OpenJ9, com.ibm.dtfj.corereaders.NewWinDump.UserDump (32-bit
//     only): the same header positions and 28-byte MEMORY_BASIC_INFORMATION
//     descriptors whose data lie back to back from DataOffset.
//   - winnt.h for MEMORY_BASIC_INFORMATION(64), DEBUG_EVENT, EXCEPTION_RECORD
//     and the CONTEXT sizes.
//
// Where the sources disagree this reader follows ntiodump.h and winnt.h.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"unicode/utf8"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

const (
	udSig32 = "USERDUMP" // Signature 'USER' + ValidDump 'DUMP'
	udSig64 = "USERDU64" // Signature 'USER' + ValidDump 'DU64'

	udHeaderSize32 = 0x40 // USERMODE_CRASHDUMP_HEADER32: 8 ULONGs + 8 ULONG offsets
	udHeaderSize64 = 0x60 // USERMODE_CRASHDUMP_HEADER64: 8 ULONGs + 8 ULONGLONG offsets

	udThreadSize32 = 0x30 // CRASH_THREAD32: 4 ULONGs, Teb, Spare0..6 (ULONG)
	udThreadSize64 = 0x50 // CRASH_THREAD64: 4 ULONGs, Teb, Spare0..6 (ULONGLONG)

	udMBISize32 = 28 // MEMORY_BASIC_INFORMATION32
	udMBISize64 = 48 // MEMORY_BASIC_INFORMATION64 (with its two alignment DWORDs)

	udDebugEventSize32 = 96  // DEBUG_EVENT, 32-bit: 3 DWORDs + EXCEPTION_DEBUG_INFO (84)
	udDebugEventSize64 = 176 // DEBUG_EVENT, 64-bit: 3 DWORDs, pad, EXCEPTION_DEBUG_INFO (160)

	udVersionInfoSize = 8 // CRASHDUMP_VERSION_INFO: int IgnoreGuardPages, ULONG PointerSize

	udMaxExceptionParams = 15       // EXCEPTION_MAXIMUM_PARAMETERS
	udMaxModuleName      = 64 << 10 // longer ImageNameLength values are taken as corruption
	udMaxItemWarnings    = 16       // per-descriptor warnings of one kind before summarising
	udPrealloc           = 4096     // most entries allocated ahead of reading them
)

// IsUserDump reports whether hdr begins with a user-mode dump signature,
// "USERDUMP" (32-bit) or "USERDU64" (64-bit).
func IsUserDump(hdr []byte) bool {
	return bytes.HasPrefix(hdr, []byte(udSig32)) || bytes.HasPrefix(hdr, []byte(udSig64))
}

// UserDumpHeader is USERMODE_CRASHDUMP_HEADER as recorded in the file. The
// offsets are file offsets; in a 32-bit dump they are stored as ULONGs and
// widened here.
type UserDumpHeader struct {
	Signature          string // "USERDUMP" or "USERDU64" (Signature and ValidDump together)
	MajorVersion       uint32
	MinorVersion       uint32
	MachineImageType   uint32 // IMAGE_FILE_MACHINE_* (0x14c x86, 0x8664 x64, ...)
	ThreadCount        uint32
	ModuleCount        uint32
	MemoryRegionCount  uint32
	ThreadOffset       uint64 // CONTEXT records, one per thread
	ModuleOffset       uint64 // CRASH_MODULE records, variable length
	DataOffset         uint64 // memory contents of every region, back to back
	MemoryRegionOffset uint64 // MEMORY_BASIC_INFORMATION descriptors
	DebugEventOffset   uint64 // DEBUG_EVENT that triggered the dump
	ThreadStateOffset  uint64 // CRASH_THREAD records, one per thread
	VersionInfoOffset  uint64 // CRASHDUMP_VERSION_INFO
	Spare1             uint64
}

// UserDumpDebugEvent is the DEBUG_EVENT stored at DebugEventOffset. The
// exception fields are filled only for EXCEPTION_DEBUG_EVENT (Code 1).
type UserDumpDebugEvent struct {
	Code             uint32 // dwDebugEventCode: 1 exception, 2 create thread, 3 create process, ...
	ProcessID        uint32
	ThreadID         uint32
	HasException     bool
	ExceptionCode    uint32
	ExceptionFlags   uint32
	ExceptionRecord  uint64 // address of a chained EXCEPTION_RECORD in the process
	ExceptionAddress uint64
	NumberParameters uint32 // as recorded (may exceed len(Parameters) when corrupt)
	Parameters       []uint64
	FirstChance      uint32
}

// UserDumpVersionInfo is CRASHDUMP_VERSION_INFO.
type UserDumpVersionInfo struct {
	IgnoreGuardPages int32
	PointerSize      uint32 // 32 or 64
}

// UserDump is a user-mode dump in the old USERDUMP / USERDU64 format.
type UserDump struct {
	Process
	Header      UserDumpHeader
	Is64        bool                // the file uses the 64-bit layout (USERDU64)
	DebugEvent  *UserDumpDebugEvent // nil when absent or unreadable
	VersionInfo *UserDumpVersionInfo

	r      io.ReaderAt
	size   int64
	as     *addrspace.Segmented
	closer io.Closer
}

var _ Dump = (*UserDump)(nil)

// Format implements Dump.
func (u *UserDump) Format() string { return "userdump" }

// AddressSpace implements Dump: virtual addresses map to the region data
// stored from DataOffset on. Nothing is read until the caller reads.
func (u *UserDump) AddressSpace() *addrspace.Segmented { return u.as }

// Close closes the file opened by OpenUserDump; otherwise it does nothing.
func (u *UserDump) Close() error {
	if u.closer == nil {
		return nil
	}
	err := u.closer.Close()
	u.closer = nil
	return err
}

// OpenUserDump opens a userdump file read-only. Close it when done.
func OpenUserDump(path string) (*UserDump, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	u, err := NewUserDump(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	u.closer = f
	return u, nil
}

// NewUserDump parses the header and descriptor tables of a userdump of size
// bytes. Memory contents are not read. A bad signature or a header that does
// not fit is a *FormatError; damage past the header gives Warnings and the
// parts that could be read.
func NewUserDump(r io.ReaderAt, size int64) (*UserDump, error) {
	if size < 8 {
		return nil, &FormatError{Off: 0, Msg: fmt.Sprintf("file of %d bytes is too short for a userdump signature", size)}
	}
	u := &UserDump{r: r, size: size}
	sig, err := u.readAt(0, 8)
	if err != nil {
		return nil, &FormatError{Off: 0, Msg: "reading userdump signature", Err: err}
	}
	switch string(sig) {
	case udSig32:
	case udSig64:
		u.Is64 = true
	default:
		return nil, &FormatError{Off: 0, Msg: fmt.Sprintf("signature %q is neither %q nor %q", sig, udSig32, udSig64)}
	}
	hsz := int64(udHeaderSize32)
	if u.Is64 {
		hsz = udHeaderSize64
	}
	if size < hsz {
		return nil, &FormatError{Off: size, Msg: fmt.Sprintf("userdump header needs 0x%x bytes, file has 0x%x", hsz, size)}
	}
	hb, err := u.readAt(0, uint64(hsz))
	if err != nil {
		return nil, &FormatError{Off: 0, Msg: "reading userdump header", Err: err}
	}
	u.parseHeader(hb)
	u.setArch()
	u.parseVersionInfo()
	u.parseDebugEvent()
	u.parseThreads()
	u.parseModules()
	u.parseRegions()
	return u, nil
}

func (u *UserDump) ptrSize() int {
	if u.Is64 {
		return 8
	}
	return 4
}

// parseHeader decodes USERMODE_CRASHDUMP_HEADER32/64 (ntiodump.h; same field
// positions in Ghidra's UserdumpFileHeader and OpenJ9's UserDump.parseHeader).
func (u *UserDump) parseHeader(b []byte) {
	le := binary.LittleEndian
	h := &u.Header
	h.Signature = string(b[0:8])
	h.MajorVersion = le.Uint32(b[0x08:])
	h.MinorVersion = le.Uint32(b[0x0c:])
	h.MachineImageType = le.Uint32(b[0x10:])
	h.ThreadCount = le.Uint32(b[0x14:])
	h.ModuleCount = le.Uint32(b[0x18:])
	h.MemoryRegionCount = le.Uint32(b[0x1c:])
	offs := []*uint64{&h.ThreadOffset, &h.ModuleOffset, &h.DataOffset, &h.MemoryRegionOffset,
		&h.DebugEventOffset, &h.ThreadStateOffset, &h.VersionInfoOffset, &h.Spare1}
	for i, p := range offs {
		if u.Is64 {
			*p = le.Uint64(b[0x20+8*i:])
		} else {
			*p = uint64(le.Uint32(b[0x20+4*i:]))
		}
	}
}

// udMachineArch maps IMAGE_FILE_MACHINE_* values to architectures.
func udMachineArch(m uint32) (Arch, bool) {
	switch m {
	case 0x014c: // I386
		return ArchX86, true
	case 0x8664: // AMD64
		return ArchAMD64, true
	case 0x0200: // IA64
		return ArchIA64, true
	case 0xaa64: // ARM64
		return ArchARM64, true
	case 0x01c0, 0x01c2, 0x01c4: // ARM, THUMB, ARMNT
		return ArchARM, true
	case 0x0184: // ALPHA
		return ArchAlpha, true
	case 0x0284: // ALPHA64
		return ArchAlpha64, true
	case 0x01f0, 0x01f1: // POWERPC, POWERPCFP
		return ArchPPC, true
	case 0x0162, 0x0166, 0x0168: // R3000, R4000, R10000
		return ArchMIPS, true
	}
	return ArchUnknown, false
}

func (u *UserDump) setArch() {
	a, ok := udMachineArch(u.Header.MachineImageType)
	u.Arch = a
	if !ok {
		u.warnf(0x10, "unknown MachineImageType 0x%x; thread contexts cannot be sized", u.Header.MachineImageType)
		return
	}
	if a.PointerSize() != u.ptrSize() {
		u.warnf(0x10, "MachineImageType 0x%x (%s) does not match the %d-bit layout of %s; structures are read with the file's layout",
			u.Header.MachineImageType, a, 8*u.ptrSize(), u.Header.Signature)
	}
}

// udContextSizes lists CONTEXT sizes per architecture, the usual one first.
// x86 also had a 0xcc-byte CONTEXT before CONTEXT_EXTENDED_REGISTERS (NT 4).
func udContextSizes(a Arch) []uint64 {
	switch a {
	case ArchX86:
		return []uint64{0x2cc, 0xcc}
	case ArchAMD64:
		return []uint64{0x4d0}
	case ArchARM64:
		return []uint64{0x390}
	case ArchARM:
		return []uint64{0x1a0}
	}
	return nil
}

// place checks that n bytes at off lie inside the file and says, as a
// warning, why not. Offset 0 (the header) means the structure is absent.
func (u *UserDump) place(what string, off, n uint64) bool {
	if off == 0 {
		return false
	}
	if off >= uint64(u.size) {
		u.warnf(-1, "%s offset 0x%x is past the end of the file (size 0x%x)", what, off, u.size)
		return false
	}
	if n > uint64(u.size)-off {
		u.warnf(int64(off), "%s needs 0x%x bytes, only 0x%x left in the file", what, n, uint64(u.size)-off)
		return false
	}
	return true
}

// fit returns how many records of recSize, out of count, lie inside the file
// from off, warning when some do not.
func (u *UserDump) fit(what string, off uint64, count uint32, recSize uint64) uint64 {
	if count == 0 {
		return 0
	}
	if off == 0 {
		u.warnf(-1, "%d %s recorded but their offset is 0", count, what)
		return 0
	}
	if off >= uint64(u.size) {
		u.warnf(-1, "%s offset 0x%x is past the end of the file (size 0x%x)", what, off, u.size)
		return 0
	}
	n := min(uint64(count), (uint64(u.size)-off)/recSize)
	if n < uint64(count) {
		u.warnf(int64(off), "%d %s recorded, only %d fit in the file (0x%x bytes each)", count, what, n, recSize)
	}
	return n
}

// nextBoundary returns the nearest header offset above off, or the file size
// when there is none: where the structure at off ends if the file is well
// formed.
func (u *UserDump) nextBoundary(off uint64) uint64 {
	h := &u.Header
	end := ^uint64(0)
	for _, o := range []uint64{h.ThreadOffset, h.ModuleOffset, h.DataOffset, h.MemoryRegionOffset,
		h.DebugEventOffset, h.ThreadStateOffset, h.VersionInfoOffset} {
		if o > off && o < end {
			end = o
		}
	}
	if end == ^uint64(0) { // the last structure: it ends with the file
		end = uint64(u.size)
	}
	return end
}

func (u *UserDump) parseVersionInfo() {
	off := u.Header.VersionInfoOffset
	if !u.place("version info", off, udVersionInfoSize) {
		return
	}
	b, err := u.readAt(off, udVersionInfoSize)
	if err != nil {
		u.warnf(int64(off), "reading version info: %v", err)
		return
	}
	v := &UserDumpVersionInfo{
		IgnoreGuardPages: int32(binary.LittleEndian.Uint32(b[0:])),
		PointerSize:      binary.LittleEndian.Uint32(b[4:]),
	}
	u.VersionInfo = v
	if v.PointerSize != uint32(8*u.ptrSize()) {
		u.warnf(int64(off)+4, "version info gives %d-bit pointers, the signature %s says %d", v.PointerSize, u.Header.Signature, 8*u.ptrSize())
	}
}

// parseDebugEvent decodes the native DEBUG_EVENT of the dump's pointer size
// (winnt.h). Offsets: dwDebugEventCode 0, dwProcessId 4, dwThreadId 8, then
// the union (12 on 32-bit, 16 on 64-bit) holding EXCEPTION_DEBUG_INFO:
// EXCEPTION_RECORD (Code, Flags, ExceptionRecord, ExceptionAddress,
// NumberParameters, [pad on 64-bit], ExceptionInformation[15]) and
// dwFirstChance.
func (u *UserDump) parseDebugEvent() {
	off := u.Header.DebugEventOffset
	if off == 0 {
		return
	}
	want := uint64(udDebugEventSize32)
	if u.Is64 {
		want = udDebugEventSize64
	}
	if !u.place("debug event", off, 12) {
		return
	}
	n := min(want, uint64(u.size)-off)
	b, err := u.readAt(off, n)
	if err != nil {
		u.warnf(int64(off), "reading debug event: %v", err)
		return
	}
	le := binary.LittleEndian
	ev := &UserDumpDebugEvent{
		Code:      le.Uint32(b[0:]),
		ProcessID: le.Uint32(b[4:]),
		ThreadID:  le.Uint32(b[8:]),
	}
	u.DebugEvent = ev
	u.PID, u.HasPID = ev.ProcessID, true
	if ev.Code != 1 { // EXCEPTION_DEBUG_EVENT
		return
	}
	if n < want {
		u.warnf(int64(off), "debug event truncated: 0x%x of 0x%x bytes in the file", n, want)
		return
	}
	ev.HasException = true
	ps := uint64(u.ptrSize())
	rec := uint64(12)
	if u.Is64 {
		rec = 16
	}
	ptr := func(o uint64) uint64 {
		if ps == 8 {
			return le.Uint64(b[o:])
		}
		return uint64(le.Uint32(b[o:]))
	}
	ev.ExceptionCode = le.Uint32(b[rec:])
	ev.ExceptionFlags = le.Uint32(b[rec+4:])
	ev.ExceptionRecord = ptr(rec + 8)
	ev.ExceptionAddress = ptr(rec + 8 + ps)
	ev.NumberParameters = le.Uint32(b[rec+8+2*ps:])
	info := rec + 8 + 3*ps // NumberParameters is padded to pointer size
	np := ev.NumberParameters
	if np > udMaxExceptionParams {
		u.warnf(int64(off+rec+8+2*ps), "exception record gives %d parameters, at most %d exist", np, udMaxExceptionParams)
		np = udMaxExceptionParams
	}
	ev.Parameters = make([]uint64, np)
	for i := range ev.Parameters {
		ev.Parameters[i] = ptr(info + uint64(i)*ps)
	}
	ev.FirstChance = le.Uint32(b[info+udMaxExceptionParams*ps:])
}

// parseThreads reads the CRASH_THREAD records at ThreadStateOffset and
// locates the CONTEXT records at ThreadOffset; record i of both tables is
// taken to describe the same thread.
func (u *UserDump) parseThreads() {
	h := &u.Header
	if h.ThreadCount == 0 {
		return
	}
	recSize := uint64(udThreadSize32)
	if u.Is64 {
		recSize = udThreadSize64
	}
	var nState uint64
	if h.ThreadStateOffset != 0 {
		nState = u.fit("thread state records", h.ThreadStateOffset, h.ThreadCount, recSize)
	} else {
		u.warnf(-1, "no thread state records (ThreadStateOffset 0): thread IDs and TEBs unknown")
	}

	var nCtx, ctxSize uint64
	switch sizes := udContextSizes(u.Arch); {
	case h.ThreadOffset == 0:
		u.warnf(-1, "no thread contexts (ThreadOffset 0)")
	case sizes == nil:
		// Unknown architecture: already warned, contexts cannot be sized.
	default:
		// The usual CONTEXT size, unless another known size fills the
		// space up to the next structure exactly.
		ctxSize = sizes[0]
		if h.ThreadOffset < uint64(u.size) {
			gap := u.nextBoundary(h.ThreadOffset) - h.ThreadOffset
			for _, s := range sizes {
				if gap == s*uint64(h.ThreadCount) {
					ctxSize = s
					break
				}
			}
		}
		nCtx = u.fit("thread contexts", h.ThreadOffset, h.ThreadCount, ctxSize)
	}

	n := max(nState, nCtx)
	u.Threads = make([]Thread, 0, min(n, udPrealloc))
	var rd *udStream
	if nState > 0 {
		rd = u.stream(h.ThreadStateOffset, nState*recSize)
	}
	for i := range n {
		var t Thread
		if i < nState {
			off := rd.off
			b, err := rd.next(int(recSize))
			if err != nil {
				u.warnf(off, "reading thread state record %d: %v", i, err)
				break
			}
			le := binary.LittleEndian
			t.ID = le.Uint32(b[0:])
			t.SuspendCount = le.Uint32(b[4:])
			t.PriorityClass = le.Uint32(b[8:])
			t.Priority = le.Uint32(b[12:])
			if u.Is64 {
				t.TEB = le.Uint64(b[16:])
			} else {
				t.TEB = uint64(le.Uint32(b[16:]))
			}
		}
		if i < nCtx {
			t.ContextOff = int64(h.ThreadOffset + i*ctxSize)
			t.ContextSize = uint32(ctxSize)
		}
		u.Threads = append(u.Threads, t)
	}
}

// parseModules reads the CRASH_MODULE records at ModuleOffset: BaseOfImage
// (pointer), SizeOfImage, ImageNameLength, then that many bytes of ANSI name,
// each record straight after the previous one (Ghidra's Userdump steps by
// the record's length; ntiodump.h declares ImageName[0] at the end).
func (u *UserDump) parseModules() {
	h := &u.Header
	if h.ModuleCount == 0 {
		return
	}
	fixed := uint64(12)
	if u.Is64 {
		fixed = 16
	}
	switch {
	case h.ModuleOffset == 0:
		u.warnf(-1, "%d modules recorded but their offset is 0", h.ModuleCount)
		return
	case h.ModuleOffset >= uint64(u.size):
		u.warnf(-1, "module records offset 0x%x is past the end of the file (size 0x%x)", h.ModuleOffset, u.size)
		return
	}
	// Each record takes at least its fixed part: a bound for the allocation.
	maxN := min(uint64(h.ModuleCount), (uint64(u.size)-h.ModuleOffset)/fixed)
	u.Modules = make([]Module, 0, min(maxN, udPrealloc))
	le := binary.LittleEndian
	// Records are read one by one (no read-ahead): the module list is short
	// and is often followed by the memory data, which is not to be read.
	off := h.ModuleOffset
	for i := range uint64(h.ModuleCount) {
		b, err := u.readAt(off, fixed)
		if err != nil {
			u.warnf(int64(min(off, uint64(u.size))), "module record %d of %d: %v", i, h.ModuleCount, err)
			return
		}
		var m Module
		if u.Is64 {
			m.Base = le.Uint64(b[0:])
		} else {
			m.Base = uint64(le.Uint32(b[0:]))
		}
		m.Size = le.Uint32(b[fixed-8:])
		nameLen := le.Uint32(b[fixed-4:])
		if nameLen > udMaxModuleName {
			u.warnf(int64(off+fixed-4), "module record %d: name length %d exceeds %d; module list abandoned", i, nameLen, udMaxModuleName)
			return
		}
		name, err := u.readAt(off+fixed, uint64(nameLen))
		if err != nil {
			u.warnf(int64(off+fixed), "module record %d name (%d bytes): %v", i, nameLen, err)
			return
		}
		m.Name = udANSI(name)
		u.Modules = append(u.Modules, m)
		off += fixed + uint64(nameLen)
	}
}

// readAt reads n bytes at off, which must lie inside the file.
func (u *UserDump) readAt(off, n uint64) ([]byte, error) {
	if off > uint64(u.size) || n > uint64(u.size)-off {
		left := uint64(0)
		if off < uint64(u.size) {
			left = uint64(u.size) - off
		}
		return nil, fmt.Errorf("truncated: %d of %d bytes in the file", left, n)
	}
	b := make([]byte, n)
	if m, err := u.r.ReadAt(b, int64(off)); m < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// parseRegions reads the MEMORY_BASIC_INFORMATION descriptors at
// MemoryRegionOffset and maps each region to its data, which lie back to
// back from DataOffset in descriptor order (Ghidra and OpenJ9 agree).
func (u *UserDump) parseRegions() {
	h := &u.Header
	ps := u.ptrSize()
	defer func() {
		if u.as == nil {
			u.as = addrspace.NewSegmented(u.r, ps, nil)
		}
	}()
	if h.MemoryRegionCount == 0 {
		return
	}
	recSize := uint64(udMBISize32)
	if u.Is64 {
		recSize = udMBISize64
	}
	n := u.fit("memory region descriptors", h.MemoryRegionOffset, h.MemoryRegionCount, recSize)
	if n == 0 {
		return
	}
	dataOK := true
	switch {
	case h.DataOffset == 0:
		u.warnf(-1, "memory data offset is 0: no region contents")
		dataOK = false
	case h.DataOffset >= uint64(u.size):
		u.warnf(-1, "memory data offset 0x%x is past the end of the file (size 0x%x): no region contents", h.DataOffset, u.size)
		dataOK = false
	}

	u.Regions = make([]MemoryInfo, 0, min(n, udPrealloc))
	segs := make([]addrspace.Segment, 0, min(n, udPrealloc))
	rd := u.stream(h.MemoryRegionOffset, n*recSize)
	le := binary.LittleEndian
	fileOff := h.DataOffset
	top := ^uint64(0) // highest address of the process
	if !u.Is64 {
		top = 1<<32 - 1
	}
	var trimmed, wrapped int
	for i := range n {
		off := rd.off
		b, err := rd.next(int(recSize))
		if err != nil {
			u.warnf(off, "reading memory region descriptor %d: %v", i, err)
			break
		}
		var mi MemoryInfo
		if u.Is64 {
			mi.BaseAddress = le.Uint64(b[0:])
			mi.AllocationBase = le.Uint64(b[8:])
			mi.AllocationProtect = le.Uint32(b[16:])
			mi.RegionSize = le.Uint64(b[24:])
			mi.State = le.Uint32(b[32:])
			mi.Protect = le.Uint32(b[36:])
			mi.Type = le.Uint32(b[40:])
		} else {
			mi.BaseAddress = uint64(le.Uint32(b[0:]))
			mi.AllocationBase = uint64(le.Uint32(b[4:]))
			mi.AllocationProtect = le.Uint32(b[8:])
			mi.RegionSize = uint64(le.Uint32(b[12:]))
			mi.State = le.Uint32(b[16:])
			mi.Protect = le.Uint32(b[20:])
			mi.Type = le.Uint32(b[24:])
		}
		u.Regions = append(u.Regions, mi)

		start := fileOff
		fileOff = udAddSat(fileOff, mi.RegionSize)
		if !dataOK || mi.RegionSize == 0 {
			continue
		}
		size := mi.RegionSize
		if room := top - mi.BaseAddress; size-1 > room { // past the top of the address space
			size = room + 1
			if wrapped++; wrapped <= udMaxItemWarnings {
				u.warnf(off, "memory region %d at 0x%x: size 0x%x runs past the top of the address space; cut to 0x%x",
					i, mi.BaseAddress, mi.RegionSize, size)
			}
		}
		avail := uint64(0)
		if start < uint64(u.size) {
			avail = uint64(u.size) - start
		}
		if size > avail {
			if trimmed++; trimmed <= udMaxItemWarnings {
				u.warnf(int64(min(start, uint64(u.size))), "memory region %d at 0x%x: 0x%x bytes of data at file offset 0x%x, only 0x%x in the file; trimmed",
					i, mi.BaseAddress, size, start, avail)
			}
			size = avail
		}
		if size > 0 {
			segs = append(segs, addrspace.Segment{VA: mi.BaseAddress, Size: size, FileOff: start})
		}
	}
	if wrapped > udMaxItemWarnings {
		u.warnf(-1, "%d more memory regions run past the top of the address space", wrapped-udMaxItemWarnings)
	}
	if trimmed > udMaxItemWarnings {
		u.warnf(-1, "%d more memory regions have data past the end of the file", trimmed-udMaxItemWarnings)
	}
	u.warnOverlaps(segs)
	u.as = addrspace.NewSegmented(u.r, ps, segs)
}

// warnOverlaps reports regions whose addresses overlap an earlier one; the
// address space keeps the region recorded first.
func (u *UserDump) warnOverlaps(segs []addrspace.Segment) {
	idx := make([]int, len(segs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return segs[idx[a]].VA < segs[idx[b]].VA })
	var end uint64
	var count int
	for k, i := range idx {
		g := segs[i]
		if k > 0 && g.VA < end {
			if count++; count <= udMaxItemWarnings {
				u.warnf(-1, "memory region at 0x%x (0x%x bytes) overlaps another region; the one recorded first is used", g.VA, g.Size)
			}
		}
		if e := g.VA + g.Size; e > end {
			end = e
		}
	}
	if count > udMaxItemWarnings {
		u.warnf(-1, "%d more overlapping memory regions", count-udMaxItemWarnings)
	}
}

func udAddSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}

// udANSI decodes an ANSI (code page) name: UTF-8 as is, anything else as
// Latin-1, which keeps every byte visible. It stops at the first NUL.
func udANSI(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// udStream reads a table sequentially in buffered chunks, so a large table
// costs no more memory than the records kept from it.
type udStream struct {
	br  *bufio.Reader
	off int64 // file offset of the next byte
	buf []byte
}

func (u *UserDump) stream(off, n uint64) *udStream {
	return &udStream{
		br:  bufio.NewReaderSize(io.NewSectionReader(u.r, int64(off), int64(n)), int(min(max(n, 16), 64<<10))),
		off: int64(off),
	}
}

// next returns the next n bytes; the slice is valid until the next call.
func (s *udStream) next(n int) ([]byte, error) {
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	m, err := io.ReadFull(s.br, b)
	s.off += int64(m)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("truncated: %d of %d bytes in the file", m, n)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}
