package carve

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/render"
)

// Real process dumps made with Wine (../shared/corpus/wine), checked
// against their ground truth: what the processes said about themselves
// while running (command line, environment, module bases and sizes) and
// where the console host's screen cells are.

type wineTruth struct {
	PEBWalk struct {
		ProcessParameters string `json:"process_parameters"`
		InLoadOrder       []struct {
			DllBase     string `json:"dll_base"`
			SizeOfImage string `json:"size_of_image"`
			FullDllName string `json:"full_dll_name"`
		} `json:"in_load_order"`
	} `json:"peb_walk"`
	GT struct {
		PEBInDump          bool     `json:"peb_in_dump"`
		CommandLine        string   `json:"command_line"`
		ImagePathName      string   `json:"image_path_name"`
		CurrentDirectory   string   `json:"current_directory"`
		WindowTitle        string   `json:"window_title"`
		EnvironmentAddress string   `json:"environment_address"`
		Environment        []string `json:"environment"`
	} `json:"ground_truth"`
	Cells []struct {
		Text string
		Hits []struct {
			FileOffset uint64 `json:"file_offset"`
		}
	} `json:"expected_console_cells"`
}

// wineDump returns a corpus dump's bytes (decompressed once by
// internal/testcorpus) and its truth.
func wineDump(t *testing.T, name string) ([]byte, *wineTruth) {
	t.Helper()
	var tr wineTruth
	testcorpus.Truth(t, name, &tr)
	b, err := os.ReadFile(testcorpus.Wine(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b, &tr
}

func hexNum(t *testing.T, s string) uint64 {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("truth value %q: %v", s, err)
	}
	return n
}

// carveDump carves a dump's captured memory as `remnant carve` does and
// returns the records with the virtual address of each.
func carveDump(t *testing.T, b []byte) ([]Record, []uint64) {
	d, err := minidump.NewFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	attr := minidump.NewAttributor(d)
	var recs []Record
	var vas []uint64
	err = Carve(context.Background(), minidump.MemoryView(d, int64(len(b))), Options{}, func(r Record) error {
		recs = append(recs, r)
		var va uint64
		if l := attr.Locate(r.Offset); len(l) > 0 {
			va = l[0].VA
		}
		vas = append(vas, va)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, vas
}

func TestWineDumps(t *testing.T) {
	for _, name := range []string{"nc32_child_cmd_full.dmp", "conhost32_full.dmp", "cmdtty64_full.dmp"} {
		t.Run(name, func(t *testing.T) {
			b, tr := wineDump(t, name)
			recs, vas := carveDump(t, b)
			byCarver := map[string]int{}
			for _, r := range recs {
				byCarver[r.Carver]++
			}
			t.Logf("records: %v", byCarver)

			// The process parameters block, found without page tables.
			blockVA := hexNum(t, tr.PEBWalk.ProcessParameters)
			found := 0
			for i, r := range recs {
				if r.Carver != "params" || r.Fields.Get("va") != render.Hex(blockVA) {
					continue
				}
				found++
				if vas[i] != blockVA {
					t.Errorf("params record at 0x%x is at VA 0x%x, its own address says 0x%x", r.Offset, vas[i], blockVA)
				}
				for k, want := range map[string]any{"command_line": tr.GT.CommandLine, "image_path": tr.GT.ImagePathName,
					"current_directory": tr.GT.CurrentDirectory, "window_title": tr.GT.WindowTitle,
					"environment_va": render.Hex(hexNum(t, tr.GT.EnvironmentAddress))} {
					if got := r.Fields.Get(k); got != want {
						t.Errorf("params %s = %v, want %v", k, got, want)
					}
				}
			}
			if found != 1 {
				t.Errorf("%d params records for the block at 0x%x, want 1", found, blockVA)
			}

			// The environment block, variable for variable.
			envVA := hexNum(t, tr.GT.EnvironmentAddress)
			found = 0
			for i, r := range recs {
				if r.Carver == "env" && vas[i] == envVA {
					found++
					if got := fmt.Sprint(r.Fields.Get("variables")); got != fmt.Sprint(tr.GT.Environment) {
						t.Errorf("environment at 0x%x:\n got %s\nwant %v", envVA, got, tr.GT.Environment)
					}
				}
			}
			if found != 1 {
				t.Errorf("%d env records at 0x%x, want 1", found, envVA)
				for i, r := range recs {
					if r.Carver == "env" && vas[i] > envVA-0x1000 && vas[i] < envVA+0x1000 {
						t.Logf("env record at VA 0x%x: %s", vas[i], r.Text)
					}
				}
			}

			// Every loaded module's PE image at its base, with its size.
			for _, m := range tr.PEBWalk.InLoadOrder {
				base, size := hexNum(t, m.DllBase), hexNum(t, m.SizeOfImage)
				ok := false
				for i, r := range recs {
					if r.Carver == "pe" && vas[i] == base {
						ok = true
						if got := r.Fields.Get("image_size"); got != render.Hex(size) {
							t.Errorf("%s: image_size %v, want %#x", m.FullDllName, got, size)
						}
						if got := r.Fields.Get("layout"); got != "memory" {
							t.Errorf("%s: layout %v, want memory", m.FullDllName, got)
						}
						// A DLL's export directory names it (saferwall/pe,
						// reading the image mapped back to file layout).
						base := m.FullDllName[strings.LastIndexByte(m.FullDllName, '\\')+1:]
						if name, ok := r.Fields.Get("export_name").(string); strings.HasSuffix(base, ".dll") && !strings.EqualFold(name, base) {
							t.Errorf("%s: export name %q (ok %v)", m.FullDllName, name, ok)
						}
					}
				}
				if !ok {
					t.Errorf("%s: no PE record at its base 0x%x", m.FullDllName, base)
				}
			}

			// The console host's screen: each expected text is in a dir or
			// prompt record in cells at one of its places at least (the
			// output of echo, alone on its row, is no record).
			for _, c := range tr.Cells {
				ok := false
				for _, h := range c.Hits {
					for _, r := range recs {
						if r.Encoding == Cells && h.FileOffset >= r.Offset && h.FileOffset < r.Offset+r.Size &&
							(r.Carver == "dir" || r.Carver == "prompt") {
							ok = true
						}
					}
				}
				if len(c.Hits) > 0 && !ok {
					t.Errorf("console text %q: in no dir or prompt record", c.Text)
				}
			}
		})
	}
}
