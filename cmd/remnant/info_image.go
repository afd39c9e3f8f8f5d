package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/remnant-forensics/remnant/physmem"
	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/render"
)

// imageReport is `info` on a physical memory image or kernel crash dump.
type imageReport struct {
	Tool      string       `json:"tool"`
	Version   string       `json:"version"`
	Input     render.Input `json:"input"`
	Image     physmem.Info `json:"image"`
	Processes int          `json:"processes"`
	Warnings  []string     `json:"warnings"`
}

// infoImage summarizes a memory image: format, OS, build, architecture, DTB,
// kernel base, KDBG, capture time, processors, and how each was found.
func (c *InfoCmd) infoImage(e *Env, ev *evidence.File) error {
	defer ev.Close()
	im, err := e.image(ev)
	if err != nil {
		return err
	}
	r := imageReport{Tool: "remnant", Version: version, Image: im.Info()}
	r.Input = render.Input{Path: ev.Path, Size: ev.Size, Format: string(ev.Kind)}
	if !e.NoHash {
		if r.Input.SHA256, err = ev.SHA256(nil); err != nil {
			return err
		}
	}
	procs, warns := im.Processes()
	for _, w := range warns {
		e.Warn(c.File, w.String())
	}
	r.Processes = len(procs)
	r.Warnings = append([]string{}, e.warned...)
	switch render.Format(e.Format) {
	case render.Table:
		return writeImageText(e, &r)
	}
	return writeReport(e, &r)
}

func writeImageText(e *Env, r *imageReport) error {
	var b strings.Builder
	kv := func(k string, v any, how string) {
		if how != "" {
			fmt.Fprintf(&b, "%-22s %v  (%s)\n", k+":", v, how)
		} else {
			fmt.Fprintf(&b, "%-22s %v\n", k+":", v)
		}
	}
	in := &r.Image
	kv("File", r.Input.Path, "")
	kv("Size", fmt.Sprintf("%d bytes", r.Input.Size), "")
	if r.Input.SHA256 != "" {
		kv("SHA-256", r.Input.SHA256, "")
	}
	kv("Format", in.Format, "")
	kv("Physical memory", fmt.Sprintf("%d bytes in %d runs, up to %#x", in.PhysicalData, in.Runs, in.PhysicalEnd), "")
	kv("OS", orUnknown(in.OS), in.VersionHow)
	kv("Architecture", fmt.Sprintf("%s (paging %s)", orUnknown(in.Arch), in.Paging), "")
	kv("Layout", orUnknown(in.Layout), in.LayoutHow)
	kv("DTB", render.Hex(in.DTB), in.DTBHow)
	kv("Kernel base", render.Hex(in.KernelBase), in.KernelHow)
	if in.KernelPDB != "" {
		kv("Kernel PDB", fmt.Sprintf("%s %s age %d", in.KernelPDB, in.KernelGUID, in.KernelAge), "")
	}
	kv("KDBG", render.Hex(in.KDBG), in.KDBGHow)
	kv("PsActiveProcessHead", render.Hex(in.PsActiveProcessHead), in.ListHow)
	kv("PsLoadedModuleList", render.Hex(in.PsLoadedModuleList), "")
	kv("System process", render.Hex(in.SystemProcess), in.SystemHow)
	kv("Processors", in.Processors, in.ProcessorsHow)
	if !in.Time.IsZero() {
		kv("Capture time", in.Time.UTC().Format(time.RFC3339), in.TimeHow)
		kv("Time zone bias", in.TimeZoneBias, "UTC = local + bias")
	}
	if in.SystemRoot != "" {
		kv("SystemRoot", in.SystemRoot, "")
	}
	kv("Processes", r.Processes, "on the active process list")
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "\n%d warnings (see stderr)\n", len(r.Warnings))
	}
	_, err := fmt.Fprint(e.Stdout, b.String())
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
