// Package peimage reads the headers of a PE image, either as a file or as
// the loader mapped it into a process (image layout: sections at their
// virtual addresses). Headers are parsed with github.com/saferwall/pe;
// the debug directory's CodeView record is read here with explicit bounds,
// so that only the few bytes it needs are read from a process's memory.
package peimage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	saferwall "github.com/saferwall/pe"
	"github.com/saferwall/pe/log"
)

// Limits on what the evidence can make us read.
const (
	// MaxHeaderSize bounds the header bytes read (DOS header, NT headers and
	// the section table). Real images keep them in the first page; the
	// format allows up to SizeOfHeaders.
	MaxHeaderSize = 64 << 10
	maxSections   = 96 // the PE format's own limit
	maxDebugDirs  = 32
	maxCodeView   = 4096 // RSDS header + a path far longer than MAX_PATH
	pageSize      = 0x1000
)

// Section is one entry of the section table as the header records it.
type Section struct {
	Name            string `json:"name"`
	VirtualAddress  uint32 `json:"virtual_address"`
	VirtualSize     uint32 `json:"virtual_size"`
	RawOffset       uint32 `json:"raw_offset"` // PointerToRawData
	RawSize         uint32 `json:"raw_size"`   // SizeOfRawData
	Characteristics uint32 `json:"characteristics"`
}

// CodeView is the debug record naming the image's PDB.
type CodeView struct {
	Signature string `json:"signature"` // "RSDS" (PDB 7.0) or "NB10" (PDB 2.0)
	GUID      string `json:"guid"`      // RSDS: registry form without braces; NB10: the signature in hex
	Age       uint32 `json:"age"`
	Path      string `json:"path"`
}

