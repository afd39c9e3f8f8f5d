package strings

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	gostrings "strings"
	"testing"

	"github.com/remnant-forensics/remnant/internal/testcorpus"
)

// gnuStrings runs binutils' strings on file and parses its -t d output.
func gnuStrings(t testing.TB, file string, enc Encoding, min int, ws bool) []found {
	t.Helper()
	bin, err := exec.LookPath("strings")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("GNU strings (binutils) is required in CI")
		}
		t.Skip("GNU strings (binutils) not installed")
	}
	args := []string{"-a", "-n", strconv.Itoa(min), "-t", "d"}
	if enc == UTF16LE {
		args = append(args, "-e", "l")
	}
	if ws {
		args = append(args, "-w")
	}
	cmd := exec.Command(bin, append(args, file)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	var res []found
	// Split on \n only: a string may end in \r with -w.
	for _, l := range gostrings.SplitAfter(string(out), "\n") {
		if l == "" {
			continue
		}
		line := gostrings.TrimLeft(gostrings.TrimSuffix(l, "\n"), " ")
		num, text, ok := gostrings.Cut(line, " ")
		off, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil {
			t.Fatalf("unexpected GNU strings line %q", l)
		}
		res = append(res, found{off, enc, text})
	}
	return res
}

// compareGNU checks Scan on the whole file against GNU strings, one
// encoding at a time, for the set of (offset, text).
func compareGNU(t *testing.T, file string, data []byte, min int, ws bool) {
	t.Helper()
	if min == 4 && !ws {
		// One comparison per file with the portable kernel too.
		restore := usePortable()
		got := collect(t, view(data), Options{MinLen: min, Encodings: ASCII})
		restore()
		diff(t, filepath.Base(file)+" portable", got, gnuStrings(t, file, ASCII, min, ws))
	}
	for _, enc := range []Encoding{ASCII, UTF16LE} {
		want := gnuStrings(t, file, enc, min, ws)
		got := collect(t, view(data), Options{MinLen: min, Encodings: enc, AllWhitespace: ws})
		diff(t, fmt.Sprintf("%s -e %s -n %d -w=%v", filepath.Base(file), enc, min, ws), got, want)
		// Both encodings in one pass give the union, in offset order.
		if enc == UTF16LE {
			both := collect(t, view(data), Options{MinLen: min, AllWhitespace: ws})
			union := append(gnuStrings(t, file, ASCII, min, ws), want...)
			slices.SortStableFunc(union, func(x, y found) int { return cmpU64(x.Off, y.Off) })
			diff(t, filepath.Base(file)+" both", both, union)
		}
	}
}

func TestGNUOnMinidumps(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testcorpus.Root(t), "minidump", "*", "*.dmp"))
	if len(files) == 0 {
		t.Skip("corpus not found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, min := range []int{1, 4, 7} {
			compareGNU(t, f, data, min, false)
		}
	}
}

// TestGNUOnGenerated compares on generated memory-like bytes and
// pathological patterns. Strings with -w would hold newlines, which GNU's
// line output cannot delimit: those inputs have none.
func TestGNUOnGenerated(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	mem := genMemory(rng, 1<<20)
	noNL := bytes.ReplaceAll(bytes.Clone(mem), []byte{'\n'}, []byte{'\r'})
	inputs := map[string][]byte{
		"mem":          mem,
		"mem-no-nl":    noNL,
		"printable":    bytes.Repeat([]byte("0123456789"), 100_000),
		"zero":         make([]byte, 100_000),
		"alternating":  bytes.Repeat([]byte("a\x01"), 50_000),
		"utf16-odd":    append([]byte{'x'}, bytes.Repeat([]byte("ab\x00c\x00"), 20_000)...),
		"utf16-broken": bytes.Repeat([]byte("a\x00b\x00c\x00d\x00\x00e\x00f\x00g\x00h"), 5_000),
	}
	for name, data := range inputs {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, min := range []int{2, 4, 10} {
			compareGNU(t, f, data, min, name == "mem-no-nl")
		}
	}
}

// TestGNUOnWineDumps compares on the Wine-made dumps (decompressed once
// into testcorpus's cache): the small ones always, the full-memory ones
// (tens of MB: GNU strings takes a while) only with REMNANT_SLOW_TESTS=1.
func TestGNUOnWineDumps(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testcorpus.Root(t), "wine", "*.dmp.xz"))
	if len(files) == 0 {
		t.Skip("no Wine dumps in the corpus")
	}
	for _, src := range files {
		name := gostrings.TrimSuffix(filepath.Base(src), ".xz")
		if os.Getenv("REMNANT_SLOW_TESTS") == "" && gostrings.Contains(name, "_full") {
			continue
		}
		f := testcorpus.Wine(t, name)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compareGNU(t, f, data, 4, false)
	}
}
