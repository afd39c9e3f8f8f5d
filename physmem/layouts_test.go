package physmem

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

const corpusLayouts = "../../shared/corpus/layouts"

// TestLayoutsMatchVergilius checks every build of the corpus's
// vergilius-offsets.json against layouts.json, field by field.
func TestLayoutsMatchVergilius(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(corpusLayouts, "vergilius-offsets.json"))
	if err != nil {
		t.Skip("corpus not available:", err)
	}
	var v map[string]map[string]map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	fields := map[string]func(*Layout) int{
		"UniqueProcessId":              func(l *Layout) int { return l.UniqueProcessId },
		"ActiveProcessLinks":           func(l *Layout) int { return l.ActiveProcessLinks },
		"InheritedFromUniqueProcessId": func(l *Layout) int { return l.InheritedFromUniqueProcessId },
		"ImageFileName":                func(l *Layout) int { return l.ImageFileName },
		"CreateTime":                   func(l *Layout) int { return l.CreateTime },
		"ExitTime":                     func(l *Layout) int { return l.ExitTime },
		"Peb":                          func(l *Layout) int { return l.Peb },
		"ObjectTable":                  func(l *Layout) int { return l.ObjectTable },
		"ThreadListHead":               func(l *Layout) int { return l.ThreadListHead },
		"Wow64Process":                 func(l *Layout) int { return l.Wow64Process },
	}
	checked := 0
	for key, s := range v {
		ver, arch, _ := strings.Cut(key, "-")
		var l *Layout
		for _, c := range allLayouts {
			if c.Version == ver && c.Arch == arch {
				l = c
			}
		}
		if l == nil {
			t.Errorf("%s: not in layouts.json", key)
			continue
		}
		for name, get := range fields {
			want, ok := s["_EPROCESS"][name]
			if !ok {
				continue
			}
			if got := get(l); got != hexOffset(t, want) {
				t.Errorf("%s EPROCESS.%s = 0x%x, Vergilius 0x%x", key, name, got, hexOffset(t, want))
			}
			checked++
		}
		if got, want := l.DirectoryTableBase, hexOffset(t, s["_KPROCESS"]["DirectoryTableBase"]); got != want {
			t.Errorf("%s KPROCESS.DirectoryTableBase 0x%x, want 0x%x", key, got, want)
		}
		if got, want := l.KProcessSize, int(s["_KPROCESS"]["_size"].(float64)); got != want {
			t.Errorf("%s KPROCESS size %d, want %d", key, got, want)
		}
		if got, want := l.EProcessSize, int(s["_EPROCESS"]["_size"].(float64)); got != want {
			t.Errorf("%s EPROCESS size %d, want %d", key, got, want)
		}
	}
	if len(v) < 50 || checked < 400 {
		t.Errorf("checked %d fields of %d builds", checked, len(v))
	}
}

func hexOffset(t testing.TB, v any) int {
	s, _ := v.(string)
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "0x"), 16, 32)
	if err != nil {
		t.Fatalf("offset %v: %v", v, err)
	}
	return int(n)
}

