package physmem

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf16"

	"github.com/remnant-forensics/remnant/pkg/win"
)

// Minidump stream types and constants written by WriteMinidump (minidumpapiset.h).
const (
	mdSignature       = 0x504d444d // "MDMP"
	mdVersion         = 0xa793
	mdThreadList      = 3
	mdModuleList      = 4
	mdSystemInfo      = 7
	mdMemory64List    = 9
	mdMiscInfo        = 15
	mdWithFullMemory  = 0x2
	mdMisc1ProcessID  = 0x1
	mdMisc1Times      = 0x2
	mdModuleSize      = 108 // MINIDUMP_MODULE, packed
	mdSystemInfoSize  = 56
	mdMiscInfoSize    = 24 // MINIDUMP_MISC_INFO
	mdArchIntel       = 0
	mdArchAMD64       = 9
	mdPlatformWin32NT = 2
	mdMaxChunk        = 1 << 20 // bytes of process memory read at once
	mdExtraPages      = 1 << 14 // pages beyond the image's count a dump may hold
)

// MinidumpStats says what WriteMinidump wrote.
type MinidumpStats struct {
	Modules     int    `json:"modules"`
	Ranges      int    `json:"ranges"`       // Memory64List descriptors
	MemoryBytes uint64 `json:"memory_bytes"` // bytes of process memory
	Size        int64  `json:"size"`         // bytes written
}

// mdRange is a run of readable user pages.
type mdRange struct{ va, size uint64 }

