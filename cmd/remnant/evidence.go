package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/remnant-forensics/remnant/pkg/scan"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/physmem"
	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/evidence"
)

// scanTarget is what strings and carvers scan: a view of the evidence and,
// where the evidence allows, an attributor that says whose memory an offset
// of the view was.
type scanTarget struct {
	Path  string
	Kind  string // "raw", "minidump", "userdump", ...
	View  addrspace.View
	Attr  addrspace.Attributor // nil when nothing can be attributed
	close func() error

	ev    *evidence.File
	image *physmem.Image // a physical memory image, once opened
}

// Close releases the evidence file.
func (t *scanTarget) Close() error { return t.close() }

// progress returns a progress bar over the bytes of the target's view, drawn
// on stderr, or nil when stderr is not a terminal or --no-progress is given.
func (t *scanTarget) progress(e *Env, what string) *progressbar.ProgressBar {
	f, ok := e.Stderr.(*os.File)
	if e.NoProgress || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(int64(scan.Total(t.View)),
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// openScanTarget opens evidence read-only for scanning. With raw, the whole
// file is scanned as bytes. A process dump's captured memory is scanned and
// attributed to virtual addresses, modules and regions. A kernel crash dump
// or LiME file is scanned as physical memory (offsets are physical
// addresses); a raw file is scanned whole, its offsets being physical
// addresses when it is a memory image. Attribution of physical memory to
// processes costs a walk of every page table: attributeImage adds it.
func (e *Env) openScanTarget(path string, raw bool) (*scanTarget, error) {
	ev, err := e.openEvidence(path)
	if err != nil {
		return nil, err
	}
	t := &scanTarget{Path: path, Kind: string(evidence.Raw), View: addrspace.Whole(ev, ev.Size), close: ev.Close, ev: ev}
	if raw {
		return t, nil
	}
	switch ev.Kind {
	case evidence.Minidump, evidence.Userdump:
		d, err := ev.Dump()
		if err != nil {
			ev.Close()
			return nil, err
		}
		t.Kind = d.Format()
		t.View = minidump.MemoryView(d, ev.Size)
		t.Attr = minidump.NewAttributor(d)
	case evidence.Crashdump, evidence.LiME:
		im, err := physmem.Open(ev, ev.Size)
		if err != nil {
			ev.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.Kind, t.image, t.View = string(ev.Kind), im, im.View()
	}
	return t, nil
}

// attributeImage makes the target of a physical memory image (raw, crash
// dump, LiME) attribute each physical page to the processes that map it,
// when the image's kernel and page tables are found. Warnings go to e; other
// evidence is left alone.
func (t *scanTarget) attributeImage(e *Env) {
	if t.ev == nil || t.Attr != nil {
		return
	}
	switch t.ev.Kind {
	case evidence.Raw, evidence.Crashdump, evidence.LiME:
	default:
		return
	}
	if t.image == nil {
		im, err := physmem.Open(t.ev, t.ev.Size)
		if err != nil {
			e.Warn(t.Path, fmt.Sprintf("not attributed: %v", err))
			return
		}
		t.image = im
	}
	if t.image.Kernel() == nil {
		e.Warn(t.Path, "not attributed: no Windows kernel page tables found in the image")
		return
	}
	a, warns := physmem.NewAttributor(t.image)
	for _, w := range warns {
		e.Warn(t.Path, w.String())
	}
	t.Attr = a
}
