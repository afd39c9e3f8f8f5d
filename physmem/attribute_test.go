package physmem

import (
	"bytes"
	"slices"
	"testing"
	"unicode/utf16"

	"github.com/remnant-forensics/remnant/physmem/internal/gen"
	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// pte64 returns the physical address of the 4 KB page-table entry for va
// in the x64 tables at dtb, walking the generated memory directly (not
// through physmem's pager).
func pte64(t *testing.T, m *gen.Sparse, dtb, va uint64) uint64 {
	t.Helper()
	table := dtb &^ 0xfff
	for _, shift := range []uint{39, 30, 21} {
		e := m.Get64(table + (va>>shift&0x1ff)*8)
		if e&1 == 0 || e&0x80 != 0 {
			t.Fatalf("va 0x%x: entry 0x%x at level %d is not a table", va, e, shift)
		}
		table = e & 0x000ffffffffff000
	}
	return table + (va>>12&0x1ff)*8
}

func scenarioByName(t *testing.T, name string) scenario {
	for _, sc := range scenarios(t) {
		if sc.name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %s", name)
	return scenario{}
}

func procIndex(t *testing.T, s gen.Spec, pid uint32) int {
	for i, p := range s.Procs {
		if p.PID == pid {
			return i
		}
	}
	t.Fatalf("no pid %d", pid)
	return -1
}

func TestAttributorX64(t *testing.T) {
	sc := scenarioByName(t, "win10-19041-x64-raw")
	g, err := gen.Build(sc.spec)
	if err != nil {
		t.Fatal(err)
	}
	nc, cmd, iroffer, ftp := procIndex(t, sc.spec, 1424), procIndex(t, sc.spec, 1460), procIndex(t, sc.spec, 1512), procIndex(t, sc.spec, 1600)
	// Share nc.exe's PEB page with cmd.exe 1460 at cmd.exe's PEB address,
	// as a section view shared by two processes would be.
	ncPEB, cmdPEB := g.Procs[nc].PEB, g.Procs[cmd].PEB
	ncPTE := g.Mem.Get64(pte64(t, g.Mem, g.Procs[nc].DTB, ncPEB))
	cmdPTEAddr := pte64(t, g.Mem, g.Procs[cmd].DTB, cmdPEB)
	g.Mem.Put64(cmdPTEAddr, ncPTE)
	ncPEBPA := ncPTE & 0x000ffffffffff000

	im, err := Open(g.Mem, g.Mem.Size)
	if err != nil {
		t.Fatal(err)
	}
	a, warns := NewAttributor(im)
	for _, w := range warns {
		t.Errorf("warning: %s", w)
	}
	if a.Len() == 0 {
		t.Fatal("no mappings")
	}

	// The shared page: both processes, each at its own address.
	got := a.Locate(ncPEBPA + 0x18)
	want := []addrspace.Location{
		{PID: 1424, Process: "nc.exe", VA: ncPEB + 0x18},
		{PID: 1460, Process: "cmd.exe", VA: cmdPEB + 0x18},
	}
	sortLocs(got)
	if !slices.Equal(got, want) {
		t.Errorf("shared PEB page: %+v, want %+v", got, want)
	}

	// A string placed in a process's page: nc.exe's command line, found in
	// the image by its bytes, is attributed to nc.exe alone, at a VA where
	// nc.exe's space holds it.
	cl := utf16Bytes("nc -d -L -n -p 60906 -e cmd.exe")
	pa := findPhys(t, g, cl)
	locs := a.Locate(pa)
	if len(locs) != 1 || locs[0].PID != 1424 || locs[0].Process != "nc.exe" {
		t.Fatalf("command line at 0x%x: %+v", pa, locs)
	}
	ps, _ := im.Processes()
	s, err := im.ProcessSpace(procByPID(t, ps, 1424))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(cl))
	if _, err := s.ReadAt(buf, locs[0].VA); err != nil || !bytes.Equal(buf, cl) {
		t.Errorf("nc.exe at 0x%x: %q, %v", locs[0].VA, buf, err)
	}

	// The unlinked process is attributed; the exited one is not.
	for _, c := range []struct {
		i    int
		want uint32
	}{{iroffer, 1512}, {ftp, 0}} {
		pte := g.Mem.Get64(pte64(t, g.Mem, g.Procs[c.i].DTB, g.Procs[c.i].PEB))
		locs := a.Locate(pte&0x000ffffffffff000 + 8)
		switch {
		case c.want == 0 && len(locs) != 0:
			t.Errorf("exited pid %d's PEB page attributed: %+v", sc.spec.Procs[c.i].PID, locs)
		case c.want != 0 && (len(locs) != 1 || locs[0].PID != c.want || locs[0].VA != g.Procs[c.i].PEB+8):
			t.Errorf("pid %d's PEB page: %+v", c.want, locs)
		}
	}

	// Kernel-only pages: an EPROCESS in pool, the kernel image, the page
	// tables themselves.
	for _, pa := range []uint64{g.Procs[nc].EPROCESSPA, g.Procs[0].EPROCESSPA, g.DTB, g.Procs[nc].DTB} {
		if locs := a.Locate(pa); len(locs) != 0 {
			t.Errorf("kernel page 0x%x attributed: %+v", pa, locs)
		}
	}
	kpa, err := im.Kernel().Translate(sc.spec.KernelBase)
	if err != nil {
		t.Fatal(err)
	}
	if locs := a.Locate(kpa); len(locs) != 0 {
		t.Errorf("kernel image attributed: %+v", locs)
	}
}

// TestAttributorX86 checks the two-level (Windows 2000) and PAE (XP) walks:
// the command line of nc.exe found in the image is attributed to nc.exe.
func TestAttributorX86(t *testing.T) {
	for _, name := range []string{"win2000sp4-x86-raw", "xpsp3-pae-crash"} {
		t.Run(name, func(t *testing.T) {
			sc := scenarioByName(t, name)
			g, im := sc.open(t)
			a, warns := NewAttributor(im)
			for _, w := range warns {
				t.Errorf("warning: %s", w)
			}
			cl := utf16Bytes("nc -d -L -n -p 60906 -e cmd.exe")
			pa := findPhys(t, g, cl)
			locs := a.Locate(pa + 2)
			if len(locs) != 1 || locs[0].PID != 1424 {
				t.Fatalf("command line at 0x%x: %+v", pa, locs)
			}
			ps, _ := im.Processes()
			s, _ := im.ProcessSpace(procByPID(t, ps, 1424))
			buf := make([]byte, len(cl)-2)
			if _, err := s.ReadAt(buf, locs[0].VA); err != nil || !bytes.Equal(buf, cl[2:]) {
				t.Errorf("nc.exe at 0x%x: %q, %v", locs[0].VA, buf, err)
			}
			if locs[0].VA >= 0x80000000 {
				t.Errorf("VA 0x%x is not a user address", locs[0].VA)
			}
		})
	}
}

func sortLocs(l []addrspace.Location) {
	slices.SortFunc(l, func(x, y addrspace.Location) int { return int(x.PID) - int(y.PID) })
}

func utf16Bytes(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// findPhys returns the physical address of the only occurrence of b in the
// generated memory (frames are searched one by one; b must not cross one).
func findPhys(t *testing.T, g *gen.Image, b []byte) uint64 {
	t.Helper()
	var hits []uint64
	page := make([]byte, 4096)
	for _, f := range g.Frames() {
		g.Mem.ReadAt(page, int64(f*4096))
		if i := bytes.Index(page, b); i >= 0 {
			hits = append(hits, f*4096+uint64(i))
		}
	}
	if len(hits) != 1 {
		t.Fatalf("%q found %d times: %x", b, len(hits), hits)
	}
	return hits[0]
}

func procByPID(t *testing.T, ps []Process, pid uint64) Process {
	for _, p := range ps {
		if p.PID == pid {
			return p
		}
	}
	t.Fatalf("pid %d not listed", pid)
	return Process{}
}
