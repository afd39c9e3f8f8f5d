package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/process"
	"github.com/remnant-forensics/remnant/pkg/render"
)

// InfoCmd summarizes a piece of evidence.
type InfoCmd struct {
	fileArg
}

type infoStream struct {
	Type   uint32 `json:"type"`
	Name   string `json:"name"`
	Size   uint32 `json:"size"`
	Offset int64  `json:"offset"`
}

type infoOS struct {
	Version     string `json:"version"`
	Major       uint32 `json:"major"`
	Minor       uint32 `json:"minor"`
	Build       uint32 `json:"build"`
	CSDVersion  string `json:"csd_version"`
	Platform    string `json:"platform,omitempty"`
	ProductType string `json:"product_type,omitempty"`
}

type infoModule struct {
	Base      render.Hex `json:"base"`
	Size      render.Hex `json:"size"`
	Timestamp *time.Time `json:"timestamp"`
	Path      string     `json:"path"`
}

type infoProcess struct {
	PID              uint32       `json:"pid"`
	Name             string       `json:"name"`
	Arch             string       `json:"arch"`
	Wow64            bool         `json:"wow64"`
	CreateTime       *time.Time   `json:"create_time"`
	UserTime         *float64     `json:"user_time"`
	KernelTime       *float64     `json:"kernel_time"`
	PEB              *render.Hex  `json:"peb"`
	PEB32            *render.Hex  `json:"peb32,omitempty"`
	ImageBase        *render.Hex  `json:"image_base"`
	BeingDebugged    bool         `json:"being_debugged"`
	OSVersion        string       `json:"peb_os_version,omitempty"`
	SessionID        uint32       `json:"session_id"`
	NumberOfHeaps    uint32       `json:"number_of_heaps"`
	ProcessHeap      *render.Hex  `json:"process_heap"`
	Ldr              *render.Hex  `json:"ldr"`
	Parameters       *render.Hex  `json:"process_parameters"`
	ImagePath        string       `json:"image_path"`
	CommandLine      string       `json:"command_line"`
	WindowTitle      string       `json:"window_title"`
	DllPath          string       `json:"dll_path"`
	CurrentDirectory string       `json:"current_directory"`
	DesktopInfo      string       `json:"desktop_info"`
	ShellInfo        string       `json:"shell_info"`
	RuntimeData      uint16       `json:"runtime_data_length"`
	EnvironmentAddr  *render.Hex  `json:"environment_address"`
	Environment      []string     `json:"environment"`
	Modules          []infoModule `json:"modules"`
	ModulesSource    string       `json:"modules_source"`
}

type infoException struct {
	ThreadID uint32     `json:"thread_id"`
	Code     render.Hex `json:"code"`
	Address  render.Hex `json:"address"`
}

type infoReport struct {
	Tool        string         `json:"tool"`
	Version     string         `json:"version"`
	Input       render.Input   `json:"input"`
	Format      string         `json:"format"`
	FormatInfo  string         `json:"format_detail"`
	Arch        string         `json:"arch"`
	PointerSize int            `json:"pointer_size"`
	OS          infoOS         `json:"os"`
	Processors  uint32         `json:"processors"`
	CPU         string         `json:"cpu,omitempty"`
	DumpTime    *time.Time     `json:"dump_time"`
	DumpFlags   *render.Hex    `json:"dump_flags,omitempty"`
	Process     infoProcess    `json:"process"`
	Threads     int            `json:"threads"`
	ModuleCount int            `json:"stream_modules"`
	Unloaded    int            `json:"unloaded_modules"`
	Ranges      int            `json:"memory_ranges"`
	MemoryBytes uint64         `json:"memory_bytes"`
	Regions     int            `json:"memory_regions"`
	Handles     int            `json:"handles"`
	Exception   *infoException `json:"exception,omitempty"`
	Comment     string         `json:"comment,omitempty"`
	Streams     []infoStream   `json:"streams"`
	Warnings    []string       `json:"warnings"`
}

func hexp(v uint64) *render.Hex {
	if v == 0 {
		return nil
	}
	h := render.Hex(v)
	return &h
}

