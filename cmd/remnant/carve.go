package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/remnant-forensics/remnant/carve"
	"github.com/remnant-forensics/remnant/pkg/render"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// CarveCmd finds structured records (shell output, command lines,
// environments, IIS log lines, MFT records, PE images, network indicators)
// in evidence.
type CarveCmd struct {
	File      string   `arg:"" optional:"" name:"file" help:"Evidence file: a process dump (its captured memory is scanned) or any file."`
	Carvers   []string `name:"carver" short:"c" sep:"," help:"Carvers to run, comma-separated (default: all). Use --list to see them."`
	List      bool     `help:"List the carvers and exit."`
	Attribute bool     `help:"Label each record with the virtual address, module or region (and process) that held it, where the evidence tells (on a memory image: every process that maps the page)."`
	Summary   bool     `help:"Print per-carver histograms (count, value) of the records' key fields instead of the records."`
	Top       int      `default:"20" help:"With --summary, the number of values shown per field."`
	Raw       bool     `help:"Scan the file as bytes, headers included, instead of a dump's captured memory."`
	Workers   int      `short:"j" help:"Number of scanning goroutines (0: one per CPU)."`
}

// Run implements the command.
func (c *CarveCmd) Run(e *Env) error {
	if c.List {
		w, err := e.Rows("carver", "anchors", "summary_fields")
		if err != nil {
			return err
		}
		for _, cv := range carve.Registry {
			sp := cv.Spec()
			var anchors []string
			for _, a := range sp.Anchors {
				anchors = append(anchors, a.Pattern)
			}
			w.Write(sp.Name, anchors, sp.Summary)
		}
		return w.Close()
	}
	if c.File == "" {
		return usageError{fmt.Errorf("carve: an evidence file is needed (or --list)")}
	}
	sel, err := carve.Select(c.Carvers)
	if err != nil {
		return usageError{err}
	}
	sc, err := carve.NewScanner(sel)
	if err != nil {
		return err
	}
	t, err := e.openScanTarget(c.File, c.Raw)
	if err != nil {
		return err
	}
	defer t.Close()
	if c.Attribute && !c.Raw {
		t.attributeImage(e) // a physical image: processes and VAs from every page table
	}
	if m := mapEvidence(t); m != nil {
		defer m.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := carve.Options{
		Scan: scan.Options{Workers: c.Workers},
		Warn: func(err error) { e.Warn(c.File, err.Error()) },
	}
	if bar := t.progress(e, "carve"); bar != nil {
		defer bar.Finish()
		opt.Scan.Progress = func(done, _ uint64) { bar.Set64(int64(done)) }
	}
	if c.Summary {
		return c.summary(ctx, e, sc, t, opt)
	}

	cols := []string{"offset", "carver", "encoding", "size", "text", "fields"}
	attr := c.Attribute && t.Attr != nil
	if attr {
		cols = append(cols, "va", "module", "region", "pid", "process")
	}
	w, err := e.rows("carve", cols...)
	if err != nil {
		return err
	}
	err = sc.Carve(ctx, t.View, opt, func(r carve.Record) error {
		row := []any{render.Hex(r.Offset), r.Carver, r.Encoding.String(), r.Size, r.Text, r.Fields}
		if !attr {
			return w.Write(row...)
		}
		locs := t.Attr.Locate(r.Offset)
		if len(locs) == 0 {
			return w.Write(append(row, nil, nil, nil, nil, nil)...)
		}
		for _, l := range locs {
			var pid any
			if l.PID != 0 {
				pid = l.PID
			}
			if err := w.Write(append(row, render.Hex(l.VA), orNil(l.Module), orNil(l.Region), pid, orNil(l.Process))...); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && c.Attribute && t.Attr == nil {
		e.Warn(c.File, "--attribute: this evidence gives no addresses (scanned as raw bytes)")
	}
	return err
}

// summary prints, for each carver, the number of records and the most
// frequent values of its summary fields (bulk_extractor's histograms).
func (c *CarveCmd) summary(ctx context.Context, e *Env, sc *carve.Scanner, t *scanTarget, opt carve.Options) error {
	hist := carve.NewHistogram(sc.Specs())
	if err := sc.Carve(ctx, t.View, opt, func(r carve.Record) error {
		hist.Add(r)
		return nil
	}); err != nil {
		return err
	}
	w, err := e.Rows("carver", "field", "count", "value")
	if err != nil {
		return err
	}
	for _, row := range hist.Rows(c.Top) {
		if err := w.Write(row.Carver, row.Field, row.Count, row.Value); err != nil {
			return err
		}
	}
	return w.Close()
}

// progress returns a byte progress bar on stderr, or nil when stderr is not
// a terminal or progress is turned off.
