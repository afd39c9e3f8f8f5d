package strings

import (
	"encoding/binary"
	"math/bits"
)

// The kernel classifies 64 bytes at a time into two bit masks, printable
// (P) and zero (Z), with SWAR arithmetic on 8-byte words, and finds runs in
// the masks with bit tricks: a UTF-16LE character at offset i is P[i] &&
// Z[i+1]. Runs are followed on three tracks: ASCII, and UTF-16LE at even and
// at odd offsets (GNU strings -e l resumes one byte after a failed code unit,
// so it finds runs at both alignments; runs of the two alignments never
// overlap).

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
	// gather moves the top bit of each byte of (m>>7) into the top byte.
	gather  = 0x0102040810204080
	evenBit = 0x5555555555555555
)

// classifier computes printable and zero masks.
type classifier struct {
	// The low printable range is 0x09 (tab) or 0x09..0x0d (all
	// whitespace, -w); wsEndByte is the first byte past it and wsEnd is
	// (0x80 - wsEndByte)×lsb.
	wsEnd     uint64
	wsEndByte byte
	table     [256]bool // printable bytes, for the scalar paths
}

// masksFunc computes the printable and zero masks of the len(data)/64
// blocks of data into p and z.
type masksFunc func(c *classifier, data []byte, p, z []uint64)

// fastMasks is the SIMD masksFunc used, set at init on CPUs that have one:
// the first of simdMasks.
var fastMasks masksFunc

// namedMasks is a masksFunc and its name.
type namedMasks struct {
	name string
	f    masksFunc
}

// simdMasks lists the SIMD masksFuncs this CPU can run, best first.
var simdMasks []namedMasks

// portableMasks is the masksFunc in pure Go.
func portableMasks(c *classifier, data []byte, p, z []uint64) {
	n := min(len(data)/64, len(p), len(z))
	for i := 0; i < n; i++ {
		p[i], z[i] = c.block(data[64*i : 64*i+64])
	}
}

func newClassifier(allWhitespace bool) classifier {
	var c classifier
	hi := byte(0x09)
	if allWhitespace {
		hi = 0x0d
	}
	c.wsEndByte = hi + 1
	c.wsEnd = (0x80 - uint64(hi) - 1) * lsb
	for b := 0; b < 256; b++ {
		c.table[b] = (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= int(hi))
	}
	return c
}

// word returns the printable and zero masks of the 8 bytes of w, one bit
// per byte (bit i for byte i).
func (c *classifier) word(w uint64) (p, z uint64) {
	lo7 := w &^ msb
	ge20 := lo7 + (0x80-0x20)*lsb
	ge7f := lo7 + 0x01*lsb
	ge09 := lo7 + (0x80-0x09)*lsb
	geWs := lo7 + c.wsEnd
	ge01 := lo7 + 0x7f*lsb
	pm := ((ge20 &^ ge7f) | (ge09 &^ geWs)) & msb &^ w
	zm := msb &^ (ge01 | w)
	return ((pm >> 7) * gather) >> 56, ((zm >> 7) * gather) >> 56
}

// block returns the masks of the 64 bytes b[0:64].
func (c *classifier) block(b []byte) (p, z uint64) {
	_ = b[63]
	for j := 0; j < 8; j++ {
		pw, zw := c.word(binary.LittleEndian.Uint64(b[8*j:]))
		p |= pw << (8 * j)
		z |= zw << (8 * j)
	}
	return p, z
}

// track follows runs of one kind (ASCII bytes, or UTF-16LE units at one
// alignment) across blocks.
type track struct {
	lane   uint64 // bits that are characters of this track: all, or every other
	top    int    // highest lane bit
	stride uint64 // bytes per character
	min    uint64 // minimum run length in characters
	active bool
	start  uint64 // offset of the active run's first byte
	runs   []span // runs found, in order
}

// span is a run of characters: bytes [start, end) of the view.
type span struct{ start, end uint64 }

func newTrack(stride, min int) track {
	t := track{stride: uint64(stride), min: uint64(min), lane: ^uint64(0), top: 63}
	if stride == 2 {
		t.lane, t.top = evenBit, 62
	}
	return t
}

