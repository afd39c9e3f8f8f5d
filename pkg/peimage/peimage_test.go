package peimage

import (
	"bytes"
	"debug/pe"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// realPEs returns PE files found on this machine: the test files shipped
// in the saferwall/pe and x/sys module zips, and pip's distlib launchers.
// None is ours; debug/pe and GNU objdump are the references.
func realPEs(t *testing.T) []string {
	t.Helper()
	var out []string
	if mc, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		root := strings.TrimSpace(string(mc))
		for _, pat := range []string{
			"github.com/saferwall/pe@v1.6.5/test/*.dll",
			"github.com/saferwall/pe@v1.6.5/test/*.exe",
			"github.com/saferwall/pe@v1.6.5/test/*.sys",
			"github.com/saferwall/pe@v1.6.5/test/*.DLL",
			"golang.org/x/sys@v0.49.0/windows/testdata/*.exe",
		} {
			m, _ := filepath.Glob(filepath.Join(root, pat))
			out = append(out, m...)
		}
	}
	m, _ := filepath.Glob("/root/.pyenv/versions/*/lib/python*/site-packages/pip/_vendor/distlib/*.exe")
	out = append(out, m...)
	if len(out) == 0 {
		t.Skip("no PE files on this machine")
	}
	return out
}

// reference is what debug/pe says about a file.
func reference(t *testing.T, f *pe.File) *Info {
	t.Helper()
	r := &Info{
		Machine:         f.Machine,
		TimeDateStamp:   f.TimeDateStamp,
		Characteristics: f.Characteristics,
	}
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		r.ImageBase, r.SizeOfImage, r.SizeOfHeaders = uint64(oh.ImageBase), oh.SizeOfImage, oh.SizeOfHeaders
		r.EntryPoint, r.CheckSum, r.Subsystem, r.DllCharacteristics = oh.AddressOfEntryPoint, oh.CheckSum, oh.Subsystem, oh.DllCharacteristics
	case *pe.OptionalHeader64:
		r.Is64 = true
		r.ImageBase, r.SizeOfImage, r.SizeOfHeaders = oh.ImageBase, oh.SizeOfImage, oh.SizeOfHeaders
		r.EntryPoint, r.CheckSum, r.Subsystem, r.DllCharacteristics = oh.AddressOfEntryPoint, oh.CheckSum, oh.Subsystem, oh.DllCharacteristics
	default:
		t.Fatalf("no optional header")
	}
	for _, s := range f.Sections {
		r.Sections = append(r.Sections, Section{
			Name: s.Name, VirtualAddress: s.VirtualAddress, VirtualSize: s.VirtualSize,
			RawOffset: s.Offset, RawSize: s.Size, Characteristics: s.Characteristics,
		})
	}
	return r
}

func compareHeaders(t *testing.T, name string, got, want *Info) {
	t.Helper()
	g, w := *got, *want
	if g.Machine != w.Machine || g.TimeDateStamp != w.TimeDateStamp || g.Characteristics != w.Characteristics ||
		g.Is64 != w.Is64 || g.ImageBase != w.ImageBase || g.SizeOfImage != w.SizeOfImage ||
		g.SizeOfHeaders != w.SizeOfHeaders || g.EntryPoint != w.EntryPoint || g.CheckSum != w.CheckSum ||
		g.Subsystem != w.Subsystem || g.DllCharacteristics != w.DllCharacteristics {
		t.Errorf("%s: headers\n got %+v\nwant %+v", name, g, w)
	}
	if len(g.Sections) != len(w.Sections) {
		t.Errorf("%s: %d sections, debug/pe has %d", name, len(g.Sections), len(w.Sections))
		return
	}
	for i := range g.Sections {
		if g.Sections[i] != w.Sections[i] {
			t.Errorf("%s: section %d = %+v, debug/pe has %+v", name, i, g.Sections[i], w.Sections[i])
		}
	}
}

// objdumpPDB runs GNU objdump -p and returns the CodeView record it prints,
// with the GUID in our registry form.
func objdumpPDB(t *testing.T, path string) (*CodeView, bool) {
	out, err := exec.Command("objdump", "-p", path).Output()
	if err != nil {
		return nil, false
	}
	m := regexp.MustCompile(`\(format RSDS signature ([0-9a-f]{32}) age (\d+) pdb (.*)\)`).FindSubmatch(out)
	if m == nil {
		return nil, true
	}
	// objdump prints the GUID's fields as numbers (Data1, Data2, Data3,
	// then the 8 bytes of Data4), i.e. registry order without dashes.
	h := strings.ToUpper(string(m[1]))
	guid := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	age, _ := strconv.Atoi(string(m[2]))
	p := string(m[3])
	if p == "(none)" {
		p = ""
	}
	return &CodeView{Signature: "RSDS", GUID: guid, Age: uint32(age), Path: p}, true
}

