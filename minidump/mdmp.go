// Package minidump reads Windows process dumps: the minidump container
// (MDMP, written by MiniDumpWriteDump: procdump, Task Manager, WER,
// Breakpad/Crashpad, dbgeng's .dump /m) and the older user-mode dump format
// (USERDUMP/USERDU64, written by userdump.exe and Dr. Watson).
//
// Opening a dump reads its directory and small streams only; captured memory
// is read through AddressSpace when asked, so opening a multi-gigabyte
// full-memory dump costs its directory, not its size.
package minidump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/remnant-forensics/remnant/pkg/wstr"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/peimage"
)

// Magic values.
const (
	Signature = 0x504d444d // "MDMP" little-endian
	version   = 0xa793     // MINIDUMP_VERSION, low 16 bits of Version
)

// Header is MINIDUMP_HEADER.
type Header struct {
	Signature          uint32
	Version            uint16 // 0xa793
	ImplVersion        uint16 // implementation-specific high half
	NumberOfStreams    uint32
	StreamDirectoryRva uint32
	CheckSum           uint32
	TimeDateStamp      uint32
	Flags              uint64 // MINIDUMP_TYPE
}

// Stream is one entry of the stream directory.
type Stream struct {
	Type StreamType
	Size uint32
	Off  int64 // file offset (RVA)
}

// SystemInfo is MINIDUMP_SYSTEM_INFO.
type SystemInfo struct {
	ProcessorArchitecture Arch
	ProcessorLevel        uint16
	ProcessorRevision     uint16
	NumberOfProcessors    uint8
	ProductType           uint8
	MajorVersion          uint32
	MinorVersion          uint32
	BuildNumber           uint32
	PlatformID            uint32
	CSDVersion            string
	SuiteMask             uint16
	VendorID              string // x86 CPUID vendor, e.g. GenuineIntel
	VersionInformation    uint32 // x86 CPUID 1 EAX
	FeatureInformation    uint32 // x86 CPUID 1 EDX
	AMDExtendedFeatures   uint32
	ProcessorFeatures     [2]uint64 // non-x86
}

// Platform names the PlatformId.
func (s *SystemInfo) Platform() string {
	switch s.PlatformID {
	case 0:
		return "Win32s"
	case 1:
		return "Win9x"
	case 2:
		return "WinNT"
	case 3:
		return "WinCE"
	case 0x8000:
		return "Unix"
	case 0x8101:
		return "macOS"
	case 0x8102:
		return "iOS"
	case 0x8201:
		return "Linux"
	case 0x8202:
		return "Solaris"
	case 0x8203:
		return "Android"
	case 0x8204:
		return "PS3"
	case 0x8205:
		return "NaCl"
	case 0x8206:
		return "Fuchsia"
	}
	return fmt.Sprintf("0x%x", s.PlatformID)
}

// IsWindows reports whether the dump comes from Windows NT.
func (s *SystemInfo) IsWindows() bool { return s.PlatformID == 2 }

// MiscInfo is MINIDUMP_MISC_INFO through MINIDUMP_MISC_INFO_5; fields whose
// Flags1 bit is clear, or that lie past SizeOfInfo, are zero.
type MiscInfo struct {
	SizeOfInfo        uint32
	Flags1            uint32
	ProcessID         uint32
	ProcessCreateTime uint32 // time_t
	ProcessUserTime   uint32 // seconds
	ProcessKernelTime uint32 // seconds
	// MISC_INFO_2
	ProcessorMaxMhz, ProcessorCurrentMhz, ProcessorMhzLimit uint32
	ProcessorMaxIdleState, ProcessorCurrentIdleState        uint32
	// MISC_INFO_3
	ProcessIntegrityLevel uint32
	ProcessExecuteFlags   uint32
	ProtectedProcess      uint32
	TimeZoneID            uint32
	TimeZoneBias          int32 // minutes, UTC = local + bias
	StandardName          string
	DaylightName          string
	// MISC_INFO_4
	BuildString string
	DbgBldStr   string
	// MISC_INFO_5
	XStateEnabledFeatures uint64
	XStateContextSize     uint32
	ProcessCookie         uint32
}

