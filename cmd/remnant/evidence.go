package main

import (
	"github.com/remnant-forensics/remnant/minidump"
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
}

// Close releases the evidence file.
func (t *scanTarget) Close() error { return t.close() }

// openScanTarget opens evidence read-only for scanning. With raw, the whole
// file is scanned as bytes. A process dump's captured memory is scanned and
// attributed to virtual addresses, modules and regions; other formats are
// scanned whole for now.
func openScanTarget(path string, raw bool) (*scanTarget, error) {
	ev, err := evidence.Open(path)
	if err != nil {
		return nil, err
	}
	t := &scanTarget{Path: path, Kind: string(evidence.Raw), View: addrspace.Whole(ev, ev.Size), close: ev.Close}
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
	}
	return t, nil
}