// mapImage lays a PE file out as the loader would: headers at 0, each
// section's raw data at its virtual address. It uses debug/pe only.
func mapImage(t *testing.T, f *pe.File, file []byte) []byte {
	t.Helper()
	ref := reference(t, f)
	img := make([]byte, ref.SizeOfImage)
	copy(img, file[:min(int(ref.SizeOfHeaders), len(file))])
	for _, s := range f.Sections {
		data, err := s.Data()
		if err != nil && len(data) == 0 {
			continue
		}
		n := min(uint32(len(data)), s.VirtualSize)
		if s.VirtualSize == 0 {
			n = uint32(len(data))
		}
		if uint64(s.VirtualAddress)+uint64(n) <= uint64(len(img)) {
			copy(img[s.VirtualAddress:], data[:n])
		}
	}
	return img
}

func TestRealFiles(t *testing.T) {
	files := realPEs(t)
	pdbs := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := pe.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Logf("%s: debug/pe refuses it (%v); skipped", filepath.Base(path), err)
			continue
		}
		name := filepath.Base(path)
		want := reference(t, f)

		got, err := Parse(data, false)
		if err != nil {
			t.Errorf("%s: Parse: %v", name, err)
			continue
		}
		compareHeaders(t, name+" (file)", got, want)

		// The same image as the loader maps it, read from an address space.
		img := mapImage(t, f, data)
		const base = 0x7ff600000000
		as := addrspace.NewSegmented(bytes.NewReader(img), 8, []addrspace.Segment{{VA: base, Size: uint64(len(img))}})
		mem, err := FromMemory(as, base, 0)
		if err != nil {
			t.Errorf("%s: FromMemory: %v", name, err)
			continue
		}
		if !mem.Mapped {
			t.Errorf("%s: FromMemory result not marked mapped", name)
		}
		compareHeaders(t, name+" (memory)", mem, want)

		if cv, ran := objdumpPDB(t, path); ran {
			for _, r := range []struct {
				how string
				got *CodeView
			}{{"file", got.PDB}, {"memory", mem.PDB}} {
				switch {
				case cv == nil && r.got != nil:
					t.Errorf("%s (%s): PDB %+v, objdump shows none", name, r.how, r.got)
				case cv != nil && (r.got == nil || *r.got != *cv):
					t.Errorf("%s (%s): PDB %+v, objdump says %+v (problems %v)", name, r.how, r.got, cv, mem.Problems)
				}
			}
			if cv != nil {
				pdbs++
			}
		}
	}
	t.Logf("%d files, %d with an RSDS record checked against objdump", len(files), pdbs)
}

// TestHeaderOnlyMemory reads a mapped image of which only the header page
// is present: the headers parse, the PDB is missing with a reason.
func TestHeaderOnlyMemory(t *testing.T) {
	files := realPEs(t)
	for _, path := range files {
		if !strings.HasSuffix(path, "kernel32.dll") {
			continue
		}
		data, _ := os.ReadFile(path)
		f, err := pe.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		img := mapImage(t, f, data)[:0x1000]
		as := addrspace.NewSegmented(bytes.NewReader(img), 8, []addrspace.Segment{{VA: 0x180000000, Size: 0x1000}})
		info, err := FromMemory(as, 0x180000000, 0)
		if err != nil {
			t.Fatal(err)
		}
		compareHeaders(t, "kernel32 header page", info, reference(t, f))
		if info.PDB != nil || len(info.Problems) == 0 {
			t.Errorf("PDB %v problems %v: want no PDB and a problem", info.PDB, info.Problems)
		}
		if len(info.Anomalies) != 0 {
			t.Logf("anomalies: %v", info.Anomalies)
		}
		return
	}
	t.Skip("kernel32.dll not found")
}

