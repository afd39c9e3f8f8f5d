package win_test

import (
	"encoding/json"
	"github.com/remnant-forensics/remnant/internal/testcorpus"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/win"
	"github.com/ulikunitz/xz"
)

const corpus = "../../../shared/corpus"

// unxz decompresses src into dir (with the xz tool when present, it is
// several times faster than the Go decoder) and returns the path.
func unxz(t *testing.T, src, dir string) string {
	t.Helper()
	dst := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".xz"))
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if path, err := exec.LookPath("xz"); err == nil {
		cmd := exec.Command(path, "-dc", src)
		cmd.Stdout = out
		if err := cmd.Run(); err != nil {
			t.Fatalf("xz -dc %s: %v", src, err)
		}
		return dst
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := xz.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	return dst
}

// hints gathers what a minidump's streams say, as the CLI will.
func hints(f *minidump.File) win.Hints {
	h := win.Hints{
		OSMajor: f.OS.Major, OSMinor: f.OS.Minor, OSBuild: f.OS.Build,
		Is64: f.Arch.PointerSize() == 8,
	}
	for _, th := range f.Threads {
		h.TEBs = append(h.TEBs, th.TEB)
	}
	return h
}

type truthModule struct {
	Entry       string `json:"entry"`
	DllBase     string `json:"dll_base"`
	EntryPoint  string `json:"entry_point"`
	SizeOfImage string `json:"size_of_image"`
	FullDllName string `json:"full_dll_name"`
	BaseDllName string `json:"base_dll_name"`
}

type truthString struct {
	Length        int    `json:"length"`
	MaximumLength int    `json:"maximum_length"`
	Buffer        uint64 `json:"buffer"`
	Text          string `json:"text"`
}

type truth struct {
	Meta struct {
		WindowsVersion string `json:"windows_version"`
	} `json:"meta"`
	MDMP struct {
		ModuleList []struct {
			Base      string `json:"base"`
			Name      string `json:"name"`
			Timestamp uint32 `json:"timestamp"`
		} `json:"module_list"`
	} `json:"mdmp"`
	testcorpus.WineTruth
	PEBWalk struct {
		PEB                   string        `json:"peb"`
		BeingDebugged         int           `json:"being_debugged"`
		NumberOfProcessors    uint32        `json:"number_of_processors"`
		OSVersion             string        `json:"os_version"`
		OSPlatformID          uint32        `json:"os_platform_id"`
		SessionID             uint32        `json:"session_id"`
		Ldr                   string        `json:"ldr"`
		ProcessParameters     string        `json:"process_parameters"`
		LdrLength             uint32        `json:"ldr_length"`
		LdrInitialized        int           `json:"ldr_initialized"`
		InLoadOrder           []truthModule `json:"in_load_order"`
		InMemoryOrder         []truthModule `json:"in_memory_order"`
		InInitializationOrder []truthModule `json:"in_initialization_order"`
		Params                struct {
			Address         string                 `json:"address"`
			MaximumLength   uint32                 `json:"maximum_length"`
			Length          uint32                 `json:"length"`
			Flags           string                 `json:"flags"`
			WindowFlags     uint32                 `json:"WindowFlags"`
			ShowWindowFlags uint32                 `json:"ShowWindowFlags"`
			EnvironmentSize uint64                 `json:"EnvironmentSize"`
			Strings         map[string]truthString `json:"-"`
		} `json:"params"`
	} `json:"peb_walk"`
}

func hexU(t *testing.T, s string) uint64 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return v
}

