package evidence

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		hdr  string
		want Kind
	}{
		{"MDMP\x93\xa7\x00\x00", Minidump},
		{"USERDUMP", Userdump},
		{"USERDU64", Userdump},
		{"PAGEDUMP", Crashdump},
		{"PAGEDU64", Crashdump},
		{"EMiL\x01\x00\x00\x00", LiME},
		{"MZ\x90\x00", Raw},
		{"", Raw},
		{"MDM", Raw},
	} {
		if got := Identify([]byte(tc.hdr)); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.hdr, got, tc.want)
		}
	}
}

// TestOpenAndHash opens a read-only file (as evidence on a DVD is) and
// checks the SHA-256 against coreutils' sha256sum.
func TestOpenAndHash(t *testing.T) {
	src := "../../testdata/sample/nc32.dmp"
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ro.dmp")
	if err := os.WriteFile(path, data, 0o444); err != nil {
		t.Fatal(err)
	}
	e, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Kind != Minidump || e.Size != int64(len(data)) {
		t.Errorf("%s %d", e.Kind, e.Size)
	}
	var last int64
	sum, err := e.SHA256(func(n int64) { last = n })
	if err != nil || last != e.Size {
		t.Fatal(err, last)
	}
	out, err := exec.Command("sha256sum", src).Output()
	if err != nil {
		t.Skip("sha256sum:", err)
	}
	if want := strings.Fields(string(out))[0]; sum != want {
		t.Errorf("sha256 %s, sha256sum says %s", sum, want)
	}
	d, err := e.Dump()
	if err != nil || d.Format() != "minidump" {
		t.Errorf("dump: %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("a directory opened as evidence")
	}
}
