// Package win reconstructs a Windows process from its own memory: the TEB,
// the PEB, the loader's module lists, the process parameters (command line,
// image path, environment, ...) and, for a 32-bit process on 64-bit Windows,
// the WOW64 PEB32 with its own lists.
//
// It is written once against addrspace.AddressSpace and per-build layout
// tables (see Layouts), so it serves minidumps, userdumps and processes found
// in physical memory alike.
package win

import (
	"fmt"
	"sort"
)

// Absent marks a field a build does not have.
const Absent = -1

// Wow64TEB32Offset is where WOW64 puts a thread's 32-bit TEB relative to
// its 64-bit one: the TEB64 rounded up to pages (WOW64_GET_TEB32 in the
// WOW64 headers; 0x7EFDB000 and 0x7EFDD000 on 7). From 10.0 the TEB64's
// WowTebOffset member holds it; on 6.0-6.3 the TEB64's NtTib.ExceptionList
// holds the TEB32 address (Microsoft, "Thread Environment Block (Debugging
// Notes)").
const Wow64TEB32Offset = 0x2000

// Arch is the architecture a layout describes.
type Arch uint8

// Architectures with user-mode layouts.
const (
	X86 Arch = iota // 32-bit x86, also the 32-bit side of WOW64
	X64
)

func (a Arch) String() string {
	if a == X64 {
		return "x64"
	}
	return "x86"
}

// PointerSize returns 4 or 8.
func (a Arch) PointerSize() int {
	if a == X64 {
		return 8
	}
	return 4
}

// TEBLayout holds offsets in the TEB (NtTib is at offset 0).
type TEBLayout struct {
	ExceptionList int // NtTib.ExceptionList; in a WOW64 TEB64 of 6.0-6.3 it holds the TEB32 address
	Self          int // NtTib.Self
	PEB           int // ProcessEnvironmentBlock
	WowTebOffset  int // signed offset from this TEB to the other one of a WOW64 thread (10.0+)
	Size          int // 0: not known from a public source
}

// PEBLayout holds offsets in the PEB.
type PEBLayout struct {
	BeingDebugged      int
	ImageBaseAddress   int
	Ldr                int
	ProcessParameters  int
	ProcessHeap        int
	NumberOfProcessors int
	NumberOfHeaps      int
	ProcessHeaps       int
	OSMajorVersion     int
	OSMinorVersion     int
	OSBuildNumber      int // USHORT
	OSCSDVersion       int // USHORT
	OSPlatformID       int
	SessionID          int
	Size               int
}

// LdrDataLayout holds offsets in PEB_LDR_DATA.
type LdrDataLayout struct {
	Length                          int
	Initialized                     int
	InLoadOrderModuleList           int
	InMemoryOrderModuleList         int
	InInitializationOrderModuleList int
	Size                            int
}

// LdrEntryLayout holds offsets in LDR_DATA_TABLE_ENTRY.
type LdrEntryLayout struct {
	InLoadOrderLinks           int
	InMemoryOrderLinks         int
	InInitializationOrderLinks int
	DllBase                    int
	EntryPoint                 int
	SizeOfImage                int
	FullDllName                int
	BaseDllName                int
	TimeDateStamp              int
	Size                       int
}

// ParamsLayout holds offsets in RTL_USER_PROCESS_PARAMETERS.
type ParamsLayout struct {
	MaximumLength      int
	Length             int
	Flags              int
	CurrentDirectory   int // CURDIR.DosPath, a UNICODE_STRING
	DllPath            int
	ImagePathName      int
	CommandLine        int
	Environment        int
	WindowFlags        int
	ShowWindowFlags    int
	WindowTitle        int
	DesktopInfo        int
	ShellInfo          int
	RuntimeData        int
	EnvironmentSize    int // Vista+
	EnvironmentVersion int // 7+
	Size               int
}

// UnicodeStringLayout holds offsets in UNICODE_STRING.
type UnicodeStringLayout struct {
	Length        int
	MaximumLength int
	Buffer        int
	Size          int
}

// Layout is the set of user-mode structure layouts of one architecture from
// one build on (until the next layout of the same architecture).
type Layout struct {
	Arch     Arch
	MinBuild uint32 // first build this layout applies to
	Name     string // the release it was taken from, e.g. "6.1.7600"

	TEB           TEBLayout
	PEB           PEBLayout
	LdrData       LdrDataLayout
	LdrEntry      LdrEntryLayout
	Params        ParamsLayout
	UnicodeString UnicodeStringLayout
}

func (l *Layout) String() string { return fmt.Sprintf("%s %s", l.Arch, l.Name) }