// MiscInfo Flags1 bits.
const (
	MiscProcessID           = 0x001
	MiscProcessTimes        = 0x002
	MiscProcessorPowerInfo  = 0x004
	MiscProcessIntegrity    = 0x010
	MiscProcessExecuteFlags = 0x020
	MiscTimezone            = 0x040
	MiscProtectedProcess    = 0x080
	MiscBuildString         = 0x100
	MiscProcessCookie       = 0x200
)

// Exception is MINIDUMP_EXCEPTION_STREAM.
type Exception struct {
	ThreadID         uint32
	Code             uint32
	Flags            uint32
	Record           uint64 // address of a chained EXCEPTION_RECORD
	Address          uint64
	NumberParameters uint32
	Information      []uint64
	ContextOff       int64
	ContextSize      uint32
}

// Handle is MINIDUMP_HANDLE_DESCRIPTOR(_2).
type Handle struct {
	Handle        uint64
	TypeName      string
	ObjectName    string
	Attributes    uint32
	GrantedAccess uint32
	HandleCount   uint32
	PointerCount  uint32
}

// Token is one entry of the Token stream (MINIDUMP_TOKEN_INFO_HEADER); the
// token data that follows the header is kept raw.
type Token struct {
	TokenID     uint32
	TokenHandle uint64
	Off         int64
	Data        []byte
}

// MemoryRange is one captured range of memory as the MemoryList or
// Memory64List describes it.
type MemoryRange struct {
	VA      uint64
	Size    uint64
	FileOff int64
	Stream  StreamType
}

// File is an open minidump.
type File struct {
	Process
	Header     Header
	Streams    []Stream
	SystemInfo *SystemInfo
	MiscInfo   *MiscInfo
	Exception  *Exception
	Handles    []Handle
	Tokens     []Token
	CommentA   string
	CommentW   string
	Memory     []MemoryRange // as recorded, in stream order
	// Vendor streams worth showing as text (Breakpad's Linux streams).
	LinuxCmdLine string

	fr           fileReader
	budgetWarned bool
	as           *addrspace.Segmented
	closer       io.Closer
}

// Format implements Dump.
func (f *File) Format() string { return "minidump" }

// AddressSpace implements Dump: the captured memory, by virtual address.
func (f *File) AddressSpace() *addrspace.Segmented { return f.as }

// Size returns the size of the dump file.
func (f *File) Size() int64 { return f.fr.size }

// ReaderAt returns the dump's bytes.
func (f *File) ReaderAt() io.ReaderAt { return f.fr.r }

// Close closes the file if Open opened it.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// IsMinidump reports whether hdr starts with the MDMP signature.
func IsMinidump(hdr []byte) bool {
	return len(hdr) >= 4 && binary.LittleEndian.Uint32(hdr) == Signature
}

// Open opens the named file read-only and parses it.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := NewFile(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// maxStreams bounds the stream directory whatever the header says.
const maxStreams = 1 << 16

// NewFile parses the minidump in r, which holds size bytes. A fatal problem
// (not a minidump, header or directory unreadable) returns a *FormatError;
// problems in single streams are recorded in Warnings and the rest is kept.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	budget := 4*size + 1<<20
	f := &File{fr: fileReader{r: r, size: size, budget: &budget}}
	c, err := f.fr.cursorAt(0, 32, "MINIDUMP_HEADER")
	if err != nil {
		return nil, err
	}
	h := &f.Header
	h.Signature = c.u32()
	if h.Signature != Signature {
		return nil, &FormatError{Off: 0, Msg: fmt.Sprintf("not a minidump: signature %q, want \"MDMP\"", printable(c.b[:4]))}
	}
	h.Version = c.u16()
	h.ImplVersion = c.u16()
	h.NumberOfStreams = c.u32()
	h.StreamDirectoryRva = c.u32()
	h.CheckSum = c.u32()
	h.TimeDateStamp = c.u32()
	h.Flags = c.u64()
	if h.Version != version {
		f.warnf(4, "header version 0x%04x, expected 0x%04x", h.Version, version)
	}
	if h.TimeDateStamp != 0 {
		f.DumpTime = time.Unix(int64(h.TimeDateStamp), 0).UTC()
	}

	n := uint64(h.NumberOfStreams)
	dirOff := int64(h.StreamDirectoryRva)
	if n > maxStreams {
		return nil, &FormatError{Off: 8, Msg: fmt.Sprintf("%d streams is more than %d", n, maxStreams)}
	}
	if dirOff >= size || n*12 > uint64(size-dirOff) {
		// Keep the entries that fit: a truncated dump still has them.
		fit := uint64(0)
		if dirOff < size {
			fit = uint64(size-dirOff) / 12
		}
		if fit == 0 {
			return nil, &FormatError{Off: 12, Msg: fmt.Sprintf("stream directory at 0x%x with %d entries lies past the end of the file (size 0x%x)", dirOff, n, size)}
		}
		f.warnf(12, "stream directory at 0x%x claims %d entries, only %d fit in the file", dirOff, n, fit)
		n = fit
	}
	c, err = f.fr.cursorAt(dirOff, n*12, "stream directory")
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < n; i++ {
		s := Stream{Type: StreamType(c.u32()), Size: c.u32(), Off: int64(c.u32())}
		f.Streams = append(f.Streams, s)
	}
	f.parseStreams()
	f.buildSegments()
	return f, nil
}

