package physmem

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
)

var le = binary.LittleEndian

// Format is the container of a physical memory image.
type Format int

// Image formats.
const (
	FormatRaw     Format = iota // the file is physical memory from address 0
	FormatCrash32               // Windows kernel crash dump, PAGEDUMP (x86)
	FormatCrash64               // Windows kernel crash dump, PAGEDU64 (x64)
	FormatLiME                  // LiME: "EMiL" range headers, each followed by its data
)

func (f Format) String() string {
	switch f {
	case FormatRaw:
		return "raw"
	case FormatCrash32:
		return "crashdump32"
	case FormatCrash64:
		return "crashdump64"
	case FormatLiME:
		return "lime"
	}
	return fmt.Sprintf("format(%d)", int(f))
}

// Crash dump types (DUMP_HEADER.DumpType).
const (
	DumpTypeFull         = 1
	DumpTypeSummary      = 2
	DumpTypeHeader       = 3
	DumpTypeTriage       = 4
	DumpTypeBitmapFull   = 5
	DumpTypeBitmapKernel = 6
	DumpTypeAutomatic    = 7
)

// Machine types of the crash dump header (IMAGE_FILE_MACHINE_*).
const (
	MachineI386  = 0x14c
	MachineAMD64 = 0x8664
)

// CrashHeader is the header of a Windows kernel crash dump (DUMP_HEADER32 or
// DUMP_HEADER64, layouts as in Microsoft's mindumpdef.h and Volatility 3's
// crash.json/crash64.json). Addresses are kernel virtual addresses, except
// DirectoryTableBase, which is physical.
type CrashHeader struct {
	Is64                bool
	MajorVersion        uint32 // 0xf for a free build, 0xc for a checked build
	MinorVersion        uint32 // the build number
	DirectoryTableBase  uint64
	PfnDataBase         uint64
	PsLoadedModuleList  uint64
	PsActiveProcessHead uint64
	MachineImageType    uint32
	NumberProcessors    uint32
	BugCheckCode        uint32
	BugCheckParameters  [4]uint64
	PaeEnabled          bool // x86 only
	KdDebuggerDataBlock uint64
	NumberOfRuns        uint32
	NumberOfPages       uint64
	MemoryRuns          []Run // PhysicalMemoryBlock (FileOff unset)
	DumpType            uint32
	RequiredDumpSpace   uint64
	SystemTime          time.Time
	SystemUpTime        uint64 // 100 ns units
	Comment             string
	ProductType         uint32
	SuiteMask           uint32

	// Bitmap dumps (DumpType 5 or 6): the summary header that follows.
	BitmapSignature string // "SDMP" or "FDMP"
	FirstPage       uint64 // file offset of the first stored page
	BitmapPages     uint64 // pages the header says are present
	BitmapBits      uint64 // bits in the bitmap (pages of physical address space)
}