// PointerSize returns 4 or 8.
func (l *Layout) PointerSize() int { return l.Arch.PointerSize() }

// sizes holds what changes from one build to the next: the structure sizes
// and which late fields exist. Offsets of the fields this package reads do
// not move within one architecture from Windows 2000 to Windows 11.
type sizes struct {
	build                               uint32
	name                                string
	teb, peb, ldrData, ldrEntry, params int
	envSize, envVersion, wowTebOffset   bool
}

// Sizes per build. Sources: XP SP3 to 11 23H2 from the Vergilius Project
// layouts (corpus/layouts/vergilius-offsets.json), cross-checked against the
// JPCERT/CC Volatility ISF files for 6.1.7601, 6.3.9600, 10.0.14393,
// 10.0.17763, 10.0.19041 and 10.0.22000 (x64 structures and the 32-bit
// _PEB32/_TEB32 of WOW64, which give the x86 row of 10.0.22000). Windows
// 2000 (5.0.2195) is in neither: its PEB and TEB come from ReactOS
// sdk/include/ndk/peb_teb.h (the pre-XP branch: SessionId at 0x1D4 is the
// last member, so the PEB is 0x1D8 bytes), PEB_LDR_DATA and
// LDR_DATA_TABLE_ENTRY from ReactOS ldrtypes.h and Wine's winternl.h (same
// x86 offsets; TimeDateStamp at 0x44), RTL_USER_PROCESS_PARAMETERS from the
// same headers (identical up to CurrentDirectores[32], which ends at 0x290;
// EnvironmentSize was added in Vista). Sizes not found in a public source
// are 0.
var x86Sizes = []sizes{
	{build: 2195, name: "5.0.2195", teb: 0, peb: 0x1d8, ldrData: 0, ldrEntry: 0, params: 0x290},
	{build: 2600, name: "5.1.2600", teb: 4024, peb: 528, ldrData: 40, ldrEntry: 80, params: 656},
	{build: 3790, name: "5.2.3790", teb: 4028, peb: 560, ldrData: 40, ldrEntry: 80, params: 656},
	{build: 6000, name: "6.0.6000", teb: 4088, peb: 568, ldrData: 40, ldrEntry: 104, params: 660, envSize: true},
	{build: 6001, name: "6.0.6001", teb: 4088, peb: 568, ldrData: 48, ldrEntry: 104, params: 660, envSize: true},
	{build: 7600, name: "6.1.7600", teb: 4068, peb: 584, ldrData: 48, ldrEntry: 120, params: 664, envSize: true, envVersion: true},
	{build: 9200, name: "6.2.9200", teb: 4072, peb: 592, ldrData: 48, ldrEntry: 152, params: 672, envSize: true, envVersion: true},
	{build: 9600, name: "6.3.9600", teb: 4072, peb: 592, ldrData: 48, ldrEntry: 160, params: 672, envSize: true, envVersion: true},
	{build: 10240, name: "10.0.10240", teb: 4096, peb: 592, ldrData: 48, ldrEntry: 160, params: 676, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 10586, name: "10.0.10586", teb: 4096, peb: 1120, ldrData: 48, ldrEntry: 160, params: 676, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 14393, name: "10.0.14393", teb: 4096, peb: 1120, ldrData: 48, ldrEntry: 168, params: 676, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 16299, name: "10.0.16299", teb: 4096, peb: 1128, ldrData: 48, ldrEntry: 168, params: 676, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 17134, name: "10.0.17134", teb: 4096, peb: 1136, ldrData: 48, ldrEntry: 168, params: 676, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 17763, name: "10.0.17763", teb: 4096, peb: 1152, ldrData: 48, ldrEntry: 168, params: 684, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 18362, name: "10.0.18362", teb: 4096, peb: 1152, ldrData: 48, ldrEntry: 168, params: 700, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 19041, name: "10.0.19041", teb: 4096, peb: 1152, ldrData: 48, ldrEntry: 168, params: 704, envSize: true, envVersion: true, wowTebOffset: true},
	// 32-bit Windows 11 does not exist; this row is the WOW64 side (JPCERT
	// _PEB32, _TEB32 of 10.0.22000). Sizes of the rest are not published.
	{build: 22000, name: "10.0.22000", teb: 4120, peb: 1160, ldrData: 48, ldrEntry: 0, params: 0, envSize: true, envVersion: true, wowTebOffset: true},
}

