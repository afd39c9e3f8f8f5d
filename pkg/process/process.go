// Package process builds the one view of a process that every command
// prints, whatever the evidence: the PEB, loader lists and parameters read
// from the process's own memory (package win), completed by what the
// container records (a minidump's streams), with a warning wherever one
// stands in for the other.
package process

import (
	"fmt"
	"time"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/win"
)

// Module is one loaded image.
type Module struct {
	Order      int    // position in its list, from 0
	Base       uint64 // DllBase
	Size       uint64 // SizeOfImage
	EntryPoint uint64
	Timestamp  uint32 // PE TimeDateStamp (0 when unknown)
	// TimestampSource says where Timestamp came from: "memory" (the PE
	// header mapped at Base), "stream" (the dump's ModuleList) or "".
	TimestampSource string
	Name            string // BaseDllName
	Path            string // FullDllName
	// Source is the list the module was read from: "peb" (InLoadOrder),
	// "peb32" (the WOW64 32-bit PEB's InLoadOrder) or "stream" (ModuleList).
	Source string
}

// Time returns Timestamp as a time (zero when unknown).
func (m Module) Time() time.Time {
	if m.Timestamp == 0 {
		return time.Time{}
	}
	return time.Unix(int64(m.Timestamp), 0).UTC()
}

// Process is the view of one process.
type Process struct {
	PID        uint32
	Name       string // image file name, e.g. nc.exe
	Arch       string // "x86" or "x64"
	Wow64      bool   // a 32-bit process on 64-bit Windows
	CreateTime time.Time

	// Win is what the process's own memory says (nil when no PEB was
	// found). For a WOW64 process Win.Wow64 holds the 32-bit side.
	Win *win.Process

	// Parameters, from the PEB's RTL_USER_PROCESS_PARAMETERS (empty when
	// not in the evidence).
	ImagePath        string
	CommandLine      string
	WindowTitle      string
	DllPath          string
	CurrentDirectory string
	DesktopInfo      string
	ShellInfo        string
	Environment      []win.EnvVar
	HasParams        bool

	// Modules in load order: the PEB's list (then, for WOW64, the 32-bit
	// PEB's), or the dump's ModuleList when no PEB list could be read.
	Modules []Module

	Warnings []string
}

// FromDump builds the view of the process in a minidump or userdump.
func FromDump(d minidump.Dump) *Process {
	s := d.Summary()
	p := &Process{PID: s.PID, CreateTime: s.CreateTime}
	switch s.Arch {
	case minidump.ArchX86:
		p.Arch = "x86"
	case minidump.ArchAMD64:
		p.Arch = "x64"
	default:
		p.Arch = s.Arch.String()
	}
	if s.OS.PlatformID != 0 && s.OS.PlatformID != 2 {
		// Not Windows NT (a Breakpad dump of a Linux or macOS process): the
		// dump reader has said so; there is no PEB to look for.
		p.streamModules(s.Modules)
		p.name(s)
		return p
	}
	if s.Arch != minidump.ArchX86 && s.Arch != minidump.ArchAMD64 {
		p.warnf("architecture %s: the PEB is read only for x86 and x64", s.Arch)
		p.streamModules(s.Modules)
		p.name(s)
		return p
	}
	h := win.Hints{PEB: 0, OSMajor: s.OS.Major, OSMinor: s.OS.Minor, OSBuild: s.OS.Build, Is64: s.Arch == minidump.ArchAMD64}
	for _, t := range s.Threads {
		if t.TEB != 0 {
			h.TEBs = append(h.TEBs, t.TEB)
		}
	}
	wp, warns := win.Walk(d.AddressSpace(), h)
	p.Win = wp
	if wp == nil || (wp.PEB == 0 && wp.Wow64 == nil) {
		// One warning says it all; the first reason is the telling one
		// (usually: the TEB is not in a dump taken without process memory).
		why := ""
		if len(warns) > 0 {
			why = " (" + warns[0].String() + ")"
		}
		p.warnf("no PEB in the evidence%s: modules are the dump's ModuleList; no command line or environment", why)
		p.streamModules(s.Modules)
		p.name(s)
		return p
	}
	for _, w := range warns {
		p.Warnings = append(p.Warnings, w.String())
	}
	p.fromWin(wp, s.Modules)
	p.name(s)
	return p
}

