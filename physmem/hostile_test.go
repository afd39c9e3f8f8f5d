package physmem

import (
	"strings"
	"testing"
	"time"

	"github.com/remnant-forensics/remnant/physmem/internal/gen"
)

func win7Spec(t testing.TB) gen.Spec {
	s := gen.Spec{Arch: gen.X64, Major: 6, Minor: 1, Build: 7601, L: isfLayout(t, "339E74133576439CBCDF7E0229DA3773"),
		MemSize: 256 << 20, KernelBase: 0xfffff80002a00000, PDBName: "ntkrnlmp.pdb", PDBAge: 1, Time: t0.Add(11 * time.Hour),
		SystemRoot: `C:\Windows`, Processors: 2, Procs: cast(`C:\Windows`, 4), KDBG: true, LowStub: true}
	return s
}

func pids(ps []Process) map[uint64]bool {
	m := map[uint64]bool{}
	for _, p := range ps {
		m[p.PID] = true
	}
	return m
}

// A wild Flink and a loop in ActiveProcessLinks: warnings, and the rest of
// the list recovered backwards from the head.
func TestSmearedProcessList(t *testing.T) {
	s := win7Spec(t)
	apl := uint64(s.L.EPROCESS["ActiveProcessLinks"])
	for _, c := range []struct {
		name  string
		flink func(g *gen.Image) uint64
	}{
		{"wild", func(*gen.Image) uint64 { return 0xfffffa80deadb000 }},
		{"loop", func(g *gen.Image) uint64 { return g.Procs[1].EPROCESS + apl }},
		{"null", func(*gen.Image) uint64 { return 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := gen.Build(s)
			if err != nil {
				t.Fatal(err)
			}
			// lsass (index 5) gets the bad Flink.
			g.Mem.Put64(g.Procs[5].EPROCESSPA+apl, c.flink(g))
			im, err := Open(g.Mem, g.Mem.Size)
			if err != nil {
				t.Fatal(err)
			}
			ps, warns := im.Processes()
			if len(warns) == 0 {
				t.Error("no warning for a broken list")
			}
			got := pids(ps)
			for _, p := range s.Procs {
				hidden := p.Unlinked || !p.Exit.IsZero()
				if got[uint64(p.PID)] == hidden {
					t.Errorf("pid %d listed %v, want %v (warnings %v)", p.PID, got[uint64(p.PID)], !hidden, warns)
				}
			}
		})
	}
}

// A truncated raw image: no panic; the kernel's structures (early in
// memory) are all there, the user space of the later processes is gone.
func TestTruncatedImage(t *testing.T) {
	s := win7Spec(t)
	g, err := gen.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	cut := *g.Mem
	cut.Size = int64(g.Procs[6].DTB) // frames from svchost's page tables on are gone
	im, err := Open(&cut, cut.Size)
	if err != nil {
		t.Fatal(err)
	}
	ps, warns := im.Processes()
	if len(ps) != 12 || len(warns) != 0 {
		t.Fatalf("%d processes, warnings %v", len(ps), warns)
	}
	for _, p := range ps {
		wp, wwarns, err := im.Walk(p)
		switch p.PID {
		case 160: // smss.exe: before the cut
			if err != nil || wp == nil || wp.Params == nil || wp.Params.CommandLine.Text == "" {
				t.Errorf("smss walk: %v %v", err, wwarns)
			}
		case 1424: // nc.exe: after the cut
			if wp != nil && wp.Params != nil && wp.Params.CommandLine.Complete {
				t.Errorf("nc walk read a command line past the end of the image")
			}
		}
	}
	if sc, _ := im.ScanProcesses(2); len(sc) != 14 {
		t.Errorf("scan found %d processes", len(sc))
	}
}