func timep(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func productType(t uint8) string {
	switch t {
	case 1:
		return "workstation"
	case 2:
		return "domain controller"
	case 3:
		return "server"
	}
	return ""
}

// Run implements the command.
func (c *InfoCmd) Run(e *Env) error {
	ev, err := e.openEvidence(c.File)
	if err != nil {
		return err
	}
	if ev.Kind != evidence.Minidump && ev.Kind != evidence.Userdump {
		return c.infoImage(e, ev)
	}
	d, err := ev.Dump()
	if err != nil {
		ev.Close()
		return err
	}
	defer ev.Close()
	for _, w := range d.Summary().Warnings {
		e.Warn(c.File, w.String())
	}
	s := d.Summary()
	p := process.FromDump(d)
	for _, w := range p.Warnings {
		e.Warn(c.File, w)
	}
	r := infoReport{Tool: "remnant", Version: version, Format: d.Format(), Arch: p.Arch, PointerSize: s.Arch.PointerSize()}
	r.Input = render.Input{Path: ev.Path, Size: ev.Size, Format: string(ev.Kind)}
	if !e.NoHash {
		if r.Input.SHA256, err = ev.SHA256(nil); err != nil {
			return err
		}
	}
	r.OS = infoOS{Version: s.OS.String(), Major: s.OS.Major, Minor: s.OS.Minor, Build: s.OS.Build,
		CSDVersion: s.OS.CSDVersion, ProductType: productType(s.OS.ProductType)}
	r.DumpTime = timep(s.DumpTime)
	r.Threads, r.ModuleCount, r.Unloaded, r.Regions = len(s.Threads), len(s.Modules), len(s.Unloaded), len(s.Regions)
	for _, rg := range d.AddressSpace().Ranges() {
		r.Ranges++
		r.MemoryBytes += rg.Size
	}
	switch f := d.(type) {
	case *minidump.File:
		r.FormatInfo = fmt.Sprintf("MDMP version 0x%04x (implementation 0x%04x), %d streams", f.Header.Version, f.Header.ImplVersion, f.Header.NumberOfStreams)
		flags := render.Hex(f.Header.Flags)
		r.DumpFlags = &flags
		if si := f.SystemInfo; si != nil {
			r.OS.Platform = si.Platform()
			r.Processors = uint32(si.NumberOfProcessors)
			r.CPU = strings.TrimSpace(fmt.Sprintf("%s level %d revision 0x%04x", si.VendorID, si.ProcessorLevel, si.ProcessorRevision))
		}
		if m := f.MiscInfo; m != nil && m.Flags1&minidump.MiscProcessTimes != 0 {
			ut, kt := float64(m.ProcessUserTime), float64(m.ProcessKernelTime)
			r.Process.UserTime, r.Process.KernelTime = &ut, &kt
		}
		r.Handles = len(f.Handles)
		r.Comment = strings.TrimSpace(strings.Join([]string{f.CommentA, f.CommentW}, "\n"))
		if x := f.Exception; x != nil {
			r.Exception = &infoException{ThreadID: x.ThreadID, Code: render.Hex(x.Code), Address: render.Hex(x.Address)}
		}
		for _, st := range f.Streams {
			r.Streams = append(r.Streams, infoStream{Type: uint32(st.Type), Name: st.Type.String(), Size: st.Size, Offset: st.Off})
		}
	case *minidump.UserDump:
		r.FormatInfo = fmt.Sprintf("%s version %d.%d, machine 0x%x, %d threads, %d modules, %d regions", f.Header.Signature,
			f.Header.MajorVersion, f.Header.MinorVersion, f.Header.MachineImageType, f.Header.ThreadCount, f.Header.ModuleCount, f.Header.MemoryRegionCount)
		if x := f.DebugEvent; x != nil && x.HasException {
			r.Exception = &infoException{ThreadID: x.ThreadID, Code: render.Hex(x.ExceptionCode), Address: render.Hex(x.ExceptionAddress)}
		}
	}
	r.Process.fill(p)
	r.Warnings = append(r.Warnings, e.warned...)
	if r.Streams == nil {
		r.Streams = []infoStream{}
	}
	return writeInfo(e, &r)
}

func (ip *infoProcess) fill(p *process.Process) {
	ip.PID, ip.Name, ip.Arch, ip.Wow64, ip.CreateTime = p.PID, p.Name, p.Arch, p.Wow64, timep(p.CreateTime)
	ip.ImagePath, ip.CommandLine, ip.WindowTitle, ip.DllPath = p.ImagePath, p.CommandLine, p.WindowTitle, p.DllPath
	ip.CurrentDirectory, ip.DesktopInfo, ip.ShellInfo = p.CurrentDirectory, p.DesktopInfo, p.ShellInfo
	ip.Environment = []string{}
	for _, v := range p.Environment {
		ip.Environment = append(ip.Environment, v.String())
	}
	ip.Modules = []infoModule{}
	for _, m := range p.Modules {
		ip.Modules = append(ip.Modules, infoModule{Base: render.Hex(m.Base), Size: render.Hex(m.Size), Timestamp: timep(m.Time()), Path: m.Path})
		ip.ModulesSource = m.Source
	}
	if len(p.Modules) > 0 {
		ip.ModulesSource = p.Modules[0].Source
	}
	if w := p.Win; w != nil {
		ip.PEB, ip.ImageBase, ip.BeingDebugged = hexp(w.PEB), hexp(w.ImageBaseAddress), w.BeingDebugged
		if w.OSMajorVersion != 0 {
			ip.OSVersion = fmt.Sprintf("%d.%d.%d", w.OSMajorVersion, w.OSMinorVersion, w.OSBuildNumber)
		}
		ip.SessionID, ip.NumberOfHeaps, ip.ProcessHeap, ip.Ldr = w.SessionID, w.NumberOfHeaps, hexp(w.ProcessHeap), hexp(w.Ldr)
		ip.Parameters = hexp(w.ProcessParameters)
		if w.Wow64 != nil {
			ip.PEB32 = hexp(w.Wow64.PEB)
		}
		params := w.Params
		if params == nil && w.Wow64 != nil {
			params = w.Wow64.Params
		}
		if params != nil {
			ip.RuntimeData = params.RuntimeData.Length
			ip.EnvironmentAddr = hexp(params.Environment)
			if ip.Parameters == nil {
				ip.Parameters = hexp(params.Addr)
			}
		}
	}
}

func writeInfo(e *Env, r *infoReport) error {
	if render.Format(e.Format) == render.Table {
		return writeInfoText(e.Stdout, r)
	}
	return writeReport(e, r)
}

// writeReport writes a report object as JSON, one JSON line, or key,value
// CSV rows.
func writeReport(e *Env, r any) error {
	switch render.Format(e.Format) {
	case render.JSON, render.JSONL:
		var b []byte
		var err error
		if render.Format(e.Format) == render.JSON {
			b, err = json.MarshalIndent(r, "", "  ")
		} else {
			b, err = json.Marshal(r)
		}
		if err != nil {
			return err
		}
		_, err = e.Stdout.Write(append(b, '\n'))
		return err
	case render.CSV:
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		cw := csv.NewWriter(e.Stdout)
		cw.Write([]string{"key", "value"})
		if err := flatten(json.NewDecoder(bytes.NewReader(b)), "", cw); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("format %s: not for reports", e.Format)
}

// flatten writes a JSON document as key,value rows in document order, with
// dotted keys and [i] for array elements.
func flatten(dec *json.Decoder, prefix string, cw *csv.Writer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if prefix != "" {
					key = prefix + "." + key
				}
				if err := flatten(dec, key, cw); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := flatten(dec, fmt.Sprintf("%s[%d]", prefix, i), cw); err != nil {
					return err
				}
			}
		}
		_, err = dec.Token() // closing delimiter
		return err
	case nil:
		return cw.Write([]string{prefix, ""})
	default:
		return cw.Write([]string{prefix, fmt.Sprint(t)})
	}
}

