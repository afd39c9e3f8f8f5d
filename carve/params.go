package carve

import (
	"encoding/binary"
	"github.com/remnant-forensics/remnant/pkg/wstr"
	"strings"

	"github.com/remnant-forensics/remnant/pkg/render"
)

// RTL_USER_PROCESS_PARAMETERS blocks found by structure, without page
// tables. The anchor is a UTF-16 drive path ("C:\..."), which every block
// holds (current directory, image path); the decode step looks before it
// for a header whose UNICODE_STRING for that path has the path's length
// and a buffer that points at it: an offset from the block (not
// normalized) or an address that, less the path's offset, gives the
// block's address (normalized). Every other string of the header must then
// lie inside the block.
//
// Offsets: _RTL_USER_PROCESS_PARAMETERS of Windows XP to 10, x86 and x64
// (the same in every build of corpus/layouts/vergilius-offsets.json).

type paramsLayout struct {
	ptr                                                         int // pointer size
	usSize                                                      int // sizeof(UNICODE_STRING)
	minSize                                                     int // the fixed part: strings start after it
	curDir, dllPath, image, cmdLine, env, title, desktop, shell int
}

var paramsLayouts = []paramsLayout{
	{ptr: 4, usSize: 8, minSize: 0x290, curDir: 0x24, dllPath: 0x30, image: 0x38, cmdLine: 0x40, env: 0x48, title: 0x70, desktop: 0x78, shell: 0x80},
	{ptr: 8, usSize: 16, minSize: 0x3f0, curDir: 0x38, dllPath: 0x50, image: 0x60, cmdLine: 0x70, env: 0x80, title: 0xb0, desktop: 0xc0, shell: 0xd0},
}

const (
	paramsMaxBack = 16 << 10 // how far before a path its header may be
	paramsMaxSize = 1 << 20
)

type paramsCarver struct{}

func (paramsCarver) Spec() Spec {
	return Spec{
		Name:    "params",
		Anchors: []Anchor{{Pattern: `\a:\\`, Forms: FormUTF16}},
		Back:    paramsMaxBack / 2, Forward: 32 << 10,
		Summary: []string{"image_path", "command_line"},
		Binary:  true, TextField: "command_line",
	}
}

func u16(b []byte, i int) int { return int(binary.LittleEndian.Uint16(b[i:])) }
func u32(b []byte, i int) int { return int(binary.LittleEndian.Uint32(b[i:])) }

func ptrAt(b []byte, i, size int) uint64 {
	if size == 8 {
		return binary.LittleEndian.Uint64(b[i:])
	}
	return uint64(binary.LittleEndian.Uint32(b[i:]))
}

// utf16At decodes n bytes of UTF-16LE at i.
func utf16At(b []byte, i, n int) string {
	return wstr.Decode(b[i : i+n])
}

func (paramsCarver) Decode(in *Input) (int, int, Fields, bool) {
	data, s := in.Data, in.At
	// Length in bytes of the path, up to its NUL.
	l := 0
	for s+l+1 < len(data) && l < 0xfffe && (data[s+l] != 0 || data[s+l+1] != 0) {
		l += 2
	}
	// The current directory is the block's first string, right after the
	// fixed part (whose size grew by a few fields over the versions); the
	// image path follows the DLL path, which may be long, and names an
	// executable. Paths that are neither are tried cheaply.
	exe := l >= 10 && (strings.EqualFold(utf16At(data, s+l-8, 8), ".exe") || strings.EqualFold(utf16At(data, s+l-8, 8), ".com"))
	for _, lay := range paramsLayouts {
		for _, slot := range []int{lay.curDir, lay.image} {
			lo := max(0, s-lay.minSize-0x200)
			if slot == lay.image {
				if !exe {
					continue
				}
				lo = max(0, s-paramsMaxBack)
			}
			for q := s - lay.minSize; q >= lo; q -= 2 {
				if q+slot+4 > len(data) || u16(data, q+slot) != l || u16(data, q+slot+2) < l {
					continue
				}
				if f, size, ok := paramsAt(data, q, s, slot, lay); ok {
					return q, q + size, f, true
				}
			}
		}
	}
	return 0, 0, nil, false
}

// paramsAt validates a header at q whose string at slot is the path at s.
func paramsAt(data []byte, q, s, slot int, lay paramsLayout) (Fields, int, bool) {
	if q+lay.minSize > len(data) {
		return nil, 0, false
	}
	maxLen, length, flags := u32(data, q), u32(data, q+4), u32(data, q+8)
	if length < lay.minSize || length > maxLen || maxLen > paramsMaxSize || flags >= 0x100000 {
		return nil, 0, false
	}
	off := s - q
	bufOff := lay.ptr // UNICODE_STRING.Buffer: after Length, MaximumLength (and padding)
	buf := ptrAt(data, q+slot+bufOff, lay.ptr)
	var base uint64 // the block's address when normalized
	normalized := buf != uint64(off)
	if normalized {
		if buf < uint64(off) {
			return nil, 0, false
		}
		base = buf - uint64(off)
		if base == 0 || base%uint64(lay.ptr) != 0 {
			return nil, 0, false
		}
	}
	avail := min(length, len(data)-q)
	strs := map[int]string{}
	for _, o := range []int{lay.curDir, lay.dllPath, lay.image, lay.cmdLine, lay.title, lay.desktop, lay.shell} {
		n, m := u16(data, q+o), u16(data, q+o+2)
		if n%2 != 0 || n > m {
			return nil, 0, false
		}
		if n == 0 {
			continue
		}
		p := ptrAt(data, q+o+bufOff, lay.ptr)
		if p < base {
			return nil, 0, false
		}
		so := p - base
		if so < uint64(lay.minSize) || so+uint64(n) > uint64(length) {
			return nil, 0, false
		}
		if int(so)+n <= avail {
			strs[o] = utf16At(data, q+int(so), n)
		}
	}
	if strs[lay.image] == "" && strs[lay.curDir] == "" {
		return nil, 0, false
	}
	f := Fields{{"pointer_size", lay.ptr}, {"normalized", normalized}}
	if normalized {
		f = append(f, Field{"va", render.Hex(base)})
	}
	f = f.add("image_path", strs[lay.image]).add("command_line", strs[lay.cmdLine]).
		add("current_directory", strs[lay.curDir]).add("dll_path", strs[lay.dllPath]).
		add("window_title", strs[lay.title]).add("desktop_info", strs[lay.desktop]).
		add("shell_info", strs[lay.shell])
	if env := ptrAt(data, q+lay.env, lay.ptr); env != 0 {
		f = append(f, Field{"environment_va", render.Hex(env)})
		// The environment often follows the block; decode it when it is
		// in the chunk.
		if normalized && env >= base+uint64(length) && env-base < uint64(len(data)-q) {
			if vars := envBlockAt(data, q+int(env-base)); len(vars) > 0 {
				f = append(f, Field{"environment", vars})
			}
		}
	}
	return f, avail, true
}

// envBlockAt decodes a UTF-16 environment block at i (up to its double
// NUL, at most 64 KiB); nil unless every string is NAME=value.
func envBlockAt(data []byte, i int) []string {
	var vars []string
	end := min(len(data), i+64<<10)
	for i+1 < end {
		j := i
		for j+1 < end && (data[j] != 0 || data[j+1] != 0) {
			j += 2
		}
		if j+1 >= end {
			return nil
		}
		if j == i {
			break
		}
		v := utf16At(data, i, j-i)
		if !envVar(v) {
			return nil
		}
		vars = append(vars, v)
		i = j + 2
	}
	return vars
}
