package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/evidence"
	"github.com/remnant-forensics/remnant/pkg/render"
	"github.com/remnant-forensics/remnant/pkg/scan"
	rstrings "github.com/remnant-forensics/remnant/strings"
)

// StringsCmd prints the printable ASCII and UTF-16LE strings of evidence.
type StringsCmd struct {
	File          string `arg:"" name:"file" help:"Evidence file: a process dump (its captured memory is scanned) or any file."`
	MinLen        int    `short:"n" name:"bytes" default:"4" help:"Minimum string length in characters."`
	Encoding      string `short:"e" enum:"ascii,utf16le,both,s,l" default:"both" help:"Encodings: ascii, utf16le or both (GNU's s and l are accepted)."`
	Radix         string `short:"t" enum:"d,x,o" default:"d" help:"Radix of the offsets in text output: d, x or o."`
	AllWhitespace bool   `short:"w" help:"Count all whitespace (\\n \\v \\f \\r) as printable, as GNU strings -w."`
	MaxLen        int    `name:"max-len" help:"Print at most this many characters of each string (0: up to 64 Mi, the most kept)."`
	Raw           bool   `help:"Scan the file as bytes, headers included, instead of a dump's captured memory."`
	Workers       int    `short:"j" help:"Number of scanning goroutines (0: one per CPU)."`
	Attribute     bool   `help:"On a physical memory image, label each string with the processes and virtual addresses that map its page (walks every page table first)."`
}

// maxReadWarnings is how many read errors are printed one by one.
const maxReadWarnings = 10

// Run implements the command.
func (c *StringsCmd) Run(e *Env) error {
	enc, err := rstrings.ParseEncoding(c.Encoding)
	if err != nil {
		return usageError{err}
	}
	if c.MinLen < 1 {
		return usageError{fmt.Errorf("-n %d: the minimum length must be at least 1", c.MinLen)}
	}
	t, err := e.openScanTarget(c.File, c.Raw)
	if err != nil {
		return err
	}
	defer t.Close()
	if c.Attribute && !c.Raw {
		t.attributeImage(e)
	}
	if m := mapEvidence(t); m != nil {
		defer m.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := rstrings.Options{
		MinLen:        c.MinLen,
		Encodings:     enc,
		AllWhitespace: c.AllWhitespace,
		MaxLen:        c.MaxLen,
		Scan:          scan.Options{Workers: c.Workers},
	}
	// Unreadable parts are warnings; a device that fails everywhere would
	// print one per chunk, so after maxReadWarnings they are only counted.
	unreadable := 0
	opt.ReadError = func(err error) {
		if unreadable++; unreadable <= maxReadWarnings {
			e.Warn(c.File, err.Error())
		}
	}
	defer func() {
		if n := unreadable - maxReadWarnings; n > 0 {
			e.Warn(c.File, fmt.Sprintf("%d more chunks with unreadable pages (zero-filled)", n))
		}
	}()
	if bar := t.progress(e, "strings"); bar != nil {
		defer bar.Finish()
		opt.Scan.Progress = func(done, _ uint64) { bar.Set64(int64(done)) }
	}

	if render.Format(e.Format) == render.Table || e.Format == "" {
		if c.Attribute && t.Attr != nil {
			// Not render's table: it would hold every row of a
			// many-gigabyte image in memory to align the columns.
			return writeAttributedText(ctx, e.Stdout, t, opt, c.Radix[0])
		}
		return rstrings.WriteText(ctx, t.View, opt, e.Stdout, c.Radix[0])
	}
	cols := []string{"offset", "encoding", "text"}
	if t.Attr != nil {
		cols = append(cols, "va", "module", "region", "pid")
	}
	w, err := e.rows("strings", cols...)
	if err != nil {
		return err
	}
	err = rstrings.Scan(ctx, t.View, opt, func(s rstrings.String) error {
		return writeStringRows(w, t.Attr, s)
	})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeAttributedText streams text lines with the processes that map each
// string: "offset encoding pid va text", one line per process (pid and va
// are "-" when no process maps the string). Modules and regions are in the
// jsonl and csv rows.
func writeAttributedText(ctx context.Context, out io.Writer, t *scanTarget, opt rstrings.Options, radix byte) error {
	base := map[byte]int{'d': 10, 'x': 16, 'o': 8}[radix]
	bw := bufio.NewWriterSize(out, 1<<20)
	var line []byte
	err := rstrings.Scan(ctx, t.View, opt, func(s rstrings.String) error {
		locs := t.Attr.Locate(s.Off)
		if len(locs) == 0 {
			locs = []addrspace.Location{{}}
		}
		for _, l := range locs {
			line = line[:0]
			num := strconv.FormatUint(s.Off, base)
			for i := len(num); i < 7; i++ {
				line = append(line, ' ')
			}
			line = append(line, num...)
			line = fmt.Appendf(line, " %-7s ", s.Enc)
			if l.PID == 0 && l.VA == 0 {
				line = append(line, "     - -"...)
			} else {
				line = fmt.Appendf(line, "%6d 0x%x", l.PID, l.VA)
			}
			line = append(line, ' ')
			line = append(line, s.Text...)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
		return nil
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// writeStringRows writes the rows of one string: one per place attr says
// holds it (a physical page may be mapped by several processes), one with
// empty attribution when it knows none, and one without attribution
// columns when there is no attributor.
func writeStringRows(w *render.Writer, attr addrspace.Attributor, s rstrings.String) error {
	text := string(s.Text)
	if attr == nil {
		return w.Write(render.Hex(s.Off), s.Enc.String(), text)
	}
	locs := attr.Locate(s.Off)
	if len(locs) == 0 {
		return w.Write(render.Hex(s.Off), s.Enc.String(), text, nil, nil, nil, nil)
	}
	for _, l := range locs {
		var pid any
		if l.PID != 0 {
			pid = l.PID
		}
		if err := w.Write(render.Hex(s.Off), s.Enc.String(), text, render.Hex(l.VA), orNil(l.Module), orNil(l.Region), pid); err != nil {
			return err
		}
	}
	return nil
}

// mapEvidence replaces the view's reader by a memory mapping of the
// evidence file when the view reads that file at file offsets (raw files and
// process dumps), so that chunks are scanned without copying. It returns
// nil, leaving the view alone, when that does not hold or mapping fails.
func mapEvidence(t *scanTarget) *scan.Mapping {
	switch t.View.R.(type) {
	case *evidence.File, *os.File:
	default:
		return nil
	}
	f, err := os.Open(t.Path)
	if err != nil {
		return nil
	}
	defer f.Close() // the mapping outlives the descriptor
	m, err := scan.Map(f)
	if err != nil {
		return nil
	}
	if int64(m.Len()) != t.View.Size {
		m.Close()
		return nil
	}
	t.View.R = m
	return m
}

// orNil makes an unknown (empty) name a null cell.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
