package win

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

const corpus = "../../../shared/corpus"

// field maps a structure member name, as the published layouts spell it, to
// the offset a Layout holds for it.
type field func(*Layout) int

var fieldsByStruct = map[string]map[string]field{
	"_TEB": {
		"ProcessEnvironmentBlock": func(l *Layout) int { return l.TEB.PEB },
		"WowTebOffset":            func(l *Layout) int { return l.TEB.WowTebOffset },
		"NtTib":                   func(l *Layout) int { return l.TEB.ExceptionList }, // ExceptionList is NtTib's first member
		"_size":                   func(l *Layout) int { return l.TEB.Size },
	},
	"_NT_TIB": {
		"ExceptionList": func(l *Layout) int { return l.TEB.ExceptionList },
		"Self":          func(l *Layout) int { return l.TEB.Self },
	},
	"_PEB": {
		"BeingDebugged":      func(l *Layout) int { return l.PEB.BeingDebugged },
		"ImageBaseAddress":   func(l *Layout) int { return l.PEB.ImageBaseAddress },
		"Ldr":                func(l *Layout) int { return l.PEB.Ldr },
		"ProcessParameters":  func(l *Layout) int { return l.PEB.ProcessParameters },
		"ProcessHeap":        func(l *Layout) int { return l.PEB.ProcessHeap },
		"NumberOfProcessors": func(l *Layout) int { return l.PEB.NumberOfProcessors },
		"NumberOfHeaps":      func(l *Layout) int { return l.PEB.NumberOfHeaps },
		"ProcessHeaps":       func(l *Layout) int { return l.PEB.ProcessHeaps },
		"OSMajorVersion":     func(l *Layout) int { return l.PEB.OSMajorVersion },
		"OSMinorVersion":     func(l *Layout) int { return l.PEB.OSMinorVersion },
		"OSBuildNumber":      func(l *Layout) int { return l.PEB.OSBuildNumber },
		"OSCSDVersion":       func(l *Layout) int { return l.PEB.OSCSDVersion },
		"OSPlatformId":       func(l *Layout) int { return l.PEB.OSPlatformID },
		"SessionId":          func(l *Layout) int { return l.PEB.SessionID },
		"_size":              func(l *Layout) int { return l.PEB.Size },
	},
	"_PEB_LDR_DATA": {
		"Length":                          func(l *Layout) int { return l.LdrData.Length },
		"Initialized":                     func(l *Layout) int { return l.LdrData.Initialized },
		"InLoadOrderModuleList":           func(l *Layout) int { return l.LdrData.InLoadOrderModuleList },
		"InMemoryOrderModuleList":         func(l *Layout) int { return l.LdrData.InMemoryOrderModuleList },
		"InInitializationOrderModuleList": func(l *Layout) int { return l.LdrData.InInitializationOrderModuleList },
		"_size":                           func(l *Layout) int { return l.LdrData.Size },
	},
	"_LDR_DATA_TABLE_ENTRY": {
		"InLoadOrderLinks":           func(l *Layout) int { return l.LdrEntry.InLoadOrderLinks },
		"InMemoryOrderLinks":         func(l *Layout) int { return l.LdrEntry.InMemoryOrderLinks },
		"InInitializationOrderLinks": func(l *Layout) int { return l.LdrEntry.InInitializationOrderLinks },
		"DllBase":                    func(l *Layout) int { return l.LdrEntry.DllBase },
		"EntryPoint":                 func(l *Layout) int { return l.LdrEntry.EntryPoint },
		"SizeOfImage":                func(l *Layout) int { return l.LdrEntry.SizeOfImage },
		"FullDllName":                func(l *Layout) int { return l.LdrEntry.FullDllName },
		"BaseDllName":                func(l *Layout) int { return l.LdrEntry.BaseDllName },
		"TimeDateStamp":              func(l *Layout) int { return l.LdrEntry.TimeDateStamp },
		"_size":                      func(l *Layout) int { return l.LdrEntry.Size },
	},
	"_RTL_USER_PROCESS_PARAMETERS": {
		"MaximumLength":      func(l *Layout) int { return l.Params.MaximumLength },
		"Length":             func(l *Layout) int { return l.Params.Length },
		"Flags":              func(l *Layout) int { return l.Params.Flags },
		"CurrentDirectory":   func(l *Layout) int { return l.Params.CurrentDirectory },
		"DllPath":            func(l *Layout) int { return l.Params.DllPath },
		"ImagePathName":      func(l *Layout) int { return l.Params.ImagePathName },
		"CommandLine":        func(l *Layout) int { return l.Params.CommandLine },
		"Environment":        func(l *Layout) int { return l.Params.Environment },
		"WindowFlags":        func(l *Layout) int { return l.Params.WindowFlags },
		"ShowWindowFlags":    func(l *Layout) int { return l.Params.ShowWindowFlags },
		"WindowTitle":        func(l *Layout) int { return l.Params.WindowTitle },
		"DesktopInfo":        func(l *Layout) int { return l.Params.DesktopInfo },
		"ShellInfo":          func(l *Layout) int { return l.Params.ShellInfo },
		"RuntimeData":        func(l *Layout) int { return l.Params.RuntimeData },
		"EnvironmentSize":    func(l *Layout) int { return l.Params.EnvironmentSize },
		"EnvironmentVersion": func(l *Layout) int { return l.Params.EnvironmentVersion },
		"_size":              func(l *Layout) int { return l.Params.Size },
	},
	"_UNICODE_STRING": {
		"Length":        func(l *Layout) int { return l.UnicodeString.Length },
		"MaximumLength": func(l *Layout) int { return l.UnicodeString.MaximumLength },
		"Buffer":        func(l *Layout) int { return l.UnicodeString.Buffer },
		"_size":         func(l *Layout) int { return l.UnicodeString.Size },
	},
}

