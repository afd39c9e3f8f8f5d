// Package carve finds structured records in any memory: shell output
// (dir, ping, ipconfig, netstat, tasklist, net, prompts), process parameters
// and environment blocks, IIS W3C log lines, NTFS MFT records, PE images,
// URLs, IPv4 addresses, e-mail addresses and IRC lines.
//
// A carver is a small type with a name, the anchors that announce a
// candidate and a decode step that validates the candidate in place and
// returns a record. One prefilter finds the anchors of all selected
// carvers, in ASCII, UTF-16LE and console-cell form, in one pass over the
// view's chunks (pkg/scan); records at chunk edges are reported once, by
// the chunk whose body holds the record's first byte.
package carve

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// Encoding says how a record's bytes are stored in the evidence.
type Encoding uint8

// Encodings. Text carvers are tried on the first three; binary carvers
// (MFT, PE, process parameters) read raw bytes.
const (
	ASCII   Encoding = iota // one byte per character (ASCII, Latin-1 or UTF-8)
	UTF16LE                 // two bytes per character, at any byte offset
	Cells                   // console screen cells: WCHAR character + WORD attribute
	Binary                  // a binary structure
	numEncodings
)

// Stride returns the number of evidence bytes per character.
func (e Encoding) Stride() int {
	switch e {
	case UTF16LE:
		return 2
	case Cells:
		return 4
	}
	return 1
}

