package minidump

import (
	"fmt"
	"github.com/remnant-forensics/remnant/pkg/peimage"
	"time"
)

// FormatError reports malformed dump data: where it was and what was wrong.
type FormatError struct {
	Off int64  // file offset of the bad data
	Msg string // what was expected
	Err error  // underlying error, if any
}

func (e *FormatError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("offset 0x%x: %s: %v", e.Off, e.Msg, e.Err)
	}
	return fmt.Sprintf("offset 0x%x: %s", e.Off, e.Msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

// Arch is a processor architecture as the dump records it
// (PROCESSOR_ARCHITECTURE_* values).
type Arch uint16

// Processor architectures.
const (
	ArchX86     Arch = 0
	ArchMIPS    Arch = 1
	ArchAlpha   Arch = 2
	ArchPPC     Arch = 3
	ArchARM     Arch = 5
	ArchIA64    Arch = 6
	ArchAlpha64 Arch = 7
	ArchAMD64   Arch = 9
	ArchARM64   Arch = 12
	ArchUnknown Arch = 0xffff
)

func (a Arch) String() string {
	switch a {
	case ArchX86:
		return "x86"
	case ArchMIPS:
		return "mips"
	case ArchAlpha:
		return "alpha"
	case ArchPPC:
		return "ppc"
	case ArchARM:
		return "arm"
	case ArchIA64:
		return "ia64"
	case ArchAlpha64:
		return "alpha64"
	case ArchAMD64:
		return "x64"
	case ArchARM64:
		return "arm64"
	case 0x8001:
		return "sparc"
	case 0x8002:
		return "ppc64"
	case 0x8003:
		return "arm64(breakpad)"
	case 0x8004:
		return "mips64"
	}
	return fmt.Sprintf("arch(%d)", uint16(a))
}

// PointerSize returns 8 for 64-bit architectures and 4 otherwise.
func (a Arch) PointerSize() int {
	switch a {
	case ArchAMD64, ArchARM64, ArchIA64, ArchAlpha64, 0x8002, 0x8003, 0x8004:
		return 8
	}
	return 4
}

// Thread is one thread of the dumped process.
type Thread struct {
	ID            uint32
	SuspendCount  uint32
	PriorityClass uint32
	Priority      uint32
	TEB           uint64
	StackStart    uint64 // lowest captured stack address
	StackSize     uint64
	ContextOff    int64 // file offset of the CONTEXT record (0 when absent)
	ContextSize   uint32
	Name          string // from ThreadNames, when present

	// From ThreadInfoList, when present.
	CreateTime   time.Time
	ExitTime     time.Time
	KernelTime   time.Duration
	UserTime     time.Duration
	StartAddress uint64
	Affinity     uint64
	DumpFlags    uint32
	DumpError    uint32
	ExitStatus   uint32
	HasInfo      bool
}

// Module is one loaded (or unloaded) image as the dump's streams record it.
type Module struct {
	Base          uint64
	Size          uint32
	Checksum      uint32
	TimeDateStamp uint32 // seconds since 1970, from the PE header at dump time
	Name          string // full path as recorded
	Version       *FixedFileInfo
	CodeView      *CodeView
}

// FixedFileInfo is VS_FIXEDFILEINFO.
type FixedFileInfo struct {
	Signature        uint32
	StrucVersion     uint32
	FileVersionMS    uint32
	FileVersionLS    uint32
	ProductVersionMS uint32
	ProductVersionLS uint32
	FileFlagsMask    uint32
	FileFlags        uint32
	FileOS           uint32
	FileType         uint32
	FileSubtype      uint32
	FileDateMS       uint32
	FileDateLS       uint32
}

// FileVersion returns the file version as a.b.c.d.
func (f *FixedFileInfo) FileVersion() string {
	if f == nil || f.Signature != 0xfeef04bd {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d", f.FileVersionMS>>16, f.FileVersionMS&0xffff, f.FileVersionLS>>16, f.FileVersionLS&0xffff)
}

// CodeView is a module's debug record: RSDS (PDB 7.0) or NB10 (PDB 2.0),
// decoded by the PE adapter's parser.
type CodeView = peimage.CodeView

// MemoryInfo describes one region of the process's address space
// (MINIDUMP_MEMORY_INFO / MEMORY_BASIC_INFORMATION).
type MemoryInfo struct {
	BaseAddress       uint64
	AllocationBase    uint64
	AllocationProtect uint32
	RegionSize        uint64
	State             uint32 // MEM_COMMIT 0x1000, MEM_RESERVE 0x2000, MEM_FREE 0x10000
	Protect           uint32 // PAGE_* flags
	Type              uint32 // MEM_IMAGE 0x1000000, MEM_MAPPED 0x40000, MEM_PRIVATE 0x20000
}

// StateString names a MEM_* state value.
func StateString(s uint32) string {
	switch s {
	case 0x1000:
		return "commit"
	case 0x2000:
		return "reserve"
	case 0x10000:
		return "free"
	case 0:
		return ""
	}
	return fmt.Sprintf("0x%x", s)
}

// TypeString names a MEM_* type value.
func TypeString(t uint32) string {
	switch t {
	case 0x1000000:
		return "image"
	case 0x40000:
		return "mapped"
	case 0x20000:
		return "private"
	case 0:
		return ""
	}
	return fmt.Sprintf("0x%x", t)
}

// ProtectString renders PAGE_* protection flags as Windows tools do.
func ProtectString(p uint32) string {
	if p == 0 {
		return ""
	}
	names := map[uint32]string{
		0x01: "NOACCESS", 0x02: "R", 0x04: "RW", 0x08: "WC",
		0x10: "X", 0x20: "RX", 0x40: "RWX", 0x80: "WCX",
	}
	s, ok := names[p&0xff]
	if !ok {
		s = fmt.Sprintf("0x%x", p&0xff)
	}
	if p&0x100 != 0 {
		s += "+GUARD"
	}
	if p&0x200 != 0 {
		s += "+NOCACHE"
	}
	if p&0x400 != 0 {
		s += "+WRITECOMBINE"
	}
	return s
}

// Warning is a non-fatal problem found while reading: the rest of the result
// is still usable.
type Warning struct {
	Off int64
	Msg string
}

func (w Warning) String() string {
	if w.Off < 0 {
		return w.Msg
	}
	return fmt.Sprintf("offset 0x%x: %s", w.Off, w.Msg)
}

// OSVersion is the operating system the dump was taken on.
type OSVersion struct {
	Major, Minor, Build uint32
	PlatformID          uint32
	ProductType         uint8 // 1 workstation, 2 domain controller, 3 server
	SuiteMask           uint16
	CSDVersion          string // service pack, e.g. "Service Pack 4"
}

func (v OSVersion) String() string {
	if v.Major == 0 && v.Minor == 0 && v.Build == 0 {
		return ""
	}
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build)
	if v.CSDVersion != "" {
		s += " " + v.CSDVersion
	}
	return s
}

// Process is what every process-dump format records about the dumped
// process, in one shape: the CLI and the Windows process view read this and
// need not know which format it came from. Both File (MDMP) and UserDump
// embed it.
type Process struct {
	Arch       Arch
	OS         OSVersion
	PID        uint32
	HasPID     bool
	CreateTime time.Time // process creation, when recorded
	DumpTime   time.Time // when the dump was written, when recorded
	Threads    []Thread
	Modules    []Module
	Unloaded   []Module
	Regions    []MemoryInfo // memory region descriptors, when recorded
	Warnings   []Warning
}

// Summary returns the format-independent record of the process.
func (p *Process) Summary() *Process { return p }

func (p *Process) warnf(off int64, format string, args ...any) {
	p.Warnings = append(p.Warnings, Warning{Off: off, Msg: fmt.Sprintf(format, args...)})
}
