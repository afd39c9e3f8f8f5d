package carve

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Text is the text around a candidate, one byte per character: the chunk's
// own bytes for ASCII (no copy), a narrowed copy for UTF-16LE and console
// cells. Characters beyond Latin-1 are stored as '?' in B and kept aside so
// that String returns them.
type Text struct {
	// B holds the characters; B[At] is the anchor's first character.
	B  []byte
	At int

	start  int // index in the chunk of B[0]
	stride int
	enc    Encoding
	wide   []wideChar // characters beyond Latin-1, by index in the run
	woff   int        // index in the run of B[0]
	valid  bool
}

type wideChar struct {
	i int
	r rune
}

// Raw returns the index in the chunk of character i (i may be len(B)).
func (t *Text) Raw(i int) int { return t.start + i*t.stride }

// String returns characters [i, j) as UTF-8.
func (t *Text) String(i, j int) string {
	i, j = max(i, 0), min(j, len(t.B))
	if i >= j {
		return ""
	}
	s := t.B[i:j]
	if t.enc == ASCII {
		if utf8.Valid(s) {
			return string(s)
		}
		return latin1(s)
	}
	if len(t.wide) == 0 {
		return latin1(s)
	}
	var b strings.Builder
	w := sort.Search(len(t.wide), func(n int) bool { return t.wide[n].i >= i+t.woff })
	for k := i; k < j; k++ {
		if w < len(t.wide) && t.wide[w].i == k+t.woff {
			b.WriteRune(t.wide[w].r)
			w++
			continue
		}
		b.WriteRune(rune(t.B[k]))
	}
	return b.String()
}

func latin1(s []byte) string {
	ascii := true
	for _, c := range s {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(s)
	}
	r := make([]rune, len(s))
	for i, c := range s {
		r[i] = rune(c)
	}
	return string(r)
}

// isTextByte reports whether b can be part of text in one-byte form.
func isTextByte(b byte) bool {
	return b >= 0x20 && b != 0x7f || b == '\t' || b == '\n' || b == '\r'
}

// isTextUnit reports whether a UTF-16 code unit can be part of text:
// Latin-1 text, Latin extended to Arabic, general punctuation, box drawing.
func isTextUnit(u uint16) bool {
	switch {
	case u < 0x100:
		return isTextByte(byte(u)) && (u < 0x80 || u >= 0xa0)
	case u < 0x800, u >= 0x2000 && u < 0x2070, u >= 0x2500 && u < 0x2580:
		return true
	}
	return false
}

// run is a maximal run of text characters in one encoding and phase,
// narrowed once per chunk (for ASCII, the chunk's own bytes).
type run struct {
	from, to int // chunk indexes: [from, to)
	stride   int
	enc      Encoding
	b        []byte
	wide     []wideChar // indexes into b
}

// textSpan returns the chunk indexes [from, to) of the text around at in
// enc: at most back characters before at and fwd from it (no bound when
// negative), stopping at bytes or code units that cannot be text. A
// console cell's attribute must look like one too: colours in its low
// byte (never black on black for text), nothing in its high byte.
func textSpan(data []byte, at int, enc Encoding, back, fwd int) (from, to int) {
	from, to = at, at
	if enc == ASCII || enc == Binary {
		for n := 0; n != back && from > 0 && isTextByte(data[from-1]); n++ {
			from--
		}
		for n := 0; n != fwd && to < len(data) && isTextByte(data[to]); n++ {
			to++
		}
		return from, to
	}
	st := enc.Stride()
	isText := func(p int) bool {
		if !isTextUnit(uint16(data[p]) | uint16(data[p+1])<<8) {
			return false
		}
		return enc != Cells || p+4 <= len(data) && data[p+2] != 0 && data[p+3] == 0
	}
	for n := 0; n != back && from-st >= 0 && isText(from-st); n++ {
		from -= st
	}
	for n := 0; n != fwd && to+2 <= len(data) && isText(to); n++ {
		to += st
	}
	return from, to
}

// narrow appends the characters of data[from:to] (stride st) to b, one
// byte each, and those beyond Latin-1 to wide.
func narrow(data []byte, from, to, st int, b []byte, wide []wideChar) ([]byte, []wideChar) {
	for p := from; p < to && p+2 <= len(data); p += st {
		u := uint16(data[p]) | uint16(data[p+1])<<8
		if u >= 0x100 {
			wide = append(wide, wideChar{len(b), rune(u)})
			u = '?'
		}
		b = append(b, byte(u))
	}
	return b, wide
}

// runAt returns the run of text that holds chunk index at, from the cache
// when a previous candidate of the chunk lies in the same run.
func (in *Input) runAt(at int, enc Encoding) *run {
	if enc == Binary {
		enc = ASCII
	}
	st := enc.Stride()
	slot := &in.runs[int(enc)*4+at%st]
	if slot.b != nil && slot.enc == enc && at >= slot.from && at < slot.to {
		return slot
	}
	slot.enc, slot.stride = enc, st
	from, to := textSpan(in.Data, at, enc, -1, -1)
	to = max(to, at+st) // the anchor itself, even when it is not text (raw)
	if enc == ASCII {
		slot.from, slot.to, slot.b, slot.wide = from, to, in.Data[from:to], slot.wide[:0]
		return slot
	}
	slot.b, slot.wide = narrow(in.Data, from, to, st, slot.b[:0], slot.wide[:0])
	if enc == Cells {
		breakRows(slot.b, (at-from)/st, in.start)
	}
	slot.from, slot.to = from, from+len(slot.b)*st
	return slot
}

