// Package testcorpus finds the shared corpus for tests and decompresses its
// xz-packed Wine dumps once into a cache directory.
package testcorpus

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/ulikunitz/xz"
)

// Root returns the path of ../shared/corpus from the module root, or skips
// the test when it is absent.
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(root); err != nil {
		t.Skip("shared corpus not present:", root)
	}
	return root
}

var mu sync.Mutex

// Wine returns the path of the decompressed Wine dump name (e.g.
// "nc32_child_cmd_full.dmp"), decompressing it on first use. The cache
// lives under the user cache directory and is checked by SHA-256 against
// the truth file.
func Wine(t testing.TB, name string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	root := Root(t)
	var truth struct {
		SHA256 string `json:"sha256"`
	}
	readJSON(t, filepath.Join(root, "wine", name+".truth.json"), &truth)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "remnant-testcorpus")
	out := filepath.Join(dir, truth.SHA256+"-"+name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join(root, "wine", name+".xz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := xz.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), zr); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != truth.SHA256 {
		t.Fatalf("%s: sha256 %s, truth file says %s", name, got, truth.SHA256)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Truth decodes the truth file of a Wine dump into v.
func Truth(t testing.TB, name string, v any) {
	t.Helper()
	readJSON(t, filepath.Join(Root(t), "wine", name+".truth.json"), v)
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(t testing.TB, path string, v any) { t.Helper(); readJSON(t, path, v) }

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// WineTruth is the part of a winelab truth file that the process reported
// about itself while it ran (ground_truth).
type WineTruth struct {
	GroundTruth struct {
		PID              uint32   `json:"pid"`
		PEB              string   `json:"peb"`
		ImageBase        string   `json:"image_base"`
		CommandLine      string   `json:"command_line"`
		ImagePathName    string   `json:"image_path_name"`
		CurrentDirectory string   `json:"current_directory"`
		WindowTitle      string   `json:"window_title"`
		DllPath          string   `json:"dll_path"`
		DesktopInfo      string   `json:"desktop_info"`
		ShellInfo        string   `json:"shell_info"`
		Environment      []string `json:"environment"`
		Modules          []string `json:"modules_in_load_order"`
		PEBInDump        bool     `json:"peb_in_dump"`
		// EnvironmentAddress is where the environment block was.
		EnvironmentAddress string         `json:"environment_address"`
		LdrListLengths     map[string]int `json:"ldr_list_lengths"`
	} `json:"ground_truth"`
}
