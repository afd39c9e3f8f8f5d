package win_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/win"
)

// TestCorpusMinidumps walks the Windows minidumps of Breakpad, Crashpad,
// Electron, LLDB, rust-minidump and Sentry. Most hold no TEB memory; four
// hold the PEB and (part of) the parameters, one the whole loader list but
// its last entry. What they record elsewhere is the independent check: the
// SystemInfo stream (build, processor count) and the ModuleList stream
// (main image path and base; every module's base, size and path).
func TestCorpusMinidumps(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus, "minidump/*/*.dmp"))
	if len(files) == 0 {
		t.Skip("corpus not available")
	}
	// Dumps whose TEB memory is captured, and what the walk must find.
	want := map[string]struct {
		params  bool // RTL_USER_PROCESS_PARAMETERS readable
		modules int  // loader entries readable (InLoadOrder)
	}{
		"tiny-exe-fastfail.dmp":       {params: true},
		"tiny-exe-with-cet-xsave.dmp": {modules: 24},
		"windows.dmp":                 {params: true},
		"sigsegv.dmp":                 {params: true},
	}
	found := 0
	for _, path := range files {
		name := filepath.Base(path)
		f, err := minidump.Open(path)
		if err != nil {
			continue // the deliberately broken ones
		}
		p, warns := win.Walk(f.AddressSpace(), hints(f))
		w, expected := want[name]
		if !expected {
			if p != nil && p.PEB != 0 {
				t.Errorf("%s: PEB 0x%x found in a dump without TEB memory", name, p.PEB)
			}
			if f.SystemInfo != nil && f.SystemInfo.IsWindows() && len(f.Threads) > 0 && len(warns) == 0 {
				t.Errorf("%s: no PEB and no warning", name)
			}
			f.Close()
			continue
		}
		found++
		if p == nil {
			t.Errorf("%s: no PEB (%v)", name, warns)
			f.Close()
			continue
		}
		if p.PEBSource != "teb" || p.TEB != f.Threads[0].TEB {
			t.Errorf("%s: PEB found via %s from TEB 0x%x, want the first thread's TEB 0x%x", name, p.PEBSource, p.TEB, f.Threads[0].TEB)
		}
		if uint32(p.OSBuildNumber) != f.OS.Build || p.OSMajorVersion != f.OS.Major || p.OSMinorVersion != f.OS.Minor {
			t.Errorf("%s: PEB OS %d.%d.%d, SystemInfo %v", name, p.OSMajorVersion, p.OSMinorVersion, p.OSBuildNumber, f.OS)
		}
		if p.OSPlatformID != f.SystemInfo.PlatformID {
			t.Errorf("%s: PEB platform %d, SystemInfo %d", name, p.OSPlatformID, f.SystemInfo.PlatformID)
		}
		// GetSystemInfo counts the processors of the caller's group; the
		// PEB all of them (tiny-exe-fastfail: 72 in two groups of 36).
		if n, g := p.NumberOfProcessors, uint32(f.SystemInfo.NumberOfProcessors); n == 0 || g == 0 || n%g != 0 {
			t.Errorf("%s: PEB NumberOfProcessors %d, SystemInfo %d", name, n, g)
		}
		main := f.Modules[0]
		if p.ImageBaseAddress != main.Base {
			t.Errorf("%s: ImageBaseAddress 0x%x, module list's first module at 0x%x", name, p.ImageBaseAddress, main.Base)
		}
		if w.params {
			if p.Params == nil {
				t.Errorf("%s: no parameters", name)
			} else {
				if !strings.EqualFold(p.Params.ImagePathName.Text, main.Name) {
					t.Errorf("%s: ImagePathName %q, module list %q", name, p.Params.ImagePathName.Text, main.Name)
				}
				if p.Params.CommandLine.Text == "" || len(p.Params.Env) == 0 {
					t.Errorf("%s: command line %q, %d variables", name, p.Params.CommandLine.Text, len(p.Params.Env))
				}
				for _, v := range p.Params.Env {
					if v.Malformed {
						t.Errorf("%s: environment entry %q has no '='", name, v.Name)
					}
				}
			}
		}
		if w.modules > 0 {
			if len(p.InLoadOrder) != w.modules || len(p.InMemoryOrder) != w.modules {
				t.Errorf("%s: %d/%d loader entries, want %d", name, len(p.InLoadOrder), len(p.InMemoryOrder), w.modules)
			}
			for i, m := range p.InLoadOrder {
				if i >= len(f.Modules) {
					break
				}
				s := f.Modules[i]
				if m.DllBase != s.Base || m.SizeOfImage != s.Size || m.FullDllName != s.Name {
					t.Errorf("%s: load order %d = 0x%x+0x%x %q, module list 0x%x+0x%x %q", name, i, m.DllBase, m.SizeOfImage, m.FullDllName, s.Base, s.Size, s.Name)
				}
				if !strings.HasSuffix(strings.ToLower(m.FullDllName), strings.ToLower(m.BaseDllName)) {
					t.Errorf("%s: BaseDllName %q is not the end of %q", name, m.BaseDllName, m.FullDllName)
				}
			}
		}
		t.Logf("%s: PEB 0x%x, %d modules, %d warnings", name, p.PEB, len(p.InLoadOrder), len(warns))
		f.Close()
	}
	if found != len(want) {
		t.Errorf("%d of the %d dumps with a PEB were found", found, len(want))
	}
}
