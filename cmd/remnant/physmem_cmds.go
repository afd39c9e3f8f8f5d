package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/remnant-forensics/remnant/physmem"
	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/render"
)

// openImage opens a physical memory image and reports what the kernel
// search could not establish.
func (e *Env) openImage(path string) (*evidence.File, *physmem.Image, error) {
	ev, err := e.openEvidence(path)
	if err != nil {
		return nil, nil, err
	}
	im, err := e.image(ev)
	if err != nil {
		ev.Close()
		return nil, nil, err
	}
	return ev, im, nil
}

// image reads open evidence as a physical memory image.
func (e *Env) image(ev *evidence.File) (*physmem.Image, error) {
	if ev.Kind == evidence.Minidump || ev.Kind == evidence.Userdump {
		return nil, usageError{fmt.Errorf("%s is a process dump (%s), not a physical memory image", ev.Path, ev.Kind)}
	}
	im, err := physmem.Open(ev, ev.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ev.Path, err)
	}
	for _, w := range im.Warnings() {
		e.Warn(ev.Path, w.String())
	}
	return im, nil
}

// count renders a count the layout may not give (-1) as empty.
func count(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

// elapsed is the time a process had run at capture (or until it exited),
// as Sysinternals pslist shows it; nil when a time is unknown.
func elapsed(p physmem.Process, capture time.Time) any {
	if p.CreateTime.IsZero() {
		return nil
	}
	end := capture
	if p.Exited() {
		end = p.ExitTime
	}
	if end.IsZero() || end.Before(p.CreateTime) {
		return nil
	}
	return end.Sub(p.CreateTime)
}

func processRow(p physmem.Process, capture time.Time) []any {
	va := any(render.Hex(p.VA))
	if p.VA == 0 {
		va = nil
	}
	return []any{p.PID, p.PPID, p.Name, p.CreateTime, p.ExitTime, elapsed(p, capture), count(p.Threads), count(p.Handles),
		count(p.Session), p.Wow64, render.Hex(p.DTB), va, render.Hex(p.PA)}
}

var processCols = []string{"pid", "ppid", "name", "create_time", "exit_time", "elapsed", "threads", "handles", "session", "wow64", "dtb", "offset", "offset_pa"}

// PslistCmd lists the processes on the kernel's active process list.
type PslistCmd struct {
	procArgs
}

// Run implements the command.
func (c *PslistCmd) Run(e *Env) error {
	ev, im, err := e.openImage(c.File)
	if err != nil {
		return err
	}
	defer ev.Close()
	ps, warns := im.Processes()
	for _, w := range warns {
		e.Warn(c.File, w.String())
	}
	w, err := e.rows("pslist", processCols...)
	if err != nil {
		return err
	}
	capture := im.Info().Time
	for _, p := range ps {
		if c.wants(uint32(p.PID)) {
			w.Write(processRow(p, capture)...)
		}
	}
	return w.Close()
}

// PsscanCmd scans the whole image for process pool allocations.
type PsscanCmd struct {
	procArgs
	Workers int `help:"Parallel scanners (default: one per CPU)."`
}

// Run implements the command.
func (c *PsscanCmd) Run(e *Env) error {
	ev, im, err := e.openImage(c.File)
	if err != nil {
		return err
	}
	defer ev.Close()
	ps, warns := im.ScanProcesses(c.Workers)
	for _, w := range warns {
		e.Warn(c.File, w.String())
	}
	w, err := e.rows("psscan", append([]string{"state"}, processCols...)...)
	if err != nil {
		return err
	}
	capture := im.Info().Time
	for _, p := range ps {
		if !c.wants(uint32(p.PID)) {
			continue
		}
		state := "listed"
		switch {
		case !p.InList && p.Exited():
			state = "exited"
		case !p.InList:
			state = "unlinked"
		case !p.Scanned:
			state = "listed-only"
		}
		w.Write(append([]any{state}, processRow(p, capture)...)...)
	}
	return w.Close()
}

// PstreeCmd shows the process list as a tree of parents and children.
type PstreeCmd struct {
	procArgs
	Scan bool `help:"Include processes found only by the pool scan (exited, unlinked)."`
}

// Run implements the command.
func (c *PstreeCmd) Run(e *Env) error {
	ev, im, err := e.openImage(c.File)
	if err != nil {
		return err
	}
	defer ev.Close()
	var ps []physmem.Process
	var warns []physmem.Warning
	if c.Scan {
		ps, warns = im.ScanProcesses(0)
	} else {
		ps, warns = im.Processes()
	}
	for _, w := range warns {
		e.Warn(c.File, w.String())
	}
	w, err := e.rows("pstree", "depth", "tree", "pid", "ppid", "name", "create_time", "exit_time", "threads", "handles", "offset_pa")
	if err != nil {
		return err
	}
	for _, n := range processTree(ps) {
		p := n.p
		if !c.wants(uint32(p.PID)) {
			continue
		}
		w.Write(n.depth, strings.Repeat(".", n.depth)+" "+p.Name, p.PID, p.PPID, p.Name, p.CreateTime, p.ExitTime,
			count(p.Threads), count(p.Handles), render.Hex(p.PA))
	}
	return w.Close()
}

type treeNode struct {
	p     physmem.Process
	depth int
}

// processTree orders processes depth-first under their parents; a process
// whose parent is absent (or that sits in a parent cycle) is a root. A
// parent is only a parent if it was created before the child, since PIDs
// are reused.
func processTree(ps []physmem.Process) []treeNode {
	sort.SliceStable(ps, func(i, j int) bool {
		return ps[i].CreateTime.Before(ps[j].CreateTime) || ps[i].CreateTime.Equal(ps[j].CreateTime) && ps[i].PID < ps[j].PID
	})
	byPID := map[uint64]int{}
	for i, p := range ps {
		if _, dup := byPID[p.PID]; !dup {
			byPID[p.PID] = i
		}
	}
	children := map[int][]int{}
	var roots []int
	for i, p := range ps {
		par, ok := byPID[p.PPID]
		if !ok || par == i || p.PID == p.PPID || (!ps[par].CreateTime.IsZero() && ps[par].CreateTime.After(p.CreateTime)) {
			roots = append(roots, i)
			continue
		}
		children[par] = append(children[par], i)
	}
	var out []treeNode
	seen := make([]bool, len(ps))
	var visit func(i, depth int)
	visit = func(i, depth int) {
		if seen[i] || depth > 256 {
			return
		}
		seen[i] = true
		out = append(out, treeNode{ps[i], depth})
		for _, c := range children[i] {
			visit(c, depth+1)
		}
	}
	for _, r := range roots {
		visit(r, 0)
	}
	// Members of a parent cycle are reachable from no root: list them flat.
	for i := range ps {
		if !seen[i] {
			visit(i, 0)
		}
	}
	return out
}