// warnErr records a failed read of a record; running out of the string
// budget is said once.
func (f *File) warnErr(off int64, what string, err error) {
	if errors.Is(err, errBudget) {
		if f.budgetWarned {
			return
		}
		f.budgetWarned = true
	}
	f.warnf(off, "%s: %v", what, err)
}

// stream returns the first stream of type t, warning about duplicates.
func (f *File) stream(t StreamType) (Stream, bool) {
	var found Stream
	ok := false
	for _, s := range f.Streams {
		if s.Type != t {
			continue
		}
		if ok {
			f.warnf(s.Off, "second %s stream ignored", t)
			continue
		}
		found, ok = s, true
	}
	return found, ok
}

// streamCursor reads a whole stream into a cursor.
func (f *File) streamCursor(s Stream) (*cursor, error) {
	return f.fr.cursorAt(s.Off, uint64(s.Size), s.Type.String()+" stream")
}

type streamParser struct {
	t     StreamType
	parse func(*File, *cursor) error
}

// The order matters: ThreadInfoList and ThreadNames decorate threads, so the
// thread lists come first; SystemInfo decides the pointer size.
var parsers = []streamParser{
	{SystemInfoStream, (*File).parseSystemInfo},
	{MiscInfoStream, (*File).parseMiscInfo},
	{ThreadListStream, (*File).parseThreadList},
	{ThreadExListStream, (*File).parseThreadExList},
	{ThreadInfoListStream, (*File).parseThreadInfoList},
	{ThreadNamesStream, (*File).parseThreadNames},
	{ModuleListStream, (*File).parseModuleList},
	{UnloadedModuleListStream, (*File).parseUnloadedModuleList},
	{MemoryListStream, (*File).parseMemoryList},
	{Memory64ListStream, (*File).parseMemory64List},
	{MemoryInfoListStream, (*File).parseMemoryInfoList},
	{ExceptionStream, (*File).parseException},
	{HandleDataStream, (*File).parseHandleData},
	{TokenStream, (*File).parseTokens},
	{CommentStreamA, (*File).parseCommentA},
	{CommentStreamW, (*File).parseCommentW},
	{0x47670006, (*File).parseLinuxCmdLine},
}

func (f *File) parseStreams() {
	f.Arch = ArchUnknown
	for _, s := range f.Streams {
		if s.Type != UnusedStream && (s.Off > f.fr.size || int64(s.Size) > f.fr.size-s.Off) {
			f.warnf(s.Off, "%s stream (%d bytes at 0x%x) runs past the end of the file (size 0x%x)", s.Type, s.Size, s.Off, f.fr.size)
		}
	}
	for _, p := range parsers {
		s, ok := f.stream(p.t)
		if !ok {
			continue
		}
		c, err := f.streamCursor(s)
		if err == nil {
			err = p.parse(f, c)
		}
		if err != nil {
			f.warnf(s.Off, "%s stream: %v", s.Type, err)
		}
	}
	if f.SystemInfo == nil {
		f.warnf(-1, "no SystemInfo stream: architecture and OS unknown")
	}
}

