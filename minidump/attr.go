package minidump

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// MemoryView returns the file view of a dump's captured memory: the bytes
// of the dump file and the file ranges that hold process memory (headers
// and stream data are not memory and are left out). Each data range of the
// view is contiguous both in the file and in virtual memory.
func MemoryView(d Dump, size int64) addrspace.View {
	segs := append([]addrspace.Segment(nil), d.AddressSpace().Segments()...)
	sort.Slice(segs, func(i, j int) bool { return segs[i].FileOff < segs[j].FileOff })
	v := addrspace.View{R: d.AddressSpace().ReaderAt(), Size: size}
	for i, s := range segs {
		// Ranges next to each other in the file are one range of the view
		// only when they are next to each other in memory too: a string
		// must not run from one region into an unrelated one stored after it.
		n := len(v.Data)
		if n > 0 && v.Data[n-1].End() == s.FileOff && segs[i-1].VA+segs[i-1].Size == s.VA {
			v.Data[n-1].Size += s.Size
			continue
		}
		v.Data = append(v.Data, addrspace.Range{Start: s.FileOff, Size: s.Size})
	}
	return v
}

// Attributor maps file offsets of a dump to the virtual address stored
// there, the module whose image holds it and the memory region.
type Attributor struct {
	pid     uint32
	process string
	segs    []addrspace.Segment // by file offset
	mods    []Module            // by base
	regions []MemoryInfo        // by base
}

// NewAttributor builds the attributor of a dump. Modules are the dump's
// ModuleList; callers that reconstructed the loader lists may pass those
// instead with SetModules.
func NewAttributor(d Dump) *Attributor {
	s := d.Summary()
	a := &Attributor{pid: s.PID}
	if len(s.Modules) > 0 {
		a.process = BaseName(s.Modules[0].Name)
	}
	a.segs = append(a.segs, d.AddressSpace().Segments()...)
	sort.Slice(a.segs, func(i, j int) bool { return a.segs[i].FileOff < a.segs[j].FileOff })
	a.SetModules(s.Modules)
	a.regions = append(a.regions, s.Regions...)
	sort.Slice(a.regions, func(i, j int) bool { return a.regions[i].BaseAddress < a.regions[j].BaseAddress })
	return a
}

// SetModules replaces the module list used to name image memory.
func (a *Attributor) SetModules(mods []Module) {
	a.mods = append([]Module(nil), mods...)
	sort.Slice(a.mods, func(i, j int) bool { return a.mods[i].Base < a.mods[j].Base })
}

// SetProcess names the process (for example from its PEB's image path).
func (a *Attributor) SetProcess(name string) { a.process = name }

// Locate implements addrspace.Attributor.
func (a *Attributor) Locate(off uint64) []addrspace.Location {
	i := sort.Search(len(a.segs), func(i int) bool { return a.segs[i].FileOff+a.segs[i].Size > off })
	if i == len(a.segs) || a.segs[i].FileOff > off {
		return nil
	}
	g := a.segs[i]
	va := g.VA + (off - g.FileOff)
	loc := addrspace.Location{PID: a.pid, Process: a.process, VA: va}
	if j := sort.Search(len(a.mods), func(j int) bool { return a.mods[j].Base > va }) - 1; j >= 0 {
		if m := a.mods[j]; va-m.Base < uint64(m.Size) {
			loc.Module = BaseName(m.Name)
		}
	}
	if j := sort.Search(len(a.regions), func(j int) bool { return a.regions[j].BaseAddress > va }) - 1; j >= 0 {
		if r := a.regions[j]; va-r.BaseAddress < r.RegionSize {
			loc.Region = regionLabel(r)
		}
	}
	if loc.Region == "" {
		loc.Region = fmt.Sprintf("0x%x-0x%x", g.VA, g.VA+g.Size)
	}
	return []addrspace.Location{loc}
}

// regionLabel describes a region as "type protect @base", e.g.
// "private RW 0x3f0000".
func regionLabel(r MemoryInfo) string {
	parts := []string{}
	if t := TypeString(r.Type); t != "" {
		parts = append(parts, t)
	}
	if p := ProtectString(r.Protect); p != "" {
		parts = append(parts, p)
	}
	parts = append(parts, fmt.Sprintf("0x%x", r.AllocationBase))
	return strings.Join(parts, " ")
}

// BaseName returns the file name of a Windows or POSIX path ("" for "").
func BaseName(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(strings.ReplaceAll(p, `\`, "/"))
}
