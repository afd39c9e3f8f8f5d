package carve

import (
	"strings"
)

// Environment blocks: NAME=value strings separated by NUL (a process's
// environment block, UTF-16LE or ANSI) or by line ends (the output of
// `set`). A record needs at least three variables, one of them a well-known
// Windows name (the anchors).

type envCarver struct{}

// envAnchors are variables that every Windows environment has (a block
// of three variables or more is found from any of them).
var envAnchors = []string{"COMPUTERNAME=", "ComSpec=", "SystemRoot=", "USERNAME=", "PATHEXT="}

func (envCarver) Spec() Spec {
	var a []Anchor
	for _, s := range envAnchors {
		a = append(a, Anchor{Pattern: s, Forms: Plain})
	}
	return Spec{Name: "env", Anchors: a, Back: 32 << 10, Forward: 32 << 10,
		Summary: []string{"computername", "username", "userdomain"}}
}

const maxEnvVars = 4096

// envVar reports whether s looks like NAME=value. Names may start with
// '=' (the per-drive current directories, "=C:=C:\").
func envVar(s string) bool {
	if len(s) < 2 || len(s) > 32767 {
		return false
	}
	i := strings.IndexByte(s[1:], '=')
	if i < 0 {
		return false
	}
	name := s[:i+1]
	for j := 0; j < len(name); j++ {
		c := name[j]
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	for j := i + 2; j < len(s); j++ {
		if s[j] < 0x20 && s[j] != '\t' {
			return false
		}
	}
	return true
}

func (envCarver) Decode(in *Input) (int, int, Fields, bool) {
	st := in.Enc.Stride()
	data := in.Data
	// The variable must start a string: NUL or a line end before it.
	if in.At >= st {
		c := charAt(data, in.At-st, in.Enc)
		if c != 0 && c != '\n' {
			return 0, 0, nil, false
		}
		if c == '\n' {
			return envSet(in)
		}
	}
	// NUL-separated block: walk back over strings to the block start (a
	// double NUL or something that is not a variable), then forward.
	readStr := func(p int) (string, int) { // string at p, index of its NUL
		var b strings.Builder
		q := p
		for n := 0; q+st <= len(data) && n < 32768; n++ {
			c := charAt(data, q, in.Enc)
			if c == 0 {
				return b.String(), q
			}
			if c < 0x20 && c != '\t' {
				return "", -1
			}
			b.WriteRune(c)
			q += st
		}
		return "", -1
	}
	start := in.At
	lo := max(0, in.At-in.back*st)
	for n := 0; n < maxEnvVars; n++ {
		// start-st is the NUL that ends the previous string; a second NUL
		// before it starts the block.
		if start-2*st < lo || charAt(data, start-2*st, in.Enc) == 0 {
			break
		}
		p := start - 2*st
		for p-st >= lo && charAt(data, p-st, in.Enc) != 0 && isEnvChar(charAt(data, p-st, in.Enc)) {
			p -= st
		}
		if p-st < lo {
			break
		}
		s, _ := readStr(p)
		if !envVar(s) {
			// Heap bytes may run into the block's first string: keep the
			// variable that ends it.
			if k := varSuffix(s); k > 0 {
				start = p + k*st
			}
			break
		}
		start = p
		if charAt(data, p-st, in.Enc) != 0 {
			break // not text before it: the block's first string
		}
	}
	var vars []string
	end := start
	for p := start; len(vars) < maxEnvVars; {
		s, nul := readStr(p)
		if nul < 0 || !envVar(s) {
			break
		}
		vars = append(vars, s)
		end = nul
		p = nul + st
		if p+st > len(data) || charAt(data, p, in.Enc) == 0 {
			end = min(p, len(data)) // include the block's final NUL
			break
		}
		if p-in.At > in.fwd*st {
			break
		}
	}
	if len(vars) < 3 || start > in.At || end <= in.At {
		return 0, 0, nil, false
	}
	return start, end, envFields("block", vars), true
}

// envSet decodes the output of `set`: one variable a line.
func envSet(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	var vars []string
	var ls []line
	s, e := lineAt(t.B, t.At)
	if !envVar(t.String(s, e)) {
		return 0, 0, nil, false
	}
	first := s
	for p := prevStart(t.B, s); p >= 0 && len(vars) < maxEnvVars; p = prevStart(t.B, p) {
		ps, pe := lineAt(t.B, p)
		if !envVar(t.String(ps, pe)) {
			break
		}
		first = ps
	}
	for p := first; p >= 0 && len(vars) < maxEnvVars; {
		ps, pe := lineAt(t.B, p)
		str := t.String(ps, pe)
		if !envVar(str) {
			break
		}
		vars = append(vars, str)
		ls = append(ls, line{s: ps, e: pe})
		p = nextStart(t.B, pe)
	}
	if len(vars) < 3 {
		return 0, 0, nil, false
	}
	st, en := span(t, ls)
	return st, en, envFields("set", vars), true
}

func envFields(form string, vars []string) Fields {
	f := Fields{{"form", form}, {"count", len(vars)}}
	for _, k := range []string{"COMPUTERNAME", "USERNAME", "USERDOMAIN", "USERPROFILE", "LOGONSERVER", "PROCESSOR_ARCHITECTURE"} {
		for _, v := range vars {
			if len(v) > len(k) && v[len(k)] == '=' && strings.EqualFold(v[:len(k)], k) {
				f = f.add(strings.ToLower(k), v[len(k)+1:])
				break
			}
		}
	}
	return append(f, Field{"variables", vars})
}

// varSuffix returns the index in s (in characters) of a NAME=value that
// ends s after other bytes, or 0: the name is the run of letters, digits,
// '_', '(', ')' and '-' before the first '=' that has one.
func varSuffix(s string) int {
	r := []rune(s)
	for e := 1; e < len(r); e++ {
		if r[e] != '=' {
			continue
		}
		b := e
		for b > 0 && (r[b-1] < 0x80 && (isAlnum(byte(r[b-1])) || strings.ContainsRune("_()-", r[b-1]))) {
			b--
		}
		if b == e || b == 0 {
			return 0
		}
		if envVar(string(r[b:])) {
			return b
		}
		return 0
	}
	return 0
}

// isEnvChar reports whether c can be part of a variable.
func isEnvChar(c rune) bool {
	return c >= 0x20 && c != 0x7f && c < 0xd800 || c == '\t'
}

// charAt returns the character at chunk index p in encoding enc.
func charAt(data []byte, p int, enc Encoding) rune {
	if enc == UTF16LE || enc == Cells {
		return rune(uint16(data[p]) | uint16(data[p+1])<<8)
	}
	return rune(data[p])
}
