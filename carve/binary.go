package carve

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"time"

	pe "github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"

	"github.com/remnant-forensics/remnant/pkg/render"
)

// ---- MFT FILE records

// mftCarver finds NTFS MFT FILE records. Records cached in memory have
// their update sequence fixups applied already; records copied raw from
// disk (file cache of $MFT, a disk image) still carry the update sequence
// number at the end of each sector, and are fixed up in a copy first.
//
// The record header is validated here; go-ntfs then reads the fixed-up
// record: its MFT_ENTRY header, its attribute headers, and the
// $STANDARD_INFORMATION, $FILE_NAME and $DATA attributes found in it.
// go-ntfs's own attribute walk (EnumerateAttributes) is not used: it
// follows $ATTRIBUTE_LIST into other records through a whole-volume
// context, which a carver has not got, and stops only on a zero length.
// The walk here is bounded by the record's used size and stops at the
// end marker; attributes stored in other records are not followed.
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

// ntfsProfile holds go-ntfs's NTFS layout (field offsets); it is only
// read, so the workers share it.
var ntfsProfile = ntfs.NewNTFSProfile()

var ntNamespaces = []string{"POSIX", "Win32", "DOS", "Win32+DOS"}

func (mftCarver) Decode(in *Input) (int, int, Fields, bool) {
	data, at := in.Data, in.At
	if at < 0 || at >= len(data) {
		return 0, 0, nil, false
	}
	rec, disk, ok := mftFixup(data[at:])
	if !ok {
		return 0, 0, nil, false
	}
	f, ok := mftDecodeSafe(rec, disk)
	if !ok {
		return 0, 0, nil, false
	}
	return at, at + len(rec), f, true
}

// mftFixup validates the header of the FILE record at the start of b and
// returns the record (allocated size) with its fixups applied. A record
// whose sectors all end with its update sequence number is as on disk
// (disk true) and is fixed up in a copy: each sector's last two bytes
// are replaced by the saved words of the update sequence array. Any other
// record is taken as in memory, fixed up already, and returned in place.
// (When an in-memory sector happens to end with the sequence number, the
// array still holds that same word, so either reading gives the same
// bytes; only the disk flag is then a guess.)
func mftFixup(b []byte) (rec []byte, disk, ok bool) {
	if len(b) < 0x38 || string(b[:4]) != "FILE" {
		return nil, false, false
	}
	usaOff, usaCount := u16(b, 4), u16(b, 6)
	attrOff, flags := u16(b, 0x14), u16(b, 0x16)
	used, alloc := u32(b, 0x18), u32(b, 0x1c)
	if alloc != 1024 && alloc != 4096 || used > alloc || used < attrOff+8 ||
		usaCount != alloc/512+1 || usaOff+2*usaCount > attrOff || attrOff < 0x2a || flags > 0xf ||
		alloc > len(b) {
		return nil, false, false
	}
	rec = b[:alloc]
	usn := rec[usaOff : usaOff+2]
	for s := 1; s < usaCount; s++ {
		if rec[s*512-2] != usn[0] || rec[s*512-1] != usn[1] {
			return rec, false, true
		}
	}
	fixed := bytes.Clone(rec)
	for s := 1; s < usaCount; s++ {
		copy(fixed[s*512-2:s*512], rec[usaOff+2*s:usaOff+2*s+2])
	}
	return fixed, true, true
}

// mftDecodeSafe is mftDecode with a recover: go-ntfs reads through
// io.ReaderAt accessors that were not written for hostile input.
func mftDecodeSafe(rec []byte, disk bool) (f Fields, ok bool) {
	defer func() {
		if recover() != nil {
			f, ok = nil, false
		}
	}()
	return mftDecode(rec, disk)
}