// Info is what the headers say about an image.
type Info struct {
	Machine            uint16    `json:"machine"` // IMAGE_FILE_MACHINE_*
	TimeDateStamp      uint32    `json:"time_date_stamp"`
	Characteristics    uint16    `json:"characteristics"`
	Is64               bool      `json:"is64"` // PE32+ optional header
	ImageBase          uint64    `json:"image_base"`
	SizeOfImage        uint32    `json:"size_of_image"`
	SizeOfHeaders      uint32    `json:"size_of_headers"`
	EntryPoint         uint32    `json:"entry_point"` // AddressOfEntryPoint (RVA)
	CheckSum           uint32    `json:"checksum"`
	Subsystem          uint16    `json:"subsystem"`
	DllCharacteristics uint16    `json:"dll_characteristics"`
	Sections           []Section `json:"sections"`
	PDB                *CodeView `json:"pdb,omitempty"`
	// Mapped is true when the headers were read in image layout.
	Mapped bool `json:"mapped"`
	// Anomalies are saferwall's remarks on the headers; Problems are ours
	// (debug directory unreadable, ...). Neither stops the parse.
	Anomalies []string `json:"anomalies,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

// IsDLL reports whether IMAGE_FILE_DLL is set.
func (i *Info) IsDLL() bool { return i.Characteristics&0x2000 != 0 }

// MachineName names the machine type.
func (i *Info) MachineName() string {
	switch i.Machine {
	case 0x14c:
		return "x86"
	case 0x8664:
		return "x64"
	case 0xaa64:
		return "arm64"
	case 0x1c0, 0x1c4:
		return "arm"
	case 0x200:
		return "ia64"
	}
	return fmt.Sprintf("0x%x", i.Machine)
}

// silent discards saferwall's log lines: problems are returned, not printed.
type silent struct{}

func (silent) Log(log.Level, ...any) error { return nil }

// headerOptions parses the headers only: no data directories, no
// certificate or signature checks, no entropy, at most one COFF symbol.
func headerOptions() *saferwall.Options {
	return &saferwall.Options{
		Fast:                       true,
		DisableCertValidation:      true,
		DisableSignatureValidation: true,
		MaxCOFFSymbolsCount:        1,
		MaxRelocEntriesCount:       1,
		Logger:                     silent{},
		OmitExportDirectory:        true, OmitImportDirectory: true, OmitExceptionDirectory: true,
		OmitResourceDirectory: true, OmitSecurityDirectory: true, OmitRelocDirectory: true,
		OmitDebugDirectory: true, OmitArchitectureDirectory: true, OmitGlobalPtrDirectory: true,
		OmitTLSDirectory: true, OmitLoadConfigDirectory: true, OmitBoundImportDirectory: true,
		OmitIATDirectory: true, OmitDelayImportDirectory: true, OmitCLRHeaderDirectory: true,
		OmitCLRMetadata: true,
	}
}

// rvaReader reads n bytes at an RVA of the image.
type rvaReader func(rva, n uint32) ([]byte, error)

// Parse reads the headers of the PE image in data: a file when mapped is
// false, the loader's image layout when it is true. data may stop after the
// headers; the PDB record is then absent (and a Problem says why).
func Parse(data []byte, mapped bool) (*Info, error) {
	info, err := parseHeaders(data, mapped)
	if err != nil {
		return nil, err
	}
	read := func(rva, n uint32) ([]byte, error) {
		off, ok := uint64(rva), true
		if !mapped {
			off, ok = info.fileOffset(rva)
		}
		if !ok || off > uint64(len(data)) || uint64(n) > uint64(len(data))-off {
			return nil, fmt.Errorf("RVA 0x%x+0x%x is outside the %d bytes given", rva, n, len(data))
		}
		return data[off : off+uint64(n)], nil
	}
	info.readCodeView(data, read)
	return info, nil
}

// FromMemory reads the headers of the image mapped at base in a process's
// memory. sizeHint, when not 0, is the image size the caller knows (from
// the loader entry or the dump's module list); the header's own SizeOfImage
// is used otherwise. Only the header page, the debug directory and the
// CodeView record are read.
func FromMemory(as addrspace.AddressSpace, base uint64, sizeHint uint64) (*Info, error) {
	hdr := make([]byte, pageSize)
	n, err := as.ReadAt(hdr, base)
	if n < 0x40 {
		if err == nil {
			err = errors.New("short read")
		}
		return nil, fmt.Errorf("PE header at 0x%x: %w", base, err)
	}
	hdr = hdr[:n]
	// Headers larger than a page (rare): read up to SizeOfHeaders.
	if want := headerSpan(hdr); want > len(hdr) && n == pageSize {
		more := make([]byte, want)
		m, _ := as.ReadAt(more, base)
		if m > len(hdr) {
			hdr = more[:m]
		}
	}
	info, err := parseHeaders(hdr, true)
	if err != nil {
		return nil, fmt.Errorf("PE header at 0x%x: %w", base, err)
	}
	limit := uint64(info.SizeOfImage)
	if sizeHint != 0 && (limit == 0 || sizeHint < limit) {
		limit = sizeHint
	}
	read := func(rva, n uint32) ([]byte, error) {
		if uint64(rva)+uint64(n) > limit {
			return nil, fmt.Errorf("RVA 0x%x+0x%x lies past the image size 0x%x", rva, n, limit)
		}
		b := make([]byte, n)
		if _, err := as.ReadAt(b, base+uint64(rva)); err != nil {
			return nil, err
		}
		return b, nil
	}
	info.readCodeView(hdr, read)
	return info, nil
}

// headerSpan returns how many bytes the headers claim (SizeOfHeaders or the
// end of the section table, whichever is larger), bounded by MaxHeaderSize;
// 0 when hdr is too short to tell.
func headerSpan(hdr []byte) int {
	if len(hdr) < 0x40 {
		return 0
	}
	lfanew := uint64(binary.LittleEndian.Uint32(hdr[0x3c:]))
	if lfanew+24+0x40 > uint64(len(hdr)) {
		return 0
	}
	nsec := uint64(binary.LittleEndian.Uint16(hdr[lfanew+6:]))
	optSize := uint64(binary.LittleEndian.Uint16(hdr[lfanew+20:]))
	end := lfanew + 24 + optSize + 40*nsec
	if soh := uint64(binary.LittleEndian.Uint32(hdr[lfanew+24+60:])); soh > end { // SizeOfHeaders: same offset in PE32 and PE32+
		end = soh
	}
	if end > MaxHeaderSize {
		end = MaxHeaderSize
	}
	return int(end)
}

// parseHeaders runs saferwall over a copy of the header bytes. The copy's
// section table is first put in file layout for the bytes saferwall is
// given: in image layout a section's raw data is at its virtual address
// (the loader's mapping undone); a section whose raw data lies past the
// copy is presented as having none, so that saferwall's checks describe the
// bytes it sees. Info.Sections still reports the table as recorded.
func parseHeaders(data []byte, mapped bool) (info *Info, err error) {
	n := len(data)
	if span := headerSpan(data); span > 0 && span < n {
		n = span
	}
	if n > MaxHeaderSize {
		n = MaxHeaderSize
	}
	buf := make([]byte, n)
	copy(buf, data)
	orig := sectionTable(buf)
	toFileLayout(buf, orig, mapped)

	defer func() {
		if r := recover(); r != nil {
			info, err = nil, fmt.Errorf("malformed PE headers: %v", r)
		}
	}()
	f, err := saferwall.NewBytes(buf, headerOptions())
	if err != nil {
		return nil, err
	}
	if err := f.Parse(); err != nil {
		return nil, err
	}
	info = &Info{
		Machine:         uint16(f.NtHeader.FileHeader.Machine),
		TimeDateStamp:   f.NtHeader.FileHeader.TimeDateStamp,
		Characteristics: uint16(f.NtHeader.FileHeader.Characteristics),
		Is64:            f.Is64,
		Mapped:          mapped,
		Anomalies:       f.Anomalies,
	}
	switch oh := f.NtHeader.OptionalHeader.(type) {
	case saferwall.ImageOptionalHeader32:
		info.ImageBase = uint64(oh.ImageBase)
		info.SizeOfImage, info.SizeOfHeaders = oh.SizeOfImage, oh.SizeOfHeaders
		info.EntryPoint, info.CheckSum = oh.AddressOfEntryPoint, oh.CheckSum
		info.Subsystem, info.DllCharacteristics = uint16(oh.Subsystem), uint16(oh.DllCharacteristics)
	case saferwall.ImageOptionalHeader64:
		info.ImageBase = oh.ImageBase
		info.SizeOfImage, info.SizeOfHeaders = oh.SizeOfImage, oh.SizeOfHeaders
		info.EntryPoint, info.CheckSum = oh.AddressOfEntryPoint, oh.CheckSum
		info.Subsystem, info.DllCharacteristics = uint16(oh.Subsystem), uint16(oh.DllCharacteristics)
	default:
		return nil, errors.New("no optional header")
	}
	// Report the section table as recorded, not as remapped for saferwall.
	for i, s := range f.Sections {
		sec := Section{
			Name:            strings.TrimRight(string(s.Header.Name[:]), "\x00"),
			VirtualAddress:  s.Header.VirtualAddress,
			VirtualSize:     s.Header.VirtualSize,
			RawOffset:       s.Header.PointerToRawData,
			RawSize:         s.Header.SizeOfRawData,
			Characteristics: s.Header.Characteristics,
		}
		if i < len(orig) {
			sec.RawOffset, sec.RawSize = orig[i].RawOffset, orig[i].RawSize
		}
		info.Sections = append(info.Sections, sec)
	}
	return info, nil
}

// sectionTable decodes the section table found in hdr (at most maxSections
// entries, as many as hdr holds).
func sectionTable(hdr []byte) []Section {
	if len(hdr) < 0x40 {
		return nil
	}
	lfanew := uint64(binary.LittleEndian.Uint32(hdr[0x3c:]))
	if lfanew+24 > uint64(len(hdr)) {
		return nil
	}
	nsec := int(binary.LittleEndian.Uint16(hdr[lfanew+6:]))
	if nsec > maxSections {
		nsec = maxSections
	}
	off := lfanew + 24 + uint64(binary.LittleEndian.Uint16(hdr[lfanew+20:]))
	var out []Section
	for i := 0; i < nsec && off+40 <= uint64(len(hdr)); i, off = i+1, off+40 {
		e := hdr[off:]
		out = append(out, Section{
			Name:            strings.TrimRight(string(e[:8]), "\x00"),
			VirtualSize:     binary.LittleEndian.Uint32(e[8:]),
			VirtualAddress:  binary.LittleEndian.Uint32(e[12:]),
			RawSize:         binary.LittleEndian.Uint32(e[16:]),
			RawOffset:       binary.LittleEndian.Uint32(e[20:]),
			Characteristics: binary.LittleEndian.Uint32(e[36:]),
		})
	}
	return out
}

// toFileLayout rewrites the section table in hdr as described at
// parseHeaders.
func toFileLayout(hdr []byte, secs []Section, mapped bool) {
	if len(secs) == 0 {
		return
	}
	avail := uint64(len(hdr))
	lfanew := uint64(binary.LittleEndian.Uint32(hdr[0x3c:]))
	off := lfanew + 24 + uint64(binary.LittleEndian.Uint16(hdr[lfanew+20:]))
	for i, s := range secs {
		e := hdr[off+uint64(i)*40:]
		at, size := uint64(s.RawOffset), uint64(s.RawSize)
		if mapped {
			at, size = uint64(s.VirtualAddress), uint64(s.VirtualSize)
			if size == 0 {
				size = uint64(s.RawSize)
			}
		}
		switch {
		case at >= avail:
			at, size = 0, 0
		case size > avail-at:
			size = avail - at
		}
		binary.LittleEndian.PutUint32(e[16:], uint32(size))
		binary.LittleEndian.PutUint32(e[20:], uint32(at))
	}
}

// fileOffset maps an RVA to a file offset through the section table.
func (i *Info) fileOffset(rva uint32) (uint64, bool) {
	for _, s := range i.Sections {
		size := s.VirtualSize
		if size == 0 {
			size = s.RawSize
		}
		if rva >= s.VirtualAddress && rva-s.VirtualAddress < size {
			d := rva - s.VirtualAddress
			if d >= s.RawSize {
				return 0, false // in the section's uninitialised tail: not in the file
			}
			return uint64(s.RawOffset) + uint64(d), true
		}
	}
	if rva < i.SizeOfHeaders {
		return uint64(rva), true
	}
	return 0, false
}

// debugDirectory returns the RVA and size of data directory 6 (Debug).
func debugDirectory(hdr []byte) (rva, size uint32, ok bool) {
	lfanew := uint64(binary.LittleEndian.Uint32(hdr[0x3c:]))
	opt := lfanew + 24
	if opt+2 > uint64(len(hdr)) {
		return 0, 0, false
	}
	var dirs, count uint64
	switch binary.LittleEndian.Uint16(hdr[opt:]) {
	case 0x10b:
		dirs, count = opt+96, opt+92
	case 0x20b:
		dirs, count = opt+112, opt+108
	default:
		return 0, 0, false
	}
	if count+4 > uint64(len(hdr)) || binary.LittleEndian.Uint32(hdr[count:]) <= 6 {
		return 0, 0, false
	}
	e := dirs + 6*8
	if e+8 > uint64(len(hdr)) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(hdr[e:]), binary.LittleEndian.Uint32(hdr[e+4:]), true
}

// readCodeView fills i.PDB from the first CodeView entry of the debug
// directory, noting in Problems why it could not.
func (i *Info) readCodeView(hdr []byte, read rvaReader) {
	rva, size, ok := debugDirectory(hdr)
	if !ok || rva == 0 || size == 0 {
		return
	}
	count := size / 28
	if count > maxDebugDirs {
		count = maxDebugDirs
	}
	dir, err := read(rva, count*28)
	if err != nil {
		i.Problems = append(i.Problems, fmt.Sprintf("debug directory at RVA 0x%x: %v", rva, err))
		return
	}
	for k := uint32(0); k < count; k++ {
		e := dir[k*28:]
		if binary.LittleEndian.Uint32(e[12:]) != 2 { // IMAGE_DEBUG_TYPE_CODEVIEW
			continue
		}
		n := binary.LittleEndian.Uint32(e[16:])
		at := binary.LittleEndian.Uint32(e[20:]) // AddressOfRawData (RVA)
		if !i.Mapped && at == 0 {
			i.Problems = append(i.Problems, "CodeView record is not mapped (AddressOfRawData 0)")
			return
		}
		if n < 16 {
			i.Problems = append(i.Problems, fmt.Sprintf("CodeView record at RVA 0x%x: size %d is too small", at, n))
			return
		}
		if n > maxCodeView {
			n = maxCodeView
		}
		b, err := read(at, n)
		if err != nil {
			i.Problems = append(i.Problems, fmt.Sprintf("CodeView record at RVA 0x%x: %v", at, err))
			return
		}
		cv, err := ParseCodeView(b)
		if err != nil {
			i.Problems = append(i.Problems, fmt.Sprintf("CodeView record at RVA 0x%x: %v", at, err))
			return
		}
		i.PDB = cv
		return
	}
}

// ParseCodeView decodes an RSDS or NB10 CodeView record.
func ParseCodeView(b []byte) (*CodeView, error) {
	if len(b) < 4 {
		return nil, errors.New("shorter than its signature")
	}
	switch string(b[:4]) {
	case "RSDS":
		if len(b) < 24 {
			return nil, fmt.Errorf("RSDS record of %d bytes, want at least 24", len(b))
		}
		g := b[4:20]
		return &CodeView{
			Signature: "RSDS",
			GUID: fmt.Sprintf("%08X-%04X-%04X-%X-%X", binary.LittleEndian.Uint32(g),
				binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:16]),
			Age:  binary.LittleEndian.Uint32(b[20:]),
			Path: cString(b[24:]),
		}, nil
	case "NB10":
		if len(b) < 16 {
			return nil, fmt.Errorf("NB10 record of %d bytes, want at least 16", len(b))
		}
		return &CodeView{
			Signature: "NB10",
			GUID:      fmt.Sprintf("%08X", binary.LittleEndian.Uint32(b[8:])),
			Age:       binary.LittleEndian.Uint32(b[12:]),
			Path:      cString(b[16:]),
		}, nil
	}
	return nil, fmt.Errorf("unknown CodeView signature %q", strings.ToValidUTF8(string(b[:4]), "?"))
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