// window finds the bits i of a block where characters i, i+s, …,
// i+(min-1)s are all set (s the stride), by doubling: the starts of runs of
// at least min characters that lie in the block.
type window struct {
	shifts [8]uint8
	n      int
	keep   uint64 // 0 when no run of min characters fits in a block
}

func newWindow(stride, min int) window {
	w := window{keep: ^uint64(0)}
	if (min-1)*stride >= 64 {
		w.keep = 0
		return w
	}
	k := 1
	for 2*k <= min {
		w.shifts[w.n] = uint8(k * stride)
		w.n++
		k *= 2
	}
	if k < min {
		w.shifts[w.n] = uint8((min - k) * stride)
		w.n++
	}
	return w
}

func (w *window) of(m uint64) uint64 {
	if w.n <= 3 { // unused steps shift by 0: m & m
		m &= m >> (w.shifts[0] & 63)
		m &= m >> (w.shifts[1] & 63)
		return m & (m >> (w.shifts[2] & 63)) & w.keep
	}
	for i := 0; i < w.n; i++ {
		m &= m >> (w.shifts[i] & 63)
	}
	return m & w.keep
}

func (t *track) reset() {
	t.active = false
	t.runs = t.runs[:0]
}

func (t *track) emit(start, end uint64) {
	if (end-start)/t.stride >= t.min {
		t.runs = append(t.runs, span{start, end})
	}
}

// close ends an active run at the end of the evidence.
func (t *track) close(end uint64) {
	if t.active {
		t.emit(t.start, t.start+(end-t.start)/t.stride*t.stride)
		t.active = false
	}
}

// block follows the track through one block whose character mask is m
// (lane bits only), whose window (see window) is w and whose bit 0 is at
// offset base; mNext is the next block's mask or an upper bound of it.
func (t *track) block(m, w, mNext, base uint64) {
	if t.active {
		if m == t.lane {
			return
		}
		e := bits.TrailingZeros64(^m&t.lane) & 63 // < 64: m != lane
		t.emit(t.start, base+uint64(e))
		t.active = false
		m &= ^uint64(0) << e
		w &= ^uint64(0) << e
	}
	for w != 0 {
		s := bits.TrailingZeros64(w) & 63 // w != 0
		rest := ^(m >> s) & (t.lane >> s)
		if rest == 0 {
			t.active, t.start = true, base+uint64(s)
			return
		}
		e := (s + bits.TrailingZeros64(rest)) & 63 // rest != 0 below bit 64-s
		t.runs = append(t.runs, span{base + uint64(s), base + uint64(e)})
		w &= ^uint64(0) << e
		m &= ^uint64(0) << e
	}
	if m&(1<<t.top) != 0 && t.mayGoOn(m, mNext) {
		t.activate(m, base)
	}
}

// mayGoOn reports whether the run at the top of a block whose character
// mask is m can be long enough given the next block's mask mNext (all lane
// bits when unknown).
func (t *track) mayGoOn(m, mNext uint64) bool {
	if mNext&t.lane == t.lane {
		return true
	}
	// Odd bits set for UTF-16LE: the counts are 2n+1 and 2n bits.
	n := uint64(bits.LeadingZeros64(^(m|^t.lane))+bits.TrailingZeros64(^(mNext|^t.lane))) / t.stride
	return n >= t.min
}

// activate makes the run at the top of a block active: m is the block's
// character mask, whose top lane bit is set.
func (t *track) activate(m, base uint64) {
	s := 0
	if z := ^m & t.lane; z != 0 {
		s = 63 - bits.LeadingZeros64(z) + int(t.stride)
	}
	t.active, t.start = true, base+uint64(s)
}

// segBlocks is the number of blocks whose masks are computed at once.
const segBlocks = 64

// kernel scans buffers for the enabled tracks.
type kernel struct {
	cls        classifier
	masksOf    masksFunc
	ascii, utf bool
	a          track
	u          [2]track // UTF-16LE runs starting at even, odd offsets
	wa, wu     window   // of ASCII, of UTF-16LE (both alignments at once)
	p, z       [segBlocks]uint64
	tail       [128]byte
}