// lateFields are members some builds lack: when a published layout of a
// structure does not list one, ours must mark it Absent.
var lateFields = map[string][]string{
	"_RTL_USER_PROCESS_PARAMETERS": {"EnvironmentSize", "EnvironmentVersion"},
	"_TEB":                         {"WowTebOffset"},
}

// checkStruct compares one published structure with a layout. published
// maps member names to offsets; size is -1 when not published.
func checkStruct(t *testing.T, src string, l *Layout, st string, published map[string]int) int {
	t.Helper()
	fields := fieldsByStruct[st]
	n := 0
	for name, off := range published {
		get, ok := fields[name]
		if !ok {
			continue
		}
		got := get(l)
		if name == "_size" && got == 0 {
			t.Errorf("%s: %s %s size %d is published but our layout %s has 0", src, st, name, off, l)
			continue
		}
		if got != off {
			t.Errorf("%s: %s.%s at 0x%x, our layout %s says 0x%x", src, st, name, off, l, got)
		}
		n++
	}
	for _, name := range lateFields[st] {
		if _, ok := published[name]; ok {
			continue
		}
		if st == "_TEB" && src[:4] == "verg" {
			continue // the Vergilius extract lists only ProcessEnvironmentBlock of the TEB
		}
		if st == "_RTL_USER_PROCESS_PARAMETERS" && name == "EnvironmentVersion" && src[:4] == "verg" {
			continue // not in the Vergilius extract
		}
		if got := fields[name](l); got != Absent {
			t.Errorf("%s: %s has no %s but our layout %s puts it at 0x%x", src, st, name, l, got)
		}
		n++
	}
	return n
}

func parseHexOffset(t *testing.T, v any) int {
	t.Helper()
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseInt(strings.TrimPrefix(x, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("offset %q: %v", x, err)
		}
		return int(n)
	case float64:
		return int(x)
	}
	t.Fatalf("offset %v of type %T", v, v)
	return 0
}

// TestLayoutsMatchVergilius checks every field of every build of the
// Vergilius extract (51 builds, XP SP3 to 11 23H2) against LayoutFor.
func TestLayoutsMatchVergilius(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpus, "layouts/vergilius-offsets.json"))
	if err != nil {
		t.Skip("corpus not available:", err)
	}
	var builds map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &builds); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for key, structs := range builds {
		ver, arch, _ := strings.Cut(key, "-")
		parts := strings.Split(ver, ".")
		build, err := strconv.Atoi(parts[2])
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		a := X86
		if arch == "x64" {
			a = X64
		}
		l := LayoutFor(a, uint32(build))
		for st, members := range structs {
			if fieldsByStruct[st] == nil {
				continue // _EPROCESS, _KPROCESS: kernel side, not ours
			}
			pub := map[string]int{}
			for name, v := range members {
				pub[name] = parseHexOffset(t, v)
			}
			checked += checkStruct(t, "vergilius "+key, l, st, pub)
		}
	}
	if len(builds) != 51 {
		t.Errorf("vergilius: %d builds, want 51", len(builds))
	}
	t.Logf("vergilius: %d builds, %d field comparisons", len(builds), checked)
}

