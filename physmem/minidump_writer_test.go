package physmem

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/process"
)

// TestWriteMinidump writes nc.exe of generated images as a minidump, reads
// it back with remnant's minidump reader and checks it against the
// generator's spec (command line, image path, DLLs), the image's own view
// of the process (every byte of every range) and the dump's streams.
func TestWriteMinidump(t *testing.T) {
	for _, c := range []struct {
		scenario string
		arch     minidump.Arch
	}{
		{"win10-19041-x64-isf-raw", minidump.ArchAMD64},
		{"win2000sp4-x86-raw", minidump.ArchX86},
		{"xpsp3-pae-crash", minidump.ArchX86},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			sc := scenarioByName(t, c.scenario)
			_, im := sc.open(t)
			ps, _ := im.Processes()
			p := procByPID(t, ps, 1424)
			spec := sc.spec.Procs[procIndex(t, sc.spec, 1424)]
			var buf bytes.Buffer
			st, warns, err := im.WriteMinidump(&buf, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warns {
				t.Logf("warning: %s", w)
			}
			if st.Size != int64(buf.Len()) || st.Modules != 1+len(spec.DLLs) || st.Ranges == 0 {
				t.Errorf("stats %+v, %d bytes written", st, buf.Len())
			}

			d, err := minidump.NewFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			s := d.Summary()
			for _, w := range s.Warnings {
				t.Errorf("reader warning: %s", w)
			}
			in := im.Info()
			if s.Arch != c.arch || s.PID != 1424 || !s.HasPID || s.OS.Major != sc.spec.Major || s.OS.Minor != sc.spec.Minor ||
				s.OS.Build != in.Build || (in.Build != 0 && in.Build != sc.spec.Build) || s.OS.PlatformID != 2 || !s.CreateTime.Equal(spec.Create) || !s.DumpTime.Equal(in.Time) {
				t.Errorf("summary: arch %v pid %d/%v os %+v created %v dumped %v", s.Arch, s.PID, s.HasPID, s.OS, s.CreateTime, s.DumpTime)
			}
			var names []string
			for _, m := range s.Modules {
				names = append(names, m.Name)
			}
			if want := append([]string{spec.Path}, spec.DLLs...); !slices.Equal(names, want) {
				t.Errorf("ModuleList %q, want %q", names, want)
			}

			// The process view from the dump equals the spec's.
			v := process.FromDump(d)
			if v.CommandLine != spec.CmdLine || v.ImagePath != spec.Path || v.CurrentDirectory != spec.CurDir || v.Name != "nc.exe" {
				t.Errorf("from the dump: %q %q %q %q", v.Name, v.CommandLine, v.ImagePath, v.CurrentDirectory)
			}
			var paths []string
			for _, m := range v.Modules {
				paths = append(paths, m.Path)
			}
			if want := append([]string{spec.Path}, spec.DLLs...); !slices.Equal(paths, want) {
				t.Errorf("PEB modules from the dump %q, want %q", paths, want)
			}

			// Every range holds what the image's space holds there, and
			// covers every readable user page.
			space, _ := im.ProcessSpace(p)
			as := d.AddressSpace()
			var total uint64
			for _, r := range as.Ranges() {
				total += r.Size
				a, b := make([]byte, r.Size), make([]byte, r.Size)
				if _, err := as.ReadAt(a, r.Start); err != nil {
					t.Fatalf("dump at 0x%x: %v", r.Start, err)
				}
				if _, err := space.ReadAt(b, r.Start); err != nil || !bytes.Equal(a, b) {
					t.Errorf("range 0x%x+0x%x differs from the image (%v)", r.Start, r.Size, err)
				}
			}
			if total != st.MemoryBytes {
				t.Errorf("dump holds %d bytes, stats say %d", total, st.MemoryBytes)
			}
			pg := make([]byte, 1)
			for _, r := range space.Ranges() {
				for va := r.Start; va < r.Start+r.Size; va += pageSize {
					_, errImg := space.ReadAt(pg, va)
					_, errDump := as.ReadAt(pg, va)
					if (errImg == nil) != (errDump == nil) {
						t.Errorf("page 0x%x: image %v, dump %v", va, errImg, errDump)
					}
				}
			}
			if c.arch == minidump.ArchAMD64 {
				checkLLDB(t, buf.Bytes(), append([]string{spec.Path}, spec.DLLs...))
			}
		})
	}
}

// checkLLDB opens the dump with LLVM's minidump reader (Debian's lldb) when
// it is installed, and checks that it lists the modules.
func checkLLDB(t *testing.T, dump []byte, want []string) {
	lldb, err := exec.LookPath("lldb")
	if err != nil {
		t.Log("lldb not installed: not checked with lldb")
		return
	}
	path := filepath.Join(t.TempDir(), "nc.dmp")
	if err := os.WriteFile(path, dump, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(lldb, "--batch", "-o", "target create --core "+path, "-o", "image list")
	cmd.Env = append(os.Environ(), "PYTHONPATH=")
	out, err := cmd.Output() // stderr: Python noise of Debian's package
	if err != nil {
		t.Fatalf("lldb: %v\n%s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "was loaded") {
		t.Errorf("lldb did not load the core:\n%s", text)
	}
	for _, m := range want {
		if !strings.Contains(text, m) {
			t.Errorf("lldb image list lacks %s:\n%s", m, text)
		}
	}
	t.Logf("lldb:\n%s", text)
}

// TestWriteMinidumpHostile: page tables that are garbage give a dump with
// no memory, not a failure or a panic.
func TestWriteMinidumpHostile(t *testing.T) {
	sc := scenarioByName(t, "win10-19041-x64-raw")
	_, im := sc.open(t)
	for _, dtb := range []uint64{0x1000, 0x7ffff000, 0xfffffffffffff000} {
		var buf bytes.Buffer
		st, _, err := im.WriteMinidump(&buf, Process{PID: 99, DTB: dtb})
		if err != nil {
			t.Fatalf("dtb 0x%x: %v", dtb, err)
		}
		if _, err := minidump.NewFile(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			t.Errorf("dtb 0x%x: unreadable dump: %v (%+v)", dtb, err, st)
		}
	}
}