func (f *File) parseSystemInfo(c *cursor) error {
	s := &SystemInfo{}
	s.ProcessorArchitecture = Arch(c.u16())
	s.ProcessorLevel = c.u16()
	s.ProcessorRevision = c.u16()
	s.NumberOfProcessors = c.u8()
	s.ProductType = c.u8()
	s.MajorVersion = c.u32()
	s.MinorVersion = c.u32()
	s.BuildNumber = c.u32()
	s.PlatformID = c.u32()
	csdRva := c.u32()
	s.SuiteMask = c.u16()
	c.u16()
	cpu := c.bytes(24)
	if c.err != nil {
		return c.err
	}
	if s.ProcessorArchitecture == ArchX86 {
		s.VendorID = cString(cpu[:12])
		s.VersionInformation = binary.LittleEndian.Uint32(cpu[12:])
		s.FeatureInformation = binary.LittleEndian.Uint32(cpu[16:])
		s.AMDExtendedFeatures = binary.LittleEndian.Uint32(cpu[20:])
	} else {
		s.ProcessorFeatures[0] = binary.LittleEndian.Uint64(cpu[0:])
		s.ProcessorFeatures[1] = binary.LittleEndian.Uint64(cpu[8:])
	}
	if csdRva != 0 {
		csd, err := f.fr.minidumpString(csdRva)
		if err != nil {
			f.warnErr(int64(csdRva), "CSD version string", err)
		}
		s.CSDVersion = csd
	}
	f.SystemInfo = s
	f.Arch = s.ProcessorArchitecture
	f.OS = OSVersion{Major: s.MajorVersion, Minor: s.MinorVersion, Build: s.BuildNumber,
		PlatformID: s.PlatformID, ProductType: s.ProductType, SuiteMask: s.SuiteMask, CSDVersion: s.CSDVersion}
	if !s.IsWindows() {
		f.warnf(-1, "not a Windows dump: platform %s", s.Platform())
	}
	return nil
}

func (f *File) parseMiscInfo(c *cursor) error {
	m := &MiscInfo{}
	m.SizeOfInfo = c.u32()
	m.Flags1 = c.u32()
	m.ProcessID = c.u32()
	m.ProcessCreateTime = c.u32()
	m.ProcessUserTime = c.u32()
	m.ProcessKernelTime = c.u32()
	if c.err != nil {
		return c.err
	}
	if int(m.SizeOfInfo) > len(c.b) {
		f.warnf(c.off, "MiscInfo SizeOfInfo %d is larger than the stream (%d bytes)", m.SizeOfInfo, len(c.b))
	}
	avail := min(int(m.SizeOfInfo), len(c.b))
	if avail >= 44 {
		m.ProcessorMaxMhz = c.u32()
		m.ProcessorCurrentMhz = c.u32()
		m.ProcessorMhzLimit = c.u32()
		m.ProcessorMaxIdleState = c.u32()
		m.ProcessorCurrentIdleState = c.u32()
	}
	if avail >= 232 {
		m.ProcessIntegrityLevel = c.u32()
		m.ProcessExecuteFlags = c.u32()
		m.ProtectedProcess = c.u32()
		m.TimeZoneID = c.u32()
		// TIME_ZONE_INFORMATION
		m.TimeZoneBias = int32(c.u32())
		m.StandardName = wstr.DecodeZ(c.bytes(64))
		c.skip(16 + 4) // StandardDate, StandardBias
		m.DaylightName = wstr.DecodeZ(c.bytes(64))
		c.skip(16 + 4)
	}
	if avail >= 832 {
		m.BuildString = wstr.DecodeZ(c.bytes(520))
		m.DbgBldStr = wstr.DecodeZ(c.bytes(80))
	}
	if avail >= 1364 {
		c.u32() // XSTATE SizeOfInfo
		m.XStateContextSize = c.u32()
		m.XStateEnabledFeatures = c.u64()
		c.skip(512)
		m.ProcessCookie = c.u32()
	}
	if c.err != nil {
		return c.err
	}
	f.MiscInfo = m
	if m.Flags1&MiscProcessID != 0 {
		f.PID, f.HasPID = m.ProcessID, true
	}
	if m.Flags1&MiscProcessTimes != 0 && m.ProcessCreateTime != 0 {
		f.CreateTime = time.Unix(int64(m.ProcessCreateTime), 0).UTC()
	}
	return nil
}