// A kernel whose EPROCESS matches no table: the offsets are located on the
// System process (name, PID and links, parent, PEB, creation time).
func TestLocatedLayout(t *testing.T) {
	l := isfLayout(t, "32C1A669D5FFEFD41091F636CFDB6E99")
	// Move the fields (an invented layout, not any real build's).
	l.EPROCESS = map[string]int{
		"UniqueProcessId": 0x1d0, "ActiveProcessLinks": 0x1d8, "CreateTime": 0x210, "InheritedFromUniqueProcessId": 0x2d0,
		"Peb": 0x2e8, "ImageFileName": 0x338, "ExitTime": 0x610, "ActiveThreads": 0x6e0,
	}
	s := gen.Spec{Arch: gen.X64, Major: 10, Minor: 0, Build: 26100, L: l, MemSize: 256 << 20, KernelBase: 0xfffff80061000000,
		PDBName: "ntkrnlmp.pdb", PDBAge: 1, Time: t0.Add(11 * time.Hour), SystemRoot: `C:\Windows`, Processors: 2,
		Procs: cast(`C:\Windows`, 4), LowStub: true}
	g, err := gen.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Open(g.Mem, g.Mem.Size)
	if err != nil {
		t.Fatal(err)
	}
	lay := im.Layout()
	if lay == nil || lay.Version != "located" {
		t.Fatalf("layout %v (%s)", lay, im.Info().LayoutHow)
	}
	for name, pair := range map[string][2]int{
		"UniqueProcessId": {lay.UniqueProcessId, 0x1d0}, "ActiveProcessLinks": {lay.ActiveProcessLinks, 0x1d8},
		"ImageFileName": {lay.ImageFileName, 0x338}, "InheritedFromUniqueProcessId": {lay.InheritedFromUniqueProcessId, 0x2d0},
		"Peb": {lay.Peb, 0x2e8}, "CreateTime": {lay.CreateTime, 0x210}, "DirectoryTableBase": {lay.DirectoryTableBase, 0x28},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s located at 0x%x, placed at 0x%x", name, pair[0], pair[1])
		}
	}
	warned := false
	for _, w := range im.Warnings() {
		warned = warned || strings.Contains(w.Msg, "located heuristically")
	}
	if !warned {
		t.Error("no warning that the layout was located")
	}
	ps, warns := im.Processes()
	if len(ps) != 12 || len(warns) != 0 {
		t.Errorf("%d processes, %v", len(ps), warns)
	}
	for _, p := range ps {
		if p.PID == 1424 {
			wp, _, err := im.Walk(p)
			if err != nil || wp == nil || wp.Params == nil || wp.Params.CommandLine.Text != "nc -d -L -n -p 60906 -e cmd.exe" {
				t.Errorf("nc.exe walk: %v %+v", err, wp)
			}
		}
	}
}

// With the System process's DTB field blanked, the physical scan cannot
// take the page tables from it: the self-referencing page directory (x86)
// or PAE directory and its PDPT give them, and a KDBG found physically the
// process list.
func TestSelfRefDiscovery(t *testing.T) {
	for _, c := range []struct {
		name   string
		arch   gen.Arch
		l      gen.Layout
		paging Mode
		major  uint32
		minor  uint32
		build  uint32
		kb     uint64
		sysPID uint32
	}{
		{"x86", gen.X86, windows2000Layout(t), ModeX86, 5, 0, 2195, 0x80400000, 8},
		{"pae", gen.PAE, vergiliusLayout(t, "5.1.2600.5512-x86"), ModePAE, 5, 1, 2600, 0x804d7000, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := gen.Spec{Arch: c.arch, Major: c.major, Minor: c.minor, Build: c.build, L: c.l, MemSize: 128 << 20,
				KernelBase: c.kb, PDBName: "ntkrnlpa.pdb", PDBAge: 1, Time: t0, SystemRoot: `C:\WINDOWS`, Processors: 1,
				Procs: cast(`C:\WINDOWS`, c.sysPID), KDBG: true}
			g, err := gen.Build(s)
			if err != nil {
				t.Fatal(err)
			}
			g.Mem.Put32(g.Procs[0].EPROCESSPA+uint64(c.l.KProcessDTB), 0)
			im, err := Open(g.Mem, g.Mem.Size)
			if err != nil {
				t.Fatal(err)
			}
			in := im.Info()
			if in.Paging != c.paging.String() || in.DTB != g.DTB || !strings.Contains(in.DTBHow, "self-referencing") {
				t.Fatalf("paging %s dtb 0x%x (%s), want %s 0x%x", in.Paging, in.DTB, in.DTBHow, c.paging, g.DTB)
			}
			if in.KDBGPhys == 0 || in.PsActiveProcessHead != g.PsActiveProcessHead {
				t.Errorf("KDBG phys 0x%x (%s), head 0x%x", in.KDBGPhys, in.KDBGHow, in.PsActiveProcessHead)
			}
			if ps, warns := im.Processes(); len(ps) != 12 || len(warns) != 0 {
				t.Errorf("%d processes, %v", len(ps), warns)
			}
		})
	}
}