// filetime converts a FILETIME (100 ns since 1601) to UTC; zero stays zero.
func filetime(v uint64) time.Time {
	if v == 0 || v > 0x7fffffffffffffff {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	if v < epochDiff {
		return time.Time{}
	}
	d := v - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// parseCrash reads a crash dump header and the runs of physical memory the
// file holds.
func parseCrash(r io.ReaderAt, size int64) (*CrashHeader, []Run, []Warning, error) {
	var magic [8]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, nil, nil, &FormatError{0, "reading crash dump signature: " + err.Error()}
	}
	h := &CrashHeader{}
	hdrSize := int64(0x1000)
	switch string(magic[:]) {
	case "PAGEDUMP":
	case "PAGEDU64":
		h.Is64 = true
		hdrSize = 0x2000
	default:
		return nil, nil, nil, &FormatError{0, fmt.Sprintf("crash dump signature %q is neither PAGEDUMP nor PAGEDU64", magic[:])}
	}
	if size < hdrSize {
		return nil, nil, nil, &FormatError{0, fmt.Sprintf("crash dump header needs 0x%x bytes, file has 0x%x", hdrSize, size)}
	}
	b := make([]byte, hdrSize)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, nil, nil, &FormatError{0, "reading crash dump header: " + err.Error()}
	}
	h.MajorVersion = le.Uint32(b[0x8:])
	h.MinorVersion = le.Uint32(b[0xc:])
	var blk []byte // PhysicalMemoryBlockBuffer, 700 bytes
	if h.Is64 {
		h.DirectoryTableBase = le.Uint64(b[0x10:])
		h.PfnDataBase = le.Uint64(b[0x18:])
		h.PsLoadedModuleList = le.Uint64(b[0x20:])
		h.PsActiveProcessHead = le.Uint64(b[0x28:])
		h.MachineImageType = le.Uint32(b[0x30:])
		h.NumberProcessors = le.Uint32(b[0x34:])
		h.BugCheckCode = le.Uint32(b[0x38:])
		for i := range h.BugCheckParameters {
			h.BugCheckParameters[i] = le.Uint64(b[0x40+8*i:])
		}
		h.KdDebuggerDataBlock = le.Uint64(b[0x80:])
		blk = b[0x88 : 0x88+700]
		h.DumpType = le.Uint32(b[0xf98:])
		h.RequiredDumpSpace = le.Uint64(b[0xfa0:])
		h.SystemTime = filetime(le.Uint64(b[0xfa8:]))
		h.Comment = cstring(b[0xfb0 : 0xfb0+128])
		h.SystemUpTime = le.Uint64(b[0x1030:])
		h.ProductType = le.Uint32(b[0x1040:])
		h.SuiteMask = le.Uint32(b[0x1044:])
	} else {
		h.DirectoryTableBase = uint64(le.Uint32(b[0x10:]))
		h.PfnDataBase = uint64(le.Uint32(b[0x14:]))
		h.PsLoadedModuleList = uint64(le.Uint32(b[0x18:]))
		h.PsActiveProcessHead = uint64(le.Uint32(b[0x1c:]))
		h.MachineImageType = le.Uint32(b[0x20:])
		h.NumberProcessors = le.Uint32(b[0x24:])
		h.BugCheckCode = le.Uint32(b[0x28:])
		for i := range h.BugCheckParameters {
			h.BugCheckParameters[i] = uint64(le.Uint32(b[0x2c+4*i:]))
		}
		h.PaeEnabled = b[0x5c] != 0
		h.KdDebuggerDataBlock = uint64(le.Uint32(b[0x60:]))
		blk = b[0x64 : 0x64+700]
		h.Comment = cstring(b[0x820 : 0x820+128])
		h.DumpType = le.Uint32(b[0xf88:])
		h.ProductType = le.Uint32(b[0xf94:])
		h.SuiteMask = le.Uint32(b[0xf98:])
		h.RequiredDumpSpace = le.Uint64(b[0xfa0:])
		h.SystemUpTime = le.Uint64(b[0xfb8:])
		h.SystemTime = filetime(le.Uint64(b[0xfc0:]))
	}
	if string(b[4:8]) != map[bool]string{false: "DUMP", true: "DU64"}[h.Is64] {
		return nil, nil, nil, &FormatError{4, fmt.Sprintf("crash dump ValidDump %q is not DUMP/DU64", b[4:8])}
	}
	var warns []Warning
	// PHYSICAL_MEMORY_DESCRIPTOR: NumberOfRuns, NumberOfPages, Run[].
	h.NumberOfRuns = le.Uint32(blk)
	runOff, runSize := 8, 8
	if h.Is64 {
		h.NumberOfPages = le.Uint64(blk[8:])
		runOff, runSize = 16, 16
	} else {
		h.NumberOfPages = uint64(le.Uint32(blk[4:]))
	}
	blkFileOff := int64(0x64)
	if h.Is64 {
		blkFileOff = 0x88
	}
	n := int(h.NumberOfRuns)
	if max := (len(blk) - runOff) / runSize; n > max || h.NumberOfRuns > uint32(max) {
		if h.DumpType == DumpTypeFull {
			warns = append(warns, warnf("file", uint64(blkFileOff), "crash dump says %d memory runs, the header has room for %d; reading %d", h.NumberOfRuns, max, max))
		}
		n = max
	}
	for i := 0; i < n; i++ {
		e := blk[runOff+i*runSize:]
		var base, count uint64
		if h.Is64 {
			base, count = le.Uint64(e), le.Uint64(e[8:])
		} else {
			base, count = uint64(le.Uint32(e)), uint64(le.Uint32(e[4:]))
		}
		if base > 1<<52 || count > 1<<52 {
			warns = append(warns, warnf("file", uint64(blkFileOff)+uint64(runOff+i*runSize), "memory run %d (page 0x%x, %d pages) is out of range; ignored", i, base, count))
			continue
		}
		h.MemoryRuns = append(h.MemoryRuns, Run{PA: base * pageSize, Size: count * pageSize})
	}

	var runs []Run
	switch h.DumpType {
	case DumpTypeFull:
		off := uint64(hdrSize)
		for i, m := range h.MemoryRuns {
			if off >= uint64(size) {
				warns = append(warns, warnf("file", off, "crash dump is truncated: memory runs %d and later are missing", i))
				break
			}
			sz := m.Size
			if rem := uint64(size) - off; sz > rem {
				warns = append(warns, warnf("file", off, "crash dump is truncated: run %d has 0x%x of 0x%x bytes", i, rem, sz))
				sz = rem &^ (pageSize - 1)
			}
			runs = append(runs, Run{PA: m.PA, Size: sz, FileOff: off})
			off += m.Size
		}
	case DumpTypeBitmapFull, DumpTypeBitmapKernel:
		var w []Warning
		var err error
		runs, w, err = parseBitmap(r, size, hdrSize, h)
		warns = append(warns, w...)
		if err != nil {
			return h, nil, warns, err
		}
	default:
		warns = append(warns, warnf("file", 0, "crash dump type %d is not supported: only its header is read", h.DumpType))
	}
	return h, runs, warns, nil
}

