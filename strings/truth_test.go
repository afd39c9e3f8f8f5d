package strings

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

// truthHit is where a Wine truth file says a known string lies: its file
// offset in the dump and the virtual address the process itself reported.
type truthHit struct {
	FileOffset uint64 `json:"file_offset"`
	VA         string `json:"va"`
}

type truthString struct {
	Text    string     `json:"text"`
	ASCII   []truthHit `json:"ascii"`
	UTF16LE []truthHit `json:"utf16le"`
}

// TestWineTruth scans the captured memory of Wine-made full dumps and checks
// that the occurrences of each known string inside the strings found are
// exactly those listed in the truth file (none missing, none invented), and
// that attributing each found string gives the virtual address the process
// reported. The dumps are tens of MB once decompressed (cached by
// testcorpus after the first run).
func TestWineTruth(t *testing.T) {
	for _, name := range []string{"cmdtty64_full.dmp", "conhost32_full.dmp"} {
		t.Run(name, func(t *testing.T) {
			var truth struct {
				Expected []truthString `json:"expected_strings"`
			}
			testcorpus.Truth(t, name, &truth)
			path := testcorpus.Wine(t, name)
			d, err := minidump.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			v := minidump.MemoryView(d, st.Size())
			attr := minidump.NewAttributor(d)

			type hit struct {
				enc Encoding
				off uint64
				va  uint64
			}
			got := map[string][]hit{}
			err = Scan(context.Background(), v, Options{Scan: scan.Options{ChunkSize: 1 << 20}}, func(s String) error {
				for _, ts := range truth.Expected {
					for i := 0; ; {
						j := bytes.Index(s.Text[i:], []byte(ts.Text))
						if j < 0 {
							break
						}
						i += j
						width := uint64(1)
						if s.Enc == UTF16LE {
							width = 2
						}
						off := s.Off + uint64(i)*width
						locs := attr.Locate(s.Off)
						if len(locs) != 1 {
							return fmt.Errorf("string at 0x%x: %d locations", s.Off, len(locs))
						}
						got[ts.Text] = append(got[ts.Text], hit{s.Enc, off, locs[0].VA + uint64(i)*width})
						i++
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, ts := range truth.Expected {
				var want []hit
				for _, enc := range []Encoding{ASCII, UTF16LE} {
					hits := ts.ASCII
					if enc == UTF16LE {
						hits = ts.UTF16LE
					}
					for _, h := range hits {
						va, err := strconv.ParseUint(h.VA, 0, 64)
						if err != nil {
							t.Fatal(err)
						}
						want = append(want, hit{enc, h.FileOffset, va})
					}
				}
				g := got[ts.Text]
				cmp := func(a, b hit) int {
					if a.enc != b.enc {
						return int(a.enc) - int(b.enc)
					}
					return cmpU64(a.off, b.off)
				}
				slices.SortFunc(g, cmp)
				slices.SortFunc(want, cmp)
				if !slices.Equal(g, want) {
					t.Errorf("%q: found %+v\nwant %+v", ts.Text, g, want)
				}
			}
		})
	}
}