func (e Encoding) String() string {
	switch e {
	case ASCII:
		return "ascii"
	case UTF16LE:
		return "utf16le"
	case Cells:
		return "cells"
	case Binary:
		return "binary"
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

// Forms is a set of encodings in which an anchor is searched.
type Forms uint8

// Form sets.
const (
	FormASCII Forms = 1 << ASCII
	FormUTF16 Forms = 1 << UTF16LE
	FormCells Forms = 1 << Cells
	// Plain is the usual set for text: ASCII and UTF-16LE.
	Plain = FormASCII | FormUTF16
	// Console adds console screen cells to Plain.
	Console = Plain | FormCells
)

// Anchor is a short pattern that announces a candidate. With Start, the
// pattern begins a line (after at most one space), which helps to find the
// rows of a console screen. Pattern is literal
// except for these escapes: \d a digit, \a an ASCII letter, \w a letter,
// digit, '_' or '-', \s a space or tab, \\ a backslash. With Fold, ASCII
// letters match either case. With Raw, the pattern is searched as raw bytes
// only (Forms is ignored) and the candidate is Binary.
type Anchor struct {
	Pattern string
	Forms   Forms
	Fold    bool
	Raw     bool
	Start   bool
}

// Spec describes a carver.
type Spec struct {
	// Name is the carver's name (lower case, used in --carver and records).
	Name string
	// Anchors announce candidates.
	Anchors []Anchor
	// Back and Forward bound how far before and after an anchor the decode
	// step may look, in characters (text) or bytes (binary). A record lies
	// within them.
	Back, Forward int
	// Summary lists the field keys worth a histogram in --summary.
	Summary []string
	// Binary marks records that are binary structures even when a text
	// anchor found them; TextField names the field used as their excerpt.
	Binary    bool
	TextField string
}

// Carver validates and decodes candidates of one kind of record.
// Implementations must be safe for concurrent use: Decode is called from
// several goroutines.
type Carver interface {
	Spec() Spec
	// Decode validates the candidate in. On success it returns the
	// record's span [start, end) as indexes into in.Data and its fields.
	// It must not keep in.Data or slices of it: the chunk is reused.
	Decode(in *Input) (start, end int, f Fields, ok bool)
}

// Record is one carved record.
type Record struct {
	Offset   uint64   // view offset of the first byte
	Size     uint64   // bytes of evidence the record spans
	Carver   string   // carver name
	Encoding Encoding // how the record is stored
	Text     string   // excerpt, whitespace collapsed
	Fields   Fields   // the carver's fields, in a stable order
}

// Registry lists the known carvers.
var Registry = []Carver{
	dirCarver{}, pingCarver{}, ipconfigCarver{}, netstatCarver{}, tasklistCarver{},
	netCmdCarver{}, promptCarver{},
	paramsCarver{}, envCarver{},
	iisCarver{},
	mftCarver{}, peCarver{},
	urlCarver{}, ipv4Carver{}, emailCarver{}, ircCarver{},
}

// Names returns the names of the registered carvers.
func Names() []string {
	out := make([]string, len(Registry))
	for i, c := range Registry {
		out[i] = c.Spec().Name
	}
	return out
}

// Select returns the registered carvers with the given names (all when
// names is empty).
func Select(names []string) ([]Carver, error) {
	if len(names) == 0 {
		return Registry, nil
	}
	var out []Carver
	for _, n := range names {
		n = strings.TrimSpace(strings.ToLower(n))
		found := false
		for _, c := range Registry {
			if c.Spec().Name == n {
				out = append(out, c)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown carver %q (known: %s)", n, strings.Join(Names(), ", "))
		}
	}
	return out, nil
}

// Options tune Carve.
type Options struct {
	// Carvers to run (all registered carvers when nil).
	Carvers []Carver
	// Scan tunes the chunked scan; Lookbehind and Overlap are raised to
	// what the carvers need.
	Scan scan.Options
	// Warn, when set, receives read errors (the scan goes on).
	Warn func(error)
}

// Scanner finds the records of a set of carvers. It is safe for concurrent
// use.
type Scanner struct {
	carvers []Carver
	specs   []Spec
	m       *matcher
	back    int // bytes of lookbehind needed
	fwd     int // bytes of lookahead needed
}

// NewScanner compiles the anchors of carvers into one prefilter.
func NewScanner(carvers []Carver) (*Scanner, error) {
	if len(carvers) == 0 {
		carvers = Registry
	}
	s := &Scanner{carvers: carvers}
	var anchors []compiledAnchor
	for ci, c := range carvers {
		sp := c.Spec()
		s.specs = append(s.specs, sp)
		for ai, a := range sp.Anchors {
			ca, err := compileAnchor(a, ci)
			ca.index = ai
			if err != nil {
				return nil, fmt.Errorf("carver %s: %w", sp.Name, err)
			}
			anchors = append(anchors, ca)
			stride := 1
			if !a.Raw {
				if a.Forms&FormCells != 0 {
					stride = 4
				} else if a.Forms&FormUTF16 != 0 {
					stride = 2
				}
			}
			s.back = max(s.back, sp.Back*stride)
			s.fwd = max(s.fwd, (sp.Forward+len(ca.classes))*stride)
		}
	}
	s.m = newMatcher(anchors)
	return s, nil
}

// Specs returns the specs of the scanner's carvers.
func (s *Scanner) Specs() []Spec { return s.specs }

// Carve scans the data ranges of v and calls fn with each record in
// offset order (records that start at the same offset come in carver
// order). fn is called from the calling goroutine.
func Carve(ctx context.Context, v addrspace.View, opt Options, fn func(Record) error) error {
	s, err := NewScanner(opt.Carvers)
	if err != nil {
		return err
	}
	return s.Carve(ctx, v, opt, fn)
}

// Carve is Carve with a compiled scanner.
func (s *Scanner) Carve(ctx context.Context, v addrspace.View, opt Options, fn func(Record) error) error {
	so := opt.Scan
	so.Lookbehind = max(so.Lookbehind, s.back)
	so.Overlap = max(so.Overlap, s.fwd)
	if so.ChunkSize == 0 {
		so.ChunkSize = scan.DefaultChunkSize
	}
	so.ChunkSize = max(so.ChunkSize, 1)
	return scan.Scan(ctx, v, so, func(_ context.Context, c *scan.Chunk) (chunkResult, error) {
		var res chunkResult
		if c.Err != nil {
			res.err = c.Err
		}
		res.recs = s.CarveChunk(c.Data, c.Off, c.Lo, c.Hi, nil)
		return res, nil
	}, func(r chunkResult) error {
		if r.err != nil && opt.Warn != nil {
			opt.Warn(r.err)
		}
		for _, rec := range r.recs {
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

type chunkResult struct {
	recs []Record
	err  error
}

// CarveChunk finds the records whose first byte lies in data[lo:hi]; data
// holds the bytes at view offset base, with context before lo and after
// hi. Records are appended to out in offset order.
func (s *Scanner) CarveChunk(data []byte, base uint64, lo, hi int, out []Record) []Record {
	cs := statePool.Get().(*chunkState)
	defer statePool.Put(cs)
	// Anchors after hi matter only for records that start before hi.
	end := min(len(data), hi+s.back)
	hits := s.m.find(data, lo, end, cs.hits[:0])
	cs.hits = hits
	if len(hits) == 0 {
		return out
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].pos != hits[j].pos {
			return hits[i].pos < hits[j].pos
		}
		return hits[i].anchor < hits[j].anchor
	})
	// skip[carver][encoding]: a hit before this index is inside a record
	// already decoded.
	if cap(cs.skip) < len(s.carvers) {
		cs.skip = make([][numEncodings]int, len(s.carvers))
	}
	skip := cs.skip[:len(s.carvers)]
	clear(skip)
	n0 := len(out)
	in := &cs.in
	in.reset(data, base, lo, hi)
	for _, h := range hits {
		a := &s.m.anchors[h.anchor]
		ci := a.carver
		if h.pos < skip[ci][h.enc] {
			continue
		}
		in.At, in.Anchor, in.Enc = h.pos, a.index, h.enc
		in.n, in.start = len(a.classes), a.start
		in.back, in.fwd = s.specs[ci].Back, s.specs[ci].Forward
		in.text.valid = false
		st, en, f, ok := decodeSafe(s.carvers[ci], in)
		if !ok || st < 0 || en > len(data) || st >= en {
			continue
		}
		skip[ci][h.enc] = max(skip[ci][h.enc], en, h.pos+1)
		if st < lo || st >= hi {
			continue
		}
		sp := &s.specs[ci]
		rec := Record{Offset: base + uint64(st), Size: uint64(en - st), Carver: sp.Name, Encoding: h.enc, Fields: f}
		if sp.Binary {
			rec.Encoding = Binary
		}
		if rec.Encoding == Binary {
			if v, ok := f.Get(sp.TextField).(string); ok {
				rec.Text = v
			}
		} else {
			rec.Text = excerpt(data[st:en], h.enc)
		}
		out = append(out, rec)
	}
	in.reset(nil, 0, 0, 0) // keep no reference to the chunk
	recs := out[n0:]
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Offset < recs[j].Offset })
	return out
}

// chunkState is the scratch space of one CarveChunk call, pooled.
type chunkState struct {
	hits []hit
	skip [][numEncodings]int
	in   Input
}

var statePool = sync.Pool{New: func() any { return new(chunkState) }}

// reset points the input at a new chunk, keeping the run buffers.
func (in *Input) reset(data []byte, base uint64, lo, hi int) {
	in.Data, in.Base, in.Lo, in.Hi = data, base, lo, hi
	in.text = Text{}
	for i := range in.runs {
		r := &in.runs[i]
		if r.enc == ASCII || r.enc == Binary {
			r.b = nil // aliased the chunk
		} else {
			r.b = r.b[:0]
		}
		r.from, r.to = 0, 0
		r.wide = r.wide[:0]
	}
}

// decodeSafe calls the carver's decode step and turns a panic (a bug, never
// the evidence's fault) into a rejected candidate, so that one bad
// candidate never stops a scan.
func decodeSafe(c Carver, in *Input) (st, en int, f Fields, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
		}
	}()
	return c.Decode(in)
}

// Input is a candidate handed to a carver's decode step.
type Input struct {
	// Data is the chunk: context, body and lookahead. Read-only, reused
	// after Decode returns.
	Data []byte
	// Base is the view offset of Data[0].
	Base uint64
	// Lo and Hi delimit the chunk's body.
	Lo, Hi int
	// At is the index in Data of the anchor's first byte.
	At int
	// Anchor is the index of the matched anchor in the carver's Spec.
	Anchor int
	// Enc is the encoding the anchor matched in.
	Enc Encoding

	n         int  // anchor length in characters
	start     bool // the anchor begins a line
	back, fwd int
	text      Text
	runs      [4 * numEncodings]run
	local     []byte
}

// Text returns the text around the anchor, narrowed to one byte per
// character (zero-copy for ASCII), bounded by the carver's Back and
// Forward and by characters that cannot be text.
func (in *Input) Text() *Text {
	if !in.text.valid {
		in.text.build(in, in.back, in.fwd+in.n)
	}
	return &in.text
}
