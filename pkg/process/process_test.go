package process

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
	"github.com/remnant-forensics/remnant/minidump"
)

type truth = testcorpus.WineTruth

func hexval(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("truth value %q: %v", s, err)
	}
	return v
}

func check(t *testing.T, p *Process, tr truth) {
	t.Helper()
	g := tr.GroundTruth
	if p.PID != g.PID || p.Win == nil || p.Win.PEB != hexval(t, g.PEB) || p.Win.ImageBaseAddress != hexval(t, g.ImageBase) {
		t.Errorf("pid %d peb %+v, truth pid %d peb %s image base %s", p.PID, p.Win, g.PID, g.PEB, g.ImageBase)
	}
	for _, c := range []struct{ name, got, want string }{
		{"command line", p.CommandLine, g.CommandLine},
		{"image path", p.ImagePath, g.ImagePathName},
		{"current directory", p.CurrentDirectory, g.CurrentDirectory},
		{"window title", p.WindowTitle, g.WindowTitle},
		{"dll path", p.DllPath, g.DllPath},
		{"desktop", p.DesktopInfo, g.DesktopInfo},
		{"shell info", p.ShellInfo, g.ShellInfo},
	} {
		if c.got != c.want {
			t.Errorf("%s %q, the process said %q", c.name, c.got, c.want)
		}
	}
	var env []string
	for _, v := range p.Environment {
		env = append(env, v.String())
	}
	if strings.Join(env, "\n") != strings.Join(g.Environment, "\n") {
		t.Errorf("environment:\n%s\nthe process said:\n%s", strings.Join(env, "\n"), strings.Join(g.Environment, "\n"))
	}
	var mods []string
	for _, m := range p.Modules {
		mods = append(mods, m.Path)
		if m.Source != "peb" {
			t.Errorf("module %s from %s", m.Path, m.Source)
		}
		if m.Timestamp == 0 {
			t.Errorf("module %s: no timestamp", m.Path)
		}
	}
	if strings.Join(mods, "\n") != strings.Join(g.Modules, "\n") {
		t.Errorf("modules:\n%s\nthe process said:\n%s", strings.Join(mods, "\n"), strings.Join(g.Modules, "\n"))
	}
	if p.Name != minidump.BaseName(g.ImagePathName) {
		t.Errorf("name %q", p.Name)
	}
}

// TestSamples checks the trimmed netcat dumps of testdata/sample against
// what the process reported while it ran.
func TestSamples(t *testing.T) {
	for _, b := range []string{"32", "64"} {
		t.Run("nc"+b, func(t *testing.T) {
			var tr truth
			testcorpus.ReadJSON(t, "../../testdata/sample/nc"+b+".full.truth.json", &tr)
			f, err := minidump.Open("../../testdata/sample/nc" + b + ".dmp")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p := FromDump(f)
			check(t, p, tr)
			for _, w := range p.Warnings {
				t.Errorf("warning: %s", w)
			}
		})
	}
}

// TestWineCorpus checks the full-memory Wine dumps of the shared corpus.
func TestWineCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses corpus dumps")
	}
	for _, name := range []string{"nc32_child_cmd_full.dmp", "cmdtty64_full.dmp", "conhost32_full.dmp"} {
		t.Run(name, func(t *testing.T) {
			var tr truth
			testcorpus.Truth(t, name, &tr)
			f, err := minidump.Open(testcorpus.Wine(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			check(t, FromDump(f), tr)
		})
	}
}

// TestStreamsFallback: dumps without process memory give the ModuleList
// and one warning.
func TestStreamsFallback(t *testing.T) {
	f, err := minidump.Open("../../testdata/minidump/breakpad_minidump2.dmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := FromDump(f)
	if len(p.Modules) != len(f.Modules) || p.Modules[0].Source != "stream" || p.Name != "test_app.exe" || p.PID != 3932 {
		t.Errorf("%d modules, name %q pid %d", len(p.Modules), p.Name, p.PID)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "no PEB") {
		t.Errorf("warnings %q", p.Warnings)
	}
	if p.CommandLine != "" || p.HasParams {
		t.Error("parameters from nowhere")
	}
}

func BenchmarkFromDump(b *testing.B) {
	for _, s := range []string{"nc32", "nc64"} {
		b.Run(s, func(b *testing.B) {
			f, err := minidump.Open("../../testdata/sample/" + s + ".dmp")
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			for b.Loop() {
				if p := FromDump(f); p.CommandLine == "" {
					b.Fatal("no command line")
				}
			}
		})
	}
}

// TestCorpusParametersInGNUStrings: for the corpus minidumps that hold the
// process parameters, every parameter string read through the PEB is one
// that GNU `strings -e l` finds in the file (whole, or inside a longer run:
// the parameter block packs its strings without terminators).
func TestCorpusParametersInGNUStrings(t *testing.T) {
	if _, err := exec.LookPath("strings"); err != nil {
		t.Skip("GNU strings (binutils) not installed")
	}
	root := testcorpus.Root(t)
	for _, name := range []string{"breakpad/tiny-exe-fastfail.dmp", "electron/windows.dmp", "lldb/sigsegv.dmp"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(root, "minidump", name)
			out, err := exec.Command("strings", "-a", "-n", "3", "-e", "l", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(out), "\n")
			found := func(s string) bool {
				for _, l := range lines {
					if strings.Contains(l, s) {
						return true
					}
				}
				return false
			}
			f, err := minidump.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p := FromDump(f)
			if !p.HasParams || p.CommandLine == "" || p.ImagePath == "" {
				t.Fatalf("no parameters: %+v", p.Warnings)
			}
			for _, s := range []string{p.CommandLine, p.ImagePath, p.CurrentDirectory, p.WindowTitle, p.DesktopInfo} {
				if s != "" && !found(s) {
					t.Errorf("%q is not a string GNU strings -e l finds", s)
				}
			}
			n := 0
			for _, v := range p.Environment {
				if !found(v.String()) {
					t.Errorf("environment %q is not a string GNU strings finds", v)
				}
				n++
			}
			if n == 0 {
				t.Error("no environment")
			}
		})
	}
}
