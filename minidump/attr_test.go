package minidump

import (
	"strconv"
	"testing"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
)

// TestAttributionWine checks file offset → virtual address against the
// addresses recorded when the Wine dump was made (expected_strings in the
// truth file: where each known string lies in the file and in memory).
func TestAttributionWine(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses a corpus dump")
	}
	const name = "cmdtty64_full.dmp"
	var truth struct {
		Strings []struct {
			Text  string `json:"text"`
			ASCII []struct {
				FileOffset uint64 `json:"file_offset"`
				VA         string `json:"va"`
			} `json:"ascii"`
			UTF16 []struct {
				FileOffset uint64 `json:"file_offset"`
				VA         string `json:"va"`
			} `json:"utf16le"`
		} `json:"expected_strings"`
	}
	testcorpus.Truth(t, name, &truth)
	f, err := Open(testcorpus.Wine(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := NewAttributor(f)
	view := MemoryView(f, f.Size())
	checked := 0
	for _, s := range truth.Strings {
		for _, hits := range [][]struct {
			FileOffset uint64 `json:"file_offset"`
			VA         string `json:"va"`
		}{s.ASCII, s.UTF16} {
			for _, h := range hits {
				want, _ := strconv.ParseUint(h.VA, 0, 64)
				locs := a.Locate(h.FileOffset)
				if len(locs) != 1 || locs[0].VA != want || locs[0].PID != f.PID {
					t.Errorf("%q at file 0x%x: %+v, want va 0x%x", s.Text, h.FileOffset, locs, want)
				}
				inView := false
				for _, r := range view.Data {
					inView = inView || r.Contains(h.FileOffset)
				}
				if !inView {
					t.Errorf("%q at file 0x%x is not in the memory view", s.Text, h.FileOffset)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d addresses checked", checked)
	}
	// The stream directory is not memory.
	if locs := a.Locate(uint64(f.Header.StreamDirectoryRva)); locs != nil {
		t.Errorf("directory attributed to %+v", locs)
	}
}

// TestMemoryViewContiguous: a data range of the view never joins memory
// that is not contiguous in the address space, even when the file stores
// the two ranges back to back.
func TestMemoryViewContiguous(t *testing.T) {
	f, err := Open("../testdata/sample/nc32.dmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := MemoryView(f, f.Size())
	a := NewAttributor(f)
	var total uint64
	for _, r := range v.Data {
		first, last := a.Locate(r.Start), a.Locate(r.End()-1)
		if len(first) != 1 || len(last) != 1 || last[0].VA-first[0].VA != r.Size-1 {
			t.Errorf("view range %+v spans %+v .. %+v", r, first, last)
		}
		total += r.Size
	}
	var mem uint64
	for _, r := range f.AddressSpace().Ranges() {
		mem += r.Size
	}
	if total != mem {
		t.Errorf("view holds %d bytes, the address space %d", total, mem)
	}
}
