package physmem

import (
	"bytes"
	"runtime"
	"sort"
	"sync"
)

const (
	scanChunk   = 8 << 20
	scanOverlap = 0x2000 // a pool block and its EPROCESS fit in this much
)

// ScanProcesses scans all of physical memory in parallel for process pool
// allocations (pool tags "Proc" and "Pro\xe3", the latter with the
// protected bit Windows XP and 2003 set) and validates the EPROCESS inside
// each: process dispatcher header of the layout's size, a printable name,
// a plausible PID and a page-aligned DTB. The result merges the list
// (InList) and the scan (Scanned), sorted by physical address; processes
// found only by the scan are exited or unlinked ones. workers <= 0 means
// one per CPU.
func (im *Image) ScanProcesses(workers int) ([]Process, []Warning) {
	k := &im.k
	var warns []Warning
	var layouts []*Layout
	switch {
	case k.layout != nil:
		layouts = []*Layout{k.layout}
	case k.mode == ModeX64:
		layouts = candidateLayouts("x64")
	case k.mode != ModeUnknown:
		layouts = candidateLayouts("x86")
	default:
		layouts = candidateLayouts("")
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	type job struct{ pa, n, keep uint64 }
	jobs := make(chan job)
	var mu sync.Mutex
	found := map[uint64]Process{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, scanChunk+scanOverlap)
			for j := range jobs {
				b := buf[:j.n]
				n, _ := im.ph.read(b, j.pa)
				b = b[:n]
				for _, p := range im.scanChunk(b, j.pa, j.keep, layouts) {
					mu.Lock()
					found[p.PA] = p
					mu.Unlock()
				}
			}
		}()
	}
	for _, r := range im.ph.runs {
		for off := uint64(0); off < r.Size; off += scanChunk {
			keep := uint64(scanChunk)
			if rem := r.Size - off; keep > rem {
				keep = rem
			}
			n := keep + scanOverlap
			if rem := r.Size - off; n > rem {
				n = rem
			}
			jobs <- job{pa: r.PA + off, n: n, keep: keep}
		}
	}
	close(jobs)
	wg.Wait()

	listed, lw := im.Processes()
	warns = append(warns, lw...)
	for _, p := range listed {
		if q, ok := found[p.PA]; ok && p.PA != 0 {
			p.Scanned = q.Scanned
		}
		found[p.PA] = p
	}
	out := make([]Process, 0, len(found))
	for _, p := range found {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PA < out[j].PA })
	return out, warns
}

// scanChunk finds process allocations whose pool tag lies in the first keep
// bytes of b (physical address pa).
func (im *Image) scanChunk(b []byte, pa, keep uint64, layouts []*Layout) []Process {
	var out []Process
	for i := 0; i < len(b) && uint64(i) < keep; {
		j := bytes.Index(b[i:], []byte("Pro"))
		if j < 0 {
			break
		}
		at := i + j
		i = at + 1
		if uint64(at) >= keep || at+4 > len(b) {
			break
		}
		if c := b[at+3]; c != 'c' && c != 0xe3 {
			continue
		}
		for _, l := range layouts {
			if p, ok := im.poolProcess(b, at-4, pa, l); ok {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// poolProcess validates the pool block whose POOL_HEADER is at b[h:]
// (x86: 8 bytes, BlockSize in 8-byte units in bits 16..24; x64: 16 bytes,
// BlockSize in 16-byte units in byte 2) and finds the EPROCESS in it.
func (im *Image) poolProcess(b []byte, h int, pa uint64, l *Layout) (Process, bool) {
	ps := l.PointerSize()
	align, hdr := 8, 8
	var block int
	if h < 0 || h+16 > len(b) {
		return Process{}, false
	}
	if ps == 8 {
		align, hdr = 16, 16
		block = int(b[h+2]) * 16
	} else {
		block = int(le.Uint16(b[h+2:])&0x1ff) * 8
	}
	if (pa+uint64(h))%uint64(align) != 0 || block < l.KProcessSize {
		return Process{}, false
	}
	ext := l.extent()
	for c := h + hdr; c < h+block && c < h+0x300; c += align {
		if c+ext > len(b) {
			break
		}
		e := b[c : c+ext]
		if !processHeader(e, l) {
			continue
		}
		name := e[l.ImageFileName : l.ImageFileName+15]
		if !printableName(name) {
			continue
		}
		pid := ptrAt(e, l.UniqueProcessId, ps)
		dtb := ptrAt(e, l.DirectoryTableBase, ps)
		if pid%4 != 0 || pid >= 1<<24 || dtb == 0 || dtb >= 1<<52 || (ps == 4 && dtb&0x1f != 0) {
			continue
		}
		fl, bl := ptrAt(e, l.ActiveProcessLinks, ps), ptrAt(e, l.ActiveProcessLinks+ps, ps)
		if (fl != 0 && !kernelPtr(fl, ps)) || (bl != 0 && !kernelPtr(bl, ps)) {
			continue
		}
		p := im.decodeProcess(e, l, 0)
		p.PA = pa + uint64(c)
		p.Scanned = true
		return *p, true
	}
	return Process{}, false
}

// printableName accepts an ASCII name of at least one printable character
// up to its NUL.
func printableName(b []byte) bool {
	if len(b) == 0 || b[0] == 0 {
		return false
	}
	for _, c := range b {
		if c == 0 {
			break
		}
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
