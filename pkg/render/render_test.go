package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func rows(t *testing.T, f Format) string {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(&b, f, []string{"pid", "base", "name", "when"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(uint32(1424), Hex(0x400000), "nc.exe", time.Date(2004, 3, 5, 10, 0, 0, 0, time.FixedZone("x", 3600)))
	w.Write(uint32(8), Hex(0x7c900000), `a,"b"`, time.Time{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFormats(t *testing.T) {
	tab := rows(t, Table)
	want := "PID   BASE        NAME    WHEN\n" +
		"1424  0x400000    nc.exe  2004-03-05T09:00:00Z\n" +
		"8     0x7c900000  a,\"b\"   \n"
	if tab != want {
		t.Errorf("table:\n%q\nwant\n%q", tab, want)
	}
	csvOut := rows(t, CSV)
	if !strings.HasPrefix(csvOut, "pid,base,name,when\n1424,0x400000,nc.exe,2004-03-05T09:00:00Z\n8,0x7c900000,\"a,\"\"b\"\"\",\n") {
		t.Errorf("csv: %q", csvOut)
	}
	var arr []map[string]any
	if err := json.Unmarshal([]byte(rows(t, JSON)), &arr); err != nil {
		t.Fatal(err)
	}
	if len(arr) != 2 || arr[0]["base"].(float64) != 0x400000 || arr[0]["when"] != "2004-03-05T09:00:00Z" || arr[1]["when"] != nil {
		t.Errorf("json: %v", arr)
	}
	lines := strings.Split(strings.TrimSpace(rows(t, JSONL)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"pid":1424,"base":4194304,"name":"nc.exe"`) {
		t.Errorf("jsonl: %q", lines)
	}
}

func TestEmptyJSON(t *testing.T) {
	var b bytes.Buffer
	w, _ := NewWriter(&b, JSON, []string{"a"})
	w.Close()
	if b.String() != "[]\n" {
		t.Errorf("%q", b.String())
	}
	if _, err := NewWriter(&b, "xml", nil); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestMetaEnvelope(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriterMeta(&b, JSON, []string{"pid"}, &Meta{Tool: "remnant", Version: "1", Command: "x",
		Inputs: []Input{{Path: "a.dmp", Size: 3, SHA256: "ab"}}})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(4)
	w.Close()
	var got struct {
		Tool   string
		Inputs []Input
		Rows   []map[string]int
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if got.Tool != "remnant" || got.Inputs[0].SHA256 != "ab" || got.Rows[0]["pid"] != 4 {
		t.Errorf("%+v", got)
	}
}
