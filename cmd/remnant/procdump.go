package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/remnant-forensics/remnant/physmem"
)

// ProcdumpCmd writes one process of a memory image as a minidump.
type ProcdumpCmd struct {
	File   string `arg:"" name:"image" help:"Physical memory image (raw, kernel crash dump or LiME)."`
	Pid    uint64 `required:"" help:"Process id to write (on the active process list, else found by the pool scan)."`
	Output string `short:"o" required:"" help:"Minidump file to write; never the image, and not an existing file unless --force."`
	Force  bool   `help:"Overwrite the output file if it exists."`
}

// Run implements the command.
func (c *ProcdumpCmd) Run(e *Env) error {
	if err := checkOutput(c.File, c.Output, c.Force); err != nil {
		return usageError{err}
	}
	ev, im, err := e.openImage(c.File)
	if err != nil {
		return err
	}
	defer ev.Close()
	p, err := findProcess(e, c.File, im, c.Pid)
	if err != nil {
		return err
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if c.Force {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	// Checked again on the open file: a link to the image created since.
	f, err := os.OpenFile(c.Output, flag, 0o644)
	if err != nil {
		return err
	}
	if err := checkOutput(c.File, c.Output, true); err != nil {
		f.Close()
		return usageError{err}
	}
	st, warns, err := im.WriteMinidump(f, p)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	for _, w := range warns {
		e.Warn(c.File, w.String())
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.Output, err)
	}
	w, err := e.rows("procdump", "pid", "process", "output", "size", "modules", "ranges", "memory_bytes")
	if err != nil {
		return err
	}
	w.Write(p.PID, p.Name, c.Output, st.Size, st.Modules, st.Ranges, st.MemoryBytes)
	return w.Close()
}

// checkOutput refuses an output path that is the input file (by name or
// by identity: a link to it) and, without force, one that exists.
func checkOutput(in, out string, force bool) error {
	ai, err1 := filepath.Abs(in)
	ao, err2 := filepath.Abs(out)
	if err1 == nil && err2 == nil && ai == ao {
		return fmt.Errorf("output %s is the input image", out)
	}
	so, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if si, err := os.Stat(in); err == nil && os.SameFile(si, so) {
		return fmt.Errorf("output %s is the input image", out)
	}
	if !force {
		return fmt.Errorf("output %s exists (use --force to overwrite)", out)
	}
	return nil
}

// findProcess looks for pid on the active process list, then among the
// processes the pool scan finds (unlinked or exited).
func findProcess(e *Env, path string, im *physmem.Image, pid uint64) (physmem.Process, error) {
	ps, warns := im.Processes()
	for _, w := range warns {
		e.Warn(path, w.String())
	}
	for _, p := range ps {
		if p.PID == pid {
			return p, nil
		}
	}
	scanned, _ := im.ScanProcesses(0)
	var exited *physmem.Process
	for i, p := range scanned {
		if p.PID != pid {
			continue
		}
		if !p.Exited() {
			e.Warn(path, fmt.Sprintf("pid %d is not on the active process list (found by the pool scan)", pid))
			return p, nil
		}
		if exited == nil {
			exited = &scanned[i]
		}
	}
	if exited != nil {
		e.Warn(path, fmt.Sprintf("pid %d has exited (found by the pool scan)", pid))
		return *exited, nil
	}
	return physmem.Process{}, fmt.Errorf("%s: no process with pid %d", path, pid)
}
