package carve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
)

// carveText runs the named carvers over text (ASCII) and returns the
// records.
func carveText(t *testing.T, text string, names ...string) []Record {
	t.Helper()
	sel, err := Select(names)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScanner(sel)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("\x00" + text + "\x00")
	return s.CarveChunk(data, 0, 0, len(data), nil)
}

func checkFields(t *testing.T, r Record, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g := fmt.Sprint(r.Fields.Get(k)); g != w {
			t.Errorf("record at %d: %s = %s, want %s", r.Offset, k, g, w)
		}
	}
}

// TestIISPlaso decodes plaso's real IIS logs; expected values were read
// off the files by hand.
func TestIISPlaso(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(testcorpus.Root(t), "iis/plaso", name))
		if err != nil {
			t.Skip("corpus not available:", err)
		}
		return string(b)
	}
	recs := carveText(t, read("iis6.log"), "iis")
	if len(recs) != 16 { // 4 directives, 12 data lines
		t.Fatalf("iis6.log: %d records, want 16", len(recs))
	}
	checkFields(t, recs[5], map[string]string{"c_ip": "22.22.22.200", "status": "404", "method": "GET",
		"uri_stem": "/some/image/path/something.htm", "site": "SOME1234NAME", "fields_from": "directive"})
	checkFields(t, recs[15], map[string]string{"uri_query": "ID=ERROR[`cat%20passwd|echo`]", "status": "500", "port": "443"})

	recs = carveText(t, read("iis7_sqli.log"), "iis")
	for _, r := range recs[len(recs)-2:] {
		checkFields(t, r, map[string]string{"attacks": "[sql_injection]", "c_ip": "222.222.222.222", "status": "500"})
	}
	recs = carveText(t, read("iis_without_date.log"), "iis")
	checkFields(t, recs[4], map[string]string{"time": "00:00:00", "version": "HTTP/1.1", "c_ip": "10.10.10.100"})
	if recs[4].Fields.Get("date") != nil || recs[4].Fields.Get("timestamp") != nil {
		t.Errorf("a date where the log has none: %s", recs[4].Fields)
	}
	// iis7_owa.log has no #Date and no #Version; IIS 7's default fields
	// are its #Fields.
	recs = carveText(t, read("iis7_owa.log"), "iis")
	checkFields(t, recs[len(recs)-1], map[string]string{"c_ip": "77.123.22.98", "method": "POST", "time_taken": "62"})
}

// TestIISDefaultFields decodes the chapter's log lines without their
// #Fields directive: the IIS 5 default field set fits.
func TestIISDefaultFields(t *testing.T) {
	text := "23:20:19 198.51.100.23 GET /scripts/..%5c..%5c..%5c../winnt/system32/cmd.exe 200\r\n" +
		"23:22:45 198.51.100.23 GET /scripts/..%c0%af../winnt/system32/cmd.exe?/c+dir 200\r\n"
	recs := carveText(t, text, "iis")
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	checkFields(t, recs[0], map[string]string{"fields_from": "default", "c_ip": "198.51.100.23",
		"uri_stem": "/scripts/..%5c..%5c..%5c../winnt/system32/cmd.exe", "status": "200",
		"attacks": "[encoded_backslash scripts_traversal cmd_exe]"})
	checkFields(t, recs[1], map[string]string{"attacks": "[unicode_traversal scripts_traversal cmd_exe]"})
}

// TestIndicators checks URLs, addresses and e-mail, and shapes that must
// not be taken for them.
func TestIndicators(t *testing.T) {
	for _, c := range []struct {
		text, carver string
		want         []string // the first field of each record
	}{
		{"see http://www.example.com/a?b=1, then", "url", []string{"http://www.example.com/a?b=1"}},
		{"ftp://198.51.100.23:2121/x", "url", []string{"ftp://198.51.100.23:2121/x"}},
		{"http://nohost/ and http://a.b.c1/", "url", nil},
		{"at 10.0.0.5:60906.", "ipv4", []string{"10.0.0.5"}},
		{`<assemblyIdentity version="10.0.0.0"/> Version 10.0.0.1`, "ipv4", nil},
		{"Windows 5.1.2600.5512 and 1.2.3.4.5 and 256.1.1.1 and 01.2.3.4", "ipv4", nil},
		{"see 27.4.2.5 and 8.4.26.1; dns 8.8.4.4 and 4.4.4.4, 10.1.2.3", "ipv4", []string{"8.8.4.4", "4.4.4.4", "10.1.2.3"}},
		{"mail hacker@example.org or x@y", "email", []string{"hacker@example.org"}},
		{"a@example.c0m b@1.2.3.4 iolNlpl@ioo.mmm", "email", nil},
		{"x@mail.example.de y@host.corp", "email", []string{"x@mail.example.de", "y@host.corp"}},
		{`"\u003Ctasty@example.com" Ali%20%3cm.ali@example.com`, "email", []string{"tasty@example.com", "m.ali@example.com"}},
	} {
		var got []string
		for _, r := range carveText(t, c.text, c.carver) {
			got = append(got, fmt.Sprint(r.Fields[0].Value))
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s in %q: %q, want %q", c.carver, c.text, got, c.want)
		}
	}
}