func TestWineDumps(t *testing.T) {
	truths, _ := filepath.Glob(filepath.Join(corpus, "wine/*.truth.json"))
	if len(truths) == 0 {
		t.Skip("wine corpus not available")
	}
	dir := t.TempDir()
	for _, tp := range truths {
		name := strings.TrimSuffix(filepath.Base(tp), ".dmp.truth.json")
		t.Run(name, func(t *testing.T) {
			if testing.Short() && strings.Contains(name, "full") {
				t.Skip("full-memory dump in -short mode")
			}
			raw, err := os.ReadFile(tp)
			if err != nil {
				t.Fatal(err)
			}
			var tr truth
			if err := json.Unmarshal(raw, &tr); err != nil {
				t.Fatal(err)
			}
			var rawParams struct {
				PEBWalk struct {
					Params map[string]json.RawMessage `json:"params"`
				} `json:"peb_walk"`
			}
			json.Unmarshal(raw, &rawParams)
			tr.PEBWalk.Params.Strings = map[string]truthString{}
			for k, v := range rawParams.PEBWalk.Params {
				var s truthString
				if k[0] >= 'A' && k[0] <= 'Z' && json.Unmarshal(v, &s) == nil {
					tr.PEBWalk.Params.Strings[k] = s
				}
			}

			f, err := minidump.Open(unxz(t, strings.TrimSuffix(tp, ".truth.json")+".xz", dir))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p, warns := win.Walk(f.AddressSpace(), hints(f))
			for _, w := range warns {
				t.Logf("warning: %s", w)
			}
			gt := tr.GroundTruth
			if !gt.PEBInDump {
				if p != nil && p.PEB != 0 {
					t.Errorf("PEB 0x%x found, but the dump does not hold the PEB", p.PEB)
				}
				if len(warns) == 0 {
					t.Error("no PEB and no warning")
				}
				return
			}
			if p == nil {
				t.Fatal("no process")
			}
			checkWine(t, &tr, p)
		})
	}
}

