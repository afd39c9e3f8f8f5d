package main

import (
	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/process"
	"github.com/remnant-forensics/remnant/pkg/render"
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
// it (one for a process dump), reporting the warnings of both.
func (e *Env) loadProcesses(a procArgs) (*evidence.File, minidump.Dump, []*process.Process, error) {
	ev, d, err := e.openDump(a.File)
	if err != nil {
		return nil, nil, nil, err
	}
	p := process.FromDump(d)
	for _, w := range p.Warnings {
		e.Warn(a.File, w)
	}
	var out []*process.Process
	if a.wants(p.PID) {
		out = append(out, p)
	}
	return ev, d, out, nil
}

// DlllistCmd lists loaded modules.
type DlllistCmd struct {
	procArgs
}

// Run implements the command.
func (c *DlllistCmd) Run(e *Env) error {
	ev, _, procs, err := e.loadProcesses(c.procArgs)
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
	ev, _, procs, err := e.loadProcesses(c.procArgs)
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
	ev, _, procs, err := e.loadProcesses(c.procArgs)
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