// fromWin fills the flat fields from the structures read, falling back to
// the stream modules.
func (p *Process) fromWin(wp *win.Process, stream []minidump.Module) {
	if wp.Wow64 != nil && wp.Wow64.PEB != 0 {
		p.Wow64 = true
	}
	// The 64-bit parameters are the process's own; the WOW64 PEB32 has a
	// copy, used when the 64-bit block is not in the evidence.
	params := wp.Params
	if params == nil && wp.Wow64 != nil {
		params = wp.Wow64.Params
	}
	if params != nil {
		p.HasParams = true
		p.ImagePath = params.ImagePathName.Text
		p.CommandLine = params.CommandLine.Text
		p.WindowTitle = params.WindowTitle.Text
		p.DllPath = params.DllPath.Text
		p.CurrentDirectory = params.CurrentDirectory.Text
		p.DesktopInfo = params.DesktopInfo.Text
		p.ShellInfo = params.ShellInfo.Text
		p.Environment = params.Env
	} else {
		p.warnf("process parameters not in the evidence: no command line or environment")
	}
	byBase := map[uint64]minidump.Module{}
	for _, m := range stream {
		byBase[m.Base] = m
	}
	add := func(list []win.Module, source string) {
		for i, m := range list {
			mod := Module{Order: i, Base: m.DllBase, Size: uint64(m.SizeOfImage), EntryPoint: m.EntryPoint,
				Name: m.BaseDllName, Path: m.FullDllName, Source: source}
			switch {
			case m.HeaderInMemory:
				mod.Timestamp, mod.TimestampSource = m.TimeDateStamp, "memory"
			case byBase[m.DllBase].TimeDateStamp != 0:
				mod.Timestamp, mod.TimestampSource = byBase[m.DllBase].TimeDateStamp, "stream"
			case m.LdrTimeDateStamp != 0:
				mod.Timestamp, mod.TimestampSource = m.LdrTimeDateStamp, "ldr"
			}
			p.Modules = append(p.Modules, mod)
		}
	}
	add(wp.InLoadOrder, "peb")
	if wp.Wow64 != nil {
		add(wp.Wow64.InLoadOrder, "peb32")
	}
	if len(p.Modules) == 0 && stream != nil {
		p.warnf("loader lists not in the evidence: modules are the dump's ModuleList")
		p.streamModules(stream)
	}
}

func (p *Process) streamModules(stream []minidump.Module) {
	for i, m := range stream {
		mod := Module{Order: i, Base: m.Base, Size: uint64(m.Size), Timestamp: m.TimeDateStamp,
			Name: minidump.BaseName(m.Name), Path: m.Name, Source: "stream"}
		if m.TimeDateStamp != 0 {
			mod.TimestampSource = "stream"
		}
		p.Modules = append(p.Modules, mod)
	}
}

// name chooses the process name: the image path's file name, else the
// first module's.
func (p *Process) name(s *minidump.Process) {
	switch {
	case p.ImagePath != "":
		p.Name = minidump.BaseName(p.ImagePath)
	case len(p.Modules) > 0:
		p.Name = p.Modules[0].Name
	case len(s.Modules) > 0:
		p.Name = minidump.BaseName(s.Modules[0].Name)
	}
}

func (p *Process) warnf(format string, args ...any) {
	p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...))
}

// FromWalk builds the view of a process found outside a process dump (in a
// physical memory image): its identity comes from the kernel's EPROCESS,
// the rest from walking its own memory. wp may be nil when its PEB is not
// in the image.
func FromWalk(pid uint32, name, arch string, created time.Time, wp *win.Process, warns []win.Warning) *Process {
	p := &Process{PID: pid, Name: name, Arch: arch, CreateTime: created, Win: wp}
	if wp == nil || (wp.PEB == 0 && wp.Wow64 == nil) {
		why := ""
		if len(warns) > 0 {
			why = " (" + warns[0].String() + ")"
		}
		p.warnf("pid %d: no PEB in the image%s: no modules, command line or environment", pid, why)
		return p
	}
	for _, w := range warns {
		p.Warnings = append(p.Warnings, w.String())
	}
	p.fromWin(wp, nil)
	for i, w := range p.Warnings {
		p.Warnings[i] = fmt.Sprintf("pid %d: %s", pid, w)
	}
	if p.ImagePath != "" {
		p.Name = minidump.BaseName(p.ImagePath) // EPROCESS keeps only 15 characters
	}
	return p
}