func checkWine(t *testing.T, tr *truth, p *win.Process) {
	gt, pw := tr.GroundTruth, tr.PEBWalk
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	// What the process said about itself while running.
	eq("PEB", p.PEB, hexU(t, gt.PEB))
	eq("PEB source", p.PEBSource, "teb")
	eq("ImageBaseAddress", p.ImageBaseAddress, hexU(t, gt.ImageBase))
	if p.Params == nil {
		t.Fatal("no process parameters")
	}
	pp := p.Params
	eq("CommandLine", pp.CommandLine.Text, gt.CommandLine)
	eq("ImagePathName", pp.ImagePathName.Text, gt.ImagePathName)
	eq("CurrentDirectory", pp.CurrentDirectory.Text, gt.CurrentDirectory)
	eq("WindowTitle", pp.WindowTitle.Text, gt.WindowTitle)
	eq("DllPath", pp.DllPath.Text, gt.DllPath)
	eq("DesktopInfo", pp.DesktopInfo.Text, gt.DesktopInfo)
	eq("ShellInfo", pp.ShellInfo.Text, gt.ShellInfo)
	eq("Environment", pp.Environment, hexU(t, gt.EnvironmentAddress))
	var env []string
	for _, v := range pp.Env {
		env = append(env, v.String())
	}
	if strings.Join(env, "\n") != strings.Join(gt.Environment, "\n") {
		t.Errorf("environment: %d variables, the process reported %d\n got %q\nwant %q", len(env), len(gt.Environment), env, gt.Environment)
	}
	var names []string
	for _, m := range p.InLoadOrder {
		names = append(names, m.FullDllName)
	}
	if strings.Join(names, "\n") != strings.Join(gt.Modules, "\n") {
		t.Errorf("load order modules\n got %q\nwant %q", names, gt.Modules)
	}
	eq("in_load_order length", len(p.InLoadOrder), gt.LdrListLengths["in_load_order"])
	eq("in_memory_order length", len(p.InMemoryOrder), gt.LdrListLengths["in_memory_order"])
	eq("in_initialization_order length", len(p.InInitializationOrder), gt.LdrListLengths["in_initialization_order"])

	// The independent Python walk of the same dump.
	eq("BeingDebugged", p.BeingDebugged, pw.BeingDebugged != 0)
	eq("NumberOfProcessors", p.NumberOfProcessors, pw.NumberOfProcessors)
	eq("OS version", strconv.Itoa(int(p.OSMajorVersion))+"."+strconv.Itoa(int(p.OSMinorVersion))+"."+strconv.Itoa(int(p.OSBuildNumber)), pw.OSVersion)
	eq("OSPlatformId", p.OSPlatformID, pw.OSPlatformID)
	eq("SessionId", p.SessionID, pw.SessionID)
	eq("Ldr", p.Ldr, hexU(t, pw.Ldr))
	eq("ProcessParameters", p.ProcessParameters, hexU(t, pw.ProcessParameters))
	eq("LdrLength", p.LdrLength, pw.LdrLength)
	eq("LdrInitialized", p.LdrInitialized, pw.LdrInitialized != 0)
	eq("params addr", pp.Addr, hexU(t, pw.Params.Address))
	eq("params MaximumLength", pp.MaximumLength, pw.Params.MaximumLength)
	eq("params Length", pp.Length, pw.Params.Length)
	eq("params Flags", uint64(pp.Flags), hexU(t, pw.Params.Flags))
	eq("WindowFlags", pp.WindowFlags, pw.Params.WindowFlags)
	eq("ShowWindowFlags", pp.ShowWindowFlags, pw.Params.ShowWindowFlags)
	if pp.HasEnvironmentSize {
		eq("EnvironmentSize", pp.EnvironmentSize, pw.Params.EnvironmentSize)
	}
	for name, got := range map[string]win.UnicodeString{
		"CurrentDirectory": pp.CurrentDirectory, "DllPath": pp.DllPath, "ImagePathName": pp.ImagePathName,
		"CommandLine": pp.CommandLine, "WindowTitle": pp.WindowTitle, "DesktopInfo": pp.DesktopInfo,
		"ShellInfo": pp.ShellInfo, "RuntimeData": pp.RuntimeData,
	} {
		want, ok := pw.Params.Strings[name]
		if !ok {
			t.Errorf("truth has no %s", name)
			continue
		}
		eq(name+".Length", int(got.Length), want.Length)
		eq(name+".MaximumLength", int(got.MaximumLength), want.MaximumLength)
		eq(name+".Buffer", got.Buffer, want.Buffer)
		if name != "RuntimeData" {
			eq(name+".Text", got.Text, want.Text)
		}
	}
	for _, l := range []struct {
		name string
		got  []win.Module
		want []truthModule
	}{
		{"in_load_order", p.InLoadOrder, pw.InLoadOrder},
		{"in_memory_order", p.InMemoryOrder, pw.InMemoryOrder},
		{"in_initialization_order", p.InInitializationOrder, pw.InInitializationOrder},
	} {
		if len(l.got) != len(l.want) {
			t.Errorf("%s: %d modules, the Python walk %d", l.name, len(l.got), len(l.want))
			continue
		}
		for i, w := range l.want {
			g := l.got[i]
			if g.Entry != hexU(t, w.Entry) || g.DllBase != hexU(t, w.DllBase) || g.EntryPoint != hexU(t, w.EntryPoint) ||
				uint64(g.SizeOfImage) != hexU(t, w.SizeOfImage) || g.FullDllName != w.FullDllName || g.BaseDllName != w.BaseDllName {
				t.Errorf("%s[%d] = %+v, the Python walk has %+v", l.name, i, g, w)
			}
		}
	}

	// PE header TimeDateStamps read from memory against the dump's own
	// module list (which Wine's dbghelp filled from the loaded modules).
	stamps := map[uint64]uint32{}
	for _, m := range tr.MDMP.ModuleList {
		stamps[hexU(t, m.Base)] = m.Timestamp
	}
	inMem := 0
	for _, m := range p.InLoadOrder {
		if !m.HeaderInMemory {
			continue
		}
		inMem++
		if want, ok := stamps[m.DllBase]; ok && m.TimeDateStamp != want {
			t.Errorf("%s: TimeDateStamp 0x%x from memory, module list says 0x%x", m.BaseDllName, m.TimeDateStamp, want)
		}
	}
	if inMem == 0 {
		t.Error("no module header found in a full-memory dump")
	}
	t.Logf("%d modules, %d headers in memory, %d environment variables", len(p.InLoadOrder), inMem, len(p.Params.Env))
}
