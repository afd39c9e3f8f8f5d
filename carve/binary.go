package carve

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"

	pe "github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"

	"github.com/remnant-forensics/remnant/pkg/render"
)

// ---- MFT FILE records

// mftCarver finds NTFS MFT FILE records. Records cached in memory have
// their update sequence fixups applied already; records copied raw from
// disk (file cache of $MFT, a disk image) still carry the update sequence
// number at the end of each sector, and are fixed up in a copy first.
//
// The record and attribute layouts are NTFS's published ones (the same
// that go-ntfs describes in its profile); go-ntfs itself cannot be built
// in this module yet (its dependencies are missing from go.sum), so the
// few fields needed are read here.
type mftCarver struct{}

func (mftCarver) Spec() Spec {
	return Spec{
		Name:      "mft",
		Anchors:   []Anchor{{Pattern: "FILE0", Raw: true}, {Pattern: "FILE*", Raw: true}},
		Forward:   4096,
		Summary:   []string{"name"},
		TextField: "name",
	}
}

var ntNamespaces = []string{"POSIX", "Win32", "DOS", "Win32+DOS"}

func (mftCarver) Decode(in *Input) (int, int, Fields, bool) {
	data, at := in.Data, in.At
	if at+0x38 > len(data) {
		return 0, 0, nil, false
	}
	h := data[at:]
	usaOff, usaCount := u16(h, 4), u16(h, 6)
	attrOff, flags := u16(h, 0x14), u16(h, 0x16)
	used, alloc := u32(h, 0x18), u32(h, 0x1c)
	if alloc != 1024 && alloc != 4096 || used > alloc || used < attrOff+8 ||
		usaCount != alloc/512+1 || usaOff+2*usaCount > attrOff || attrOff < 0x2a || flags > 0xf ||
		at+alloc > len(data) {
		return 0, 0, nil, false
	}
	rec := data[at : at+alloc]
	// Fixups still in place? Then every sector ends with the sequence number.
	usn := rec[usaOff : usaOff+2]
	raw := true
	for s := 1; s < usaCount; s++ {
		if !bytes.Equal(rec[s*512-2:s*512], usn) {
			raw = false
			break
		}
	}
	if raw {
		fixed := bytes.Clone(rec)
		for s := 1; s < usaCount; s++ {
			copy(fixed[s*512-2:s*512], rec[usaOff+2*s:usaOff+2*s+2])
		}
		rec = fixed
	}
	f := Fields{}
	if usaOff >= 0x30 {
		f = append(f, Field{"record_number", u32(rec, 0x2c)})
	}
	f = append(f, Field{"sequence", u16(rec, 0x10)}, Field{"in_use", flags&1 != 0},
		Field{"directory", flags&2 != 0}, Field{"link_count", u16(rec, 0x12)},
		Field{"fixups_applied_in_memory", !raw})
	if base := binary.LittleEndian.Uint64(rec[0x20:]) & (1<<48 - 1); base != 0 {
		f = append(f, Field{"base_record", base})
	}
	var names []string
	var fnames []Fields
	attrs, best, bestNS := 0, "", -1
	for off, n := attrOff, 0; off+16 <= used && n < 64; n++ {
		typ, length := u32(rec, off), u32(rec, off+4)
		if typ == 0xffffffff {
			break
		}
		if length < 16 || off+length > used || length%8 != 0 {
			return 0, 0, nil, false
		}
		attrs++
		if rec[off+8] == 0 { // resident
			cSize, cOff := u32(rec, off+0x10), u16(rec, off+0x14)
			if cOff+cSize > length {
				return 0, 0, nil, false
			}
			c := rec[off+cOff : off+cOff+cSize]
			switch typ {
			case 0x10: // $STANDARD_INFORMATION
				if len(c) >= 0x20 {
					f = append(f, Field{"si_created", fileTime(c, 0)}, Field{"si_modified", fileTime(c, 8)},
						Field{"si_mft_modified", fileTime(c, 0x10)}, Field{"si_accessed", fileTime(c, 0x18)})
				}
			case 0x30: // $FILE_NAME
				if len(c) < 0x42 || 0x42+2*int(c[0x40]) > len(c) {
					return 0, 0, nil, false
				}
				name := utf16At(c, 0x42, 2*int(c[0x40]))
				ns := int(c[0x41])
				nsName := ""
				if ns < len(ntNamespaces) {
					nsName = ntNamespaces[ns]
				}
				names = append(names, name)
				fnames = append(fnames, Fields{{"name", name}, {"namespace", nsName},
					{"parent_record", binary.LittleEndian.Uint64(c) & (1<<48 - 1)},
					{"created", fileTime(c, 8)}, {"modified", fileTime(c, 0x10)},
					{"mft_modified", fileTime(c, 0x18)}, {"accessed", fileTime(c, 0x20)},
					{"size", binary.LittleEndian.Uint64(c[0x30:])}})
				// Prefer a Win32 (or POSIX) name over the DOS 8.3 one.
				if rank := map[int]int{2: 0, 0: 1, 3: 2, 1: 2}[ns]; rank > bestNS {
					best, bestNS = name, rank
				}
			}
		}
		off += length
	}
	if attrs == 0 {
		return 0, 0, nil, false
	}
	f = f.add("name", best).add("names", names).add("file_names", fnames)
	return at, at + alloc, f, true
}