func newKernel(opt *Options) *kernel {
	k := &kernel{
		cls:   newClassifier(opt.AllWhitespace),
		ascii: opt.Encodings&ASCII != 0,
		utf:   opt.Encodings&UTF16LE != 0,
		a:     newTrack(1, opt.MinLen),
	}
	k.masksOf = portableMasks
	if fastMasks != nil {
		k.masksOf = fastMasks
	}
	k.wa, k.wu = newWindow(1, opt.MinLen), newWindow(2, opt.MinLen)
	k.u[0] = newTrack(2, opt.MinLen)
	k.u[1] = newTrack(2, opt.MinLen)
	return k
}

func (k *kernel) reset() {
	k.a.reset()
	k.u[0].reset()
	k.u[1].reset()
}

// scan follows all tracks through data, whose first byte is at offset off.
// When final, data ends where the evidence ends and runs end there;
// otherwise runs still going at the end are left active.
func (k *kernel) scan(data []byte, off uint64, final bool) {
	n := len(data) &^ 63
	wa, wu := k.wa, k.wu // copies, kept in registers
	a, u := &k.a, &k.u
	for i := 0; i < len(data); {
		nb := 1
		if i < n {
			nb = min(segBlocks, (n-i)/64)
			k.masksOf(&k.cls, data[i:i+nb*64], k.p[:nb], k.z[:nb])
		} else {
			// Pad the tail: at the end of the evidence nothing is
			// printable; otherwise everything could be, so that runs
			// stay active.
			rest := len(data) - n
			b := k.tail[:64]
			copy(b, data[n:])
			for j := rest; j < 64; j++ {
				b[j] = 1
			}
			k.p[0], k.z[0] = k.cls.block(b)
			if !final {
				pad := ^uint64(0) << rest
				k.p[0] |= pad
				k.z[0] |= pad
			}
		}
		ps, zs := k.p[:nb], k.z[:nb]
		for j, p := range ps {
			if p == 0 && !a.active && !u[0].active && !u[1].active {
				continue // nothing printable: no run starts, none going on
			}
			pos := i + 64*j
			base := off + uint64(pos)
			// The next block's masks, all ones when unknown; of its
			// first byte, whether it is zero, which decides whether the
			// block's last byte is a UTF-16LE character.
			pNext, zn := ^uint64(0), ^uint64(0)
			var zNext uint64
			switch {
			case j+1 < nb:
				pNext, zn = ps[j+1], zs[j+1]
				zNext = zn & 1
			case pos+64 < len(data):
				if data[pos+64] == 0 {
					zNext = 1
				}
			case !final:
				zNext = 1 // unknown: let a run go on
			}
			// Tracks are called only when something can happen: an
			// active run, a window bit, or a run at the top of the block
			// that can be long enough with the next block.
			if k.ascii {
				if a.active {
					if p != ^uint64(0) {
						a.block(p, wa.of(p), pNext, base)
					}
				} else if p != 0 {
					if w := wa.of(p); w != 0 {
						a.block(p, w, pNext, base)
					} else if p>>63 != 0 && a.mayGoOn(p, pNext) {
						a.activate(p, base)
					}
				}
			}
			if !k.utf {
				continue
			}
			uc := p & (zs[j]>>1 | zNext<<63)
			if uc == 0 && !u[0].active && !u[1].active {
				continue
			}
			w := wu.of(uc)
			par := base & 1
			// An upper bound of the next block's UTF-16LE characters.
			uNext := pNext & (zn>>1 | 1<<63)
			if e, t := uc&evenBit, &u[par]; t.active || w&evenBit != 0 {
				if !t.active || e != evenBit {
					t.block(e, w&evenBit, uNext, base)
				}
			} else if e>>62 != 0 && t.mayGoOn(e, uNext) {
				t.activate(e, base)
			}
			if o, t := (uc>>1)&evenBit, &u[par^1]; t.active || (w>>1)&evenBit != 0 {
				if !t.active || o != evenBit {
					t.block(o, (w>>1)&evenBit, uNext>>1, base+1)
				}
			} else if o>>62 != 0 && t.mayGoOn(o, uNext>>1) {
				t.activate(o, base+1)
			}
		}
		i += 64 * nb
	}
	if final {
		end := off + uint64(len(data))
		a.close(end)
		u[0].close(end)
		u[1].close(end)
	}
}
