package minidump

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is the shared corpus; tests that need more than testdata/ skip
// when it is absent.
const corpusDir = "../../shared/corpus/minidump"

type lldbModule struct {
	uuid string // GUID-age, or "" when lldb shows none
	base uint64
	path string
}

type lldbRef struct {
	modules []lldbModule
	tids    []uint32
}

var (
	lldbImage  = regexp.MustCompile(`^\[ *\d+\] +(\S*-[0-9A-F]{8})? +0x([0-9a-f]+) (.*?) *$`)
	lldbThread = regexp.MustCompile(`thread #\d+: tid = 0x([0-9a-f]+)`)
)

// readLLDB parses the reference output of testdata/lldb/regen.sh.
func readLLDB(t *testing.T, path string) lldbRef {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var ref lldbRef
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if m := lldbImage.FindStringSubmatch(sc.Text()); m != nil {
			base, _ := strconv.ParseUint(m[2], 16, 64)
			ref.modules = append(ref.modules, lldbModule{uuid: m[1], base: base, path: m[3]})
		} else if m := lldbThread.FindStringSubmatch(sc.Text()); m != nil {
			tid, _ := strconv.ParseUint(m[1], 16, 32)
			ref.tids = append(ref.tids, uint32(tid))
		}
	}
	return ref
}

