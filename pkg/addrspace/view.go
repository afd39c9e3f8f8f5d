package addrspace

import "io"

// View is a file or physical view of evidence: the bytes, and the ranges of
// offsets that hold data (a raw image is one range; a minidump's memory or a
// crash dump's runs are many; gaps and zero-filled absent pages are not data).
type View struct {
	R    io.ReaderAt
	Size int64   // size of the underlying file or image in bytes
	Data []Range // offsets in R, ascending, non-overlapping
}

// Whole returns a view over all size bytes of r.
func Whole(r io.ReaderAt, size int64) View {
	return View{R: r, Size: size, Data: []Range{{0, uint64(size)}}}
}

// Location says whose memory an offset of a view was: the process, the
// virtual address, and the module or memory region that holds it. Fields not
// known are zero.
type Location struct {
	PID     uint32 `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
	VA      uint64 `json:"va"`
	Module  string `json:"module,omitempty"`
	Region  string `json:"region,omitempty"`
}

// Attributor maps an offset of a view to the places that hold it. A page of
// physical memory may be mapped by several processes, hence a slice. It must
// be safe for concurrent use.
type Attributor interface {
	Locate(off uint64) []Location
}
