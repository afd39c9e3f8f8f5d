package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"github.com/remnant-forensics/remnant/internal/testcorpus"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func readTruth(t *testing.T, path string) testcorpus.WineTruth {
	t.Helper()
	var tr testcorpus.WineTruth
	testcorpus.ReadJSON(t, path, &tr)
	return tr
}

const sample = "../../testdata/sample/nc32.dmp"

func TestCmdlineJSON(t *testing.T) {
	tr := readTruth(t, "../../testdata/sample/nc32.full.truth.json").GroundTruth
	out, errs, code := runCLI(t, "cmdline", "--format", "json", sample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Tool    string `json:"tool"`
		Version string `json:"version"`
		Inputs  []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"inputs"`
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	st, _ := os.Stat(sample)
	if doc.Tool != "remnant" || doc.Version == "" || len(doc.Inputs) != 1 || doc.Inputs[0].Size != st.Size() || len(doc.Inputs[0].SHA256) != 64 {
		t.Errorf("provenance %+v", doc)
	}
	if len(doc.Rows) != 1 {
		t.Fatalf("%d rows", len(doc.Rows))
	}
	r := doc.Rows[0]
	want := map[string]any{"pid": float64(tr.PID), "process": "nc.exe", "image_path": tr.ImagePathName, "command_line": tr.CommandLine,
		"window_title": tr.WindowTitle, "dll_path": "", "current_directory": tr.CurrentDirectory}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %v, the process said %v", k, r[k], v)
		}
	}
}

func TestDlllistAndEnvars(t *testing.T) {
	tr := readTruth(t, "../../testdata/sample/nc64.full.truth.json").GroundTruth
	s64 := "../../testdata/sample/nc64.dmp"
	out, errs, code := runCLI(t, "dlllist", "-f", "jsonl", s64)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(tr.Modules) {
		t.Fatalf("%d modules, the process had %d", len(lines), len(tr.Modules))
	}
	for i, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"pid", "process", "order", "base", "size", "timestamp", "name", "path"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %d lacks %s", i, k)
			}
		}
		if r["path"] != tr.Modules[i] || r["order"] != float64(i) {
			t.Errorf("row %d: %v, want %s", i, r, tr.Modules[i])
		}
		if _, ok := r["base"].(float64); !ok {
			t.Errorf("base is not a number in JSON: %v", r["base"])
		}
	}
	out, _, code = runCLI(t, "envars", "-f", "csv", s64)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != exitOK {
		t.Fatal(err, code)
	}
	if strings.Join(recs[0], ",") != "pid,process,variable,value" || len(recs)-1 != len(tr.Environment) {
		t.Fatalf("header %v, %d rows for %d variables", recs[0], len(recs)-1, len(tr.Environment))
	}
	for i, r := range recs[1:] {
		if r[2]+"="+r[3] != tr.Environment[i] {
			t.Errorf("%s=%s, the process had %s", r[2], r[3], tr.Environment[i])
		}
	}
}

func TestInfoText(t *testing.T) {
	out, errs, code := runCLI(t, "info", sample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"CommandLine:   'nc.exe -d -L -n -p 60906 -e cmd.exe'",
		"WindowTitle:   'nc listener 60906'",
		"PEB at 0x3f1000",
		"C:\\WINNT\\system32\\os2\\dll\\nc.exe",
		"Windows 5.0.2195 Service Pack 4",
		"SHA-256:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q", want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, not a dump"), 0o644)
	empty := filepath.Join(dir, "empty.dmp")
	os.WriteFile(empty, nil, 0o644)
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"info", sample}, exitOK, ""},
		{[]string{"threads", "-f", "csv", sample}, exitOK, ""},
		{[]string{"memmap", sample}, exitOK, ""},
		{[]string{"cmdline", "../../testdata/minidump/breakpad_minidump2.dmp"}, exitWarnings, "no PEB"},
		{[]string{"handles", sample}, exitWarnings, "no HandleData"},
		{[]string{"handles", "../../testdata/minidump/breakpad_tiny-exe-with-cet-xsave.dmp"}, exitOK, ""},
		{[]string{"info", "../../testdata/minidump/rust-minidump_invalid-record-count.dmp"}, exitWarnings, "runs past the end"},
		{[]string{"info", text}, exitWarnings, "no kernel page tables found"}, // a raw image of nothing known
		{[]string{"threads", text}, exitFailure, "offset 0x0: not a process dump"},
		{[]string{"info", empty}, exitFailure, "empty file"},
		{[]string{"info", filepath.Join(dir, "missing.dmp")}, exitFailure, "no such file"},
		{[]string{"info"}, exitUsage, ""},
		{[]string{"nosuchcommand"}, exitUsage, ""},
		{[]string{"info", "--format", "xml", sample}, exitUsage, ""},
	} {
		_, errs, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.err) {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.args, code, tc.code, errs)
		}
		if tc.code == exitFailure && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", tc.args, errs)
		}
	}
}

func TestHandlesRows(t *testing.T) {
	out, _, _ := runCLI(t, "handles", "-f", "csv", "../../testdata/minidump/breakpad_tiny-exe-with-cet-xsave.dmp")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// HandleData(4720) = 16-byte header + 147 descriptors of 32 bytes.
	if len(recs) != 148 {
		t.Errorf("%d handle rows, want 147", len(recs)-1)
	}
}

// TestImageProvenance: on a raw image (here one holding no Windows kernel)
// the JSON provenance lists the input once, hashed, and the run says it is
// partial.
func TestImageProvenance(t *testing.T) {
	raw := filepath.Join(t.TempDir(), "zero.raw")
	if err := os.WriteFile(raw, make([]byte, 1<<20), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"cmdline", "dlllist", "envars", "pslist"} {
		out, errs, code := runCLI(t, cmd, "-f", "json", raw)
		if code != exitWarnings || !strings.Contains(errs, "no kernel page tables") {
			t.Errorf("%s: exit %d, stderr %q", cmd, code, errs)
		}
		var doc struct {
			Inputs []struct {
				Path   string `json:"path"`
				SHA256 string `json:"sha256"`
			} `json:"inputs"`
			Rows []any `json:"rows"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, out)
		}
		// sha256 of 1 MiB of zeros (coreutils: head -c 1048576 /dev/zero | sha256sum).
		if len(doc.Inputs) != 1 || doc.Inputs[0].SHA256 != "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58" || len(doc.Rows) != 0 {
			t.Errorf("%s: %+v", cmd, doc)
		}
	}
}
