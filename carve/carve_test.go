package carve

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
	"github.com/remnant-forensics/remnant/pkg/scan"
)

func carveAll(t *testing.T, data []byte, opt Options) []Record {
	t.Helper()
	var recs []Record
	err := Carve(context.Background(), addrspace.Whole(bytes.NewReader(data), int64(len(data))), opt, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func recKey(r Record) string {
	return fmt.Sprintf("0x%x %s %s %d %s", r.Offset, r.Carver, r.Encoding, r.Size, r.Fields)
}

// TestChunkEdges carves the labelled corpus with chunk sizes that put
// records across every kind of edge: every record must be found exactly
// once, the same as in one large chunk, in offset order.
func TestChunkEdges(t *testing.T) {
	frags := append(chapterFrags(t), binaryFrags(t)...)
	data, _ := buildCorpus(t, frags, 4<<20)
	want := carveAll(t, data, Options{Scan: scan.Options{ChunkSize: len(data)}})
	if len(want) < 100 {
		t.Fatalf("only %d records in the corpus", len(want))
	}
	for _, cs := range []int{4093, 65536, 300007} {
		got := carveAll(t, data, Options{Scan: scan.Options{ChunkSize: cs, Workers: 3}})
		var g, w []string
		for i, r := range got {
			if i > 0 && r.Offset < got[i-1].Offset {
				t.Errorf("chunk %d: records out of order at 0x%x", cs, r.Offset)
			}
			g = append(g, recKey(r))
		}
		for _, r := range want {
			w = append(w, recKey(r))
		}
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("chunk size %d: %d records, want %d", cs, len(got), len(want))
			for i := 0; i < len(g) && i < len(w); i++ {
				if g[i] != w[i] {
					t.Fatalf("first difference:\n got %s\nwant %s", g[i], w[i])
				}
			}
		}
	}
}

// TestSelect checks carver selection by name.
func TestSelect(t *testing.T) {
	c, err := Select([]string{"iis", " PE "})
	if err != nil || len(c) != 2 || c[0].Spec().Name != "iis" || c[1].Spec().Name != "pe" {
		t.Fatalf("Select = %v, %v", c, err)
	}
	if _, err := Select([]string{"nope"}); err == nil {
		t.Fatal("unknown carver accepted")
	}
	seen := map[string]bool{}
	for _, n := range Names() {
		if seen[n] {
			t.Errorf("carver name %s twice", n)
		}
		seen[n] = true
	}
}

// TestHostileInput feeds runs of anchors with nothing valid around them:
// no record, no panic.
func TestHostileInput(t *testing.T) {
	var b bytes.Buffer
	for _, c := range Registry {
		for _, a := range c.Spec().Anchors {
			p := strings.NewReplacer(`\d`, "7", `\a`, "Q", `\w`, "z", `\s`, " ", `\\`, `\`).Replace(a.Pattern)
			for i := 0; i < 50; i++ {
				b.WriteString(p)
				b.Write(toUTF16(p))
				b.WriteByte(byte(i))
			}
		}
	}
	for _, r := range carveAll(t, b.Bytes(), Options{Scan: scan.Options{ChunkSize: 1 << 12}}) {
		switch r.Carver {
		case "ipv4", "url", "email", "prompt", "irc", "iis":
			// Short shapes can be made of anchors alone.
		default:
			t.Errorf("record from anchors alone: %s", recKey(r))
		}
	}
}