// listCount reads a 32-bit count of fixed-size entries and checks it
// against the stream size. Some writers pad the count to 8 bytes, so a
// stream of exactly 8+n*entry bytes is accepted too.
func listCount(c *cursor, entry int, what string) (int, error) {
	n := c.u32()
	if c.err != nil {
		return 0, c.err
	}
	rest := uint64(len(c.b) - c.pos)
	switch {
	case uint64(n)*uint64(entry) <= rest:
		if rest == uint64(n)*uint64(entry)+4 {
			c.skip(4) // padding after the count
		}
		return int(n), nil
	default:
		fit := rest / uint64(entry)
		return int(fit), &FormatError{Off: c.off, Msg: fmt.Sprintf("%s claims %d entries, the stream holds %d", what, n, fit)}
	}
}

func (f *File) parseThreads(c *cursor, entry int, what string) error {
	n, cerr := listCount(c, entry, what)
	for i := 0; i < n; i++ {
		t := Thread{}
		t.ID = c.u32()
		t.SuspendCount = c.u32()
		t.PriorityClass = c.u32()
		t.Priority = c.u32()
		t.TEB = c.u64()
		t.StackStart = c.u64()
		t.StackSize = uint64(c.u32())
		c.u32() // stack RVA: the memory lists cover it
		t.ContextSize = c.u32()
		t.ContextOff = int64(c.u32())
		if entry == 64 {
			c.skip(16) // BackingStore (IA64)
		}
		if c.err != nil {
			return c.err
		}
		f.Threads = append(f.Threads, t)
	}
	return cerr
}

func (f *File) parseThreadList(c *cursor) error { return f.parseThreads(c, 48, "ThreadList") }

func (f *File) parseThreadExList(c *cursor) error {
	if len(f.Threads) > 0 {
		return nil // ThreadList already gave them
	}
	return f.parseThreads(c, 64, "ThreadExList")
}

