package physmem

import (
	"cmp"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Limits of the reverse page map: mappings kept in all (this many, plus
// four per page the image holds), and processes attributed (the proc field
// of a mapping has 28 bits).
const (
	minAttrMappings = 1 << 20
	maxAttrMappings = 1 << 27
	maxAttrProcs    = 1 << 28
)

// Attributor maps physical addresses of an image to the processes whose
// user-mode page tables map them, and the virtual address at which they
// do: the reverse of every process's translation, built once by
// NewAttributor. It implements addrspace.Attributor for the image's
// physical View (an offset of the view is a physical address). Kernel
// pages are attributed to no process. Safe for concurrent use.
type Attributor struct {
	procs []attrProc
	maps  []pageMapping // sorted by frame, then process, then page
}

type attrProc struct {
	pid  uint32
	name string
}

// pageMapping is one 4 KB page of a process's user space: pfn is the
// physical frame number, pv holds the process index in bits 36..63 and the
// virtual page number in bits 0..35 (user space ends below 2^47).
type pageMapping struct {
	pfn uint64
	pv  uint64
}

const pvPageBits = 36

// NewAttributor walks the user half of the page tables of every process
// that has not exited (those on the active process list, then those only
// the pool-tag scan finds, such as unlinked ones), in parallel, and keeps
// each mapped page the image holds. Pages of a large page are recorded one
// by one. The map is bounded (1 Mi mappings plus four per page of the
// image, 128 Mi at most); what is left off is reported as a warning.
func NewAttributor(im *Image) (*Attributor, []Warning) {
	a := &Attributor{}
	listed, warns := im.Processes()
	scanned, w := im.ScanProcesses(0)
	warns = append(warns, w...)
	if im.k.mode == ModeUnknown {
		return a, append(warns, warnf("", 0, "paging mode unknown: no page is attributed to a process"))
	}
	var procs []Process
	dtbs := map[uint64]bool{}
	for _, p := range append(listed, scanned...) {
		if p.Exited() || p.DTB == 0 || dtbs[p.DTB] {
			continue
		}
		dtbs[p.DTB] = true
		procs = append(procs, p)
	}
	if len(procs) > maxAttrProcs {
		warns = append(warns, warnf("", 0, "%d processes: only the first %d are attributed", len(procs), maxAttrProcs))
		procs = procs[:maxAttrProcs]
	}

	var dataPages uint64
	for _, r := range im.ph.runs {
		dataPages += r.Size / pageSize
	}
	limit := int64(min(minAttrMappings+4*dataPages, maxAttrMappings))
	var used atomic.Int64
	per := make([][]pageMapping, len(procs))
	perWarn := make([][]Warning, len(procs))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), len(procs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(procs) {
					return
				}
				per[i], perWarn[i] = a.walkProcess(im, procs[i], uint64(i), &used, limit)
			}
		}()
	}
	wg.Wait()

	n := 0
	for i, p := range procs {
		a.procs = append(a.procs, attrProc{pid: uint32(p.PID), name: p.Name})
		n += len(per[i])
		warns = append(warns, perWarn[i]...)
	}
	a.maps = make([]pageMapping, 0, n)
	for _, m := range per {
		a.maps = append(a.maps, m...)
	}
	slices.SortFunc(a.maps, func(x, y pageMapping) int {
		if c := cmp.Compare(x.pfn, y.pfn); c != 0 {
			return c
		}
		return cmp.Compare(x.pv, y.pv)
	})
	return a, warns
}

// walkProcess records the pages of one process's user space that the image
// holds, stopping when the shared count reaches limit.
func (a *Attributor) walkProcess(im *Image, p Process, idx uint64, used *atomic.Int64, limit int64) ([]pageMapping, []Warning) {
	s := newSpace(im.ph, im.k.mode, p.DTB, false)
	var out []pageMapping
	full := false
	w := walker{pg: &s.pg, lo: s.lo, hi: s.hi}
	w.visit = func(va, pa, size uint64) {
		if full {
			return
		}
		im.ph.eachHeldPage(pa, size, func(off uint64) bool {
			if used.Add(1) > limit {
				full = true
				return false
			}
			out = append(out, pageMapping{pfn: (pa + off) / pageSize, pv: idx<<pvPageBits | (va+off)/pageSize&(1<<pvPageBits-1)})
			return true
		})
	}
	w.walk()
	var warns []Warning
	if full {
		warns = append(warns, warnf("dtb", p.DTB, "pid %d (%s): the reverse page map is full (%d mappings); later pages are not attributed", p.PID, p.Name, limit))
	}
	if w.truncated {
		warns = append(warns, warnf("dtb", p.DTB, "pid %d (%s): page-table walk stopped at its limit; later pages are not attributed", p.PID, p.Name))
	}
	return out, warns
}

// Locate implements addrspace.Attributor: every process mapping the page
// that holds physical address off, with the virtual address of off in it,
// by process then address. Nil for pages no process maps.
func (a *Attributor) Locate(off uint64) []addrspace.Location {
	pfn := off / pageSize
	i := sort.Search(len(a.maps), func(i int) bool { return a.maps[i].pfn >= pfn })
	var out []addrspace.Location
	for ; i < len(a.maps) && a.maps[i].pfn == pfn; i++ {
		m := a.maps[i]
		p := a.procs[m.pv>>pvPageBits]
		out = append(out, addrspace.Location{
			PID:     p.pid,
			Process: p.name,
			VA:      (m.pv&(1<<pvPageBits-1))*pageSize + off%pageSize,
		})
	}
	return out
}

// Len returns the number of page mappings recorded.
func (a *Attributor) Len() int { return len(a.maps) }

// eachHeldPage calls fn with the offset from pa of each 4 KB page of
// [pa, pa+size) that lies whole in one run of the image, in order, until fn
// returns false. Its cost is that of the pages held, not of size: a
// hostile large page far outside the image costs one search.
func (p *phys) eachHeldPage(pa, size uint64, fn func(off uint64) bool) {
	end := pa + size
	if end < pa {
		end = ^uint64(0)
	}
	i := sort.Search(len(p.runs), func(i int) bool { return p.runs[i].PA+p.runs[i].Size > pa })
	for ; i < len(p.runs) && p.runs[i].PA < end; i++ {
		r := p.runs[i]
		lo, hi := max(pa, r.PA), min(end, r.PA+r.Size)
		// Pages are aligned on pa (a frame address), not on the run.
		x := pa + (lo-pa+pageSize-1)&^(pageSize-1)
		for ; x < hi && hi-x >= pageSize; x += pageSize {
			if !fn(x - pa) {
				return
			}
		}
	}
}
