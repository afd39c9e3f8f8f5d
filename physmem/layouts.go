package physmem

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// layouts.json holds kernel structure offsets per build (EPROCESS, KPROCESS,
// HANDLE_TABLE, MM_SESSION_SPACE) taken from the Vergilius Project (through
// the vergilius-rs headers), JPCERT/CC's Volatility symbol tables and, for
// Windows 2000, Geoff Chappell's EPROCESS study. layouts_test.go checks it
// against the corpus copies of the first two.
//
//go:embed layouts.json
var layoutsJSON []byte

// Layout gives the offsets of the kernel fields physmem reads for one build
// and architecture. An offset of -1 means the build has no such field.
type Layout struct {
	Version string // "6.1.7601.17514"
	Arch    string // "x86" or "x64"
	Source  string
	Major   uint32
	Minor   uint32
	Build   uint32
	Rev     uint32 // the fourth number of Version

	// KPROCESS (at the start of EPROCESS).
	DirectoryTableBase int
	KProcessSize       int // DISPATCHER_HEADER.Size of a process is KProcessSize/4
	EProcessSize       int

	// EPROCESS.
	UniqueProcessId              int
	ActiveProcessLinks           int
	InheritedFromUniqueProcessId int
	ImageFileName                int
	CreateTime                   int
	ExitTime                     int
	ExitStatus                   int
	Peb                          int
	ObjectTable                  int
	Wow64Process                 int
	ThreadListHead               int
	ActiveThreads                int
	Session                      int // pointer to MM_SESSION_SPACE
	SessionId                    int // ULONG in EPROCESS itself (Windows 2000)

	HandleCount           int // in HANDLE_TABLE (absent from Windows 8 on)
	SessionSpaceSessionId int // in MM_SESSION_SPACE
}

// PointerSize is 8 for x64 and 4 for x86.
func (l *Layout) PointerSize() int {
	if l.Arch == "x64" {
		return 8
	}
	return 4
}

// extent is the number of bytes from the start of an EPROCESS that hold
// every field the layout names.
func (l *Layout) extent() int {
	end := l.KProcessSize
	for _, f := range []struct{ off, size int }{
		{l.DirectoryTableBase, 8}, {l.UniqueProcessId, 8}, {l.ActiveProcessLinks, 16}, {l.InheritedFromUniqueProcessId, 8},
		{l.ImageFileName, 16}, {l.CreateTime, 8}, {l.ExitTime, 8}, {l.ExitStatus, 4}, {l.Peb, 8}, {l.ObjectTable, 8},
		{l.Wow64Process, 8}, {l.ThreadListHead, 16}, {l.ActiveThreads, 4}, {l.Session, 8}, {l.SessionId, 4},
	} {
		if f.off >= 0 && f.off+f.size > end {
			end = f.off + f.size
		}
	}
	if end > 0x1000 {
		end = 0x1000
	}
	return end
}

func (l *Layout) String() string { return l.Version + " " + l.Arch }

var allLayouts = mustLayouts()

func mustLayouts() []*Layout {
	ls, err := parseLayouts(layoutsJSON)
	if err != nil {
		panic("physmem: layouts.json: " + err.Error())
	}
	return ls
}

func parseLayouts(b []byte) ([]*Layout, error) {
	var doc struct {
		Builds []struct {
			Version string         `json:"version"`
			Arch    string         `json:"arch"`
			Source  string         `json:"source"`
			Fields  map[string]int `json:"fields"`
		} `json:"builds"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var out []*Layout
	for _, d := range doc.Builds {
		p := strings.Split(d.Version, ".")
		if len(p) < 3 {
			return nil, fmt.Errorf("version %q", d.Version)
		}
		var n [4]uint32
		for i := 0; i < len(p) && i < len(n); i++ {
			v, err := strconv.ParseUint(p[i], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("version %q: %v", d.Version, err)
			}
			n[i] = uint32(v)
		}
		f := func(name string) int {
			if v, ok := d.Fields[name]; ok {
				return v
			}
			return -1
		}
		l := &Layout{
			Version: d.Version, Arch: d.Arch, Source: d.Source, Major: n[0], Minor: n[1], Build: n[2], Rev: n[3],
			DirectoryTableBase:           f("DirectoryTableBase"),
			KProcessSize:                 f("KPROCESS._size"),
			EProcessSize:                 f("EPROCESS._size"),
			UniqueProcessId:              f("UniqueProcessId"),
			ActiveProcessLinks:           f("ActiveProcessLinks"),
			InheritedFromUniqueProcessId: f("InheritedFromUniqueProcessId"),
			ImageFileName:                f("ImageFileName"),
			CreateTime:                   f("CreateTime"),
			ExitTime:                     f("ExitTime"),
			ExitStatus:                   f("ExitStatus"),
			Peb:                          f("Peb"),
			ObjectTable:                  f("ObjectTable"),
			Wow64Process:                 f("Wow64Process"),
			ThreadListHead:               f("ThreadListHead"),
			ActiveThreads:                f("ActiveThreads"),
			Session:                      f("Session"),
			SessionId:                    f("SessionId"),
			HandleCount:                  f("HandleTable.HandleCount"),
			SessionSpaceSessionId:        f("MmSessionSpace.SessionId"),
		}
		if l.Arch != "x86" && l.Arch != "x64" {
			return nil, fmt.Errorf("%s: arch %q", d.Version, d.Arch)
		}
		if l.UniqueProcessId < 0 || l.ActiveProcessLinks < 0 || l.ImageFileName < 0 || l.DirectoryTableBase < 0 || l.KProcessSize <= 0 {
			return nil, fmt.Errorf("%s %s: a required field is missing", d.Version, d.Arch)
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		if a.Major != b.Major {
			return a.Major < b.Major
		}
		if a.Minor != b.Minor {
			return a.Minor < b.Minor
		}
		if a.Build != b.Build {
			return a.Build < b.Build
		}
		return a.Rev < b.Rev
	})
	return out, nil
}

// Layouts returns the kernel layouts physmem knows, by architecture and
// version.
func Layouts() []*Layout { return append([]*Layout(nil), allLayouts...) }

// LayoutFor picks the layout for a kernel version: the same major.minor and
// the highest build not above build (the build itself when known), else the
// lowest build of that major.minor. build 0 means unknown. It returns nil
// when no layout has that architecture and major.minor.
func LayoutFor(arch string, major, minor, build uint32) *Layout {
	var best, first *Layout
	for _, l := range allLayouts {
		if l.Arch != arch || l.Major != major || l.Minor != minor {
			continue
		}
		if first == nil {
			first = l
		}
		if build == 0 || l.Build <= build {
			best = l
		}
	}
	if best == nil {
		best = first
	}
	return best
}

// candidateLayouts lists distinct layouts of an architecture (by the fields
// the System-process search uses), newest first, for a search by signature
// when the version is unknown.
func candidateLayouts(arch string) []*Layout {
	seen := map[[5]int]bool{}
	var out []*Layout
	for i := len(allLayouts) - 1; i >= 0; i-- {
		l := allLayouts[i]
		if arch != "" && l.Arch != arch {
			continue
		}
		k := [5]int{l.KProcessSize, l.UniqueProcessId, l.ActiveProcessLinks, l.ImageFileName, l.PointerSize()}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, l)
	}
	return out
}
