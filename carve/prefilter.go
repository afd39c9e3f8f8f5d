package carve

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// The prefilter finds every anchor of every carver in one pass. Each anchor
// is a short sequence of byte classes; one of its positions is its trigger,
// chosen so that the trigger bytes are few and rare (byteFreq). The scan
// loop takes the chunk eight bytes at a time and makes a mask of the
// trigger bytes among them from a 256-entry table; for each, the byte after
// it selects the anchors worth verifying (those whose next character it is
// in ASCII form, or, when it is 0, those searched in UTF-16 and cell form),
// and only those are verified, in those forms, at the start the trigger
// implies.

// bset is a set of bytes.
type bset [4]uint64

func (s *bset) add(b byte)      { s[b>>6] |= 1 << (b & 63) }
func (s *bset) has(b byte) bool { return s[b>>6]&(1<<(b&63)) != 0 }
func (s *bset) count() (n int) {
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

type compiledAnchor struct {
	classes []bset
	forms   Forms
	raw     bool
	start   bool
	carver  int // index in the scanner's carvers
	index   int // index in the carver's Spec.Anchors
	trig    int // trigger position
}

func compileAnchor(a Anchor, carver int) (compiledAnchor, error) {
	ca := compiledAnchor{forms: a.Forms, raw: a.Raw, start: a.Start, carver: carver}
	p := a.Pattern
	for i := 0; i < len(p); i++ {
		var s bset
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			i++
			switch p[i] {
			case 'd':
				for b := byte('0'); b <= '9'; b++ {
					s.add(b)
				}
			case 'a', 'w':
				for b := byte('a'); b <= 'z'; b++ {
					s.add(b)
					s.add(b - 32)
				}
				if p[i] == 'w' {
					for b := byte('0'); b <= '9'; b++ {
						s.add(b)
					}
					s.add('_')
					s.add('-')
				}
			case 's':
				s.add(' ')
				s.add('\t')
			case '\\':
				s.add('\\')
			default:
				return ca, fmt.Errorf("anchor %q: unknown escape \\%c", p, p[i])
			}
		} else {
			s.add(c)
			if a.Fold && (c|32) >= 'a' && (c|32) <= 'z' {
				s.add(c ^ 32)
			}
		}
		if !a.Raw && s.has(0) {
			return ca, fmt.Errorf("anchor %q: a text anchor cannot hold NUL", p)
		}
		ca.classes = append(ca.classes, s)
	}
	if len(ca.classes) == 0 {
		return ca, fmt.Errorf("empty anchor")
	}
	if !a.Raw && a.Forms == 0 {
		return ca, fmt.Errorf("anchor %q: no forms", p)
	}
	return ca, nil
}

// byteFreq is how often each byte occurs in process memory, per million
// bytes (at least 1): measured on Wine process dumps (cmd.exe, conhost.exe)
// and on the strings benchmark's memory-like mix of executables, text,
// UTF-16 text, zero pages and random bytes.
var byteFreq = [256]uint32{
	437414, 17313, 14909, 6706, 7871, 10732, 6269, 2425, 5777, 3614, 5003, 2658, 2605, 2301, 4155, 5849,
	3782, 1917, 1621, 2170, 2131, 1416, 1303, 1155, 2331, 1258, 1009, 980, 1307, 937, 973, 2101,
	19741, 1012, 1630, 1243, 5140, 1541, 1145, 1084, 2606, 2081, 2056, 970, 1724, 1746, 2189, 1751,
	4168, 2692, 1366, 1384, 1347, 1147, 951, 836, 1662, 1450, 1466, 1694, 1702, 1654, 1141, 3155,
	2330, 4770, 2386, 2785, 4710, 3825, 1800, 1908, 10122, 3927, 1137, 1114, 4336, 1989, 1931, 1848,
	3164, 1195, 2750, 2933, 3169, 2010, 1382, 1315, 1820, 1137, 715, 1139, 1178, 1276, 895, 6320,
	1133, 6593, 1954, 4045, 4485, 11667, 4243, 2512, 3085, 6969, 971, 1316, 4712, 3180, 6864, 6161,
	4006, 1060, 6633, 6254, 10725, 4360, 1845, 1634, 1742, 2142, 955, 1967, 1108, 992, 807, 1340,
	1820, 788, 970, 3063, 2289, 2911, 841, 659, 1033, 6860, 571, 4907, 820, 3108, 701, 624,
	2667, 1472, 556, 615, 790, 618, 706, 576, 730, 546, 544, 550, 752, 590, 663, 1638,
	963, 576, 547, 569, 669, 569, 556, 519, 844, 592, 626, 574, 767, 623, 1407, 650,
	858, 531, 536, 547, 807, 653, 973, 711, 1051, 657, 924, 714, 718, 761, 882, 736,
	4022, 1241, 1225, 1754, 1219, 1119, 1379, 2305, 1131, 1126, 865, 863, 1176, 838, 839, 953,
	1318, 791, 946, 771, 695, 646, 710, 645, 3269, 664, 629, 747, 1299, 1211, 1201, 1442,
	1248, 661, 704, 620, 1157, 724, 685, 724, 3397, 1740, 723, 1062, 1168, 736, 784, 954,
	1177, 679, 757, 1022, 895, 752, 1138, 921, 1257, 798, 1143, 976, 1112, 1140, 1582, 21193,
}