// TestAgainstLLDB checks modules (base, path, PDB GUID and age) and thread
// ids of every Windows dump of the corpus against what lldb reads.
func TestAgainstLLDB(t *testing.T) {
	refs, _ := filepath.Glob("../testdata/lldb/*.txt")
	if len(refs) == 0 {
		t.Fatal("no lldb reference files")
	}
	for _, ref := range refs {
		name := strings.TrimSuffix(filepath.Base(ref), ".txt")
		t.Run(name, func(t *testing.T) {
			dir, file, _ := strings.Cut(name, "_")
			path := filepath.Join("../testdata/minidump", name+".dmp")
			if _, err := os.Stat(path); err != nil {
				path = filepath.Join(corpusDir, dir, file+".dmp")
				if _, err := os.Stat(path); err != nil {
					t.Skip("corpus not present:", path)
				}
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want := readLLDB(t, ref)
			if len(want.modules) == 0 {
				t.Fatal("reference lists no modules")
			}
			if len(f.Modules) != len(want.modules) {
				t.Fatalf("%d modules, lldb lists %d", len(f.Modules), len(want.modules))
			}
			for i, w := range want.modules {
				m := f.Modules[i]
				if m.Base != w.base || m.Name != w.path {
					t.Errorf("module %d: 0x%x %q, lldb 0x%x %q", i, m.Base, m.Name, w.base, w.path)
				}
				got := ""
				if m.CodeView != nil && m.CodeView.Signature == "RSDS" {
					got = m.CodeView.GUID + "-" + strings.ToUpper(strconv.FormatUint(uint64(m.CodeView.Age)|1<<32, 16)[1:])
				}
				if w.uuid != "" && got != w.uuid {
					t.Errorf("module %d %s: CodeView %q, lldb %q", i, m.Name, got, w.uuid)
				}
			}
			var tids []uint32
			for _, th := range f.Threads {
				tids = append(tids, th.ID)
			}
			if len(want.tids) > 0 && !equalSorted(tids, want.tids) {
				t.Errorf("threads %x, lldb %x", tids, want.tids)
			}
		})
	}
}

func equalSorted(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[uint32]int{}
	for _, v := range a {
		m[v]++
	}
	for _, v := range b {
		m[v]--
	}
	for _, c := range m {
		if c != 0 {
			return false
		}
	}
	return true
}

// TestCorpusFacts checks fields against ../shared/corpus/SOURCES.md, which
// was written by an independent Python reader of the same files.
func TestCorpusFacts(t *testing.T) {
	type fact struct {
		file             string
		arch             Arch
		os               string
		ncpu             uint8
		threads, modules int
		memRanges        int
		memBytes         uint64
		firstTEB         uint64
		streams          int
		pid              uint32
		timestamp, flags uint64
		regions, handles int
		unloaded         int
	}
	facts := []fact{
		{file: "breakpad_minidump2.dmp", arch: ArchX86, os: "5.1.2600 Service Pack 2", ncpu: 1, threads: 2, modules: 13, memRanges: 3, memBytes: 5884, firstTEB: 0x7ffdf000, streams: 9, timestamp: 1171480435},
		{file: "lldb_fizzbuzz_no_heap.dmp", arch: ArchX86, os: "6.1.7601 Service Pack 1", ncpu: 32, threads: 1, modules: 6, memRanges: 2, memBytes: 2588, firstTEB: 0x7efdd000, streams: 9, timestamp: 1442353028, flags: 0x1000},
		{file: "symbolic_windows-mini.dmp", arch: ArchX86, os: "10.0.14393", ncpu: 2, threads: 4, modules: 17, memRanges: 8, memBytes: 12204, firstTEB: 0xfe8000, streams: 13, timestamp: 1521713273},
		{file: "breakpad_tiny-exe-with-cet-xsave.dmp", arch: ArchAMD64, os: "10.0.22000 282", ncpu: 8, threads: 1, modules: 25, memRanges: 65, memBytes: 50800, firstTEB: 0xcbc80b9000, streams: 8, timestamp: 1635803743, flags: 0x200000},
		{file: "breakpad_thread_name_list.dmp", arch: ArchX86, os: "10.0.17763", ncpu: 8, threads: 6, modules: 17, memRanges: 10, memBytes: 6256, firstTEB: 0x2fa000, streams: 13, timestamp: 1600072948},
	}
	for _, w := range facts {
		t.Run(w.file, func(t *testing.T) {
			f, err := Open(filepath.Join("../testdata/minidump", w.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var bytes uint64
			for _, m := range f.Memory {
				bytes += m.Size
			}
			if f.Arch != w.arch || f.OS.String() != w.os || f.SystemInfo.NumberOfProcessors != w.ncpu {
				t.Errorf("system: %v %q %d", f.Arch, f.OS, f.SystemInfo.NumberOfProcessors)
			}
			if len(f.Threads) != w.threads || len(f.Modules) != w.modules || len(f.Memory) != w.memRanges || bytes != w.memBytes {
				t.Errorf("counts: threads %d modules %d ranges %d bytes %d", len(f.Threads), len(f.Modules), len(f.Memory), bytes)
			}
			if f.Threads[0].TEB != w.firstTEB {
				t.Errorf("first TEB 0x%x", f.Threads[0].TEB)
			}
			if int(f.Header.NumberOfStreams) != w.streams || uint64(f.Header.TimeDateStamp) != w.timestamp || f.Header.Flags != w.flags {
				t.Errorf("header %+v", f.Header)
			}
			for _, warn := range f.Warnings {
				t.Errorf("warning on a sound dump: %v", warn)
			}
		})
	}
}

// TestStreamsOfRichDump looks at the streams only the Crashpad-written dump
// has: MemoryInfoList, HandleData, UnloadedModuleList, and the
// MISC_INFO_5 fields.
func TestStreamsOfRichDump(t *testing.T) {
	f, err := Open("../testdata/minidump/breakpad_tiny-exe-with-cet-xsave.dmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Stream sizes from SOURCES.md: MemoryInfoList(26752) = 16 + 48*557,
	// HandleData(4720) = 16 + 32*147 (descriptor size 32), UnloadedModuleList(36) = 12+24.
	if len(f.Regions) != 557 || len(f.Handles) != 147 || len(f.Unloaded) != 1 {
		t.Fatalf("regions %d handles %d unloaded %d", len(f.Regions), len(f.Handles), len(f.Unloaded))
	}
	// Regions of a memory map tile the address space in ascending order.
	for i := 1; i < len(f.Regions); i++ {
		p, r := f.Regions[i-1], f.Regions[i]
		if p.BaseAddress+p.RegionSize != r.BaseAddress {
			t.Fatalf("region %d at 0x%x does not follow 0x%x+0x%x", i, r.BaseAddress, p.BaseAddress, p.RegionSize)
		}
	}
	// Every module's image lies in a MEM_IMAGE region starting at its base.
	for _, m := range f.Modules {
		found := false
		for _, r := range f.Regions {
			if r.BaseAddress == m.Base {
				found = r.Type == 0x1000000 && r.AllocationBase == m.Base
			}
		}
		if !found {
			t.Errorf("module %s at 0x%x has no image region", m.Name, m.Base)
		}
	}
	types := map[string]bool{}
	for _, h := range f.Handles {
		types[h.TypeName] = true
	}
	for _, want := range []string{"File", "Event", "Key"} {
		if !types[want] {
			t.Errorf("no %s handle among %v", want, types)
		}
	}
	if f.MiscInfo == nil || f.MiscInfo.SizeOfInfo != 1364 || f.MiscInfo.ProcessID != 15444 {
		t.Errorf("misc info %+v", f.MiscInfo)
	}
}

func TestThreadNames(t *testing.T) {
	f, err := Open("../testdata/minidump/breakpad_thread_name_list.dmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	named := 0
	for _, th := range f.Threads {
		if th.Name != "" {
			named++
		}
	}
	// ThreadNames(40): a count and three 12-byte entries.
	if named != 3 {
		t.Errorf("%d named threads, want 3", named)
	}
}

// TestBadInput checks that broken files give an error with an offset, or
// warnings and a partial result, never a panic.
func TestBadInput(t *testing.T) {
	for _, name := range []string{"rust-minidump_invalid-range.dmp", "rust-minidump_invalid-record-count.dmp"} {
		f, err := Open(filepath.Join("../testdata/minidump", name))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%s: %v is not a FormatError", name, err)
			}
			continue
		}
		if len(f.Warnings) == 0 {
			t.Errorf("%s: opened without a warning", name)
		}
		f.Close()
	}
	good, err := os.ReadFile("../testdata/minidump/breakpad_minidump2.dmp")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "offset 0x0"},
		{"text", []byte("hello, this is not a dump at all....."), `not a minidump: signature "hell"`},
		{"header only", good[:32], "stream directory"},
	} {
		_, err := NewFile(strings.NewReader(string(tc.data)), int64(len(tc.data)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// Every truncation of a real dump opens or fails cleanly.
	for n := 0; n < len(good); n += 7 {
		f, err := NewFile(strings.NewReader(string(good[:n])), int64(n))
		if err == nil && n < len(good) && len(f.Warnings) == 0 && n < 0x2c00 {
			t.Errorf("truncated at %d: no warning", n)
		}
	}
}

func TestAddressSpaceMatchesFile(t *testing.T) {
	data, err := os.ReadFile("../testdata/minidump/breakpad_minidump2.dmp")
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	as := f.AddressSpace()
	for _, m := range f.Memory {
		buf := make([]byte, m.Size)
		if _, err := as.ReadAt(buf, m.VA); err != nil {
			t.Fatal(err)
		}
		if string(buf) != string(data[m.FileOff:m.FileOff+int64(m.Size)]) {
			t.Errorf("range 0x%x differs from the file", m.VA)
		}
		if _, err := as.ReadAt(make([]byte, 1), m.VA+m.Size); err == nil {
			// a neighbour may follow; only check when none does
			if _, ok := as.Translate(m.VA + m.Size); !ok {
				t.Errorf("read past 0x%x succeeded", m.VA+m.Size)
			}
		}
	}
}

// TestAmplification builds a dump whose ModuleList entries all name the same
// 64 KiB string: opening it must stay proportional to the file's size.
func TestAmplification(t *testing.T) {
	const n = 2000
	hdr := make([]byte, 32+12)
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], Signature)
	le.PutUint32(hdr[4:], version)
	le.PutUint32(hdr[8:], 1)
	le.PutUint32(hdr[12:], 32)
	le.PutUint32(hdr[32:], uint32(ModuleListStream))
	listOff := uint32(len(hdr))
	list := make([]byte, 4+n*108)
	strOff := listOff + uint32(len(list))
	le.PutUint32(list, n)
	for i := 0; i < n; i++ {
		e := list[4+i*108:]
		le.PutUint64(e, uint64(i)<<16)
		le.PutUint32(e[20:], strOff) // name
		le.PutUint32(e[76:], 60000)  // CodeView size
		le.PutUint32(e[80:], strOff) // CodeView rva
	}
	le.PutUint32(hdr[36:], uint32(len(list)))
	le.PutUint32(hdr[40:], listOff)
	str := make([]byte, 4+maxString)
	le.PutUint32(str, maxString)
	for i := 4; i < len(str); i += 2 {
		str[i] = 'A'
	}
	data := append(append(hdr, list...), str...)
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Modules) != n {
		t.Fatalf("%d modules", len(f.Modules))
	}
	named := 0
	for _, m := range f.Modules {
		if m.Name != "" {
			named++
		}
	}
	// 4*size+1MiB of budget at 64 KiB (name) + 60000 (CodeView) a module.
	if named == n || named == 0 {
		t.Errorf("%d of %d modules named: the budget did not stop the repeats", named, n)
	}
	said := 0
	for _, w := range f.Warnings {
		if strings.Contains(w.Msg, "add up to more than the file") {
			said++
		}
	}
	if said != 1 {
		t.Errorf("the budget was said %d times, want once", said)
	}
}

func BenchmarkOpen(b *testing.B) {
	data, err := os.ReadFile("../testdata/sample/nc64.dmp")
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(data)
	for b.Loop() {
		if _, err := NewFile(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
