package win

import (
	"encoding/binary"
	"github.com/remnant-forensics/remnant/pkg/wstr"
	"strings"
)

// xpParamsVA is where the kernel put the initial RTL_USER_PROCESS_PARAMETERS
// of a process on x86 NT 4 to Server 2003 (the first allocation above the
// 64 KiB guard: 0x20000).
const xpParamsVA = 0x20000

// rtlUserProcParamsNormalized is the Flags bit set when the string Buffers
// are absolute pointers rather than offsets from the block.
const rtlUserProcParamsNormalized = 1

// Params is RTL_USER_PROCESS_PARAMETERS.
type Params struct {
	Addr   uint64 `json:"addr"`
	Source string `json:"source"` // "peb", or "fixed" for the XP/2003 block at 0x20000

	MaximumLength uint32 `json:"maximum_length"`
	Length        uint32 `json:"length"`
	Flags         uint32 `json:"flags"`
	// Normalized is Flags bit 0: string Buffers are absolute. When clear
	// they are offsets from Addr; the Buffer fields here are always
	// absolute.
	Normalized bool `json:"normalized"`

	CurrentDirectory UnicodeString `json:"current_directory"`
	DllPath          UnicodeString `json:"dll_path"`
	ImagePathName    UnicodeString `json:"image_path_name"`
	CommandLine      UnicodeString `json:"command_line"`
	WindowTitle      UnicodeString `json:"window_title"`
	DesktopInfo      UnicodeString `json:"desktop_info"`
	ShellInfo        UnicodeString `json:"shell_info"`
	// RuntimeData is binary (the C runtime's inherited handle table): its
	// Length and Buffer are given, its Text is left empty.
	RuntimeData     UnicodeString `json:"runtime_data"`
	WindowFlags     uint32        `json:"window_flags"`
	ShowWindowFlags uint32        `json:"show_window_flags"`

	Environment uint64 `json:"environment"` // address of the environment block
	// EnvironmentSize is the block size the parameters record (Vista+);
	// HasEnvironmentSize is false on builds without the field.
	EnvironmentSize    uint64 `json:"environment_size"`
	HasEnvironmentSize bool   `json:"has_environment_size"`
	// EnvironmentBytes is how many bytes of the block were parsed (through
	// its terminating empty string when it was found).
	EnvironmentBytes int      `json:"environment_bytes"`
	Env              []EnvVar `json:"env"`
}

// EnvVar is one entry of the environment block, in block order. Entries of
// the per-drive current directories ("=C:=C:\dir") are kept: their Name is
// "=C:". An entry without '=' is kept whole in Name with Malformed set.
type EnvVar struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Malformed bool   `json:"malformed,omitempty"`
}

func (e EnvVar) String() string {
	if e.Malformed {
		return e.Name
	}
	return e.Name + "=" + e.Value
}