func TestHostile(t *testing.T) {
	for _, c := range [][]byte{
		nil,
		[]byte("MZ"),
		bytes.Repeat([]byte{0xff}, 4096),
		append([]byte("MZ"), make([]byte, 200)...),
	} {
		if _, err := Parse(c, true); err == nil {
			t.Errorf("Parse(%d bytes) accepted garbage", len(c))
		}
		if _, err := Parse(c, false); err == nil {
			t.Errorf("Parse(%d bytes) accepted garbage", len(c))
		}
	}
	empty := addrspace.NewSegmented(bytes.NewReader(nil), 8, nil)
	if _, err := FromMemory(empty, 0x400000, 0); err == nil || !addrspace.IsUnmapped(err) {
		t.Errorf("FromMemory on an empty space: %v", err)
	}
}

func TestParseCodeView(t *testing.T) {
	// NB10: signature 0x3B9AC9FF, age 2, path.
	nb := append([]byte("NB10\x00\x00\x00\x00\xff\xc9\x9a\x3b\x02\x00\x00\x00"), "a.pdb\x00"...)
	cv, err := ParseCodeView(nb)
	if err != nil || cv.Signature != "NB10" || cv.GUID != "3B9AC9FF" || cv.Age != 2 || cv.Path != "a.pdb" {
		t.Errorf("NB10: %+v %v", cv, err)
	}
	for _, b := range [][]byte{nil, []byte("RSDS"), []byte("NB10xxxx"), []byte("XXXXxxxxxxxxxxxxxxxxxxxxxxxx")} {
		if _, err := ParseCodeView(b); err == nil {
			t.Errorf("ParseCodeView(%q) accepted it", b)
		}
	}
}

// FuzzParse feeds arbitrary bytes to both layouts and to FromMemory.
func FuzzParse(f *testing.F) {
	// A minimal PE32+ header with one section and a debug directory.
	f.Add(minimalPE())
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data, true)
		Parse(data, false)
		as := addrspace.NewSegmented(bytes.NewReader(data), 8, []addrspace.Segment{{VA: 0x10000, Size: uint64(len(data))}})
		FromMemory(as, 0x10000, 0)
	})
}

// minimalPE builds a small PE32+ image in image layout: one section at
// 0x1000 holding a debug directory and an RSDS record.
func minimalPE() []byte {
	b := make([]byte, 0x2000)
	le := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	le16 := func(off int, v uint16) { b[off], b[off+1] = byte(v), byte(v>>8) }
	copy(b, "MZ")
	le(0x3c, 0x80)
	copy(b[0x80:], "PE\x00\x00")
	le16(0x84, 0x8664)   // Machine
	le16(0x86, 1)        // NumberOfSections
	le(0x88, 0x5f000000) // TimeDateStamp
	le16(0x94, 240)      // SizeOfOptionalHeader
	le16(0x96, 0x22)     // Characteristics
	o := 0x98
	le16(o, 0x20b)
	le(o+16, 0x1000)      // AddressOfEntryPoint
	le(o+24, 0x10000)     // ImageBase low
	le(o+32, 0x1000)      // SectionAlignment
	le(o+36, 0x200)       // FileAlignment
	le(o+56, 0x2000)      // SizeOfImage
	le(o+60, 0x200)       // SizeOfHeaders
	le16(o+68, 3)         // Subsystem
	le(o+108, 16)         // NumberOfRvaAndSizes
	le(o+112+6*8, 0x1000) // Debug directory RVA
	le(o+112+6*8+4, 28)
	s := o + 240
	copy(b[s:], ".rdata")
	le(s+8, 0x100)
	le(s+12, 0x1000)
	le(s+16, 0x200)
	le(s+20, 0x200)
	le(s+36, 0x40000040)
	le(0x1000+12, 2)      // Type CodeView
	le(0x1000+16, 24+6)   // SizeOfData
	le(0x1000+20, 0x1040) // AddressOfRawData
	le(0x1000+24, 0x240)  // PointerToRawData
	copy(b[0x1040:], "RSDS")
	copy(b[0x1040+24:], "x.pdb\x00")
	return b
}

func TestMinimalPE(t *testing.T) {
	info, err := Parse(minimalPE(), true)
	if err != nil {
		t.Fatal(err)
	}
	if info.Machine != 0x8664 || !info.Is64 || info.SizeOfImage != 0x2000 || len(info.Sections) != 1 ||
		info.PDB == nil || info.PDB.Path != "x.pdb" || info.PDB.GUID != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("%+v pdb %+v", info, info.PDB)
	}
}
