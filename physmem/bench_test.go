package physmem

import (
	"testing"
	"time"

	"github.com/remnant-forensics/remnant/physmem/internal/gen"
)

// win10Sparse builds a Windows 10 x64 image of the given size (sparse: only
// the pages written take memory).
func win10Sparse(b testing.TB, size int64, lowStub bool) *gen.Image {
	s := gen.Spec{Arch: gen.X64, Major: 10, Minor: 0, Build: 19041, L: isfLayout(b, "FC57F1C841C2C3F793D57AC134DC0EFA"),
		MemSize: size, KernelBase: 0xfffff80034000000, PDBName: "ntkrnlmp.pdb", PDBAge: 1, Time: t0.Add(time.Hour),
		SystemRoot: `C:\Windows`, Processors: 4, Procs: cast(`C:\Windows`, 4), LowStub: lowStub}
	g, err := gen.Build(s)
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkPslistCmdline16G opens a 16 GB sparse image and lists the
// processes with their command lines (pkg/win's walk through each
// process's page tables).
func BenchmarkPslistCmdline16G(b *testing.B) {
	g := win10Sparse(b, 16<<30, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		im, err := Open(g.Mem, g.Mem.Size)
		if err != nil {
			b.Fatal(err)
		}
		ps, _ := im.Processes()
		n := 0
		for _, p := range ps {
			if wp, _, err := im.Walk(p); err == nil && wp != nil && wp.Params != nil && wp.Params.CommandLine.Text != "" {
				n++
			}
		}
		if len(ps) != 12 || n != 10 {
			b.Fatalf("%d processes, %d command lines", len(ps), n)
		}
	}
}

// BenchmarkPsscan1G scans 1 GB of (mostly zero) physical memory; SetBytes
// makes the result a throughput. BenchmarkRead1G is the read alone.
func BenchmarkPsscan1G(b *testing.B) {
	g := win10Sparse(b, 1<<30, true)
	im, err := Open(g.Mem, g.Mem.Size)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(g.Mem.Size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ps, _ := im.ScanProcesses(0)
		if len(ps) != 14 {
			b.Fatalf("%d processes", len(ps))
		}
	}
}

func BenchmarkRead1G(b *testing.B) {
	g := win10Sparse(b, 1<<30, true)
	buf := make([]byte, scanChunk)
	b.SetBytes(g.Mem.Size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := int64(0); off < g.Mem.Size; off += scanChunk {
			g.Mem.ReadAt(buf, off)
		}
	}
}