// fileTime reads a FILETIME (100 ns since 1601) at i; zero when out of
// the range 1601..2200.
func fileTime(b []byte, i int) time.Time {
	ft := int64(binary.LittleEndian.Uint64(b[i:]))
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	if ft <= 0 || ft > 189_000_000_000_000_000 {
		return time.Time{}
	}
	ft -= epochDiff
	return time.Unix(ft/10_000_000, ft%10_000_000*100).UTC()
}

// ---- PE images

// peCarver finds PE images (MZ, PE\0\0, a known machine and a consistent
// optional header) in file or memory layout and reads them with
// saferwall/pe: an image in memory layout is first mapped back to file
// layout (section raw offsets = virtual addresses).
type peCarver struct{}

const peMaxImage = 1 << 20 // bytes of an image read for its headers and resources

func (peCarver) Spec() Spec {
	return Spec{
		Name:      "pe",
		Anchors:   []Anchor{{Pattern: "MZ", Raw: true}},
		Forward:   peMaxImage,
		Summary:   []string{"original_filename", "machine"},
		TextField: "original_filename",
	}
}

var peMachines = map[int]string{0x14c: "i386", 0x8664: "amd64", 0x1c0: "arm", 0x1c4: "armnt", 0xaa64: "arm64", 0x200: "ia64"}

type silentLog struct{}

func (silentLog) Log(pelog.Level, ...any) error { return nil }

func (peCarver) Decode(in *Input) (int, int, Fields, bool) {
	data, at := in.Data, in.At
	if at+0x40 > len(data) {
		return 0, 0, nil, false
	}
	lfanew := u32(data, at+0x3c)
	if lfanew < 0x40 || lfanew > 0x1000 || at+lfanew+0x18+0x60 > len(data) {
		return 0, 0, nil, false
	}
	nt := at + lfanew
	if !bytes.Equal(data[nt:nt+4], []byte("PE\x00\x00")) {
		return 0, 0, nil, false
	}
	machine, nsec, optSize := u16(data, nt+4), u16(data, nt+6), u16(data, nt+0x14)
	mname, ok := peMachines[machine]
	magic := u16(data, nt+0x18)
	if !ok || nsec == 0 || nsec > 96 || !(magic == 0x10b && optSize >= 0x60 || magic == 0x20b && optSize >= 0x70) {
		return 0, 0, nil, false
	}
	opt := nt + 0x18
	sizeOfImage, sizeOfHeaders := u32(data, opt+0x38), u32(data, opt+0x3c)
	secTab := opt + optSize
	if sizeOfImage == 0 || sizeOfImage > 1<<30 || sizeOfHeaders > sizeOfImage || secTab+40*nsec > len(data) {
		return 0, 0, nil, false
	}
	avail := min(len(data)-at, peMaxImage)
	img := data[at : at+avail]
	// Memory layout when section data sits at its virtual address rather
	// than at its raw offset.
	var secs []string
	var sections []peSection
	fileEnd := sizeOfHeaders
	for i := 0; i < nsec; i++ {
		s := secTab + 40*i - at
		name := strings.TrimRight(string(img[s:s+8]), "\x00")
		secs = append(secs, name)
		sec := peSection{va: u32(img, s+12), vsize: u32(img, s+8), raw: u32(img, s+20), rawSize: u32(img, s+16)}
		sections = append(sections, sec)
		fileEnd = max(fileEnd, sec.raw+sec.rawSize)
	}
	// Memory layout when the export or import directory's name reads at
	// its address (section data at its virtual address) and not at its
	// raw offset.
	dirs := opt - at + 0x60
	if magic == 0x20b {
		dirs = opt - at + 0x70
	}
	memory := false
	for _, d := range []int{0, 1} { // export, import
		if dirs+8*d+8 > len(img) {
			break
		}
		rva := u32(img, dirs+8*d)
		m, f := peNameAt(img, rva, nil), peNameAt(img, rva, sections)
		if m != f {
			memory = m
			break
		}
	}
	size := fileEnd
	if memory {
		size = sizeOfImage
	}
	buf := img
	if memory {
		buf = bytes.Clone(img)
		for i := 0; i < nsec; i++ {
			s := secTab + 40*i - at
			binary.LittleEndian.PutUint32(buf[s+20:], binary.LittleEndian.Uint32(buf[s+12:]))
			vsize := binary.LittleEndian.Uint32(buf[s+8:])
			if vsize != 0 {
				binary.LittleEndian.PutUint32(buf[s+16:], vsize)
			}
		}
	}
	f := Fields{{"machine", mname}, {"timestamp", time.Unix(int64(binary.LittleEndian.Uint32(data[nt+8:])), 0).UTC()},
		{"image_size", render.Hex(sizeOfImage)}, {"layout", map[bool]string{true: "memory", false: "file"}[memory]},
		{"section_count", nsec}, {"sections", secs}, {"dll", u16(data, nt+0x16)&0x2000 != 0}}
	if name, orig := peNames(buf); name != "" || orig != "" {
		f = f.add("export_name", name).add("original_filename", orig)
	}
	return at, at + min(size, avail), f, true
}

