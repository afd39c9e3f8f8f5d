package physmem

import (
	"github.com/remnant-forensics/remnant/pkg/win"
)

// Hints returns what the kernel knows about a process for pkg/win's walk:
// its PEB address and the OS version.
func (im *Image) Hints(p Process) win.Hints {
	return win.Hints{PEB: p.Peb, OSMajor: im.k.major, OSMinor: im.k.minor, OSBuild: im.k.build, Is64: im.k.mode == ModeX64}
}

// Walk reconstructs a process's user-mode view (PEB, loader lists,
// parameters, environment) through its own page tables with pkg/win. The
// error is about the address space; the walk's own problems are warnings.
func (im *Image) Walk(p Process) (*win.Process, []win.Warning, error) {
	sp, err := im.ProcessSpace(p)
	if err != nil {
		return nil, nil, err
	}
	wp, warns := win.Walk(sp, im.Hints(p))
	return wp, warns, nil
}