// TestLayoutsMatchJPCERT checks the JPCERT symbol tables of the corpus
// (Volatility ISF, from Microsoft's PDBs) against layouts.json: each file's
// own build, and the Vergilius build of the same release where the corpus
// has both.
func TestLayoutsMatchJPCERT(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusLayouts, "jpcert-isf", "*.json.xz"))
	if len(files) == 0 {
		t.Skip("corpus not available")
	}
	readme, err := os.ReadFile(filepath.Join(corpusLayouts, "jpcert-isf", "README-symbol-list.md"))
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		files = files[:1] // each file costs about a second to decompress
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
		version := ""
		for _, line := range strings.Split(string(readme), "\n") {
			if strings.Contains(strings.ToUpper(line), guid) {
				version = strings.TrimSpace(strings.Split(line, "|")[1])
			}
		}
		if version == "" {
			t.Errorf("%s: not in the README", guid)
			return
		}
		isf := cachedISF(t, guid)
		ep := isf.UserTypes["_EPROCESS"].Fields
		off := func(st, name string) int {
			fl, ok := isf.UserTypes[st].Fields[name]
			if !ok {
				return -1
			}
			return fl.Offset
		}
		wow := off("_EPROCESS", "WoW64Process")
		if wow < 0 {
			wow = off("_EPROCESS", "Wow64Process")
		}
		want := map[string]int{
			"UniqueProcessId": ep["UniqueProcessId"].Offset, "ActiveProcessLinks": ep["ActiveProcessLinks"].Offset,
			"InheritedFromUniqueProcessId": ep["InheritedFromUniqueProcessId"].Offset, "ImageFileName": ep["ImageFileName"].Offset,
			"CreateTime": ep["CreateTime"].Offset, "ExitTime": ep["ExitTime"].Offset, "Peb": ep["Peb"].Offset,
			"ObjectTable": ep["ObjectTable"].Offset, "ThreadListHead": ep["ThreadListHead"].Offset,
			"ActiveThreads": ep["ActiveThreads"].Offset, "Session": ep["Session"].Offset, "Wow64Process": wow,
			"DirectoryTableBase": off("_KPROCESS", "DirectoryTableBase"), "KProcessSize": isf.UserTypes["_KPROCESS"].Size,
			"HandleCount": off("_HANDLE_TABLE", "HandleCount"), "SessionSpaceSessionId": off("_MM_SESSION_SPACE", "SessionId"),
		}
		p := strings.Split(version, ".")
		major, _ := strconv.Atoi(p[0])
		minor, _ := strconv.Atoi(p[1])
		build, _ := strconv.Atoi(p[2])
		// The exact build, and the nearest Vergilius build of the same release.
		for _, l := range []*Layout{exact(version), LayoutFor("x64", uint32(major), uint32(minor), uint32(build))} {
			if l == nil {
				t.Errorf("%s: no layout", version)
				continue
			}
			got := map[string]int{
				"UniqueProcessId": l.UniqueProcessId, "ActiveProcessLinks": l.ActiveProcessLinks,
				"InheritedFromUniqueProcessId": l.InheritedFromUniqueProcessId, "ImageFileName": l.ImageFileName,
				"CreateTime": l.CreateTime, "ExitTime": l.ExitTime, "Peb": l.Peb, "ObjectTable": l.ObjectTable,
				"ThreadListHead": l.ThreadListHead, "ActiveThreads": l.ActiveThreads, "Session": l.Session,
				"Wow64Process": l.Wow64Process, "DirectoryTableBase": l.DirectoryTableBase, "KProcessSize": l.KProcessSize,
				"HandleCount": l.HandleCount, "SessionSpaceSessionId": l.SessionSpaceSessionId,
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s (JPCERT %s) vs layout %s: %s = %d, ISF %d", version, guid, l, k, got[k], w)
				}
			}
		}
	}
}

func exact(version string) *Layout {
	for _, l := range allLayouts {
		if l.Version == version {
			return l
		}
	}
	return nil
}

type isfDoc struct {
	UserTypes map[string]struct {
		Size   int `json:"size"`
		Fields map[string]struct {
			Offset int `json:"offset"`
		} `json:"fields"`
	} `json:"user_types"`
	Symbols map[string]struct {
		Address uint64 `json:"address"`
	} `json:"symbols"`
	Metadata struct {
		Windows struct {
			PDB struct {
				GUID     string `json:"GUID"`
				Age      uint32 `json:"age"`
				Database string `json:"database"`
			} `json:"pdb"`
		} `json:"windows"`
	} `json:"metadata"`
}

func readISF(t testing.TB, path string) *isfDoc {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := xz.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var d isfDoc
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// TestLayoutWindows2000 checks the Windows 2000 SP4 entry against the second
// public listing there is (forensikblog.de, "_EPROCESS Version
// 5.0.2195.7045", a kd dt dump): EPROCESS 0x290 bytes, KPROCESS 0x6c bytes,
// DirectoryTableBase at 0x18. The other offsets have Geoff Chappell's study
// as their only source.
func TestLayoutWindows2000(t *testing.T) {
	l := LayoutFor("x86", 5, 0, 2195)
	if l == nil || l.EProcessSize != 0x290 || l.KProcessSize != 0x6c || l.DirectoryTableBase != 0x18 {
		t.Fatalf("windows 2000 layout %+v", l)
	}
}

func TestLayoutFor(t *testing.T) {
	for _, c := range []struct {
		arch                string
		major, minor, build uint32
		want                string
	}{
		{"x64", 6, 1, 7601, "6.1.7601.24540"},
		{"x64", 6, 1, 7600, "6.1.7600.16385"},
		{"x64", 10, 0, 19045, "10.0.19045.2965"},
		{"x64", 10, 0, 19044, "10.0.19041.1288"},
		{"x64", 10, 0, 0, "10.0.22631.2428"},
		{"x86", 5, 1, 2600, "5.1.2600.5512"},
		{"x86", 5, 0, 0, "5.0.2195.7045"},
		{"x64", 6, 0, 100, "6.0.6000.16386"},
	} {
		l := LayoutFor(c.arch, c.major, c.minor, c.build)
		if l == nil || l.Version != c.want {
			t.Errorf("LayoutFor(%s %d.%d.%d) = %v, want %s", c.arch, c.major, c.minor, c.build, l, c.want)
		}
	}
	if LayoutFor("x64", 4, 0, 1381) != nil {
		t.Error("NT 4 layout found")
	}
}