// classFreq estimates how often a byte of class s occurs (per million).
func classFreq(s *bset) uint64 {
	var f uint64
	for b := 0; b < 256; b++ {
		if s.has(byte(b)) {
			f += uint64(byteFreq[b])
		}
	}
	return f
}

type ref struct {
	anchor int32
	k      int16 // trigger position in the anchor
	forms  uint8 // encodings to verify: 1<<ASCII (or Binary), 1<<UTF16LE, 1<<Cells
}

type matcher struct {
	anchors []compiledAnchor
	trig    [256]uint8
	trig2   [1 << 16]uint8 // bit 0: the low byte is a trigger; bit 1: the high byte
	// pass has a bit for each pair (trigger, next byte) worth a closer
	// look: some anchor in ASCII form, or next byte 0.
	pass [1 << 16 / 64]uint64
	refs [256][]ref // by trigger byte: every anchor, every form
	// By trigger byte and the next character: ASCII (and raw) anchors by
	// the byte after the trigger, UTF-16 anchors by the byte two after
	// (the byte after is 0), console-cell anchors by the byte four after.
	narrow, utf16, cells [256]*[256][]ref
}

func newMatcher(anchors []compiledAnchor) *matcher {
	m := &matcher{anchors: anchors}
	chooseTriggers(m.anchors)
	add := func(t *[256]*[256][]ref, b, next byte, r ref) {
		if t[b] == nil {
			t[b] = new([256][]ref)
		}
		t[b][next] = append(t[b][next], r)
	}
	for ai := range m.anchors {
		a := &m.anchors[ai]
		k := a.trig
		last := k == len(a.classes)-1
		for b := 0; b < 256; b++ {
			if !a.classes[k].has(byte(b)) {
				continue
			}
			m.trig[b] = 1
			all := uint8(a.forms) & (1<<UTF16LE | 1<<Cells)
			if a.raw || a.forms&FormASCII != 0 {
				all |= 1 << ASCII
			}
			if a.raw {
				all = 1 << ASCII
			}
			m.refs[b] = append(m.refs[b], ref{int32(ai), int16(k), all})
			for n := 0; n < 256; n++ {
				if !last && !a.classes[k+1].has(byte(n)) {
					continue
				}
				r := ref{int32(ai), int16(k), 0}
				if a.raw || a.forms&FormASCII != 0 {
					r.forms = 1 << ASCII
					add(&m.narrow, byte(b), byte(n), r)
				}
				if !a.raw && a.forms&FormUTF16 != 0 {
					r.forms = 1 << UTF16LE
					add(&m.utf16, byte(b), byte(n), r)
				}
				if !a.raw && a.forms&FormCells != 0 {
					r.forms = 1 << Cells
					add(&m.cells, byte(b), byte(n), r)
				}
			}
		}
	}
	for p := range m.trig2 {
		m.trig2[p] = m.trig[p&0xff] | m.trig[p>>8]<<1
		c, n := p>>8, p&0xff
		if m.trig[c] != 0 && (n == 0 || m.narrow[c] != nil && len(m.narrow[c][n]) > 0) {
			m.pass[p>>6] |= 1 << (p & 63)
		}
	}
	return m
}

// chooseTriggers picks each anchor's trigger position so that the set of
// trigger bytes is small and rare: greedily, the class that covers the
// most anchors not yet covered per unit of added frequency. The last
// position is avoided when there is another (the byte after a trigger is
// checked against a pair table).
func chooseTriggers(anchors []compiledAnchor) {
	usable := func(a *compiledAnchor, k int) bool { return k < len(a.classes)-1 || len(a.classes) == 1 }
	var chosen bset
	covered := make([]bool, len(anchors))
	left := len(anchors)
	for left > 0 {
		bestF, bestN := uint64(0), 0
		var best bset
		for ai := range anchors {
			if covered[ai] {
				continue
			}
			a := &anchors[ai]
			for k := range a.classes {
				if !usable(a, k) {
					continue
				}
				c := a.classes[k]
				var add bset
				for w := range c {
					add[w] = c[w] &^ chosen[w]
				}
				f := classFreq(&add) + 1
				n := 0
				for bi := range anchors {
					if covered[bi] {
						continue
					}
					b := &anchors[bi]
					for kk := range b.classes {
						if usable(b, kk) && subset(&b.classes[kk], &c, &chosen) {
							n++
							break
						}
					}
				}
				if n > 0 && (bestN == 0 || f*uint64(bestN) < bestF*uint64(n)) {
					best, bestF, bestN = c, f, n
				}
			}
		}
		for w := range best {
			chosen[w] |= best[w]
		}
		for ai := range anchors {
			if covered[ai] {
				continue
			}
			a := &anchors[ai]
			for k := range a.classes {
				if usable(a, k) && subset(&a.classes[k], &chosen, nil) {
					covered[ai] = true
					a.trig = k
					left--
					break
				}
			}
		}
	}
	// Among the positions covered by the chosen bytes, take the rarest.
	for ai := range anchors {
		a := &anchors[ai]
		bf := classFreq(&a.classes[a.trig])
		for k := range a.classes {
			if usable(a, k) && subset(&a.classes[k], &chosen, nil) {
				if f := classFreq(&a.classes[k]); f < bf {
					a.trig, bf = k, f
				}
			}
		}
	}
}