// readISF decodes an xz-compressed ISF file, with the xz tool when present
// (several times faster than the Go decoder).
func readISF(path string) (*isf, error) {
	var r io.Reader
	if xzPath, err := exec.LookPath("xz"); err == nil {
		out, err := exec.Command(xzPath, "-dc", path).Output()
		if err != nil {
			return nil, fmt.Errorf("xz -dc %s: %v", path, err)
		}
		r = bytes.NewReader(out)
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		zr, err := xz.NewReader(fh)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	var doc isf
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

type isf struct {
	Metadata struct {
		Windows struct {
			PDB struct {
				GUID string `json:"GUID"`
				Age  int    `json:"age"`
			} `json:"pdb"`
		} `json:"windows"`
	} `json:"metadata"`
	UserTypes map[string]struct {
		Size   int `json:"size"`
		Fields map[string]struct {
			Offset int `json:"offset"`
		} `json:"fields"`
	} `json:"user_types"`
}

// TestLayoutsMatchJPCERT checks the six JPCERT/CC ISF files (x64 kernels of
// 7, 8.1, 2016, 10 1809, 10 2004 and 11): the x64 structures against our x64
// layout, and _PEB32, _TEB32 and _NT_TIB32 (the 32-bit side of WOW64)
// against our x86 layout of the same build.
func TestLayoutsMatchJPCERT(t *testing.T) {
	dir := filepath.Join(corpus, "layouts/jpcert-isf")
	readme, err := os.ReadFile(filepath.Join(dir, "README-symbol-list.md"))
	if err != nil {
		t.Skip("corpus not available:", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json.xz"))
	if len(files) != 6 {
		t.Fatalf("%d ISF files, want 6", len(files))
	}
	for _, f := range files {
		guid := strings.TrimSuffix(filepath.Base(f), "-1.json.xz")
		t.Run(guid, func(t *testing.T) {
			t.Parallel()
			checkISF(t, f, guid, readme)
		})
	}
}

func checkISF(t *testing.T, f, guid string, readme []byte) {
	{
		// The README's table row: | 6.1.7601.24540 | 339e...37731 | Win7 |
		m := regexp.MustCompile(`(?mi)^\|\s*(\d+)\.(\d+)\.(\d+)\.\d+\s*\|\s*` + guid + `1\s*\|`).FindSubmatch(readme)
		if m == nil {
			t.Fatalf("%s: build not in README", guid)
		}
		build, _ := strconv.Atoi(string(m[3]))

		doc, err := readISF(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(doc.Metadata.Windows.PDB.GUID, guid) {
			t.Fatalf("%s: metadata GUID %s", f, doc.Metadata.Windows.PDB.GUID)
		}
		checked := 0
		for st, ut := range doc.UserTypes {
			var l *Layout
			name := st
			switch st {
			case "_TEB", "_PEB", "_PEB_LDR_DATA", "_LDR_DATA_TABLE_ENTRY", "_RTL_USER_PROCESS_PARAMETERS", "_UNICODE_STRING", "_NT_TIB":
				l = LayoutFor(X64, uint32(build))
			case "_TEB32", "_PEB32", "_NT_TIB32":
				l = LayoutFor(X86, uint32(build))
				name = strings.TrimSuffix(st, "32")
			default:
				continue
			}
			pub := map[string]int{"_size": ut.Size}
			if name == "_NT_TIB" {
				delete(pub, "_size") // not part of our layouts
			}
			for fname, fv := range ut.Fields {
				pub[fname] = fv.Offset
			}
			checked += checkStruct(t, "jpcert "+guid+" "+st, l, name, pub)
		}
		t.Logf("jpcert %s (build %d): %d field comparisons", guid, build, checked)
		if checked < 60 {
			t.Errorf("jpcert %s: only %d comparisons", guid, checked)
		}
	}
}

func TestLayoutFor(t *testing.T) {
	for _, c := range []struct {
		a     Arch
		build uint32
		want  string
	}{
		{X86, 0, "5.0.2195"}, {X86, 2195, "5.0.2195"}, {X86, 2600, "5.1.2600"},
		{X86, 7601, "6.1.7600"}, {X86, 26100, "10.0.22000"},
		{X64, 0, "5.2.3790"}, {X64, 7601, "6.1.7600"}, {X64, 19045, "10.0.18362"},
		{X64, 26100, "10.0.22621"},
	} {
		if got := LayoutFor(c.a, c.build).Name; got != c.want {
			t.Errorf("LayoutFor(%s, %d) = %s, want %s", c.a, c.build, got, c.want)
		}
	}
	// Windows 2000 has no EnvironmentSize; Vista has it.
	if LayoutFor(X86, 2195).Params.EnvironmentSize != Absent || LayoutFor(X86, 6000).Params.EnvironmentSize != 0x290 {
		t.Error("EnvironmentSize presence wrong")
	}
}