// mftDecode reads a fixed-up FILE record (validated by mftFixup) with
// go-ntfs. It reports false when an attribute header or a resident
// $FILE_NAME does not fit the record, or when there is no attribute.
func mftDecode(rec []byte, disk bool) (Fields, bool) {
	p := ntfsProfile
	e := p.MFT_ENTRY(bytes.NewReader(rec), 0)
	attrOff, used := int(e.Attribute_offset()), u32(rec, 0x18)
	flags := e.Flags()
	f := Fields{}
	if u16(rec, 4) >= 0x30 { // NTFS 3.1 header: record number at 0x2c
		f = append(f, Field{"record_number", int(e.Record_number())})
	}
	f = append(f, Field{"sequence", int(e.Sequence_value())}, Field{"in_use", flags.IsSet("ALLOCATED")},
		Field{"directory", flags.IsSet("DIRECTORY")}, Field{"link_count", int(e.Link_count())},
		Field{"fixups_applied_in_memory", !disk})
	if base := e.Base_record_reference() & (1<<48 - 1); base != 0 {
		f = append(f, Field{"base_record", base})
	}
	// Attribute headers are read within the used part of the record only.
	r := bytes.NewReader(rec[:used])
	var names, streams []string
	var fnames []Fields
	var size any
	attrs, best, bestNS, haveSI, list := 0, "", -1, false, false
	for off := attrOff; off+16 <= used; {
		a := p.NTFS_ATTRIBUTE(r, int64(off))
		typ, length := a.Type().Value, int(a.Length())
		if typ == 0xffffffff {
			break
		}
		if length < 16 || off+length > used || length%8 != 0 {
			return nil, false
		}
		attrs++
		// The attribute's name: length (characters) at 9, offset at 10.
		named := rec[off+9] != 0
		nameFits := u16(rec, off+10)+2*int(rec[off+9]) <= length
		if a.IsResident() {
			cOff, cSize := int(a.Content_offset()), int(a.Content_size())
			if cOff+cSize > length {
				return nil, false
			}
			c := rec[off+cOff : off+cOff+cSize]
			switch typ {
			case ntfs.ATTR_TYPE_STANDARD_INFORMATION:
				if len(c) >= 0x20 && !haveSI {
					haveSI = true
					si := p.STANDARD_INFORMATION(bytes.NewReader(c), 0)
					f = append(f, Field{"si_created", ntTime(si.Reader, p.Off_STANDARD_INFORMATION_Create_time)},
						Field{"si_modified", ntTime(si.Reader, p.Off_STANDARD_INFORMATION_File_altered_time)},
						Field{"si_mft_modified", ntTime(si.Reader, p.Off_STANDARD_INFORMATION_Mft_altered_time)},
						Field{"si_accessed", ntTime(si.Reader, p.Off_STANDARD_INFORMATION_File_accessed_time)})
				}
			case ntfs.ATTR_TYPE_FILE_NAME:
				if len(c) < 0x42 || 0x42+2*int(c[0x40]) > len(c) {
					return nil, false
				}
				fn := p.FILE_NAME(bytes.NewReader(c), 0)
				name := fn.Name()
				if len(c) >= 0x44 && (u16(c, 0x42) == 0xfeff || u16(c, 0x42) == 0xfffe) {
					// go-ntfs takes a leading U+FEFF or U+FFFE for a
					// byte order mark; a file name's first character
					// is not one.
					name = utf16At(c, 0x42, 2*int(c[0x40]))
				}
				ns := int(fn.NameType().Value)
				nsName := ""
				if ns < len(ntNamespaces) {
					nsName = ntNamespaces[ns]
				}
				names = append(names, name)
				fnames = append(fnames, Fields{{"name", name}, {"namespace", nsName},
					{"parent_record", fn.MftReference()},
					{"created", ntTime(fn.Reader, p.Off_FILE_NAME_Created)},
					{"modified", ntTime(fn.Reader, p.Off_FILE_NAME_File_modified)},
					{"mft_modified", ntTime(fn.Reader, p.Off_FILE_NAME_Mft_modified)},
					{"accessed", ntTime(fn.Reader, p.Off_FILE_NAME_File_accessed)},
					{"size", fn.FilenameSize()}})
				// Prefer a Win32 (or POSIX) name over the DOS 8.3 one.
				if rank := map[int]int{2: 0, 0: 1, 3: 2, 1: 2}[ns]; rank > bestNS {
					best, bestNS = name, rank
				}
			case ntfs.ATTR_TYPE_DATA:
				if !named && size == nil {
					size = uint64(cSize)
				}
			}
		} else if typ == ntfs.ATTR_TYPE_DATA && !named && size == nil && length >= 0x40 &&
			a.Runlist_vcn_start() == 0 {
			// The first extent of a non-resident stream holds its size.
			size = a.Actual_size()
		}
		switch {
		case typ == ntfs.ATTR_TYPE_ATTRIBUTE_LIST:
			list = true
		case typ == ntfs.ATTR_TYPE_DATA && named && nameFits:
			streams = append(streams, a.Name())
		}
		off += length
	}
	if attrs == 0 {
		return nil, false
	}
	f = f.add("name", best).add("names", names).add("file_names", fnames).
		add("size", size).add("streams", streams)
	if list {
		f = append(f, Field{"attribute_list", true})
	}
	return f, true
}

// ntTime reads the FILETIME at off with go-ntfs's reader, converted by
// fileTime: go-ntfs's own conversion (WinFileTime) wraps outside the
// years 1678-2262 that time.Unix nanoseconds hold.
func ntTime(r io.ReaderAt, off int64) time.Time {
	return fileTimeValue(ntfs.ParseUint64(r, off))
}

// fileTimeValue converts a FILETIME (100 ns since 1601); zero when out of
// the range 1601..2200.
func fileTimeValue(v uint64) time.Time {
	ft := int64(v)
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