// Local returns the text around the anchor like Text, but looks at most
// back characters before it and fwd after it (past the anchor's start) and
// shares nothing with other candidates: for carvers of short tokens, which
// would otherwise narrow whole runs of text for each candidate.
func (in *Input) Local(back, fwd int) *Text {
	t := &in.text
	st := in.Enc.Stride()
	from, to := textSpan(in.Data, in.At, in.Enc, back, fwd)
	t.valid, t.enc, t.stride, t.start, t.woff = true, in.Enc, st, from, 0
	if st == 1 {
		t.B, t.At, t.wide = in.Data[from:to], in.At-from, t.wide[:0]
		return t
	}
	in.local, t.wide = narrow(in.Data, from, to, st, in.local[:0], t.wide[:0])
	t.B, t.At = in.local, (in.At-from)/st
	return t
}

func (t *Text) build(in *Input, back, fwd int) {
	r := in.runAt(in.At, in.Enc)
	st := r.stride
	ai := (in.At - r.from) / st
	i := max(0, ai-back)
	j := min(len(r.b), ai+fwd)
	t.valid, t.enc, t.stride = true, r.enc, st
	t.B, t.At, t.start = r.b[i:j], ai-i, r.from+i*st
	t.wide, t.woff = r.wide, i
}

// consoleWidths are the screen widths tried for console cells, smallest
// first: choosing a divisor of the real width only adds breaks in padding.
var consoleWidths = []int{80, 90, 100, 120, 132, 140, 150, 160, 200, 240, 250, 300}

// breakRows turns console rows into lines in place: screen rows have no
// line ends, only padding, so the last cell of each row, when it is a
// space, becomes '\n' (a full row continues on the next, as the console
// shows it). Rows are tried starting at the anchor and one cell before it
// (when the anchor starts a line) and where runs of spaces end (a line
// after padding).
func breakRows(b []byte, anchor int, start bool) {
	phases := []int{anchor, anchor - 1}
	seen := map[int]bool{}
	run := 0
	for i, c := range b {
		if c == ' ' {
			run++
			continue
		}
		if run >= 4 && len(seen) < 64 && i-anchor < 64*80 && anchor-i < 64*80 {
			if !seen[i] {
				seen[i] = true
				phases = append(phases, i)
			}
		}
		run = 0
	}
	// Widths are tried from the smallest; a width fits when nine rows in
	// ten that are not blank end in a space (wrong widths cut lines). For
	// the first width that fits, a row start at the anchor wins if it fits;
	// else the start that cuts the fewest lines after padding (a start
	// inside the indentation of most lines cuts those in column 0), then
	// the most rows that end in two spaces or more, then the most padding
	// at the ends of rows.
	type cand struct{ w, r, v, n2, pad int }
	better := func(c, d cand) bool {
		if d.w == 0 || c.v != d.v {
			return d.w == 0 || c.v < d.v
		}
		return c.n2 > d.n2 || c.n2 == d.n2 && c.pad > d.pad
	}
	var best cand
	for _, w := range consoleWidths {
		tried := map[int]bool{}
		var fit, fitAnchor, any cand
		for pi, r := range phases {
			r = ((r % w) + w) % w
			if tried[r] {
				continue
			}
			tried[r] = true
			base := anchor - anchor%w + r - 1
			n, n2, v, total, pad := 0, 0, 0, 0, 0
			for k := -64; k <= 64; k++ { // rows within 64 of the anchor
				i := base + k*w
				if i < 0 || i >= len(b) {
					continue
				}
				p := 0
				for j := i; p < w && j >= 0 && b[j] == ' '; j-- {
					p++
				}
				if p >= w || i-w+1 < 0 {
					continue // a blank row (or one cut by the run) says nothing
				}
				total++
				if p == 0 {
					// A word at the end of a row after a gap: the start of
					// the next line, cut (a wrapped line has no gap).
					j := i
					for j > i-w+1 && b[j] != ' ' {
						j--
					}
					g := 0
					for ; g < 4 && j-g > i-w+1 && b[j-g] == ' '; g++ {
					}
					if g >= 4 {
						v++
					}
				}
				if p > 0 {
					n++
				}
				if p > 1 {
					n2++
				}
				pad += p
			}
			if n < 3 {
				continue
			}
			c := cand{w, r, v, n2, pad}
			if better(c, any) {
				any = c
			}
			if 10*n >= 9*total {
				if better(c, fit) {
					fit = c
				}
				if start && pi < 2 && better(c, fitAnchor) {
					fitAnchor = c
				}
			}
		}
		if fitAnchor.w != 0 {
			best = fitAnchor
			break
		}
		if fit.w != 0 {
			best = fit
			break
		}
		if better(any, best) {
			best = any
		}
	}
	bestW, bestR := best.w, best.r
	if bestW == 0 {
		return
	}
	for i := (bestR + bestW - 1) % bestW; i < len(b); i += bestW {
		if b[i] == ' ' {
			b[i] = '\n'
		}
	}
}

// excerpt returns the record's text with whitespace collapsed, at most
// maxExcerpt characters.
func excerpt(raw []byte, enc Encoding) string {
	const maxExcerpt = 240
	var b strings.Builder
	n, space := 0, false
	put := func(r rune) bool {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			space = n > 0
			return true
		}
		if r < 0x20 || r == 0x7f {
			r = '.'
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
		return n < maxExcerpt
	}
	switch enc {
	case Binary:
		return ""
	case ASCII:
		for len(raw) > 0 {
			r, size := utf8.DecodeRune(raw)
			if r == utf8.RuneError && size <= 1 {
				r, size = rune(raw[0]), 1
			}
			raw = raw[size:]
			if !put(r) {
				break
			}
		}
	default:
		st := enc.Stride()
		for p := 0; p+2 <= len(raw); p += st {
			if !put(rune(uint16(raw[p]) | uint16(raw[p+1])<<8)) {
				break
			}
		}
	}
	return b.String()
}