var x64Sizes = []sizes{
	{build: 3790, name: "5.2.3790", teb: 6104, peb: 856, ldrData: 72, ldrEntry: 152, params: 1008},
	{build: 6000, name: "6.0.6000", teb: 6184, peb: 872, ldrData: 72, ldrEntry: 200, params: 1016, envSize: true},
	{build: 6001, name: "6.0.6001", teb: 6184, peb: 872, ldrData: 88, ldrEntry: 200, params: 1016, envSize: true},
	{build: 7600, name: "6.1.7600", teb: 6168, peb: 896, ldrData: 88, ldrEntry: 224, params: 1024, envSize: true, envVersion: true},
	{build: 9200, name: "6.2.9200", teb: 6176, peb: 904, ldrData: 88, ldrEntry: 272, params: 1040, envSize: true, envVersion: true},
	{build: 9600, name: "6.3.9600", teb: 6176, peb: 904, ldrData: 88, ldrEntry: 280, params: 1040, envSize: true, envVersion: true},
	{build: 10240, name: "10.0.10240", teb: 6200, peb: 904, ldrData: 88, ldrEntry: 280, params: 1040, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 10586, name: "10.0.10586", teb: 6200, peb: 1952, ldrData: 88, ldrEntry: 280, params: 1040, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 14393, name: "10.0.14393", teb: 6200, peb: 1952, ldrData: 88, ldrEntry: 288, params: 1040, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 16299, name: "10.0.16299", teb: 6200, peb: 1968, ldrData: 88, ldrEntry: 288, params: 1040, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 17134, name: "10.0.17134", teb: 6200, peb: 1976, ldrData: 88, ldrEntry: 288, params: 1040, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 17763, name: "10.0.17763", teb: 6200, peb: 1992, ldrData: 88, ldrEntry: 288, params: 1056, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 18362, name: "10.0.18362", teb: 6200, peb: 1992, ldrData: 88, ldrEntry: 288, params: 1088, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 22000, name: "10.0.22000", teb: 6224, peb: 2000, ldrData: 88, ldrEntry: 312, params: 1088, envSize: true, envVersion: true, wowTebOffset: true},
	{build: 22621, name: "10.0.22621", teb: 6224, peb: 2000, ldrData: 88, ldrEntry: 312, params: 1096, envSize: true, envVersion: true, wowTebOffset: true},
}

// x86 field offsets (all builds). Same sources as x86Sizes; the PEB offsets
// up to SessionId are asserted for pre-XP builds too in ReactOS peb_teb.h.
// The x86 RTL_USER_PROCESS_PARAMETERS members the Vergilius extract lacks
// (Flags, WindowFlags, RuntimeData, EnvironmentVersion) are from the
// ReWolf "terminus" x86 tables (XP to 10) and ReactOS; the x86
// LDR_DATA_TABLE_ENTRY.TimeDateStamp (after Flags 0x34, LoadCount 0x38,
// TlsIndex 0x3A, HashLinks 0x3C) from ReactOS ldrtypes.h.
func x86Layout(s sizes) *Layout {
	l := &Layout{
		Arch: X86, MinBuild: s.build, Name: s.name,
		TEB: TEBLayout{ExceptionList: 0x0, Self: 0x18, PEB: 0x30, WowTebOffset: Absent, Size: s.teb},
		PEB: PEBLayout{
			BeingDebugged: 0x2, ImageBaseAddress: 0x8, Ldr: 0xc, ProcessParameters: 0x10,
			ProcessHeap: 0x18, NumberOfProcessors: 0x64, NumberOfHeaps: 0x88, ProcessHeaps: 0x90,
			OSMajorVersion: 0xa4, OSMinorVersion: 0xa8, OSBuildNumber: 0xac, OSCSDVersion: 0xae,
			OSPlatformID: 0xb0, SessionID: 0x1d4, Size: s.peb,
		},
		LdrData: LdrDataLayout{
			Length: 0x0, Initialized: 0x4, InLoadOrderModuleList: 0xc,
			InMemoryOrderModuleList: 0x14, InInitializationOrderModuleList: 0x1c, Size: s.ldrData,
		},
		LdrEntry: LdrEntryLayout{
			InLoadOrderLinks: 0x0, InMemoryOrderLinks: 0x8, InInitializationOrderLinks: 0x10,
			DllBase: 0x18, EntryPoint: 0x1c, SizeOfImage: 0x20, FullDllName: 0x24,
			BaseDllName: 0x2c, TimeDateStamp: 0x44, Size: s.ldrEntry,
		},
		Params: ParamsLayout{
			MaximumLength: 0x0, Length: 0x4, Flags: 0x8, CurrentDirectory: 0x24, DllPath: 0x30,
			ImagePathName: 0x38, CommandLine: 0x40, Environment: 0x48, WindowFlags: 0x68,
			ShowWindowFlags: 0x6c, WindowTitle: 0x70, DesktopInfo: 0x78, ShellInfo: 0x80,
			RuntimeData: 0x88, EnvironmentSize: Absent, EnvironmentVersion: Absent, Size: s.params,
		},
		UnicodeString: UnicodeStringLayout{Length: 0, MaximumLength: 2, Buffer: 4, Size: 8},
	}
	if s.envSize {
		l.Params.EnvironmentSize = 0x290
	}
	if s.envVersion {
		l.Params.EnvironmentVersion = 0x294
	}
	if s.wowTebOffset {
		l.TEB.WowTebOffset = 0xfdc
	}
	return l
}

