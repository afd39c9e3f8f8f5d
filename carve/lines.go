package carve

import (
	"strconv"
	"strings"
)

// line is one line of a Text: characters [s, e) without the line end.
type line struct {
	s, e int
	kind int      // set by the classifier
	m    []string // classifier captures
}

// lineAt returns the bounds of the line of b that holds i.
func lineAt(b []byte, i int) (s, e int) {
	s, e = i, i
	for s > 0 && b[s-1] != '\n' {
		s--
	}
	for e < len(b) && b[e] != '\n' {
		e++
	}
	if e > s && b[e-1] == '\r' {
		e--
	}
	return s, e
}

// nextStart returns the start of the line after the one ending at e, or
// -1 at the end of b.
func nextStart(b []byte, e int) int {
	for e < len(b) && b[e] != '\n' {
		e++
	}
	if e >= len(b) {
		return -1
	}
	return e + 1
}

// prevStart returns the start of the line before the one starting at s, or
// -1 at the start of b.
func prevStart(b []byte, s int) int {
	if s <= 0 {
		return -1
	}
	s--
	for s > 0 && b[s-1] != '\n' {
		s--
	}
	return s
}

// blankKind marks a blank line in a block.
const blankKind = -1

// classifier says whether a line belongs to a block and of which kind;
// captures go with it.
type classifier func(s string) (kind int, m []string, ok bool)

// block collects the lines around the anchor's line that the classifier
// accepts, allowing up to maxBlank blank lines in a row inside the block.
// Blank lines at either end are dropped.
func block(t *Text, classify classifier, maxBlank int) []line {
	b := t.B
	s, e := lineAt(b, t.At)
	kind, m, ok := classify(t.String(s, e))
	if !ok {
		return nil
	}
	var before []line
	blanks := 0
	for p := prevStart(b, s); p >= 0; p = prevStart(b, p) {
		ps, pe := lineAt(b, p)
		str := t.String(ps, pe)
		if strings.TrimSpace(str) == "" {
			if blanks++; blanks > maxBlank {
				break
			}
			before = append(before, line{ps, pe, blankKind, nil})
			continue
		}
		k, pm, ok := classify(str)
		if !ok {
			break
		}
		blanks = 0
		before = append(before, line{ps, pe, k, pm})
	}
	var out []line
	for i := len(before) - 1; i >= 0; i-- {
		if len(out) == 0 && before[i].kind == blankKind {
			continue
		}
		out = append(out, before[i])
	}
	out = append(out, line{s, e, kind, m})
	blanks = 0
	for n := nextStart(b, e); n >= 0; {
		ns, ne := lineAt(b, n)
		str := t.String(ns, ne)
		if strings.TrimSpace(str) == "" {
			if blanks++; blanks > maxBlank {
				break
			}
			out = append(out, line{ns, ne, blankKind, nil})
		} else {
			k, nm, ok := classify(str)
			if !ok {
				break
			}
			blanks = 0
			out = append(out, line{ns, ne, k, nm})
		}
		n = nextStart(b, ne)
	}
	for len(out) > 0 && out[len(out)-1].kind == blankKind {
		out = out[:len(out)-1]
	}
	return out
}

// span returns the chunk indexes of a block of lines.
func span(t *Text, ls []line) (int, int) {
	return t.Raw(ls[0].s), t.Raw(ls[len(ls)-1].e)
}

// number parses a count or size written with thousands separators
// ("3,451,928,576", "3.451.928.576", "3 451 928 576").
func number(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == ',' || c == '.' || c == ' ' || c == '\u00a0':
		default:
			return 0, false
		}
	}
	if b.Len() == 0 || b.Len() > 18 {
		return 0, false
	}
	n, err := strconv.ParseInt(b.String(), 10, 64)
	return n, err == nil
}

// atoi parses a small decimal number.
func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}
