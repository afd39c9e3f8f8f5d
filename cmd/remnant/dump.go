package main

import (
	"fmt"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/render"
)

// fileArg is the evidence argument of a command.
type fileArg struct {
	File string `arg:"" name:"file" help:"Evidence file: a process dump (.dmp: minidump or userdump) or a memory image."`
}

// openEvidence opens a file read-only and identifies it.
func (e *Env) openEvidence(p string) (*evidence.File, error) {
	ev, err := evidence.Open(p)
	if err != nil {
		return nil, err
	}
	if ev.Size == 0 {
		ev.Close()
		return nil, fmt.Errorf("%s: offset 0x0: empty file", p)
	}
	e.inputs = append(e.inputs, ev)
	return ev, nil
}

// openDump opens a process dump and reports its warnings.
func (e *Env) openDump(p string) (*evidence.File, minidump.Dump, error) {
	ev, err := e.openEvidence(p)
	if err != nil {
		return nil, nil, err
	}
	d, err := ev.Dump()
	if err != nil {
		ev.Close()
		return nil, nil, err
	}
	for _, w := range d.Summary().Warnings {
		e.Warn(p, w.String())
	}
	return ev, d, nil
}

// meta is the provenance for JSON output: the tool, its version and the
// inputs with their SHA-256 (hashed only for JSON output, unless --no-hash).
func (e *Env) meta(cmd string) *render.Meta {
	m := &render.Meta{Tool: "remnant", Version: version, Command: cmd}
	for _, ev := range e.inputs {
		in := render.Input{Path: ev.Path, Size: ev.Size, Format: string(ev.Kind)}
		if !e.NoHash && render.Format(e.Format) == render.JSON {
			sum, err := ev.SHA256(nil)
			if err != nil {
				e.Warn(ev.Path, err.Error())
			}
			in.SHA256 = sum
		}
		m.Inputs = append(m.Inputs, in)
	}
	return m
}

// rows starts output for a command with provenance.
func (e *Env) rows(cmd string, cols ...string) (*render.Writer, error) {
	return render.NewWriterMeta(e.Stdout, render.Format(e.Format), cols, e.meta(cmd))
}

// dumpProcess names the dumped process from the streams alone: its pid and
// the file name of the first module (the executable, by convention of
// MiniDumpWriteDump and userdump).
func dumpProcess(d minidump.Dump) (uint32, string) {
	s := d.Summary()
	name := ""
	if len(s.Modules) > 0 {
		name = minidump.BaseName(s.Modules[0].Name)
	}
	return s.PID, name
}

// ThreadsCmd lists threads.
type ThreadsCmd struct {
	fileArg
}

// Run implements the command.
func (c *ThreadsCmd) Run(e *Env) error {
	ev, d, err := e.openDump(c.File)
	if err != nil {
		return err
	}
	defer ev.Close()
	pid, name := dumpProcess(d)
	w, err := e.rows("threads", "pid", "process", "tid", "teb", "suspend_count", "priority_class", "priority",
		"stack_start", "stack_size", "start_address", "create_time", "exit_time", "kernel_time", "user_time", "name")
	if err != nil {
		return err
	}
	for _, t := range d.Summary().Threads {
		var kt, ut any
		if t.HasInfo {
			kt, ut = t.KernelTime, t.UserTime
		}
		w.Write(pid, name, t.ID, render.Hex(t.TEB), t.SuspendCount, t.PriorityClass, t.Priority,
			render.Hex(t.StackStart), t.StackSize, optHex(t.StartAddress), t.CreateTime, t.ExitTime, kt, ut, t.Name)
	}
	return w.Close()
}

// optHex renders zero as empty (null in JSON).
func optHex(v uint64) any {
	if v == 0 {
		return nil
	}
	return render.Hex(v)
}

// MemmapCmd lists memory ranges.
type MemmapCmd struct {
	fileArg
}

// Run implements the command.
func (c *MemmapCmd) Run(e *Env) error {
	ev, d, err := e.openDump(c.File)
	if err != nil {
		return err
	}
	defer ev.Close()
	pid, name := dumpProcess(d)
	s := d.Summary()
	as := d.AddressSpace()
	w, err := e.rows("memmap", "pid", "process", "base", "size", "state", "protect", "type",
		"allocation_base", "allocation_protect", "captured", "module")
	if err != nil {
		return err
	}
	mods := s.Modules
	module := func(va uint64) string {
		for _, m := range mods {
			if va >= m.Base && va-m.Base < uint64(m.Size) {
				return m.Name
			}
		}
		return ""
	}
	captured := func(base, size uint64) uint64 {
		var n uint64
		for _, r := range as.Ranges() {
			lo, hi := max(r.Start, base), min(r.End(), base+size)
			if hi > lo {
				n += hi - lo
			}
		}
		return n
	}
	if len(s.Regions) > 0 {
		for _, r := range s.Regions {
			w.Write(pid, name, render.Hex(r.BaseAddress), render.Hex(r.RegionSize), minidump.StateString(r.State),
				minidump.ProtectString(r.Protect), minidump.TypeString(r.Type), optHex(r.AllocationBase),
				minidump.ProtectString(r.AllocationProtect), render.Hex(captured(r.BaseAddress, r.RegionSize)), module(r.BaseAddress))
		}
	} else {
		// No region descriptors: list what the dump captured.
		for _, r := range as.Ranges() {
			w.Write(pid, name, render.Hex(r.Start), render.Hex(r.Size), "", "", "", nil, "", render.Hex(r.Size), module(r.Start))
		}
	}
	return w.Close()
}

// HandlesCmd lists handles.
type HandlesCmd struct {
	fileArg
}

// Run implements the command.
func (c *HandlesCmd) Run(e *Env) error {
	ev, d, err := e.openDump(c.File)
	if err != nil {
		return err
	}
	defer ev.Close()
	pid, name := dumpProcess(d)
	f, ok := d.(*minidump.File)
	if !ok || !hasStream(f, minidump.HandleDataStream) {
		e.Warn(c.File, fmt.Sprintf("no HandleData stream: the %s records no handles", d.Format()))
	}
	w, err := e.rows("handles", "pid", "process", "handle", "type", "name", "attributes", "granted_access", "handle_count", "pointer_count")
	if err != nil {
		return err
	}
	if ok {
		for _, h := range f.Handles {
			w.Write(pid, name, render.Hex(h.Handle), h.TypeName, h.ObjectName, render.Hex(h.Attributes),
				render.Hex(h.GrantedAccess), h.HandleCount, h.PointerCount)
		}
	}
	return w.Close()
}

func hasStream(f *minidump.File, t minidump.StreamType) bool {
	for _, s := range f.Streams {
		if s.Type == t {
			return true
		}
	}
	return false
}