// x64 field offsets (all builds): Vergilius and JPCERT as above; the PEB
// offsets also match the C_ASSERTs of ReactOS peb_teb.h.
func x64Layout(s sizes) *Layout {
	l := &Layout{
		Arch: X64, MinBuild: s.build, Name: s.name,
		TEB: TEBLayout{ExceptionList: 0x0, Self: 0x30, PEB: 0x60, WowTebOffset: Absent, Size: s.teb},
		PEB: PEBLayout{
			BeingDebugged: 0x2, ImageBaseAddress: 0x10, Ldr: 0x18, ProcessParameters: 0x20,
			ProcessHeap: 0x30, NumberOfProcessors: 0xb8, NumberOfHeaps: 0xe8, ProcessHeaps: 0xf0,
			OSMajorVersion: 0x118, OSMinorVersion: 0x11c, OSBuildNumber: 0x120, OSCSDVersion: 0x122,
			OSPlatformID: 0x124, SessionID: 0x2c0, Size: s.peb,
		},
		LdrData: LdrDataLayout{
			Length: 0x0, Initialized: 0x4, InLoadOrderModuleList: 0x10,
			InMemoryOrderModuleList: 0x20, InInitializationOrderModuleList: 0x30, Size: s.ldrData,
		},
		LdrEntry: LdrEntryLayout{
			InLoadOrderLinks: 0x0, InMemoryOrderLinks: 0x10, InInitializationOrderLinks: 0x20,
			DllBase: 0x30, EntryPoint: 0x38, SizeOfImage: 0x40, FullDllName: 0x48,
			BaseDllName: 0x58, TimeDateStamp: 0x80, Size: s.ldrEntry,
		},
		Params: ParamsLayout{
			MaximumLength: 0x0, Length: 0x4, Flags: 0x8, CurrentDirectory: 0x38, DllPath: 0x50,
			ImagePathName: 0x60, CommandLine: 0x70, Environment: 0x80, WindowFlags: 0xa4,
			ShowWindowFlags: 0xa8, WindowTitle: 0xb0, DesktopInfo: 0xc0, ShellInfo: 0xd0,
			RuntimeData: 0xe0, EnvironmentSize: Absent, EnvironmentVersion: Absent, Size: s.params,
		},
		UnicodeString: UnicodeStringLayout{Length: 0, MaximumLength: 2, Buffer: 8, Size: 16},
	}
	if s.envSize {
		l.Params.EnvironmentSize = 0x3f0
	}
	if s.envVersion {
		l.Params.EnvironmentVersion = 0x3f8
	}
	if s.wowTebOffset {
		l.TEB.WowTebOffset = 0x180c
	}
	return l
}

var layouts = func() map[Arch][]*Layout {
	m := map[Arch][]*Layout{}
	for _, s := range x86Sizes {
		m[X86] = append(m[X86], x86Layout(s))
	}
	for _, s := range x64Sizes {
		m[X64] = append(m[X64], x64Layout(s))
	}
	for _, ls := range m {
		sort.Slice(ls, func(i, j int) bool { return ls[i].MinBuild < ls[j].MinBuild })
	}
	return m
}()

// Layouts returns the layouts of an architecture in build order. The
// returned layouts must not be modified.
func Layouts(a Arch) []*Layout { return layouts[a] }

// LayoutFor returns the layout for an architecture and build: the last one
// whose MinBuild is not above build. A build of 0 (unknown) or one older
// than every layout gets the oldest layout (for x86 Windows 2000's, for x64
// Server 2003's), which has only the fields common to all builds.
func LayoutFor(a Arch, build uint32) *Layout {
	ls := layouts[a]
	i := sort.Search(len(ls), func(i int) bool { return ls[i].MinBuild > build })
	if i == 0 {
		return ls[0]
	}
	return ls[i-1]
}