// WriteMinidump writes process p of the image to w as a minidump: header,
// stream directory, SystemInfo (architecture, version and processors of
// the image), MiscInfo (process id and creation time), an empty ThreadList
// (threads' contexts are not reconstructed), a ModuleList from the PEB's
// load-order list (and the WOW64 PEB32's), and a Memory64List of every
// user-mode page of the process that the image holds (valid or in
// transition). Pages not in the image are left out, not zero-filled.
// Warnings say what was missing; the error is a write error or a process
// whose page tables cannot be used.
func (im *Image) WriteMinidump(w io.Writer, p Process) (MinidumpStats, []Warning, error) {
	var st MinidumpStats
	s, err := im.ProcessSpace(p)
	if err != nil {
		return st, nil, fmt.Errorf("pid %d: %w", p.PID, err)
	}
	var warns []Warning
	if p.Exited() {
		warns = append(warns, warnf("va", p.VA, "pid %d has exited: its page tables may be stale", p.PID))
	}

	// Pass 1: the readable pages, from the page tables (in VA order), at
	// most as many as the image holds plus 64 MiB worth (a frame may be
	// mapped at several addresses, but hostile tables must not make the
	// dump larger than the image by more than that).
	var dataPages uint64
	for _, r := range im.ph.runs {
		dataPages += r.Size / pageSize
	}
	limit := dataPages + mdExtraPages
	var ranges []mdRange
	pages, full := uint64(0), false
	w0 := walker{pg: &s.pg, lo: s.lo, hi: s.hi}
	w0.visit = func(va, pa, size uint64) {
		if full {
			return
		}
		im.ph.eachHeldPage(pa, size, func(off uint64) bool {
			if pages++; pages > limit {
				full = true
				return false
			}
			v := va + off
			if n := len(ranges); n > 0 && ranges[n-1].va+ranges[n-1].size == v {
				ranges[n-1].size += pageSize
			} else {
				ranges = append(ranges, mdRange{v, pageSize})
			}
			st.MemoryBytes += pageSize
			return true
		})
	}
	w0.walk()
	if w0.truncated {
		warns = append(warns, warnf("dtb", p.DTB, "pid %d: page-table walk stopped at its limit; later pages are not in the minidump", p.PID))
	}
	if full {
		warns = append(warns, warnf("dtb", p.DTB, "pid %d: more than %d pages mapped; later pages are not in the minidump", p.PID, limit))
	}

	// Modules from the loader lists.
	var mods []win.Module
	wp, wwarns, err := im.Walk(p)
	if err != nil {
		warns = append(warns, warnf("va", p.VA, "pid %d: %v: empty ModuleList", p.PID, err))
	}
	for _, ww := range wwarns {
		warns = append(warns, warnf("", 0, "pid %d: %s", p.PID, ww.String()))
	}
	if wp != nil {
		mods = append(mods, wp.InLoadOrder...)
		if wp.Wow64 != nil {
			mods = append(mods, wp.Wow64.InLoadOrder...)
		}
	}
	st.Modules, st.Ranges = len(mods), len(ranges)

	in := im.Info()
	arch := uint16(mdArchIntel)
	if in.Arch == "x64" {
		arch = mdArchAMD64
	}

	// Layout: header, directory, SystemInfo, its CSD string, MiscInfo,
	// ThreadList, ModuleList, module names, Memory64List, memory.
	const nStreams = 5
	off := uint32(32 + nStreams*12)
	align := func() { off = (off + 7) &^ 7 }
	align()
	sysOff := off
	off += mdSystemInfoSize
	csdOff := off
	off += 6
	align()
	miscOff := off
	off += mdMiscInfoSize
	threadOff := off
	off += 4
	align()
	modOff := off
	off += 4 + uint32(len(mods))*mdModuleSize
	names := make([][]byte, len(mods))
	nameOff := make([]uint32, len(mods))
	for i, m := range mods {
		names[i] = mdString(m.FullDllName)
		align()
		nameOff[i] = off
		off += uint32(len(names[i]))
	}
	align()
	memOff := uint64(off)
	memListSize := 16 + 16*uint64(len(ranges))
	base := memOff + memListSize
	if base > 0xffffffff {
		return st, warns, fmt.Errorf("pid %d: %d memory ranges do not fit a minidump's 32-bit stream offsets", p.PID, len(ranges))
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	var pos int64
	put := func(at uint64, b []byte) {
		if pad := int64(at) - pos; pad > 0 {
			bw.Write(make([]byte, pad))
			pos += pad
		}
		bw.Write(b)
		pos += int64(len(b))
	}
	le := binary.LittleEndian
	h := make([]byte, 32)
	le.PutUint32(h[0:], mdSignature)
	le.PutUint32(h[4:], mdVersion)
	le.PutUint32(h[8:], nStreams)
	le.PutUint32(h[12:], 32)
	if !in.Time.IsZero() {
		le.PutUint32(h[20:], uint32(in.Time.Unix()))
	}
	le.PutUint64(h[24:], mdWithFullMemory)
	put(0, h)
	dir := make([]byte, 0, nStreams*12)
	entry := func(typ, size, rva uint32) {
		dir = le.AppendUint32(dir, typ)
		dir = le.AppendUint32(dir, size)
		dir = le.AppendUint32(dir, rva)
	}
	entry(mdSystemInfo, mdSystemInfoSize, sysOff)
	entry(mdMiscInfo, mdMiscInfoSize, miscOff)
	entry(mdThreadList, 4, threadOff)
	entry(mdModuleList, 4+uint32(len(mods))*mdModuleSize, modOff)
	entry(mdMemory64List, uint32(memListSize), uint32(memOff))
	put(32, dir)

	si := make([]byte, mdSystemInfoSize)
	le.PutUint16(si[0:], arch)
	si[6] = byte(min(in.Processors, 255))
	si[7] = 1 // VER_NT_WORKSTATION
	le.PutUint32(si[8:], in.Major)
	le.PutUint32(si[12:], in.Minor)
	le.PutUint32(si[16:], in.Build)
	le.PutUint32(si[20:], mdPlatformWin32NT)
	le.PutUint32(si[24:], csdOff)
	put(uint64(sysOff), si)
	put(uint64(csdOff), mdString(""))

	misc := make([]byte, mdMiscInfoSize)
	le.PutUint32(misc[0:], mdMiscInfoSize)
	flags := uint32(mdMisc1ProcessID)
	if !p.CreateTime.IsZero() {
		flags |= mdMisc1Times
		le.PutUint32(misc[12:], uint32(p.CreateTime.Unix()))
	}
	le.PutUint32(misc[4:], flags)
	le.PutUint32(misc[8:], uint32(p.PID))
	put(uint64(miscOff), misc)
	put(uint64(threadOff), make([]byte, 4)) // NumberOfThreads 0

	ml := le.AppendUint32(nil, uint32(len(mods)))
	for i, m := range mods {
		e := make([]byte, mdModuleSize)
		le.PutUint64(e[0:], m.DllBase)
		le.PutUint32(e[8:], m.SizeOfImage)
		ts := m.TimeDateStamp
		if !m.HeaderInMemory {
			ts = m.LdrTimeDateStamp
		}
		le.PutUint32(e[16:], ts)
		le.PutUint32(e[20:], nameOff[i])
		ml = append(ml, e...)
	}
	put(uint64(modOff), ml)
	for i := range mods {
		put(uint64(nameOff[i]), names[i])
	}

	list := le.AppendUint64(nil, uint64(len(ranges)))
	list = le.AppendUint64(list, base)
	for _, r := range ranges {
		list = le.AppendUint64(list, r.va)
		list = le.AppendUint64(list, r.size)
	}
	put(memOff, list)
	buf := make([]byte, mdMaxChunk)
	for _, r := range ranges {
		for done := uint64(0); done < r.size; {
			n := min(r.size-done, mdMaxChunk)
			b := buf[:n]
			if got, err := s.ReadAt(b, r.va+done); err != nil {
				clear(b[got:])
				warns = append(warns, warnf("va", r.va+done+uint64(got), "pid %d: page not readable after translation (%v): zero-filled", p.PID, err))
			}
			put(uint64(pos), b)
			done += n
		}
	}
	if err := bw.Flush(); err != nil {
		return st, warns, err
	}
	st.Size = pos
	return st, warns, nil
}

// mdString encodes a MINIDUMP_STRING: the length in bytes, the UTF-16LE
// text and a NUL that the length does not count.
func mdString(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := binary.LittleEndian.AppendUint32(nil, uint32(2*len(u)))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}