// filetime converts a FILETIME (100 ns since 1601) to UTC.
func filetime(v uint64) time.Time {
	if v == 0 || v >= 0x7fffffffffffffff {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601 → 1970 in 100 ns
	if v < epochDiff {
		return time.Unix(0, 0).UTC().Add(-time.Duration((epochDiff-v)/10000) * time.Millisecond)
	}
	d := v - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

func (f *File) threadByID(id uint32) *Thread {
	for i := range f.Threads {
		if f.Threads[i].ID == id {
			return &f.Threads[i]
		}
	}
	return nil
}

// sizedList positions c after a list header that gives its own header and
// entry sizes (ThreadInfoList, UnloadedModuleList, MemoryInfoList,
// HandleData) and returns how many entries of the claimed n the stream
// holds; err, when not nil, says the count was cut.
func sizedList(c *cursor, name string, hdr, entry uint32, n uint64, minHdr, minEntry uint32) (uint64, error) {
	if hdr < minHdr || entry < minEntry || int(hdr) > len(c.b) {
		return 0, &FormatError{Off: c.off, Msg: fmt.Sprintf("%s header size %d / entry size %d", name, hdr, entry)}
	}
	c.pos = int(hdr)
	fit := uint64(len(c.b)-c.pos) / uint64(entry)
	if n > fit {
		return fit, &FormatError{Off: c.off, Msg: fmt.Sprintf("%s claims %d entries, the stream holds %d", name, n, fit)}
	}
	return n, nil
}

func (f *File) parseThreadInfoList(c *cursor) error {
	hdr := c.u32()
	entry := c.u32()
	n := c.u32()
	if c.err != nil {
		return c.err
	}
	count, err := sizedList(c, "ThreadInfoList", hdr, entry, uint64(n), 12, 64)
	for i := uint64(0); i < count; i++ {
		start := c.pos
		id := c.u32()
		ti := Thread{ID: id, HasInfo: true}
		ti.DumpFlags = c.u32()
		ti.DumpError = c.u32()
		ti.ExitStatus = c.u32()
		ti.CreateTime = filetime(c.u64())
		ti.ExitTime = filetime(c.u64())
		ti.KernelTime = time.Duration(c.u64()) * 100
		ti.UserTime = time.Duration(c.u64()) * 100
		ti.StartAddress = c.u64()
		ti.Affinity = c.u64()
		c.pos = start + int(entry)
		if c.err != nil {
			return c.err
		}
		t := f.threadByID(id)
		if t == nil {
			f.Threads = append(f.Threads, Thread{ID: id})
			t = &f.Threads[len(f.Threads)-1]
		}
		t.HasInfo = true
		t.DumpFlags, t.DumpError, t.ExitStatus = ti.DumpFlags, ti.DumpError, ti.ExitStatus
		t.CreateTime, t.ExitTime, t.KernelTime, t.UserTime = ti.CreateTime, ti.ExitTime, ti.KernelTime, ti.UserTime
		t.StartAddress, t.Affinity = ti.StartAddress, ti.Affinity
	}
	return err
}

func (f *File) parseThreadNames(c *cursor) error {
	n, cerr := listCount(c, 12, "ThreadNames")
	for i := 0; i < n; i++ {
		id := c.u32()
		rva := c.u64()
		if c.err != nil {
			return c.err
		}
		if rva > uint64(f.fr.size) {
			f.warnf(c.at()-8, "thread %d name at 0x%x is past the end of the file", id, rva)
			continue
		}
		name, err := f.fr.minidumpString(uint32(rva))
		if err != nil {
			f.warnErr(int64(rva), fmt.Sprintf("thread %d name", id), err)
			continue
		}
		if t := f.threadByID(id); t != nil {
			t.Name = name
		}
	}
	return cerr
}

func (f *File) parseModuleList(c *cursor) error {
	n, cerr := listCount(c, 108, "ModuleList")
	for i := 0; i < n; i++ {
		m := Module{}
		at := c.at()
		m.Base = c.u64()
		m.Size = c.u32()
		m.Checksum = c.u32()
		m.TimeDateStamp = c.u32()
		nameRva := c.u32()
		vi := FixedFileInfo{}
		for _, p := range []*uint32{&vi.Signature, &vi.StrucVersion, &vi.FileVersionMS, &vi.FileVersionLS,
			&vi.ProductVersionMS, &vi.ProductVersionLS, &vi.FileFlagsMask, &vi.FileFlags, &vi.FileOS,
			&vi.FileType, &vi.FileSubtype, &vi.FileDateMS, &vi.FileDateLS} {
			*p = c.u32()
		}
		cvSize, cvRva := c.u32(), c.u32()
		c.skip(8 + 16) // MiscRecord, Reserved0, Reserved1
		if c.err != nil {
			return c.err
		}
		if vi.Signature == 0xfeef04bd {
			m.Version = &vi
		}
		name, err := f.fr.minidumpString(nameRva)
		if err != nil {
			f.warnErr(at, fmt.Sprintf("module %d name", i), err)
		}
		m.Name = name
		if cvSize > 0 {
			cv, err := f.codeView(cvRva, cvSize)
			if err != nil {
				f.warnErr(int64(cvRva), fmt.Sprintf("module %d (%s) CodeView record", i, short(m.Name)), err)
			}
			m.CodeView = cv
		}
		f.Modules = append(f.Modules, m)
	}
	return cerr
}

// codeView decodes an RSDS or NB10 CodeView record.
func (f *File) codeView(rva, size uint32) (*CodeView, error) {
	if size > maxString {
		return nil, &FormatError{Off: int64(rva), Msg: fmt.Sprintf("record size %d too large", size)}
	}
	if !f.fr.spend(uint64(size)) {
		return nil, &FormatError{Off: int64(rva), Msg: "CodeView record", Err: errBudget}
	}
	b, err := f.fr.read(int64(rva), uint64(size), "CodeView record")
	if err != nil {
		return nil, err
	}
	return peimage.ParseCodeView(b)
}

func (f *File) parseUnloadedModuleList(c *cursor) error {
	hdr, entry, n := c.u32(), c.u32(), c.u32()
	if c.err != nil {
		return c.err
	}
	count, err := sizedList(c, "UnloadedModuleList", hdr, entry, uint64(n), 12, 24)
	for i := uint64(0); i < count; i++ {
		start := c.pos
		m := Module{Base: c.u64(), Size: c.u32(), Checksum: c.u32(), TimeDateStamp: c.u32()}
		nameRva := c.u32()
		c.pos = start + int(entry)
		if c.err != nil {
			return c.err
		}
		name, nerr := f.fr.minidumpString(nameRva)
		if nerr != nil {
			f.warnErr(int64(start)+c.off, fmt.Sprintf("unloaded module %d name", i), nerr)
		}
		m.Name = name
		f.Unloaded = append(f.Unloaded, m)
	}
	return err
}

func (f *File) parseMemoryList(c *cursor) error {
	n, cerr := listCount(c, 16, "MemoryList")
	for i := 0; i < n; i++ {
		va := c.u64()
		size := c.u32()
		rva := c.u32()
		if c.err != nil {
			return c.err
		}
		f.addMemory(MemoryRange{VA: va, Size: uint64(size), FileOff: int64(rva), Stream: MemoryListStream})
	}
	return cerr
}

// addMemory records a range, trimming it to the file.
func (f *File) addMemory(m MemoryRange) {
	if m.FileOff >= f.fr.size {
		f.warnf(m.FileOff, "memory at 0x%x (%d bytes) is stored past the end of the file", m.VA, m.Size)
		m.Size = 0
	} else if m.Size > uint64(f.fr.size-m.FileOff) {
		f.warnf(m.FileOff, "memory at 0x%x: %d bytes claimed, %d in the file (truncated dump?)", m.VA, m.Size, f.fr.size-m.FileOff)
		m.Size = uint64(f.fr.size - m.FileOff)
	}
	f.Memory = append(f.Memory, m)
}

func (f *File) parseMemory64List(c *cursor) error {
	n := c.u64()
	base := c.u64()
	if c.err != nil {
		return c.err
	}
	fit := uint64(len(c.b)-c.pos) / 16
	var err error
	if n > fit {
		err = &FormatError{Off: c.off, Msg: fmt.Sprintf("Memory64List claims %d ranges, the stream holds %d", n, fit)}
		n = fit
	}
	off := base
	for i := uint64(0); i < n; i++ {
		va := c.u64()
		size := c.u64()
		if c.err != nil {
			return c.err
		}
		if off > uint64(f.fr.size) || size > uint64(f.fr.size) {
			f.warnf(c.at()-16, "Memory64List range %d (0x%x, %d bytes) lies past the end of the file; %d later ranges dropped", i, va, size, n-i-1)
			break
		}
		f.addMemory(MemoryRange{VA: va, Size: size, FileOff: int64(off), Stream: Memory64ListStream})
		off += size
	}
	return err
}

func (f *File) parseMemoryInfoList(c *cursor) error {
	hdr, entry := c.u32(), c.u32()
	n := c.u64()
	if c.err != nil {
		return c.err
	}
	count, err := sizedList(c, "MemoryInfoList", hdr, entry, uint64(n), 16, 48)
	for i := uint64(0); i < count; i++ {
		start := c.pos
		m := MemoryInfo{}
		m.BaseAddress = c.u64()
		m.AllocationBase = c.u64()
		m.AllocationProtect = c.u32()
		c.u32()
		m.RegionSize = c.u64()
		m.State = c.u32()
		m.Protect = c.u32()
		m.Type = c.u32()
		c.pos = start + int(entry)
		if c.err != nil {
			return c.err
		}
		f.Regions = append(f.Regions, m)
	}
	return err
}

func (f *File) parseException(c *cursor) error {
	e := &Exception{}
	e.ThreadID = c.u32()
	c.u32()
	e.Code = c.u32()
	e.Flags = c.u32()
	e.Record = c.u64()
	e.Address = c.u64()
	e.NumberParameters = c.u32()
	c.u32()
	for i := 0; i < 15; i++ {
		v := c.u64()
		if uint32(i) < e.NumberParameters {
			e.Information = append(e.Information, v)
		}
	}
	e.ContextSize = c.u32()
	e.ContextOff = int64(c.u32())
	if c.err != nil {
		return c.err
	}
	f.Exception = e
	return nil
}

func (f *File) parseHandleData(c *cursor) error {
	hdr, entry, n := c.u32(), c.u32(), c.u32()
	if c.err != nil {
		return c.err
	}
	count, err := sizedList(c, "HandleData", hdr, entry, uint64(n), 16, 32)
	names := map[uint32]string{} // type names repeat: read each RVA once
	str := func(rva uint32) string {
		if rva == 0 {
			return ""
		}
		if s, ok := names[rva]; ok {
			return s
		}
		s, serr := f.fr.minidumpString(rva)
		if serr != nil {
			f.warnErr(int64(rva), "handle name", serr)
		}
		names[rva] = s
		return s
	}
	for i := uint64(0); i < count; i++ {
		start := c.pos
		h := Handle{Handle: c.u64()}
		typeRva, objRva := c.u32(), c.u32()
		h.Attributes = c.u32()
		h.GrantedAccess = c.u32()
		h.HandleCount = c.u32()
		h.PointerCount = c.u32()
		c.pos = start + int(entry)
		if c.err != nil {
			return c.err
		}
		h.TypeName, h.ObjectName = str(typeRva), str(objRva)
		f.Handles = append(f.Handles, h)
	}
	return err
}

func (f *File) parseTokens(c *cursor) error {
	total := c.u32()
	n := c.u32()
	hdr := c.u32()
	elem := c.u32()
	if c.err != nil {
		return c.err
	}
	_ = total
	if hdr < 16 || int(hdr) > len(c.b) || elem < 16 {
		return &FormatError{Off: c.off, Msg: fmt.Sprintf("Token list header size %d / element header size %d", hdr, elem)}
	}
	c.pos = int(hdr)
	for i := uint32(0); i < n && c.pos < len(c.b); i++ {
		start := c.pos
		size := c.u32()
		t := Token{TokenID: c.u32(), TokenHandle: c.u64(), Off: c.off + int64(start)}
		if c.err != nil {
			return c.err
		}
		if size < elem || uint64(start)+uint64(size) > uint64(len(c.b)) {
			return &FormatError{Off: c.off + int64(start), Msg: fmt.Sprintf("token %d size %d", i, size)}
		}
		t.Data = c.b[start+int(elem) : start+int(size)]
		f.Tokens = append(f.Tokens, t)
		c.pos = start + int(size)
	}
	return nil
}

func (f *File) parseCommentA(c *cursor) error {
	f.CommentA = cString(c.b)
	return nil
}

func (f *File) parseCommentW(c *cursor) error {
	f.CommentW = wstr.DecodeZ(c.b)
	return nil
}

func (f *File) parseLinuxCmdLine(c *cursor) error {
	f.LinuxCmdLine = strings.TrimRight(strings.ReplaceAll(string(c.b), "\x00", " "), " ")
	return nil
}

// buildSegments makes the address space from the memory lists. Ranges whose
// file bytes overlap bytes an earlier range already holds are dropped: sound
// dumps never share file bytes between ranges, and a hostile one could
// otherwise make its address space many times larger than the file.
func (f *File) buildSegments() {
	order := make([]int, len(f.Memory))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return f.Memory[order[a]].FileOff < f.Memory[order[b]].FileOff })
	keep := make([]bool, len(f.Memory))
	var end int64
	dropped := 0
	for _, i := range order {
		m := f.Memory[i]
		if m.Size == 0 {
			continue
		}
		if m.FileOff < end {
			dropped++
			continue
		}
		keep[i] = true
		end = m.FileOff + int64(m.Size)
	}
	if dropped > 0 {
		f.warnf(-1, "%d memory ranges share file bytes with other ranges and were ignored", dropped)
	}
	segs := make([]addrspace.Segment, 0, len(f.Memory))
	for i, m := range f.Memory {
		if keep[i] {
			segs = append(segs, addrspace.Segment{VA: m.VA, Size: m.Size, FileOff: uint64(m.FileOff)})
		}
	}
	ptr := 8
	if f.SystemInfo != nil {
		ptr = f.Arch.PointerSize()
	}
	f.as = addrspace.NewSegmented(f.fr.r, ptr, segs)
}

// short cuts a name from the evidence for a warning.
func short(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:77]) + "..."
	}
	return s
}

// printable renders magic bytes for an error message.
func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	return sb.String()
}