type peSection struct{ va, vsize, raw, rawSize int }

// peOff maps an RVA to an offset in the image: itself in memory layout
// (secs nil), through the section table in file layout; -1 if nowhere.
func peOff(rva int, secs []peSection) int {
	if secs == nil {
		return rva
	}
	for _, s := range secs {
		if rva >= s.va && rva < s.va+max(s.vsize, s.rawSize) {
			if rva-s.va >= s.rawSize {
				return -1
			}
			return s.raw + rva - s.va
		}
	}
	return -1
}

// peNameAt reports whether an export directory or import descriptor at rva
// has a name (at +12) that reads as a module name in the given layout.
func peNameAt(img []byte, rva int, secs []peSection) bool {
	off := peOff(rva, secs)
	if rva == 0 || off < 0 || off+16 > len(img) {
		return false
	}
	n := peOff(u32(img, off+12), secs)
	if n <= 0 || n >= len(img) {
		return false
	}
	end := min(len(img), n+128)
	dot := false
	for i := n; i < end; i++ {
		c := img[i]
		if c == 0 {
			return dot && i > n+2
		}
		if c < 0x21 || c > 0x7e {
			return false
		}
		dot = dot || c == '.'
	}
	return false
}

func nonZero(b []byte, off, n int) bool {
	if off < 0 || off+n > len(b) {
		return false
	}
	for _, c := range b[off : off+n] {
		if c != 0 {
			return true
		}
	}
	return false
}

// peNames parses the image with saferwall/pe for its export name and the
// OriginalFilename of its version resource. Errors leave them empty.
func peNames(buf []byte) (export, orig string) {
	defer func() {
		if recover() != nil {
			export, orig = "", ""
		}
	}()
	p, err := pe.NewBytes(buf, &pe.Options{Logger: silentLog{}, DisableCertValidation: true,
		DisableSignatureValidation: true, OmitImportDirectory: true, OmitExceptionDirectory: true,
		OmitSecurityDirectory: true, OmitRelocDirectory: true, OmitDebugDirectory: true,
		OmitArchitectureDirectory: true, OmitGlobalPtrDirectory: true, OmitTLSDirectory: true,
		OmitLoadConfigDirectory: true, OmitBoundImportDirectory: true, OmitIATDirectory: true,
		OmitDelayImportDirectory: true, OmitCLRHeaderDirectory: true, OmitCLRMetadata: true,
		MaxCOFFSymbolsCount: 1, MaxRelocEntriesCount: 1})
	if err != nil {
		return "", ""
	}
	if err := p.Parse(); err != nil {
		return "", ""
	}
	export = p.Export.Name
	if v, err := p.ParseVersionResources(); err == nil {
		orig = v["OriginalFilename"]
	}
	return export, orig
}