// readParams reads the process parameters the PEB points to, or on x86
// before Vista the block at 0x20000 when the PEB's is unreadable.
func (w *walker) readParams(m *mem, p *Process) {
	l := m.l
	need := paramsReadSize(l)
	var b []byte
	var err error
	source := "peb"
	addr := p.ProcessParameters
	if addr != 0 {
		b, err = m.block(addr, need)
		if err != nil {
			m.warnf(addr, "process parameters not readable: %v", err)
		}
	} else {
		m.warnf(p.PEB+uint64(l.PEB.ProcessParameters), "PEB has no process parameters (null pointer)")
	}
	if b == nil && l.Arch == X86 && l.MinBuild < 6000 {
		if fb, ferr := m.block(xpParamsVA, need); ferr == nil {
			if ok, why := plausibleParams(l, xpParamsVA, buf{fb, 4}); ok {
				m.warnf(xpParamsVA, "using the process parameters block at 0x%x (the initial one of NT 4 to 2003), which looks valid", xpParamsVA)
				b, addr, source = fb, xpParamsVA, "fixed"
			} else {
				m.warnf(xpParamsVA, "block at 0x%x is not process parameters: %s", xpParamsVA, why)
			}
		}
	}
	if b == nil {
		return
	}
	pb := buf{b, l.PointerSize()}
	pl := l.Params
	pp := &Params{
		Addr:            addr,
		Source:          source,
		MaximumLength:   pb.u32(pl.MaximumLength),
		Length:          pb.u32(pl.Length),
		Flags:           pb.u32(pl.Flags),
		WindowFlags:     pb.u32(pl.WindowFlags),
		ShowWindowFlags: pb.u32(pl.ShowWindowFlags),
		Environment:     pb.ptrAt(pl.Environment),
	}
	pp.Normalized = pp.Flags&rtlUserProcParamsNormalized != 0
	if pp.Length > pp.MaximumLength {
		m.warnf(addr, "process parameters: Length 0x%x is larger than MaximumLength 0x%x", pp.Length, pp.MaximumLength)
	}
	str := func(off int, what string, text bool) UnicodeString {
		return m.ustr(pb, addr, off, "process parameters "+what, relBase(l, pb, off, pp), text)
	}
	pp.CurrentDirectory = str(pl.CurrentDirectory, "CurrentDirectory", true)
	pp.DllPath = str(pl.DllPath, "DllPath", true)
	pp.ImagePathName = str(pl.ImagePathName, "ImagePathName", true)
	pp.CommandLine = str(pl.CommandLine, "CommandLine", true)
	pp.WindowTitle = str(pl.WindowTitle, "WindowTitle", true)
	pp.DesktopInfo = str(pl.DesktopInfo, "DesktopInfo", true)
	pp.ShellInfo = str(pl.ShellInfo, "ShellInfo", true)
	pp.RuntimeData = str(pl.RuntimeData, "RuntimeData", false)
	if pl.EnvironmentSize != Absent {
		pp.HasEnvironmentSize = true
		pp.EnvironmentSize = pb.ptrAt(pl.EnvironmentSize)
	}
	w.readEnvironment(m, pp)
	p.Params = pp
}

// paramsReadSize is how much of RTL_USER_PROCESS_PARAMETERS is read.
func paramsReadSize(l *Layout) int {
	pl := l.Params
	n := span(l.UnicodeString.Size, pl.CurrentDirectory, pl.DllPath, pl.ImagePathName, pl.CommandLine,
		pl.WindowTitle, pl.DesktopInfo, pl.ShellInfo, pl.RuntimeData)
	if e := span(l.PointerSize(), pl.Environment, pl.EnvironmentSize); e > n {
		n = e
	}
	return n
}

// relBase returns the base a string Buffer is relative to: the block's
// address when the block is not normalized and the Buffer is an offset
// inside it, else 0 (absolute).
func relBase(l *Layout, pb buf, off int, pp *Params) uint64 {
	if pp.Normalized {
		return 0
	}
	raw := pb.ptrAt(off + l.UnicodeString.Buffer)
	limit := uint64(pp.MaximumLength)
	if uint64(pp.Length) > limit {
		limit = uint64(pp.Length)
	}
	if raw != 0 && raw < limit {
		return pp.Addr
	}
	return 0
}

// plausibleParams checks a block found without a pointer to it: sizes
// that hold the structure, and the image path and command line strings
// well formed and inside the block.
func plausibleParams(l *Layout, addr uint64, pb buf) (bool, string) {
	pl := l.Params
	maxLen, length := pb.u32(pl.MaximumLength), pb.u32(pl.Length)
	base := uint32(paramsReadSize(l))
	switch {
	case length < base || length > 1<<20:
		return false, "Length out of range"
	case maxLen < length:
		return false, "MaximumLength below Length"
	}
	normalized := pb.u32(pl.Flags)&rtlUserProcParamsNormalized != 0
	for _, off := range []int{pl.ImagePathName, pl.CommandLine} {
		n, mx := pb.u16(off), pb.u16(off+l.UnicodeString.MaximumLength)
		b := pb.ptrAt(off + l.UnicodeString.Buffer)
		if n == 0 || n%2 != 0 || n > mx {
			return false, "malformed ImagePathName or CommandLine"
		}
		if normalized {
			b -= addr
		}
		if b >= uint64(maxLen) || uint64(n) > uint64(maxLen)-b {
			return false, "ImagePathName or CommandLine outside the block"
		}
	}
	return true, ""
}

