package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "mem.raw")
	if err := os.WriteFile(in, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.dmp")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.dmp")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.dmp")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		out   string
		force bool
		ok    bool
	}{
		{in, true, false},
		{filepath.Join(dir, ".", "mem.raw"), true, false},
		{link, true, false},
		{hard, true, false},
		{other, false, false},
		{other, true, true},
		{filepath.Join(dir, "new.dmp"), false, true},
	} {
		if err := checkOutput(in, c.out, c.force); (err == nil) != c.ok {
			t.Errorf("%s force=%v: %v", c.out, c.force, err)
		}
	}
}
