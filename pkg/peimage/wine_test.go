package peimage_test

import (
	"bytes"
	"debug/pe"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/peimage"
)

// TestWineMappedImages reads every module header mapped in the Wine
// full-memory dumps and compares it with debug/pe reading the same header
// page, and with the size and timestamp the dump's ModuleList records.
func TestWineMappedImages(t *testing.T) {
	if testing.Short() {
		t.Skip("full-memory dumps in -short mode")
	}
	xzPath, err := exec.LookPath("xz")
	if err != nil {
		t.Skip("no xz tool")
	}
	dumps, _ := filepath.Glob("../../../shared/corpus/wine/*_full.dmp.xz")
	if len(dumps) == 0 {
		t.Skip("wine corpus not available")
	}
	dir := t.TempDir()
	checked := 0
	for _, src := range dumps {
		dst := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".xz"))
		out, err := exec.Command(xzPath, "-dc", src).Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, out, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := minidump.Open(dst)
		if err != nil {
			t.Fatal(err)
		}
		as := f.AddressSpace()
		for _, m := range f.Modules {
			page := make([]byte, 0x1000)
			if _, err := as.ReadAt(page, m.Base); err != nil {
				continue
			}
			info, err := peimage.FromMemory(as, m.Base, uint64(m.Size))
			if err != nil {
				t.Errorf("%s: %v", m.Name, err)
				continue
			}
			// Wine's builtin DLLs (MinGW) keep a COFF symbol table, which is
			// not mapped; debug/pe would read it: clear its pointer in the
			// reference's copy (it changes none of the fields compared).
			ref, err := pe.NewFile(bytes.NewReader(withoutSymbols(page)))
			if err != nil {
				t.Errorf("%s: debug/pe: %v", m.Name, err)
				continue
			}
			var size uint32
			var base uint64
			switch oh := ref.OptionalHeader.(type) {
			case *pe.OptionalHeader32:
				size, base = oh.SizeOfImage, uint64(oh.ImageBase)
			case *pe.OptionalHeader64:
				size, base = oh.SizeOfImage, oh.ImageBase
			}
			if info.Machine != ref.Machine || info.TimeDateStamp != ref.TimeDateStamp || info.SizeOfImage != size ||
				info.ImageBase != base || len(info.Sections) != len(ref.Sections) || !info.Mapped {
				t.Errorf("%s: %+v, debug/pe machine 0x%x stamp 0x%x size 0x%x base 0x%x sections %d",
					m.Name, info, ref.Machine, ref.TimeDateStamp, size, base, len(ref.Sections))
			}
			for i, s := range ref.Sections {
				if i >= len(info.Sections) {
					break
				}
				name := s.Name
				if strings.HasPrefix(info.Sections[i].Name, "/") && name == "" {
					name = info.Sections[i].Name // a long name, blanked in the reference
				}
				if info.Sections[i].Name != name || info.Sections[i].VirtualAddress != s.VirtualAddress ||
					info.Sections[i].VirtualSize != s.VirtualSize || info.Sections[i].RawOffset != s.Offset {
					t.Errorf("%s: section %d %+v, debug/pe %+v", m.Name, i, info.Sections[i], s.SectionHeader)
				}
			}
			if info.TimeDateStamp != m.TimeDateStamp || info.SizeOfImage != m.Size {
				t.Errorf("%s: stamp 0x%x size 0x%x, ModuleList 0x%x 0x%x", m.Name, info.TimeDateStamp, info.SizeOfImage, m.TimeDateStamp, m.Size)
			}
			checked++
		}
		f.Close()
		os.Remove(dst)
	}
	if checked == 0 {
		t.Error("no mapped module header found")
	}
	t.Logf("%d mapped module headers checked", checked)
}

// withoutSymbols returns a copy of a header page with the COFF header's
// PointerToSymbolTable and NumberOfSymbols cleared, and the long section
// names ("/4": an offset in that string table) blanked.
func withoutSymbols(page []byte) []byte {
	b := append([]byte(nil), page...)
	lfanew := int(b[0x3c]) | int(b[0x3d])<<8 | int(b[0x3e])<<16 | int(b[0x3f])<<24
	if lfanew <= 0 || lfanew+24 > len(b) {
		return b
	}
	copy(b[lfanew+12:lfanew+20], make([]byte, 8))
	nsec := int(b[lfanew+6]) | int(b[lfanew+7])<<8
	opt := int(b[lfanew+20]) | int(b[lfanew+21])<<8
	for i, off := 0, lfanew+24+opt; i < nsec && off+40 <= len(b); i, off = i+1, off+40 {
		if b[off] == '/' {
			copy(b[off:off+8], make([]byte, 8))
		}
	}
	return b
}
