package carve

import (
	"strings"
	"testing"
)

// One fuzz target per carver: the input is a chunk; the carver alone runs
// over it through the prefilter, so every anchor the fuzzer makes reaches
// its decode step. Records must lie inside the chunk, in order, and
// decoding must not panic (decodeSafe would hide a panic: the targets call
// the decode steps directly).

func fuzzCarver(f *testing.F, name string) {
	sel, err := Select([]string{name})
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewScanner(sel)
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range sel[0].Spec().Anchors {
		p := strings.NewReplacer(`\d`, "1", `\a`, "C", `\w`, "a", `\s`, " ", `\\`, `\`).Replace(a.Pattern)
		f.Add([]byte("\x00" + p + "xyz\r\n"))
		f.Add(append(toUTF16(p), 0, 0))
		f.Add(toCells(p))
	}
	f.Add([]byte(crlf(`
 Volume in drive C has no label.
 Directory of C:\
08/17/2001  11:02p      <DIR>          .
               2 Dir(s)  3,451,928,576 bytes free
Pinging 10.0.0.1 with 32 bytes of data:
Reply from 10.0.0.1: bytes=32 time<10ms TTL=128
#Fields: date time c-ip cs-method cs-uri-stem sc-status
2001-08-17 23:20:19 198.51.100.23 GET /scripts/..%5c../winnt/system32/cmd.exe 200
C:\>ftp 10.0.0.5 http://a.example.org/x a@b.example.com
:n!u@h PRIVMSG #c :XDCC SEND #1
COMPUTERNAME=X
`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		hits := s.m.find(data, 0, len(data), nil)
		in := Input{Data: data, Lo: 0, Hi: len(data)}
		for _, h := range hits {
			a := &s.m.anchors[h.anchor]
			in.At, in.Anchor, in.Enc = h.pos, a.index, h.enc
			in.n, in.start = len(a.classes), a.start
			in.back, in.fwd = s.specs[0].Back, s.specs[0].Forward
			in.text.valid = false
			st, en, _, ok := sel[0].Decode(&in) // panics surface here
			if ok && (st < 0 || en > len(data) || st > en) {
				t.Fatalf("record [%d, %d) outside the chunk of %d bytes", st, en, len(data))
			}
		}
		recs := s.CarveChunk(data, 0, 0, len(data), nil)
		for i, r := range recs {
			if r.Size == 0 || r.Offset+r.Size > uint64(len(data)) || i > 0 && r.Offset < recs[i-1].Offset {
				t.Fatalf("bad record %s", recKey(r))
			}
		}
	})
}

// FuzzDir fuzzes the dir carver.
func FuzzDir(f *testing.F) { fuzzCarver(f, "dir") }

// FuzzPing fuzzes the ping carver.
func FuzzPing(f *testing.F) { fuzzCarver(f, "ping") }

// FuzzIpconfig fuzzes the ipconfig carver.
func FuzzIpconfig(f *testing.F) { fuzzCarver(f, "ipconfig") }

// FuzzNetstat fuzzes the netstat carver.
func FuzzNetstat(f *testing.F) { fuzzCarver(f, "netstat") }

// FuzzTasklist fuzzes the tasklist carver.
func FuzzTasklist(f *testing.F) { fuzzCarver(f, "tasklist") }

// FuzzNet fuzzes the net carver.
func FuzzNet(f *testing.F) { fuzzCarver(f, "net") }

// FuzzPrompt fuzzes the prompt carver.
func FuzzPrompt(f *testing.F) { fuzzCarver(f, "prompt") }

// FuzzParams fuzzes the params carver.
func FuzzParams(f *testing.F) { fuzzCarver(f, "params") }

// FuzzEnv fuzzes the env carver.
func FuzzEnv(f *testing.F) { fuzzCarver(f, "env") }

// FuzzIis fuzzes the iis carver.
func FuzzIis(f *testing.F) { fuzzCarver(f, "iis") }

// FuzzMft fuzzes the mft carver.
func FuzzMft(f *testing.F) { fuzzCarver(f, "mft") }

// FuzzPe fuzzes the pe carver.
func FuzzPe(f *testing.F) { fuzzCarver(f, "pe") }

// FuzzUrl fuzzes the url carver.
func FuzzUrl(f *testing.F) { fuzzCarver(f, "url") }

// FuzzIpv4 fuzzes the ipv4 carver.
func FuzzIpv4(f *testing.F) { fuzzCarver(f, "ipv4") }

// FuzzEmail fuzzes the email carver.
func FuzzEmail(f *testing.F) { fuzzCarver(f, "email") }

// FuzzIrc fuzzes the irc carver.
func FuzzIrc(f *testing.F) { fuzzCarver(f, "irc") }