// subset reports whether x ⊆ y ∪ z (z may be nil).
func subset(x, y, z *bset) bool {
	for w := range x {
		u := y[w]
		if z != nil {
			u |= z[w]
		}
		if x[w]&^u != 0 {
			return false
		}
	}
	return true
}

type hit struct {
	pos    int // index of the anchor's first byte
	anchor int32
	enc    Encoding
}

// find appends the anchors whose first byte lies in data[from:to] (and
// that fit in data) to hits.
func (m *matcher) find(data []byte, from, to int, hits []hit) []hit {
	to = min(to, len(data))
	tr := &m.trig
	t2 := &m.trig2
	i := from
	// Sixteen bytes at a time: a mask of the trigger bytes among them.
	for ; i+16 <= to; i += 16 {
		d := data[i : i+16 : i+16]
		w0 := binary.LittleEndian.Uint64(d)
		w1 := binary.LittleEndian.Uint64(d[8:])
		if w0|w1 == 0 {
			continue
		}
		mask := uint(t2[uint16(w0)]) | uint(t2[uint16(w0>>16)])<<2 |
			uint(t2[uint16(w0>>32)])<<4 | uint(t2[uint16(w0>>48)])<<6 |
			uint(t2[uint16(w1)])<<8 | uint(t2[uint16(w1>>16)])<<10 |
			uint(t2[uint16(w1>>32)])<<12 | uint(t2[uint16(w1>>48)])<<14
		for mask != 0 {
			j := i + bits.TrailingZeros(mask)
			mask &= mask - 1
			// Most triggers are followed by a byte that starts no anchor
			// in ASCII form (and is not 0): rejected here, without a call.
			if j+4 < len(data) {
				if p := uint(data[j])<<8 | uint(data[j+1]); m.pass[p>>6]&(1<<(p&63)) == 0 {
					continue
				}
			}
			hits = m.at(data, from, j, hits)
		}
	}
	for ; i < to; i++ {
		if tr[data[i]] != 0 {
			hits = m.at(data, from, i, hits)
		}
	}
	return hits
}

// at checks the trigger byte at i: the anchors that it and the next
// character can start, in the form that next character implies.
func (m *matcher) at(data []byte, from, i int, hits []hit) []hit {
	c := data[i]
	if i+4 >= len(data) {
		return m.verify(data, from, i, m.refs[c], hits) // near the end: every form
	}
	n := data[i+1]
	if t := m.narrow[c]; t != nil {
		if l := t[n]; len(l) > 0 {
			hits = m.verify(data, from, i, l, hits)
		}
	}
	if n != 0 {
		return hits
	}
	if t := m.utf16[c]; t != nil {
		if l := t[data[i+2]]; len(l) > 0 {
			hits = m.verify(data, from, i, l, hits)
		}
	}
	if t := m.cells[c]; t != nil {
		if l := t[data[i+4]]; len(l) > 0 {
			hits = m.verify(data, from, i, l, hits)
		}
	}
	return hits
}

// verify checks the anchors of refs triggered by data[i].
func (m *matcher) verify(data []byte, from, i int, refs []ref, hits []hit) []hit {
	for _, r := range refs {
		a := &m.anchors[r.anchor]
		n, k := len(a.classes), int(r.k)
		if r.forms&(1<<ASCII) != 0 {
			if s := i - k; s >= from && s+n <= len(data) && matchAt(data, s, 1, a.classes, false) {
				enc := ASCII
				if a.raw {
					enc = Binary
				}
				hits = append(hits, hit{s, r.anchor, enc})
			}
		}
		if r.forms&(1<<UTF16LE) != 0 {
			if s := i - 2*k; s >= from && s+2*n <= len(data) && matchAt(data, s, 2, a.classes, true) {
				hits = append(hits, hit{s, r.anchor, UTF16LE})
			}
		}
		if r.forms&(1<<Cells) != 0 {
			if s := i - 4*k; s >= from && s+4*n-2 <= len(data) && matchAt(data, s, 4, a.classes, true) {
				hits = append(hits, hit{s, r.anchor, Cells})
			}
		}
	}
	return hits
}

// matchAt reports whether the classes match data at s with the given
// stride; with wide, the byte after each character must be 0.
func matchAt(data []byte, s, stride int, classes []bset, wide bool) bool {
	for j := range classes {
		p := s + j*stride
		if !classes[j].has(data[p]) {
			return false
		}
		if wide && data[p+1] != 0 {
			return false
		}
	}
	return true
}