// writeInfoText prints the report as dumpchk and !peb would.
func writeInfoText(w io.Writer, r *infoReport) error {
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%-18s %v\n", k+":", v) }
	opt := func(k string, v *render.Hex) {
		if v != nil {
			kv(k, *v)
		}
	}
	kv("File", r.Input.Path)
	kv("Size", fmt.Sprintf("%d bytes", r.Input.Size))
	if r.Input.SHA256 != "" {
		kv("SHA-256", r.Input.SHA256)
	}
	kv("Format", fmt.Sprintf("%s (%s)", r.Format, r.FormatInfo))
	if r.DumpTime != nil {
		kv("Dump time", r.DumpTime.UTC().Format(time.RFC3339))
	}
	if r.DumpFlags != nil {
		kv("Dump flags", *r.DumpFlags)
	}
	osline := strings.TrimSpace(fmt.Sprintf("Windows %s %s", r.OS.Version, r.OS.ProductType))
	if r.OS.Platform != "" && r.OS.Platform != "WinNT" {
		osline = fmt.Sprintf("%s (platform %s)", r.OS.Version, r.OS.Platform)
	}
	kv("OS", osline)
	kv("Architecture", fmt.Sprintf("%s (%d-bit pointers)", r.Arch, r.PointerSize*8))
	if r.Processors > 0 {
		kv("Processors", fmt.Sprintf("%d, %s", r.Processors, r.CPU))
	}
	kv("Counts", fmt.Sprintf("%d threads, %d modules in the stream, %d unloaded, %d memory ranges (%d bytes), %d regions, %d handles",
		r.Threads, r.ModuleCount, r.Unloaded, r.Ranges, r.MemoryBytes, r.Regions, r.Handles))
	if x := r.Exception; x != nil {
		kv("Exception", fmt.Sprintf("code %v at %v in thread %d", x.Code, x.Address, x.ThreadID))
	}
	if r.Comment != "" {
		kv("Comment", r.Comment)
	}
	p := &r.Process
	b.WriteString("\nProcess\n")
	kv("  PID", p.PID)
	kv("  Name", p.Name)
	if p.Wow64 {
		kv("  WOW64", "32-bit process on 64-bit Windows")
	}
	if p.CreateTime != nil {
		kv("  Created", p.CreateTime.UTC().Format(time.RFC3339))
	}
	if p.UserTime != nil {
		kv("  CPU time", fmt.Sprintf("user %gs, kernel %gs", *p.UserTime, *p.KernelTime))
	}
	if p.PEB != nil {
		fmt.Fprintf(&b, "\nPEB at %v\n", *p.PEB)
		if p.PEB32 != nil {
			fmt.Fprintf(&b, "PEB32 (WOW64) at %v\n", *p.PEB32)
		}
		fmt.Fprintf(&b, "    %-19s %s\n", "BeingDebugged:", yesNo(p.BeingDebugged))
		if p.ImageBase != nil {
			fmt.Fprintf(&b, "    %-19s %v\n", "ImageBaseAddress:", *p.ImageBase)
		}
		if p.Ldr != nil {
			fmt.Fprintf(&b, "    %-19s %v\n", "Ldr:", *p.Ldr)
		}
		if p.OSVersion != "" {
			fmt.Fprintf(&b, "    %-19s %s\n", "OS version:", p.OSVersion)
		}
		fmt.Fprintf(&b, "    %-19s %d\n", "SessionId:", p.SessionID)
		fmt.Fprintf(&b, "    %-19s %d\n", "NumberOfHeaps:", p.NumberOfHeaps)
		if p.ProcessHeap != nil {
			fmt.Fprintf(&b, "    %-19s %v\n", "ProcessHeap:", *p.ProcessHeap)
		}
	} else {
		b.WriteString("\nPEB not in the dump\n")
	}
	if len(p.Modules) > 0 {
		fmt.Fprintf(&b, "    %18s %-9s %-20s  %s   (%s)\n", "Base", "TimeStamp", "", "Module", moduleSourceText(p.ModulesSource))
		for _, m := range p.Modules {
			ts, when := "", ""
			if m.Timestamp != nil {
				ts = fmt.Sprintf("%08x", m.Timestamp.Unix())
				when = m.Timestamp.UTC().Format("Jan 02 15:04:05 2006")
			}
			fmt.Fprintf(&b, "    %18s %-9s %-20s  %s\n", strings.TrimPrefix(m.Base.String(), "0x"), ts, when, m.Path)
		}
	}
	if p.Parameters != nil {
		opt("    ProcessParameters", p.Parameters)
		fmt.Fprintf(&b, "    %-14s '%s'\n", "WindowTitle:", p.WindowTitle)
		fmt.Fprintf(&b, "    %-14s '%s'\n", "ImageFile:", p.ImagePath)
		fmt.Fprintf(&b, "    %-14s '%s'\n", "CommandLine:", p.CommandLine)
		fmt.Fprintf(&b, "    %-14s '%s'\n", "DllPath:", p.DllPath)
		fmt.Fprintf(&b, "    %-14s '%s'\n", "CurrentDir:", p.CurrentDirectory)
		fmt.Fprintf(&b, "    %-14s '%s'\n", "DesktopInfo:", p.DesktopInfo)
		fmt.Fprintf(&b, "    %-14s '%s'\n", "ShellInfo:", p.ShellInfo)
		fmt.Fprintf(&b, "    %-14s %d bytes\n", "RuntimeData:", p.RuntimeData)
		if p.EnvironmentAddr != nil {
			fmt.Fprintf(&b, "    %-14s %v\n", "Environment:", *p.EnvironmentAddr)
		}
		for _, v := range p.Environment {
			fmt.Fprintf(&b, "        %s\n", v)
		}
	}
	if len(r.Streams) > 0 {
		b.WriteString("\nStreams\n")
		fmt.Fprintf(&b, "    %-20s %10s %10s\n", "TYPE", "SIZE", "OFFSET")
		for _, s := range r.Streams {
			fmt.Fprintf(&b, "    %-20s %10d %#10x\n", s.Name, s.Size, s.Offset)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "\n%d warnings (see stderr)\n", len(r.Warnings))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func moduleSourceText(s string) string {
	switch s {
	case "peb", "peb32":
		return "from the PEB's loader list"
	case "stream":
		return "from the ModuleList stream: the PEB's list is not in the dump"
	}
	return s
}

func yesNo(v bool) string {
	if v {
		return "Yes"
	}
	return "No"
}
