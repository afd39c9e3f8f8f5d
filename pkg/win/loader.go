package win

import (
	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/peimage"
)

// readLoader reads PEB_LDR_DATA and walks its three module lists.
func (w *walker) readLoader(m *mem, p *Process) {
	if p.Ldr == 0 {
		m.warnf(p.PEB, "PEB has no loader data (Ldr is null)")
		return
	}
	l := m.l
	ll := l.LdrData
	ps := l.PointerSize()
	b, err := m.block(p.Ldr, span(2*ps, ll.InLoadOrderModuleList, ll.InMemoryOrderModuleList, ll.InInitializationOrderModuleList))
	if err != nil {
		m.warnf(p.Ldr, "PEB_LDR_DATA not readable: %v", err)
		return
	}
	lb := buf{b, ps}
	p.LdrLength = lb.u32(ll.Length)
	p.LdrInitialized = lb.u8(ll.Initialized) != 0
	le := l.LdrEntry
	p.InLoadOrder = w.walkList(m, p.Ldr+uint64(ll.InLoadOrderModuleList), lb.ptrAt(ll.InLoadOrderModuleList), le.InLoadOrderLinks, "InLoadOrderModuleList")
	p.InMemoryOrder = w.walkList(m, p.Ldr+uint64(ll.InMemoryOrderModuleList), lb.ptrAt(ll.InMemoryOrderModuleList), le.InMemoryOrderLinks, "InMemoryOrderModuleList")
	p.InInitializationOrder = w.walkList(m, p.Ldr+uint64(ll.InInitializationOrderModuleList), lb.ptrAt(ll.InInitializationOrderModuleList), le.InInitializationOrderLinks, "InInitializationOrderModuleList")
}

// walkList follows a LIST_ENTRY chain from head (whose Flink is first)
// through entries linked at linkOff. It stops at the head, on a revisit,
// after MaxModules entries or at the first entry it cannot read, warning in
// the last three cases.
func (w *walker) walkList(m *mem, head, first uint64, linkOff int, name string) []Module {
	l := m.l
	le := l.LdrEntry
	ps := l.PointerSize()
	entrySize := span(ps, le.DllBase, le.EntryPoint) // pointers
	if n := span(4, le.SizeOfImage, le.TimeDateStamp); n > entrySize {
		entrySize = n
	}
	if n := span(l.UnicodeString.Size, le.FullDllName, le.BaseDllName); n > entrySize {
		entrySize = n
	}
	var out []Module
	seen := map[uint64]bool{head: true}
	for link := first; link != head; {
		if link == 0 {
			m.warnf(head, "%s: null link after %d entries", name, len(out))
			break
		}
		if seen[link] {
			m.warnf(link, "%s: link revisited after %d entries; list is cyclic", name, len(out))
			break
		}
		if len(out) >= MaxModules {
			m.warnf(link, "%s: stopped after %d entries", name, MaxModules)
			break
		}
		seen[link] = true
		entry := link - uint64(linkOff)
		b, err := m.block(entry, entrySize)
		if err != nil {
			m.warnf(entry, "%s: entry %d not readable: %v", name, len(out), err)
			break
		}
		eb := buf{b, ps}
		mod := Module{
			Entry:       entry,
			DllBase:     eb.ptrAt(le.DllBase),
			EntryPoint:  eb.ptrAt(le.EntryPoint),
			SizeOfImage: eb.u32(le.SizeOfImage),
		}
		if le.TimeDateStamp != Absent {
			mod.LdrTimeDateStamp = eb.u32(le.TimeDateStamp)
		}
		mod.FullDllName = m.ustr(eb, entry, le.FullDllName, name+" FullDllName", 0, true).Text
		mod.BaseDllName = m.ustr(eb, entry, le.BaseDllName, name+" BaseDllName", 0, true).Text
		w.imageHeader(m, &mod)
		out = append(out, mod)
		// Flink is the first pointer of the links, already read.
		link = eb.ptrAt(linkOff)
	}
	return out
}

// imageHeader fills the module's PE header facts from the image mapped at
// its DllBase, reading each image once.
func (w *walker) imageHeader(m *mem, mod *Module) {
	if mod.DllBase == 0 {
		return
	}
	h, ok := w.images[mod.DllBase]
	if !ok {
		info, err := peimage.FromMemory(w.as, mod.DllBase, uint64(mod.SizeOfImage))
		h = &imageHeader{info: info}
		w.images[mod.DllBase] = h
		// An image absent from the dump is normal; one present but not a
		// PE image (a wiped or overwritten header) is worth saying.
		if err != nil && !addrspace.IsUnmapped(err) {
			m.warnf(mod.DllBase, "module %s: %v", mod.BaseDllName, err)
		}
	}
	if h.info == nil {
		return
	}
	mod.HeaderInMemory = true
	mod.TimeDateStamp = h.info.TimeDateStamp
	mod.PDB = h.info.PDB
}
