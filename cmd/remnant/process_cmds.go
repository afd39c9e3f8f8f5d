package main

import (
	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/process"
	"github.com/remnant-forensics/remnant/pkg/render"
	"github.com/remnant-forensics/remnant/pkg/win"
)

// procArgs are the arguments of the per-process commands.
type procArgs struct {
	fileArg
	Pid []uint32 `help:"Only these process ids (repeat or comma-separate)."`
}

func (a procArgs) wants(pid uint32) bool {
	if len(a.Pid) == 0 {
		return true
	}
	for _, p := range a.Pid {
		if p == pid {
			return true
		}
	}
	return false
}

// loadProcesses opens the evidence and builds the view of each process in
// it: the one process of a process dump, or every process on the kernel's
// list of a memory image (the --pid ones when given), reporting the
// warnings of each.
func (e *Env) loadProcesses(a procArgs) (*evidence.File, []*process.Process, error) {
	ev, err := e.openEvidence(a.File)
	if err != nil {
		return nil, nil, err
	}
	switch ev.Kind {
	case evidence.Minidump, evidence.Userdump:
		d, err := ev.Dump()
		if err != nil {
			ev.Close()
			return nil, nil, err
		}
		for _, w := range d.Summary().Warnings {
			e.Warn(a.File, w.String())
		}
		p := process.FromDump(d)
		for _, w := range p.Warnings {
			e.Warn(a.File, w)
		}
		if !a.wants(p.PID) {
			return ev, nil, nil
		}
		return ev, []*process.Process{p}, nil
	}
	im, err := e.image(ev)
	if err != nil {
		ev.Close()
		return nil, nil, err
	}
	procs, warns := im.Processes()
	for _, w := range warns {
		e.Warn(a.File, w.String())
	}
	arch := im.Info().Arch
	var out []*process.Process
	for _, kp := range procs {
		if !a.wants(uint32(kp.PID)) {
			continue
		}
		wp, wwarns, err := im.Walk(kp)
		if err != nil {
			wwarns = append(wwarns, win.Warning{Msg: err.Error()})
		}
		arch := arch
		if kp.Wow64 {
			arch = "x86"
		}
		p := process.FromWalk(uint32(kp.PID), kp.Name, arch, kp.CreateTime, wp, wwarns)
		for _, w := range p.Warnings {
			e.Warn(a.File, w)
		}
		out = append(out, p)
	}
	return ev, out, nil
}

// DlllistCmd lists loaded modules.
type DlllistCmd struct {
	procArgs
}

// Run implements the command.
func (c *DlllistCmd) Run(e *Env) error {
	ev, procs, err := e.loadProcesses(c.procArgs)
	if err != nil {
		return err
	}
	defer ev.Close()
	w, err := e.rows("dlllist", "pid", "process", "order", "base", "size", "entry_point", "timestamp", "name", "path", "source")
	if err != nil {
		return err
	}
	for _, p := range procs {
		for _, m := range p.Modules {
			w.Write(p.PID, p.Name, m.Order, render.Hex(m.Base), render.Hex(m.Size), optHex(m.EntryPoint), m.Time(), m.Name, m.Path, m.Source)
		}
	}
	return w.Close()
}

// CmdlineCmd prints the process parameters.
type CmdlineCmd struct {
	procArgs
}

// Run implements the command.
func (c *CmdlineCmd) Run(e *Env) error {
	ev, procs, err := e.loadProcesses(c.procArgs)
	if err != nil {
		return err
	}
	defer ev.Close()
	w, err := e.rows("cmdline", "pid", "process", "image_path", "command_line", "window_title", "dll_path",
		"current_directory", "desktop_info", "shell_info")
	if err != nil {
		return err
	}
	for _, p := range procs {
		w.Write(p.PID, p.Name, p.ImagePath, p.CommandLine, p.WindowTitle, p.DllPath, p.CurrentDirectory, p.DesktopInfo, p.ShellInfo)
	}
	return w.Close()
}

// EnvarsCmd prints environment variables.
type EnvarsCmd struct {
	procArgs
}

// Run implements the command.
func (c *EnvarsCmd) Run(e *Env) error {
	ev, procs, err := e.loadProcesses(c.procArgs)
	if err != nil {
		return err
	}
	defer ev.Close()
	w, err := e.rows("envars", "pid", "process", "variable", "value")
	if err != nil {
		return err
	}
	for _, p := range procs {
		for _, v := range p.Environment {
			w.Write(p.PID, p.Name, v.Name, v.Value)
		}
	}
	return w.Close()
}