// parseBitmap reads the summary header of a bitmap dump (Signature "SDMP" or
// "FDMP", ValidDump "DUMP", HeaderSize = file offset of the first page at
// 0x20, Pages at 0x28, BitmapSize in bits at 0x30, bits from 0x38; Volatility
// 3 crash_common.json and rizin's dmp_bmp_header agree) and turns the set
// bits into runs of consecutive pages.
func parseBitmap(r io.ReaderAt, size, at int64, h *CrashHeader) ([]Run, []Warning, error) {
	var b [0x38]byte
	if _, err := r.ReadAt(b[:], at); err != nil {
		return nil, nil, &FormatError{at, "reading the bitmap dump header: " + err.Error()}
	}
	sig := string(b[:4])
	if (sig != "SDMP" && sig != "FDMP") || string(b[4:8]) != "DUMP" {
		return nil, nil, &FormatError{at, fmt.Sprintf("bitmap dump header signature %q%q is not SDMP/FDMP + DUMP", b[:4], b[4:8])}
	}
	h.BitmapSignature = sig
	h.FirstPage = le.Uint64(b[0x20:])
	h.BitmapPages = le.Uint64(b[0x28:])
	h.BitmapBits = le.Uint64(b[0x30:])
	bitsOff := at + 0x38
	nbytes := (h.BitmapBits + 7) / 8
	if h.BitmapBits > uint64(size)*8 || uint64(bitsOff)+nbytes > uint64(size) {
		return nil, nil, &FormatError{at + 0x30, fmt.Sprintf("bitmap of %d bits does not fit in the file (0x%x bytes)", h.BitmapBits, size)}
	}
	if h.FirstPage < uint64(bitsOff)+nbytes || h.FirstPage > uint64(size) {
		return nil, nil, &FormatError{at + 0x20, fmt.Sprintf("first page offset 0x%x is outside the file or inside the bitmap", h.FirstPage)}
	}
	var warns []Warning
	var runs []Run
	off := h.FirstPage
	var cur *Run
	buf := make([]byte, 64<<10)
	truncated := false
	for done := uint64(0); done < nbytes && !truncated; {
		chunk := buf
		if rem := nbytes - done; rem < uint64(len(chunk)) {
			chunk = chunk[:rem]
		}
		if _, err := r.ReadAt(chunk, bitsOff+int64(done)); err != nil {
			return runs, warns, &FormatError{bitsOff + int64(done), "reading the page bitmap: " + err.Error()}
		}
		for i, c := range chunk {
			pfn0 := (done + uint64(i)) * 8
			if c == 0 {
				cur = nil
				continue
			}
			for bit := uint64(0); bit < 8; bit++ {
				pfn := pfn0 + bit
				if pfn >= h.BitmapBits {
					break
				}
				if c&(1<<bit) == 0 {
					cur = nil
					continue
				}
				if off+pageSize > uint64(size) {
					warns = append(warns, warnf("file", off, "bitmap dump is truncated at page 0x%x", pfn))
					truncated = true
					break
				}
				if cur != nil && cur.PA+cur.Size == pfn*pageSize {
					cur.Size += pageSize
				} else {
					runs = append(runs, Run{PA: pfn * pageSize, Size: pageSize, FileOff: off})
					cur = &runs[len(runs)-1]
				}
				off += pageSize
			}
			if truncated {
				break
			}
		}
		done += uint64(len(chunk))
	}
	if got := (off - h.FirstPage) / pageSize; !truncated && got != h.BitmapPages {
		warns = append(warns, warnf("file", uint64(at)+0x28, "bitmap dump header says %d pages, the bitmap has %d", h.BitmapPages, got))
	}
	return runs, warns, nil
}

