package carve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/render"
)

// Real process dumps made with Wine (../shared/corpus/wine), checked
// against their ground truth: what the processes said about themselves
// while running (command line, environment, module bases and sizes) and
// where the console host's screen cells are.

type wineTruth struct {
	SHA256  string `json:"sha256"`
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

var dumpCache sync.Map

// wineDump decompresses a corpus dump (once per test run).
func wineDump(t *testing.T, name string) ([]byte, *wineTruth) {
	t.Helper()
	dir := "../../shared/corpus/wine/"
	tb, err := os.ReadFile(dir + name + ".truth.json")
	if err != nil {
		t.Skip("corpus not available:", err)
	}
	var tr wineTruth
	if err := json.Unmarshal(tb, &tr); err != nil {
		t.Fatal(err)
	}
	if b, ok := dumpCache.Load(name); ok {
		return b.([]byte), &tr
	}
	// Decompressed copies are kept in the temporary directory between
	// runs (checked against the truth's SHA-256): pure-Go xz is slow.
	cached := filepath.Join(os.TempDir(), "remnant-carve-"+name)
	if b, err := os.ReadFile(cached); err == nil && fmt.Sprintf("%x", sha256.Sum256(b)) == tr.SHA256 {
		dumpCache.Store(name, b)
		return b, &tr
	}
	var b []byte
	if out, err := exec.Command("xz", "-dc", dir+name+".xz").Output(); err == nil {
		b = out
	} else {
		f, err := os.Open(dir + name + ".xz")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := xz.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprintf("%x", sha256.Sum256(b)) != tr.SHA256 {
		t.Fatalf("%s: decompressed dump does not match the truth's SHA-256", name)
	}
	os.WriteFile(cached, b, 0o644)
	dumpCache.Store(name, b)
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
