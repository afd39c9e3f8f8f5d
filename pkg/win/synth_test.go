package win

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Synthetic processes are laid out with the *published* offsets (the
// Vergilius extract and the JPCERT ISF files), not with this package's
// tables, so that a wrong table entry cannot hide behind itself.

// published maps "_STRUCT.Member" to its offset.
type published map[string]int

func (p published) off(t *testing.T, key string) int {
	t.Helper()
	v, ok := p[key]
	if !ok {
		t.Fatalf("published layout has no %s", key)
	}
	return v
}

func vergiliusLayout(t *testing.T, key string) published {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpus, "layouts/vergilius-offsets.json"))
	if err != nil {
		t.Skip("corpus not available:", err)
	}
	var builds map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &builds); err != nil {
		t.Fatal(err)
	}
	out := published{}
	for st, members := range builds[key] {
		for name, v := range members {
			out[st+"."+name] = parseHexOffset(t, v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("vergilius has no %s", key)
	}
	return out
}

var (
	jpcertOnce  sync.Once
	jpcert7601  published // x64 structures of 6.1.7601
	jpcertWow64 published // _PEB32, _TEB32, _NT_TIB32 renamed without the 32
	jpcertErr   error
)

// win7ISF decodes the JPCERT ISF of 6.1.7601 once.
func win7ISF(t *testing.T) (x64, wow published) {
	t.Helper()
	jpcertOnce.Do(func() {
		doc, err := readISF(filepath.Join(corpus, "layouts/jpcert-isf/339E74133576439CBCDF7E0229DA3773-1.json.xz"))
		if err != nil {
			jpcertErr = err
			return
		}
		jpcert7601, jpcertWow64 = published{}, published{}
		for st, ut := range doc.UserTypes {
			for name, f := range ut.Fields {
				switch st {
				case "_PEB32", "_TEB32", "_NT_TIB32":
					jpcertWow64[strings.TrimSuffix(st, "32")+"."+name] = f.Offset
				default:
					jpcert7601[st+"."+name] = f.Offset
				}
			}
		}
	})
	if jpcertErr != nil {
		t.Skip("corpus not available:", jpcertErr)
	}
	return jpcert7601, jpcertWow64
}

// fake is a sparse memory of 4 KiB pages.
type fake struct {
	pages map[uint64][]byte
}

func newFake() *fake { return &fake{pages: map[uint64][]byte{}} }

func (f *fake) write(va uint64, b []byte) {
	for len(b) > 0 {
		pg := va &^ 0xfff
		p, ok := f.pages[pg]
		if !ok {
			p = make([]byte, 0x1000)
			f.pages[pg] = p
		}
		n := copy(p[va-pg:], b)
		b, va = b[n:], va+uint64(n)
	}
}

func (f *fake) u8(va uint64, v uint8) { f.write(va, []byte{v}) }
func (f *fake) u16(va uint64, v uint16) {
	f.write(va, binary.LittleEndian.AppendUint16(nil, v))
}
func (f *fake) u32(va uint64, v uint32) {
	f.write(va, binary.LittleEndian.AppendUint32(nil, v))
}
func (f *fake) u64(va uint64, v uint64) {
	f.write(va, binary.LittleEndian.AppendUint64(nil, v))
}
func (f *fake) ptr(size int, va, v uint64) {
	if size == 8 {
		f.u64(va, v)
	} else {
		f.u32(va, uint32(v))
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func (f *fake) unmap(va uint64) { delete(f.pages, va&^0xfff) }

// space returns the pages as an address space of the given pointer size.
func (f *fake) space(ptr int) *addrspace.Segmented {
	vas := make([]uint64, 0, len(f.pages))
	for va := range f.pages {
		vas = append(vas, va)
	}
	sort.Slice(vas, func(i, j int) bool { return vas[i] < vas[j] })
	var data bytes.Buffer
	var segs []addrspace.Segment
	for _, va := range vas {
		segs = append(segs, addrspace.Segment{VA: va, Size: 0x1000, FileOff: uint64(data.Len())})
		data.Write(f.pages[va])
	}
	return addrspace.NewSegmented(bytes.NewReader(data.Bytes()), ptr, segs)
}

// proc describes a synthetic process.
type proc struct {
	pub        published
	ptr        int
	teb, peb   uint64
	ldr        uint64
	params     uint64
	env        uint64
	heap       uint64
	imageBase  uint64
	modules    []mod
	strings    map[string]string // RTL_USER_PROCESS_PARAMETERS member -> text
	vars       []string
	normalized bool
	envSize    bool // write EnvironmentSize (Vista+)
	build      uint16
	major      uint32
	minor      uint32
}

type mod struct {
	entry, base uint64
	size        uint32
	full, name  string
	stamp       uint32 // PE header TimeDateStamp; 0: no header mapped
}

// unicodeLayout is UNICODE_STRING: Length, MaximumLength, then the Buffer
// pointer aligned to the pointer size (JPCERT: Buffer at 8 on x64).
func unicodeBuffer(ptr int) int {
	if ptr == 8 {
		return 8
	}
	return 4
}

// putString writes a UNICODE_STRING at va whose text is at text (the
// stored Buffer is text - rel).
func (f *fake) putString(ptr int, va uint64, s string, text, rel uint64) {
	b := utf16le(s)
	f.u16(va, uint16(len(b)))
	f.u16(va+2, uint16(len(b)+2))
	if s == "" {
		f.ptr(ptr, va+uint64(unicodeBuffer(ptr)), 0)
		return
	}
	f.ptr(ptr, va+uint64(unicodeBuffer(ptr)), text-rel)
	f.write(text, append(b, 0, 0))
}

// peHeader writes a minimal PE header at base with the given TimeDateStamp.
func (f *fake) peHeader(base uint64, stamp uint32, is64 bool) {
	h := make([]byte, 0x400)
	copy(h, "MZ")
	binary.LittleEndian.PutUint32(h[0x3c:], 0x80)
	copy(h[0x80:], "PE\x00\x00")
	machine, magic := uint16(0x14c), uint16(0x10b)
	if is64 {
		machine, magic = 0x8664, 0x20b
	}
	binary.LittleEndian.PutUint16(h[0x84:], machine)
	binary.LittleEndian.PutUint32(h[0x88:], stamp)
	binary.LittleEndian.PutUint16(h[0x94:], 0xe0)
	binary.LittleEndian.PutUint16(h[0x98:], magic)
	if is64 {
		binary.LittleEndian.PutUint64(h[0x98+24:], base)
		binary.LittleEndian.PutUint16(h[0x94:], 0xf0)
	} else {
		binary.LittleEndian.PutUint32(h[0x98+28:], uint32(base))
	}
	binary.LittleEndian.PutUint32(h[0x98+32:], 0x1000)  // SectionAlignment
	binary.LittleEndian.PutUint32(h[0x98+36:], 0x200)   // FileAlignment
	binary.LittleEndian.PutUint32(h[0x98+56:], 0x10000) // SizeOfImage
	binary.LittleEndian.PutUint32(h[0x98+60:], 0x400)   // SizeOfHeaders
	f.write(base, h)
}

// lay writes the process p into f. Offsets come from p.pub; x86 facts
// not in the Vergilius extract are noted where used.
func (f *fake) lay(t *testing.T, p *proc) {
	t.Helper()
	o := func(k string) uint64 { return uint64(p.pub.off(t, k)) }
	ps := p.ptr
	// TEB: NtTib.Self and the PEB pointer.
	f.ptr(ps, p.teb+o("_NT_TIB.Self"), p.teb)
	f.ptr(ps, p.teb+o("_TEB.ProcessEnvironmentBlock"), p.peb)
	// PEB.
	f.u8(p.peb+o("_PEB.BeingDebugged"), 1)
	f.ptr(ps, p.peb+o("_PEB.ImageBaseAddress"), p.imageBase)
	f.ptr(ps, p.peb+o("_PEB.Ldr"), p.ldr)
	f.ptr(ps, p.peb+o("_PEB.ProcessParameters"), p.params)
	f.ptr(ps, p.peb+o("_PEB.ProcessHeap"), p.heap)
	f.u32(p.peb+o("_PEB.NumberOfProcessors"), 4)
	f.u32(p.peb+o("_PEB.NumberOfHeaps"), 3)
	f.u32(p.peb+o("_PEB.OSMajorVersion"), p.major)
	f.u32(p.peb+o("_PEB.OSMinorVersion"), p.minor)
	f.u16(p.peb+o("_PEB.OSBuildNumber"), p.build)
	f.u32(p.peb+o("_PEB.OSPlatformId"), 2)
	f.u32(p.peb+o("_PEB.SessionId"), 7)
	// PEB_LDR_DATA and the three lists.
	f.u32(p.ldr+o("_PEB_LDR_DATA.Length"), 0x30)
	f.u8(p.ldr+o("_PEB_LDR_DATA.Initialized"), 1)
	lists := []struct{ head, link string }{
		{"_PEB_LDR_DATA.InLoadOrderModuleList", "_LDR_DATA_TABLE_ENTRY.InLoadOrderLinks"},
		{"_PEB_LDR_DATA.InMemoryOrderModuleList", "_LDR_DATA_TABLE_ENTRY.InMemoryOrderLinks"},
		{"_PEB_LDR_DATA.InInitializationOrderModuleList", "_LDR_DATA_TABLE_ENTRY.InInitializationOrderLinks"},
	}
	for li, l := range lists {
		head := p.ldr + o(l.head)
		mods := p.modules
		if li == 2 && len(mods) > 0 {
			mods = mods[1:] // the executable is not initialised
		}
		prev := head
		for _, m := range mods {
			link := m.entry + o(l.link)
			f.ptr(ps, prev, link)            // prev.Flink
			f.ptr(ps, link+uint64(ps), prev) // Blink
			prev = link
		}
		f.ptr(ps, prev, head)
		f.ptr(ps, head+uint64(ps), prev)
	}
	for i, m := range p.modules {
		f.ptr(ps, m.entry+o("_LDR_DATA_TABLE_ENTRY.DllBase"), m.base)
		f.ptr(ps, m.entry+o("_LDR_DATA_TABLE_ENTRY.EntryPoint"), m.base+0x1000)
		f.u32(m.entry+o("_LDR_DATA_TABLE_ENTRY.SizeOfImage"), m.size)
		strs := m.entry + 0x800 // the names' text after the entry
		f.putString(ps, m.entry+o("_LDR_DATA_TABLE_ENTRY.FullDllName"), m.full, strs, 0)
		f.putString(ps, m.entry+o("_LDR_DATA_TABLE_ENTRY.BaseDllName"), m.name, strs+0x400, 0)
		if m.stamp != 0 {
			f.peHeader(m.base, m.stamp, ps == 8)
		}
		_ = i
	}
	// Process parameters: strings after the structure, as the kernel
	// lays them out.
	if p.params != 0 {
		f.u32(p.params+o("_RTL_USER_PROCESS_PARAMETERS.MaximumLength"), 0x1000)
		f.u32(p.params+o("_RTL_USER_PROCESS_PARAMETERS.Length"), 0x1000)
		flags := uint32(0)
		if p.normalized {
			flags = 1
		}
		f.u32(p.params+o("_RTL_USER_PROCESS_PARAMETERS.Flags"), flags)
		rel := p.params
		if p.normalized {
			rel = 0
		}
		text := p.params + 0x600
		for _, name := range []string{"CurrentDirectory", "DllPath", "ImagePathName", "CommandLine", "WindowTitle", "DesktopInfo", "ShellInfo"} {
			f.putString(ps, p.params+o("_RTL_USER_PROCESS_PARAMETERS."+name), p.strings[name], text, rel)
			text += uint64(len(utf16le(p.strings[name]))+2+7) &^ 7
		}
		f.ptr(ps, p.params+o("_RTL_USER_PROCESS_PARAMETERS.Environment"), p.env)
		var block []byte
		for _, v := range p.vars {
			block = append(append(block, utf16le(v)...), 0, 0)
		}
		block = append(block, 0, 0)
		f.write(p.env, block)
		if p.envSize {
			f.ptr(ps, p.params+o("_RTL_USER_PROCESS_PARAMETERS.EnvironmentSize"), uint64(len(block)))
		}
	}
}

// merge returns a copy of a with b's entries added where a has none.
func merge(a, b published) published {
	out := published{}
	for k, v := range b {
		out[k] = v
	}
	for k, v := range a {
		out[k] = v
	}
	return out
}

// x86Extras are x86 members the Vergilius extract lacks. NT_TIB.Self and
// the PEB members are JPCERT's _NT_TIB32/_PEB32 (same in every build); the
// rest follow from the x86 structure sizes in every public header (three
// 8-byte LIST_ENTRYs; ULONG MaximumLength, Length, Flags first; PEB_LDR_DATA
// starts with ULONG Length, BOOLEAN Initialized).
func x86Extras(t *testing.T) published {
	_, wow := win7ISF(t)
	p := published{
		"_LDR_DATA_TABLE_ENTRY.InInitializationOrderLinks": 0x10,
		"_RTL_USER_PROCESS_PARAMETERS.MaximumLength":       0,
		"_RTL_USER_PROCESS_PARAMETERS.Length":              4,
		"_RTL_USER_PROCESS_PARAMETERS.Flags":               8,
		"_PEB_LDR_DATA.Length":                             0,
		"_PEB_LDR_DATA.Initialized":                        4,
	}
	for _, k := range []string{"_NT_TIB.Self", "_PEB.BeingDebugged", "_PEB.ProcessHeap", "_PEB.NumberOfProcessors",
		"_PEB.OSPlatformId", "_PEB.SessionId"} {
		p[k] = wow.off(t, k)
	}
	return p
}

// sampleModules returns three modules whose loader entries are at
// entries, entries+0x1000, ... and images at images, images+step, ...
func sampleModules(entries, images, step uint64) []mod {
	ext := []string{"app.exe", "ntdll.dll", "kernel32.dll"}
	var out []mod
	for i, n := range ext {
		out = append(out, mod{
			entry: entries + uint64(i)*0x1000,
			base:  images + uint64(i)*step,
			size:  0x10000,
			full:  `C:\Windows\System32\` + n,
			name:  n,
			stamp: 0x4d000000 + uint32(i),
		})
	}
	return out
}

func sampleStrings() map[string]string {
	return map[string]string{
		"CurrentDirectory": `C:\work\`,
		"DllPath":          `C:\Windows\system32;C:\Windows`,
		"ImagePathName":    `C:\Windows\System32\app.exe`,
		"CommandLine":      `app.exe /x "quoted arg"`,
		"WindowTitle":      "title ✓",
		"DesktopInfo":      `WinSta0\Default`,
		"ShellInfo":        "",
	}
}

var sampleVars = []string{"=C:=C:\\work", "=ExitCode=00000000", "PATH=C:\\Windows", "X=a=b", "EMPTY="}

func checkProcess(t *testing.T, got *Process, p *proc) {
	t.Helper()
	if got == nil {
		t.Fatal("no process")
	}
	if got.PEB != p.peb || got.ImageBaseAddress != p.imageBase || got.Ldr != p.ldr || got.ProcessParameters != p.params ||
		got.ProcessHeap != p.heap || !got.BeingDebugged || got.NumberOfProcessors != 4 || got.NumberOfHeaps != 3 ||
		got.OSMajorVersion != p.major || got.OSMinorVersion != p.minor || got.OSBuildNumber != p.build ||
		got.OSPlatformID != 2 || got.SessionID != 7 || got.LdrLength != 0x30 || !got.LdrInitialized {
		t.Errorf("PEB fields: %+v", got)
	}
	for li, l := range [][]Module{got.InLoadOrder, got.InMemoryOrder, got.InInitializationOrder} {
		want := p.modules
		if li == 2 {
			want = want[1:]
		}
		if len(l) != len(want) {
			t.Errorf("list %d: %d modules, want %d", li, len(l), len(want))
			continue
		}
		for i, m := range want {
			g := l[i]
			if g.Entry != m.entry || g.DllBase != m.base || g.EntryPoint != m.base+0x1000 || g.SizeOfImage != m.size ||
				g.FullDllName != m.full || g.BaseDllName != m.name || g.TimeDateStamp != m.stamp || g.HeaderInMemory != (m.stamp != 0) {
				t.Errorf("list %d entry %d: %+v, want %+v", li, i, g, m)
			}
		}
	}
	pp := got.Params
	if pp == nil {
		t.Fatal("no parameters")
	}
	if pp.Normalized != p.normalized || pp.Addr != p.params || pp.Environment != p.env {
		t.Errorf("params header %+v", pp)
	}
	for name, s := range map[string]UnicodeString{"CurrentDirectory": pp.CurrentDirectory, "DllPath": pp.DllPath,
		"ImagePathName": pp.ImagePathName, "CommandLine": pp.CommandLine, "WindowTitle": pp.WindowTitle,
		"DesktopInfo": pp.DesktopInfo, "ShellInfo": pp.ShellInfo} {
		if s.Text != p.strings[name] || !s.Complete {
			t.Errorf("%s = %q (complete %v), want %q", name, s.Text, s.Complete, p.strings[name])
		}
	}
	var env []string
	for _, v := range pp.Env {
		env = append(env, v.String())
	}
	if strings.Join(env, "|") != strings.Join(p.vars, "|") {
		t.Errorf("env %q, want %q", env, p.vars)
	}
	if len(p.vars) == len(sampleVars) && (pp.Env[0].Name != "=C:" || pp.Env[0].Value != `C:\work` || pp.Env[3].Name != "X" || pp.Env[3].Value != "a=b") {
		t.Errorf("env split: %+v", pp.Env)
	}
	if pp.HasEnvironmentSize != p.envSize {
		t.Errorf("HasEnvironmentSize %v, want %v", pp.HasEnvironmentSize, p.envSize)
	}
}

func xpProcess(t *testing.T) (*fake, *proc) {
	p := &proc{
		pub: merge(vergiliusLayout(t, "5.1.2600.5512-x86"), x86Extras(t)),
		ptr: 4, teb: 0x7ffde000, peb: 0x7ffd9000, ldr: 0x241ea0, params: 0x20000, env: 0x10000,
		heap: 0x140000, imageBase: 0x400000, build: 2600, major: 5, minor: 1,
		strings: sampleStrings(), vars: sampleVars, normalized: true,
	}
	p.modules = sampleModules(0x251000, 0x400000, 0x100000)
	f := newFake()
	f.lay(t, p)
	return f, p
}

func TestWalkXP(t *testing.T) {
	f, p := xpProcess(t)
	got, warns := Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSMajor: 5, OSMinor: 1, OSBuild: 2600})
	checkProcess(t, got, p)
	if got.PEBSource != "teb" || got.TEB != p.teb || got.Layout != "5.1.2600" || got.Arch != "x86" {
		t.Errorf("source %s teb 0x%x layout %s arch %s", got.PEBSource, got.TEB, got.Layout, got.Arch)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
}

func TestWalkWin10x64Denormalized(t *testing.T) {
	x64, _ := win7ISF(t) // members the Vergilius extract lacks, same offsets on 10
	p := &proc{
		pub: merge(vergiliusLayout(t, "10.0.19041.264-x64"), x64),
		ptr: 8, teb: 0xd2de29d000, peb: 0xd2de29c000, ldr: 0x7ffb0b29c4c0, params: 0x236c0355000,
		env: 0x236c0353040, heap: 0x236c0350000, imageBase: 0x7ff753540000, build: 19041, major: 10,
		strings: sampleStrings(), vars: sampleVars, normalized: false, envSize: true,
	}
	p.modules = sampleModules(0x236c0360000, 0x7ff753540000, 0x1000000)
	f := newFake()
	f.lay(t, p)
	got, warns := Walk(f.space(8), Hints{TEBs: []uint64{0x1000, p.teb}, OSMajor: 10, OSBuild: 19041, Is64: true})
	checkProcess(t, got, p)
	if got.Layout != "10.0.18362" || got.Wow64 != nil {
		t.Errorf("layout %s wow64 %v", got.Layout, got.Wow64)
	}
	if got.Params.EnvironmentSize != uint64(got.Params.EnvironmentBytes) {
		t.Errorf("EnvironmentSize %d, parsed %d", got.Params.EnvironmentSize, got.Params.EnvironmentBytes)
	}
	// The unreadable first TEB is reported, the second one used.
	if len(warns) != 1 || warns[0].Addr != 0x1000 {
		t.Errorf("warnings: %v", warns)
	}
	// Without the dump's build the PEB's chooses the layout.
	got, _ = Walk(f.space(8), Hints{TEBs: []uint64{p.teb}, Is64: true})
	if got == nil || got.Layout != "10.0.18362" || !got.Params.HasEnvironmentSize {
		t.Errorf("build from the PEB: %+v", got)
	}
}

// TestWalkWow64 lays out a 32-bit process on 64-bit Windows 7: TEB64 with
// TEB32 at +0x2000, the PEB64 (with its own, 64-bit, loader lists) and the
// PEB32 with the 32-bit lists, with the JPCERT _TEB32/_PEB32 offsets.
func TestWalkWow64(t *testing.T) {
	x64, wow := win7ISF(t)
	v64 := vergiliusLayout(t, "6.1.7601.17514-x64")
	v86 := vergiliusLayout(t, "6.1.7601.17514-x86")
	p64 := &proc{
		pub: merge(v64, x64), ptr: 8, teb: 0x7efdb000, peb: 0x7efdf000, ldr: 0x77b52640, params: 0x1a0000,
		env: 0x1a1000, heap: 0x1b0000, imageBase: 0xde0000, build: 7601, major: 6, minor: 1,
		strings: sampleStrings(), vars: []string{"A=64"}, normalized: true, envSize: true,
	}
	p64.modules = sampleModules(0x2c0000, 0x77a00000, 0x100000)[:2]
	p32 := &proc{
		pub: merge(merge(v86, wow), x86Extras(t)), ptr: 4, teb: 0x7efdd000, peb: 0x7efde000, ldr: 0x77d30200, params: 0x2d0000,
		env: 0x2d1000, heap: 0x2e0000, imageBase: 0xde0000, build: 7601, major: 6, minor: 1,
		strings: sampleStrings(), vars: sampleVars, normalized: true, envSize: true,
	}
	p32.modules = sampleModules(0x2f0000, 0xde0000, 0x100000)
	f := newFake()
	f.lay(t, p64)
	f.lay(t, p32)
	// Windows 6.0-6.3 also keep the TEB32 address in TEB64.NtTib.ExceptionList.
	f.u64(p64.teb+uint64(x64.off(t, "_NT_TIB.ExceptionList")), p32.teb)
	got, warns := Walk(f.space(8), Hints{TEBs: []uint64{p64.teb}, OSMajor: 6, OSMinor: 1, OSBuild: 7601, Is64: true})
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	checkProcess(t, got, p64)
	if got.Wow64 == nil {
		t.Fatal("no WOW64 process")
	}
	checkProcess(t, got.Wow64, p32)
	if got.Wow64.Arch != "x86" || got.Wow64.TEB != p32.teb {
		t.Errorf("wow64 arch %s teb 0x%x", got.Wow64.Arch, got.Wow64.TEB)
	}

	// Without ExceptionList, the TEB64+0x2000 rule finds it; on 10 the
	// WowTebOffset member (JPCERT _TEB.WowTebOffset of 10.0) does.
	f.u64(p64.teb+uint64(x64.off(t, "_NT_TIB.ExceptionList")), 0)
	if got, _ := Walk(f.space(8), Hints{TEBs: []uint64{p64.teb}, OSBuild: 7601, Is64: true}); got == nil || got.Wow64 == nil {
		t.Error("TEB64+0x2000 not tried")
	}
}

func TestWalkWow64Win10Offset(t *testing.T) {
	x64, wow := win7ISF(t)
	v86 := vergiliusLayout(t, "10.0.19041.264-x86")
	p32 := &proc{
		pub: merge(merge(v86, wow), x86Extras(t)), ptr: 4, teb: 0x30c000, peb: 0x309000, ldr: 0x77d30200, params: 0x2d0000,
		env: 0x2d1000, heap: 0x2e0000, imageBase: 0xde0000, build: 19041, major: 10,
		strings: sampleStrings(), vars: sampleVars, normalized: true, envSize: true,
	}
	p32.modules = sampleModules(0x2f0000, 0xde0000, 0x100000)
	f := newFake()
	f.lay(t, p32)
	// A TEB64 whose PEB64 is not captured, 0x3000 below the TEB32: only
	// WowTebOffset (at 0x180c in the JPCERT _TEB of 10.0.19041) leads there.
	teb64 := uint64(0x309000 - 0x3000)
	f.u64(teb64+uint64(x64.off(t, "_NT_TIB.Self")), teb64)
	f.u32(teb64+0x180c, 0x3000+0x3000)
	got, _ := Walk(f.space(8), Hints{TEBs: []uint64{teb64}, OSBuild: 19041, Is64: true})
	if got == nil || got.Wow64 == nil {
		t.Fatalf("WOW64 side not found: %+v", got)
	}
	checkProcess(t, got.Wow64, p32)
	if got.PEB != 0 {
		t.Errorf("64-bit PEB 0x%x", got.PEB)
	}
}

func TestWalkFallbacks(t *testing.T) {
	f, p := xpProcess(t)
	// A TEB whose Self is wrong, and the PEB hint.
	f.u32(p.teb+0x18, 0x1234)
	got, warns := Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, PEB: p.peb, OSBuild: 2600})
	if got == nil || got.PEBSource != "hint" || got.PEB != p.peb {
		t.Fatalf("hint not used: %+v %v", got, warns)
	}
	if !hasWarning(warns, p.teb, "Self") {
		t.Errorf("no Self warning: %v", warns)
	}
	// No TEB, no hint: the well-known addresses are scanned and checked.
	got, warns = Walk(f.space(4), Hints{OSBuild: 2600})
	if got == nil || got.PEBSource != "fixed" || got.PEB != p.peb {
		t.Fatalf("fixed PEB not found: %+v %v", got, warns)
	}
	// A page at 0x7ffdf000 that is not a PEB is not taken.
	f.write(0x7ffdf000, bytes.Repeat([]byte{0x41}, 0x1000))
	got, _ = Walk(f.space(4), Hints{OSBuild: 2600})
	if got == nil || got.PEB != p.peb {
		t.Errorf("garbage accepted as a PEB: %+v", got)
	}
	// A bad hint is rejected with a warning.
	_, warns = Walk(f.space(4), Hints{PEB: 0x7ffdf000, OSBuild: 2600})
	if !hasWarning(warns, 0x7ffdf000, "hint rejected") {
		t.Errorf("bad hint: %v", warns)
	}
}

// TestXPParamsFallback: the PEB's parameters pointer leads nowhere; the
// block at 0x20000 is used after its structure is checked.
func TestXPParamsFallback(t *testing.T) {
	f, p := xpProcess(t)
	f.u32(p.peb+0x10, 0x990000) // ProcessParameters: unmapped
	got, warns := Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 2600})
	if got == nil || got.Params == nil || got.Params.Source != "fixed" || got.Params.CommandLine.Text != p.strings["CommandLine"] {
		t.Fatalf("fallback: %+v %v", got, warns)
	}
	// Not on Vista+.
	got, _ = Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 6002})
	if got.Params != nil {
		t.Error("0x20000 tried on Vista")
	}
	// A block at 0x20000 that fails the checks is not used.
	f.u16(0x20000+0x40, 3) // CommandLine.Length odd
	got, warns = Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 2600})
	if got.Params != nil || !hasWarning(warns, 0x20000, "not process parameters") {
		t.Errorf("bad block used: %+v %v", got.Params, warns)
	}
}

func hasWarning(ws []Warning, addr uint64, sub string) bool {
	for _, w := range ws {
		if w.Addr == addr && strings.Contains(w.Msg, sub) {
			return true
		}
	}
	return false
}

func TestBrokenLists(t *testing.T) {
	f, p := xpProcess(t)
	m := p.modules
	// InLoadOrder: the third entry's Flink back to the second: a cycle.
	f.u32(m[2].entry, uint32(m[1].entry))
	// InMemoryOrder: the second entry's Flink into unmapped memory.
	f.u32(m[1].entry+8, 0x66660000)
	// InInitializationOrder: the first entry's Flink null.
	f.u32(m[1].entry+0x10, 0)
	got, warns := Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 2600})
	if got == nil {
		t.Fatal("no process")
	}
	if len(got.InLoadOrder) != 3 || !hasWarning(warns, m[1].entry, "cyclic") {
		t.Errorf("cycle: %d entries, %v", len(got.InLoadOrder), warns)
	}
	if len(got.InMemoryOrder) != 2 || !hasWarning(warns, 0x66660000-8, "not readable") {
		t.Errorf("unreadable: %d entries, %v", len(got.InMemoryOrder), warns)
	}
	if len(got.InInitializationOrder) != 1 || !hasWarning(warns, p.ldr+0x1c, "null link") {
		t.Errorf("null: %d entries, %v", len(got.InInitializationOrder), warns)
	}
	// A self-linked entry.
	f.u32(m[0].entry, uint32(m[0].entry))
	got, _ = Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 2600})
	if len(got.InLoadOrder) != 1 {
		t.Errorf("self link: %d entries", len(got.InLoadOrder))
	}
}

func TestListLimit(t *testing.T) {
	f, p := xpProcess(t)
	// MaxModules+10 entries, each 0x50 bytes, chained in load order.
	base := uint64(0x1000000)
	head := p.ldr + 0xc
	prev := head
	for i := 0; i < MaxModules+10; i++ {
		e := base + uint64(i)*0x50
		f.u32(prev, uint32(e))
		prev = e
	}
	f.u32(prev, uint32(head))
	got, warns := Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 2600})
	if len(got.InLoadOrder) != MaxModules || !hasWarning(warns, base+MaxModules*0x50, "stopped after") {
		t.Errorf("%d entries, %d warnings", len(got.InLoadOrder), len(warns))
	}
}

func TestHostileStrings(t *testing.T) {
	f, p := xpProcess(t)
	at := func(m string) uint64 { return p.params + uint64(p.pub.off(t, "_RTL_USER_PROCESS_PARAMETERS."+m)) }
	cl, img, title, desk := at("CommandLine"), at("ImagePathName"), at("WindowTitle"), at("DesktopInfo")
	// Length > MaximumLength.
	f.u16(cl, 30)
	f.u16(cl+2, 10)
	// Odd length.
	f.u16(img, 7)
	// Buffer unreadable.
	f.u32(title+4, 0x55550000)
	// Buffer half readable: text runs into an unmapped page.
	f.u16(desk, 0x20)
	f.u16(desk+2, 0x20)
	f.u32(desk+4, 0x7fff0ff0)
	f.write(0x7fff0ff0, utf16le("01234567"))
	got, warns := Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 2600})
	pp := got.Params
	if !hasWarning(warns, cl, "larger than MaximumLength") || pp.CommandLine.Length != 30 {
		t.Errorf("Length > MaximumLength: %+v", pp.CommandLine)
	}
	if !hasWarning(warns, img, "odd Length") || pp.ImagePathName.Text != `C:\` || pp.ImagePathName.Complete {
		t.Errorf("odd: %+v", pp.ImagePathName)
	}
	if !hasWarning(warns, 0x55550000, "readable") || pp.WindowTitle.Text != "" || pp.WindowTitle.Complete {
		t.Errorf("unreadable: %+v", pp.WindowTitle)
	}
	if pp.DesktopInfo.Text != "01234567" || pp.DesktopInfo.Complete || !hasWarning(warns, 0x7fff0ff0, "only 16 of 32") {
		t.Errorf("partial: %+v %v", pp.DesktopInfo, warns)
	}
}

// TestEnvironmentBounds: Windows 2000 (no EnvironmentSize): the block is
// read until readable memory ends; Vista+: EnvironmentSize bounds it.
func TestEnvironmentBounds(t *testing.T) {
	f, p := xpProcess(t)
	// An unterminated block that runs to the end of its mapping.
	f.write(p.env, bytes.Repeat(utf16le("A=B\x00"), 0x1000/8))
	got, warns := Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 2195})
	if got.Layout != "5.0.2195" || got.Params.HasEnvironmentSize {
		t.Fatalf("layout %s", got.Layout)
	}
	if len(got.Params.Env) != 0x1000/8 || !hasWarning(warns, p.env+0x1000, "unterminated") {
		t.Errorf("%d variables, %v", len(got.Params.Env), warns)
	}

	// Vista x86: EnvironmentSize (0x290) smaller than the block.
	f, p = xpProcess(t)
	f.u32(p.params+0x290, 12) // "=C:=C:\work" is 11 units: cut inside it
	got, warns = Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 6002})
	if got.Params.EnvironmentSize != 12 || got.Params.EnvironmentBytes != 12 || len(got.Params.Env) != 1 ||
		got.Params.Env[0].Name != "=C:" || got.Params.Env[0].Value != "C:" || !hasWarning(warns, p.env, "not terminated within") {
		t.Errorf("EnvironmentSize bound: %+v %v", got.Params, warns)
	}
	// EnvironmentSize beyond readable memory.
	f.u32(p.params+0x290, 0x3000)
	f.write(p.env, bytes.Repeat([]byte{'a', 0}, 0x800))
	_, warns = Walk(f.space(4), Hints{TEBs: []uint64{p.teb}, OSBuild: 6002})
	if !hasWarning(warns, p.env+0x1000, "only 0x1000 of EnvironmentSize 0x3000") {
		t.Errorf("size beyond memory: %v", warns)
	}
}

func TestSplitVar(t *testing.T) {
	for s, want := range map[string]EnvVar{
		"A=B":       {Name: "A", Value: "B"},
		"A=":        {Name: "A"},
		"=C:=C:\\x": {Name: "=C:", Value: "C:\\x"},
		"=::=::\\":  {Name: "=::", Value: "::\\"},
		"noequals":  {Name: "noequals", Malformed: true},
		"=":         {Name: "=", Malformed: true},
		"A=B=C":     {Name: "A", Value: "B=C"},
	} {
		if got := splitVar(s); got != want {
			t.Errorf("splitVar(%q) = %+v, want %+v", s, got, want)
		}
	}
}

func TestWalkEmpty(t *testing.T) {
	for _, ptr := range []int{4, 8} {
		p, warns := Walk(newFake().space(ptr), Hints{TEBs: []uint64{0x1000}})
		if p != nil || len(warns) == 0 {
			t.Errorf("empty space: %+v %v", p, warns)
		}
	}
}

// FuzzWalk maps the fuzz bytes at VA 0 (after a 1-byte header choosing
// 32 or 64 bits and a build) with the TEB hint at 0x100 and the PEB hint
// at 0x200, so small pointer values in the data lead back into it.
func FuzzWalk(f *testing.F) {
	builds := []uint32{0, 2195, 2600, 3790, 6001, 7601, 9600, 19041, 22631}
	seed := func(ptr int, build uint32, fk *fake) []byte {
		as := fk.space(ptr)
		var buf []byte
		for _, r := range as.Ranges() {
			if r.Start >= 0x10000 {
				break
			}
			b := make([]byte, r.Size)
			as.ReadAt(b, r.Start)
			for uint64(len(buf)) < r.Start {
				buf = append(buf, 0)
			}
			buf = append(buf, b...)
		}
		h := byte(0)
		if ptr == 8 {
			h = 1
		}
		for i, b := range builds {
			if b == build {
				h |= byte(i) << 1
			}
		}
		return append([]byte{h}, buf...)
	}
	// A small valid x86 process inside the first 64 KiB.
	small := newFake()
	small.u32(0x100+0x18, 0x100)
	small.u32(0x100+0x30, 0x200)
	small.u32(0x200+0x0c, 0x400)
	small.u32(0x200+0x10, 0x800)
	small.u32(0x200+0xb0, 2)
	small.u32(0x400+0x0c, 0x600)
	small.u32(0x600, 0x400+0x0c)
	small.u32(0x800, 0x300)
	small.u32(0x800+4, 0x300)
	small.u16(0x800+0x40, 8)
	small.u16(0x800+0x42, 10)
	small.u32(0x800+0x44, 0x900)
	small.write(0x900, utf16le("cmd"))
	small.u32(0x800+0x48, 0xa00)
	small.write(0xa00, utf16le("A=B\x00\x00"))
	f.Add(seed(4, 2600, small))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		ptr := 4
		if data[0]&1 != 0 {
			ptr = 8
		}
		build := builds[int(data[0]>>1)%len(builds)]
		mem := data[1:]
		as := addrspace.NewSegmented(bytes.NewReader(mem), ptr, []addrspace.Segment{{VA: 0, Size: uint64(len(mem))}})
		p, _ := Walk(as, Hints{TEBs: []uint64{0x100}, PEB: 0x200, OSBuild: build, Is64: ptr == 8})
		if p != nil {
			if len(p.InLoadOrder) > MaxModules || (p.Params != nil && p.Params.EnvironmentBytes > MaxEnvironment) {
				t.Fatalf("limits exceeded")
			}
			if _, err := json.Marshal(p); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestPEBExactSize: a dump that holds exactly sizeof(PEB) of Windows 2000
// (0x1D8 bytes, ReactOS peb_teb.h) is enough to read the PEB.
func TestPEBExactSize(t *testing.T) {
	f, p := xpProcess(t)
	full := f.space(4)
	var segs []addrspace.Segment
	var data bytes.Buffer
	for _, r := range full.Ranges() {
		size := r.Size
		if r.Start == p.peb {
			size = 0x1d8
		}
		b := make([]byte, size)
		full.ReadAt(b, r.Start)
		segs = append(segs, addrspace.Segment{VA: r.Start, Size: size, FileOff: uint64(data.Len())})
		data.Write(b)
	}
	as := addrspace.NewSegmented(bytes.NewReader(data.Bytes()), 4, segs)
	got, warns := Walk(as, Hints{TEBs: []uint64{p.teb}, OSBuild: 2195})
	if got == nil || got.SessionID != 7 || len(got.InLoadOrder) != 3 {
		t.Fatalf("%+v %v", got, warns)
	}
}