// LiME range header: magic "EMiL" (0x4C694D45), version 1, start and
// inclusive end physical address, 8 reserved bytes; the range's bytes follow.
const (
	limeMagic      = 0x4C694D45
	limeHeaderSize = 32
)

// parseLiME reads the chain of LiME range headers.
func parseLiME(r io.ReaderAt, size int64) ([]Run, []Warning, error) {
	var runs []Run
	var warns []Warning
	var hdr [limeHeaderSize]byte
	off := uint64(0)
	var prevEnd uint64
	for off < uint64(size) {
		if off+limeHeaderSize > uint64(size) {
			warns = append(warns, warnf("file", off, "%d trailing bytes after the last LiME range", uint64(size)-off))
			break
		}
		if _, err := r.ReadAt(hdr[:], int64(off)); err != nil {
			return runs, warns, &FormatError{int64(off), "reading a LiME header: " + err.Error()}
		}
		magic, version := le.Uint32(hdr[0:]), le.Uint32(hdr[4:])
		start, end := le.Uint64(hdr[8:]), le.Uint64(hdr[16:])
		if magic != limeMagic || version != 1 {
			if len(runs) == 0 {
				return nil, nil, &FormatError{int64(off), fmt.Sprintf("LiME header magic 0x%x version %d, want 0x%x version 1", magic, version, limeMagic)}
			}
			warns = append(warns, warnf("file", off, "bad LiME header (magic 0x%x, version %d): the rest of the file is ignored", magic, version))
			break
		}
		if end < start || (len(runs) > 0 && start < prevEnd) {
			warns = append(warns, warnf("file", off, "LiME range 0x%x-0x%x is reversed or overlaps the previous one: the rest of the file is ignored", start, end))
			break
		}
		n := end - start + 1
		data := off + limeHeaderSize
		if n == 0 || data+n < data || data+n > uint64(size) {
			avail := uint64(size) - data
			warns = append(warns, warnf("file", off, "LiME range 0x%x-0x%x is truncated: 0x%x of 0x%x bytes present", start, end, avail, n))
			runs = append(runs, Run{PA: start, Size: avail, FileOff: data})
			break
		}
		runs = append(runs, Run{PA: start, Size: n, FileOff: data})
		prevEnd = end + 1
		off = data + n
	}
	return runs, warns, nil
}

// detect names the format of an image from its first bytes.
func detect(r io.ReaderAt, size int64) Format {
	var b [8]byte
	if size < 8 {
		return FormatRaw
	}
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return FormatRaw
	}
	switch {
	case bytes.Equal(b[:], []byte("PAGEDUMP")):
		return FormatCrash32
	case bytes.Equal(b[:], []byte("PAGEDU64")):
		return FormatCrash64
	case le.Uint32(b[:]) == limeMagic && le.Uint32(b[4:]) == 1:
		return FormatLiME
	}
	return FormatRaw
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(string(b), "?")
}
