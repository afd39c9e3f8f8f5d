package physmem

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/remnant-forensics/remnant/physmem/internal/gen"
)

// Published layouts for the generator, read from the corpus files
// themselves (not from layouts.json), so that a generated image read back
// by physmem checks physmem's tables and code against those sources.

var (
	vergiliusOnce sync.Once
	vergilius     map[string]map[string]map[string]any
	vergiliusErr  error

	isfMu    sync.Mutex
	isfCache = map[string]*isfDoc{}
)

func loadVergilius(t testing.TB) map[string]map[string]map[string]any {
	vergiliusOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(corpusLayouts, "vergilius-offsets.json"))
		if err != nil {
			vergiliusErr = err
			return
		}
		vergiliusErr = json.Unmarshal(b, &vergilius)
	})
	if vergiliusErr != nil {
		t.Skip("corpus not available:", vergiliusErr)
	}
	return vergilius
}

func cachedISF(t testing.TB, guid string) *isfDoc {
	isfMu.Lock()
	defer isfMu.Unlock()
	if d := isfCache[guid]; d != nil {
		return d
	}
	d := readISF(t, filepath.Join(corpusLayouts, "jpcert-isf", guid+"-1.json.xz"))
	isfCache[guid] = d
	return d
}

// vergiliusLayout builds a generator layout from vergilius-offsets.json
// for key ("6.1.7601.17514-x64"); kernel fields the file lacks are absent.
func vergiliusLayout(t testing.TB, key string) gen.Layout {
	v := loadVergilius(t)[key]
	if v == nil {
		t.Fatalf("%s not in vergilius-offsets.json", key)
	}
	m := func(st string) map[string]int {
		out := map[string]int{}
		for k, val := range v[st] {
			if k != "_size" {
				out[k] = hexOffset(t, val)
			}
		}
		return out
	}
	ep := m("_EPROCESS")
	delete(ep, "Pcb")
	peb := m("_PEB")
	// The file lists OSBuildNumber but not OSPlatformId, which follows
	// OSBuildNumber (USHORT) and OSCSDVersion (USHORT) in every PEB (the
	// JPCERT files and Vergilius agree); physmem does not read it.
	peb["OSPlatformId"] = peb["OSBuildNumber"] + 4
	return gen.Layout{
		EPROCESS:     ep,
		KProcessDTB:  hexOffset(t, v["_KPROCESS"]["DirectoryTableBase"]),
		KProcessSize: int(v["_KPROCESS"]["_size"].(float64)),
		EProcessSize: int(v["_EPROCESS"]["_size"].(float64)),
		HandleCount:  -1,
		SessionID:    -1,
		PEB:          peb,
		LdrData:      m("_PEB_LDR_DATA"),
		LdrEntry:     m("_LDR_DATA_TABLE_ENTRY"),
		Params:       m("_RTL_USER_PROCESS_PARAMETERS"),
	}
}

// isfLayout builds a generator layout from a JPCERT ISF file (all kernel
// fields), with the user-mode structures from the same file.
func isfLayout(t testing.TB, guid string) gen.Layout {
	d := cachedISF(t, guid)
	st := func(name string, fields ...string) map[string]int {
		out := map[string]int{}
		for _, f := range fields {
			if fl, ok := d.UserTypes[name].Fields[f]; ok {
				out[f] = fl.Offset
			}
		}
		return out
	}
	ep := st("_EPROCESS", "UniqueProcessId", "ActiveProcessLinks", "InheritedFromUniqueProcessId", "ImageFileName",
		"CreateTime", "ExitTime", "Peb", "ObjectTable", "ThreadListHead", "ActiveThreads", "Session", "Wow64Process")
	if w, ok := d.UserTypes["_EPROCESS"].Fields["WoW64Process"]; ok {
		ep["Wow64Process"] = w.Offset
	}
	hc := -1
	if f, ok := d.UserTypes["_HANDLE_TABLE"].Fields["HandleCount"]; ok {
		hc = f.Offset
	}
	return gen.Layout{
		EPROCESS:     ep,
		KProcessDTB:  d.UserTypes["_KPROCESS"].Fields["DirectoryTableBase"].Offset,
		KProcessSize: d.UserTypes["_KPROCESS"].Size,
		EProcessSize: d.UserTypes["_EPROCESS"].Size,
		HandleCount:  hc,
		SessionID:    d.UserTypes["_MM_SESSION_SPACE"].Fields["SessionId"].Offset,
		PEB:          st("_PEB", "ImageBaseAddress", "Ldr", "ProcessParameters", "OSMajorVersion", "OSMinorVersion", "OSBuildNumber", "OSPlatformId"),
		LdrData:      st("_PEB_LDR_DATA", "InLoadOrderModuleList", "InMemoryOrderModuleList", "InInitializationOrderModuleList"),
		LdrEntry:     st("_LDR_DATA_TABLE_ENTRY", "InLoadOrderLinks", "InMemoryOrderLinks", "DllBase", "SizeOfImage", "FullDllName", "BaseDllName", "LoadTime"),
		Params: st("_RTL_USER_PROCESS_PARAMETERS", "CurrentDirectory", "DllPath", "ImagePathName", "CommandLine",
			"Environment", "EnvironmentSize", "WindowTitle"),
	}
}

