package minidump_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/remnant-forensics/remnant/minidump"
	"github.com/remnant-forensics/remnant/pkg/process"
)

// TestUserDumpSameProcess writes the real netcat sample as a userdump and
// checks that the process view is the same from both containers.
func TestUserDumpSameProcess(t *testing.T) {
	for _, s := range []string{"nc32", "nc64"} {
		t.Run(s, func(t *testing.T) {
			f, err := minidump.Open("../testdata/sample/" + s + ".dmp")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			file := minidump.UserDumpFromMinidump(f)
			u, err := minidump.NewUserDump(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Warnings) != 0 {
				t.Errorf("warnings: %v", u.Warnings)
			}
			want, got := process.FromDump(f), process.FromDump(u)
			got.PID, got.CreateTime = want.PID, want.CreateTime // not recorded in this userdump
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("process from the userdump differs (-minidump +userdump):\n%s", diff)
			}
			if got.CommandLine != "nc.exe -d -L -n -p 60906 -e cmd.exe" {
				t.Errorf("command line %q", got.CommandLine)
			}
		})
	}
}