// readEnvironment reads and splits the environment block: up to
// EnvironmentSize when the build records it and it is sane, else up to
// the first gap in memory and MaxEnvironment, stopping at the empty string
// that ends the block.
func (w *walker) readEnvironment(m *mem, pp *Params) {
	if pp.Environment == 0 {
		m.warnf(pp.Addr, "process parameters: no environment block (null pointer)")
		return
	}
	limit := uint64(MaxEnvironment)
	if pp.HasEnvironmentSize {
		switch {
		case pp.EnvironmentSize == 0:
			m.warnf(pp.Addr, "process parameters: EnvironmentSize is 0; reading up to the block's end")
		case pp.EnvironmentSize > MaxEnvironment:
			m.warnf(pp.Addr, "process parameters: EnvironmentSize 0x%x is larger than the 0x%x read", pp.EnvironmentSize, MaxEnvironment)
		default:
			limit = pp.EnvironmentSize
		}
	}
	var data []byte
	end := -1
	for uint64(len(data)) < limit {
		// Read to the next page boundary so that a gap stops the read
		// where it starts.
		va := pp.Environment + uint64(len(data))
		n := 0x1000 - va%0x1000
		if rest := limit - uint64(len(data)); n > rest {
			n = rest
		}
		chunk := m.prefixRead(va, int(n))
		from := len(data) &^ 1
		data = append(data, chunk...)
		if end = envEnd(data, from); end >= 0 || uint64(len(chunk)) < n {
			break
		}
	}
	if end < 0 {
		switch {
		case uint64(len(data)) < limit && (!pp.HasEnvironmentSize || limit != pp.EnvironmentSize):
			m.warnf(pp.Environment+uint64(len(data)), "environment block unterminated where readable memory ends (after 0x%x bytes)", len(data))
		case uint64(len(data)) < limit:
			m.warnf(pp.Environment+uint64(len(data)), "only 0x%x of EnvironmentSize 0x%x bytes are readable", len(data), limit)
		default:
			m.warnf(pp.Environment, "environment block not terminated within 0x%x bytes", limit)
		}
		end = len(data) &^ 1
	}
	pp.EnvironmentBytes = end
	pp.Env = splitEnv(data[:end])
}

// envEnd returns the offset just past the empty string that ends an
// environment block in b (scanning UTF-16 units from the even offset
// from), or -1. An empty block is a lone terminator.
func envEnd(b []byte, from int) int {
	for i := from; i+2 <= len(b); i += 2 {
		if b[i] != 0 || b[i+1] != 0 {
			continue
		}
		if i == 0 || (b[i-2] == 0 && b[i-1] == 0) {
			return i + 2
		}
	}
	return -1
}

// splitEnv splits NUL-terminated UTF-16 strings into variables, stopping at
// the empty string.
func splitEnv(b []byte) []EnvVar {
	var out []EnvVar
	start := 0
	for i := 0; i+2 <= len(b); i += 2 {
		if binary.LittleEndian.Uint16(b[i:]) != 0 {
			continue
		}
		if i == start {
			return out // the empty string ends the block
		}
		out = append(out, splitVar(wstr.Decode(b[start:i])))
		start = i + 2
	}
	// An unterminated last string (the block was cut short).
	if s := wstr.Decode(b[start : len(b)&^1]); s != "" {
		out = append(out, splitVar(s))
	}
	return out
}

func splitVar(s string) EnvVar {
	// "=C:=C:\dir": the name starts with '=', the separator is the next one.
	i := strings.IndexByte(s[1:], '=')
	if i < 0 {
		return EnvVar{Name: s, Malformed: true}
	}
	return EnvVar{Name: s[:i+1], Value: s[i+2:]}
}