// windows2000Layout is Windows 2000 SP4 (5.0.2195.7045) from Geoff
// Chappell's EPROCESS study (offsets marked 5.0) and forensikblog.de's dt
// listing (sizes, DirectoryTableBase). The user-mode structures are those
// of Windows XP SP3 from vergilius-offsets.json: the PEB, PEB_LDR_DATA,
// LDR_DATA_TABLE_ENTRY and RTL_USER_PROCESS_PARAMETERS fields used here
// are at the same offsets in Windows 2000 (ReactOS's NT 5 headers; pkg/win
// relies on the same fact).
func windows2000Layout(t testing.TB) gen.Layout {
	xp := vergiliusLayout(t, "5.1.2600.5512-x86")
	return gen.Layout{
		EPROCESS: map[string]int{
			"CreateTime": 0x88, "ExitTime": 0x90, "UniqueProcessId": 0x9c, "ActiveProcessLinks": 0xa0,
			"ObjectTable": 0x128, "Peb": 0x1b0, "InheritedFromUniqueProcessId": 0x1c8, "SessionId": 0x1e4,
			"ImageFileName": 0x1fc, "ThreadListHead": 0x270,
		},
		KProcessDTB: 0x18, KProcessSize: 0x6c, EProcessSize: 0x290,
		HandleCount: -1, SessionID: -1,
		PEB: xp.PEB, LdrData: xp.LdrData, LdrEntry: xp.LdrEntry, Params: xp.Params,
	}
}

// isfSymbols takes the RVAs of the kernel variables the generator places
// from a JPCERT ISF file, and the kernel's PDB GUID and age from its
// metadata, so that Volatility 3 with that symbol file reads the image
// with its own symbol-based logic.
func isfSymbols(t testing.TB, guid string, s *gen.Spec) {
	d := cachedISF(t, guid)
	s.Symbols = map[string]uint64{}
	for _, name := range []string{"PsActiveProcessHead", "PsLoadedModuleList", "PsInitialSystemProcess",
		"KdDebuggerDataBlock", "KeNumberProcessors", "NtBuildNumber"} {
		sym, ok := d.Symbols[name]
		if !ok {
			t.Fatalf("%s: no symbol %s", guid, name)
		}
		s.Symbols[name] = sym.Address
	}
	pdb := d.Metadata.Windows.PDB
	g, err := pdbGUID(pdb.GUID)
	if err != nil || pdb.GUID != guid {
		t.Fatalf("%s: metadata GUID %q: %v", guid, pdb.GUID, err)
	}
	s.PDBGUID, s.PDBAge, s.PDBName = g, pdb.Age, pdb.Database
}

// pdbGUID turns the GUID as symbol servers spell it (32 hex digits:
// Data1, Data2, Data3 as numbers, then Data4's bytes) into the 16 bytes of
// an RSDS record, where Data1..3 are little-endian.
func pdbGUID(s string) ([16]byte, error) {
	var g [16]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return g, fmt.Errorf("GUID %q: want 32 hex digits", s)
	}
	copy(g[:], b)
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	return g, nil
}

func TestPDBGUID(t *testing.T) {
	// ntkrnlmp.pdb of 10.0.19041.1288: the symbol-server key
	// FC57F1C841C2C3F793D57AC134DC0EFA is GUID {FC57F1C8-41C2-C3F7-93D5-7AC134DC0EFA}.
	g, err := pdbGUID("FC57F1C841C2C3F793D57AC134DC0EFA")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xc8, 0xf1, 0x57, 0xfc, 0xc2, 0x41, 0xf7, 0xc3, 0x93, 0xd5, 0x7a, 0xc1, 0x34, 0xdc, 0x0e, 0xfa}
	if string(g[:]) != string(want) {
		t.Errorf("% x", g)
	}
}
