package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/render"
	rstrings "github.com/remnant-forensics/remnant/strings"
)

func TestStringsText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	// Lines checked by hand against GNU strings 2.40 (-a -t x, and -a -t x
	// -e l for the UTF-16LE line).
	data := []byte("xyzA\x00B\x00C\x00D\x00\x01abc\tde\nfgh\x7fijkl\x80mnop")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"strings", "-t", "x", path}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := "      0 ascii   xyzA\n      3 utf16le ABCD\n      c ascii   abc\tde\n     17 ascii   ijkl\n     1c ascii   mnop\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if code := run([]string{"strings", "-e", "l", "-n", "5", path}, &out, &errb); code != exitOK || out.Len() != 0 {
		t.Fatalf("-e l -n 5: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"strings", "-f", "csv", "-e", "ascii", "--max-len", "2", path}, &out, &errb); code != exitOK {
		t.Fatalf("csv: exit %d", code)
	}
	if want := "offset,encoding,text\n0x0,ascii,xy\n0xc,ascii,ab\n0x17,ascii,ij\n0x1c,ascii,mn\n"; out.String() != want {
		t.Fatalf("csv: got %q, want %q", out.String(), want)
	}
	if code := run([]string{"strings", "-n", "0", path}, &out, &errb); code != exitUsage {
		t.Fatalf("-n 0: exit %d, want %d", code, exitUsage)
	}
}

// TestStringsAttribution runs the command on a Wine-made full dump and
// checks a string the truth file places at a file offset and a virtual
// address that the process itself reported.
func TestStringsAttribution(t *testing.T) {
	const name = "cmdtty64_full.dmp"
	var truth struct {
		Expected []struct {
			Text    string `json:"text"`
			UTF16LE []struct {
				FileOffset uint64 `json:"file_offset"`
				VA         string `json:"va"`
			} `json:"utf16le"`
		} `json:"expected_strings"`
	}
	testcorpus.Truth(t, name, &truth)
	path := testcorpus.Wine(t, name)
	var out, errb bytes.Buffer
	if code := run([]string{"strings", "-f", "jsonl", "-e", "utf16le", "-n", "8", path}, &out, &errb); code != exitOK && code != exitWarnings {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	type row struct {
		Offset   uint64  `json:"offset"`
		Encoding string  `json:"encoding"`
		Text     string  `json:"text"`
		VA       *uint64 `json:"va"`
		Module   *string `json:"module"`
		Region   *string `json:"region"`
		PID      *uint32 `json:"pid"`
	}
	var rows []row
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		if r.VA == nil || r.Region == nil || r.PID == nil || r.Encoding != "utf16le" {
			t.Fatalf("row without attribution: %s", sc.Text())
		}
		rows = append(rows, r)
	}
	checked := 0
	for _, e := range truth.Expected {
		for _, h := range e.UTF16LE {
			va, err := strconv.ParseUint(h.VA, 0, 64)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range rows {
				i := strings.Index(r.Text, e.Text)
				if i >= 0 && r.Offset+2*uint64(i) == h.FileOffset {
					if *r.VA+2*uint64(i) != va {
						t.Errorf("%q at file offset %d: va 0x%x, truth 0x%x", e.Text, h.FileOffset, *r.VA+2*uint64(i), va)
					}
					found = true
				}
			}
			if !found {
				t.Errorf("%q at file offset %d not found", e.Text, h.FileOffset)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("the truth file lists no UTF-16LE string")
	}
}

// pageAttr says that offsets below 0x1000 are mapped by two processes and
// that nothing else is known.
type pageAttr struct{}

func (pageAttr) Locate(off uint64) []addrspace.Location {
	if off >= 0x1000 {
		return nil
	}
	return []addrspace.Location{
		{PID: 4, VA: 0x7ff00000 + off, Region: "shared"},
		{PID: 1424, VA: 0x10000 + off, Module: "cmd.exe"},
	}
}

// TestStringRowsAttribution checks the rows of a string that a physical
// image maps into two processes, and of one it cannot attribute.
func TestStringRowsAttribution(t *testing.T) {
	var out bytes.Buffer
	w, err := render.NewWriter(&out, render.JSONL, []string{"offset", "encoding", "text", "va", "module", "region", "pid"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []rstrings.String{
		{Off: 0x10, Enc: rstrings.ASCII, Len: 5, Text: []byte("hello")},
		{Off: 0x2000, Enc: rstrings.UTF16LE, Len: 4, Text: []byte("ping")},
	} {
		if err := writeStringRows(w, pageAttr{}, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"offset":16,"encoding":"ascii","text":"hello","va":2146435088,"module":null,"region":"shared","pid":4}
{"offset":16,"encoding":"ascii","text":"hello","va":65552,"module":"cmd.exe","region":null,"pid":1424}
{"offset":8192,"encoding":"utf16le","text":"ping","va":null,"module":null,"region":null,"pid":null}
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestAttributedText checks the streamed text lines of --attribute.
func TestAttributedText(t *testing.T) {
	data := make([]byte, 0x3000)
	copy(data[0x10:], "hello\x00")
	copy(data[0x2000:], "p\x00i\x00n\x00g\x00")
	target := &scanTarget{View: addrspace.Whole(bytes.NewReader(data), int64(len(data))), Attr: pageAttr{}}
	var out bytes.Buffer
	if err := writeAttributedText(context.Background(), &out, target, rstrings.Options{}, 'x'); err != nil {
		t.Fatal(err)
	}
	want := "     10 ascii        4 0x7ff00010 hello\n" +
		"     10 ascii     1424 0x10010 hello\n" +
		"   2000 utf16le      - - ping\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
}
