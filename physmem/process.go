package physmem

import (
	"errors"
	"time"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Limits of list walks over evidence.
const (
	maxProcesses = 1 << 16
	maxThreads   = 1 << 16
)

// Process is one EPROCESS: from the active process list, from the pool
// scan, or both. Counts that the build's layout cannot give are -1.
type Process struct {
	PID        uint64    `json:"pid"`
	PPID       uint64    `json:"ppid"`
	Name       string    `json:"name"` // ImageFileName, at most 15 characters
	CreateTime time.Time `json:"create_time"`
	ExitTime   time.Time `json:"exit_time"`
	ExitStatus int64     `json:"exit_status"` // -1 when unknown
	Threads    int       `json:"threads"`
	Handles    int       `json:"handles"`
	Session    int       `json:"session"`
	Wow64      bool      `json:"wow64"`
	DTB        uint64    `json:"dtb"`
	Peb        uint64    `json:"peb"`
	VA         uint64    `json:"offset_va"` // kernel VA of the EPROCESS (0 when known only physically)
	PA         uint64    `json:"offset_pa"` // physical address of the EPROCESS
	InList     bool      `json:"in_list"`   // on ActiveProcessLinks
	Scanned    bool      `json:"scanned"`   // found by the pool-tag scan
}

// Exited reports whether the process has an exit time.
func (p *Process) Exited() bool { return !p.ExitTime.IsZero() }

// Processes walks ActiveProcessLinks from PsActiveProcessHead (or from the
// System process), bounded and cycle-safe. A break in the list is reported
// and the walk resumes backwards from the head through Blink.
func (im *Image) Processes() ([]Process, []Warning) {
	k := &im.k
	var warns []Warning
	if k.layout == nil || k.space == nil {
		return nil, []Warning{warnf("", 0, "the kernel or its EPROCESS layout was not found: no process list")}
	}
	l := k.layout
	ps := uint64(l.PointerSize())
	apl := uint64(l.ActiveProcessLinks)
	head := k.psHead
	if head == 0 {
		head = k.system + apl // start at System; it is listed like the others
	}
	seen := map[uint64]bool{head: true}
	var out []Process
	visit := func(links uint64) bool {
		if seen[links] {
			return false
		}
		seen[links] = true
		p, err := im.readProcess(links-apl, l)
		if err != nil {
			warns = append(warns, warnf("va", links-apl, "process list entry: %v", err))
			return true
		}
		p.InList = true
		out = append(out, *p)
		return true
	}
	if k.psHead == 0 {
		if p, err := im.readProcess(k.system, l); err == nil {
			p.InList = true
			out = append(out, *p)
		}
	}
	// Forward through Flink.
	cur, broke := head, false
	for len(seen) < maxProcesses {
		next, err := addrspace.Ptr(k.space, cur)
		if err != nil {
			warns = append(warns, warnf("va", cur, "process list broken: Flink unreadable: %v", err))
			broke = true
			break
		}
		if next == head {
			break
		}
		if seen[next] {
			warns = append(warns, warnf("va", cur, "process list loops back to 0x%x before reaching its head", next))
			broke = true
			break
		}
		if b, err := addrspace.Ptr(k.space, next+ps); err == nil && b != cur {
			warns = append(warns, warnf("va", next, "process list entry's Blink 0x%x does not point back to 0x%x", b, cur))
		}
		visit(next)
		cur = next
	}
	if len(seen) >= maxProcesses {
		warns = append(warns, warnf("va", head, "process list longer than %d entries: stopped", maxProcesses))
	}
	// After a break, what is left is reachable backwards from the head.
	if broke {
		cur = head
		for len(seen) < maxProcesses {
			prev, err := addrspace.Ptr(k.space, cur+ps)
			if err != nil || prev == head || seen[prev] {
				break
			}
			visit(prev)
			cur = prev
		}
	}
	return out, warns
}

// readProcess reads the fields of the EPROCESS at va.
func (im *Image) readProcess(va uint64, l *Layout) (*Process, error) {
	b, err := im.readEPROCESS(va, l)
	if err != nil {
		return nil, err
	}
	if !processHeader(b, l) {
		return nil, errors.New("no process dispatcher header (type 3) at this address")
	}
	p := im.decodeProcess(b, l, va)
	if pa, err := im.k.space.Translate(va); err == nil {
		p.PA = pa
	}
	return p, nil
}

// decodeProcess turns the bytes of an EPROCESS into a Process; pointers it
// follows (handle table, session, thread list) are read through the kernel
// space. va is the EPROCESS's kernel address, 0 when unknown.
func (im *Image) decodeProcess(b []byte, l *Layout, va uint64) *Process {
	ps := l.PointerSize()
	p := &Process{
		VA:         va,
		PID:        ptrAt(b, l.UniqueProcessId, ps),
		Name:       cstring(b[l.ImageFileName : l.ImageFileName+15]),
		DTB:        ptrAt(b, l.DirectoryTableBase, ps),
		Threads:    -1,
		Handles:    -1,
		Session:    -1,
		ExitStatus: -1,
	}
	if l.InheritedFromUniqueProcessId >= 0 {
		p.PPID = ptrAt(b, l.InheritedFromUniqueProcessId, ps)
	}
	if l.CreateTime >= 0 {
		p.CreateTime = filetime(le.Uint64(b[l.CreateTime:]))
	}
	if l.ExitTime >= 0 {
		p.ExitTime = filetime(le.Uint64(b[l.ExitTime:]))
	}
	if l.ExitStatus >= 0 {
		p.ExitStatus = int64(int32(le.Uint32(b[l.ExitStatus:])))
	}
	if l.Peb >= 0 {
		p.Peb = ptrAt(b, l.Peb, ps)
	}
	if l.Wow64Process >= 0 && ps == 8 {
		p.Wow64 = ptrAt(b, l.Wow64Process, ps) != 0
	}
	s := im.k.space
	if l.ActiveThreads >= 0 {
		p.Threads = int(le.Uint32(b[l.ActiveThreads:]))
	} else if l.ThreadListHead >= 0 && va != 0 {
		p.Threads = countList(s, va+uint64(l.ThreadListHead), ptrAt(b, l.ThreadListHead, ps))
	}
	if l.ObjectTable >= 0 && l.HandleCount >= 0 {
		if ot := ptrAt(b, l.ObjectTable, ps); kernelPtr(ot, ps) {
			if n, err := addrspace.U32(s, ot+uint64(l.HandleCount)); err == nil && n < 1<<24 {
				p.Handles = int(n)
			}
		}
	}
	switch {
	case l.SessionId >= 0:
		p.Session = int(le.Uint32(b[l.SessionId:]))
	case l.Session >= 0 && l.SessionSpaceSessionId >= 0:
		if ss := ptrAt(b, l.Session, ps); kernelPtr(ss, ps) {
			if n, err := addrspace.U32(s, ss+uint64(l.SessionSpaceSessionId)); err == nil && n < 1<<16 {
				p.Session = int(n)
			}
		}
	}
	return p
}

// countList counts the entries of the LIST_ENTRY list at head whose Flink
// is first, stopping at a revisit, an unreadable entry or maxThreads; -1
// when the list cannot be followed back to its head.
func countList(s *Space, head, first uint64) int {
	seen := map[uint64]bool{}
	n := 0
	for cur := first; cur != head; n++ {
		if seen[cur] || n >= maxThreads {
			return -1
		}
		seen[cur] = true
		next, err := addrspace.Ptr(s, cur)
		if err != nil {
			return -1
		}
		cur = next
	}
	return n
}

// ProcessSpace returns the virtual address space of a process, through its
// DirectoryTableBase. Its Ranges are the mapped user pages.
func (im *Image) ProcessSpace(p Process) (*Space, error) {
	if im.k.mode == ModeUnknown {
		return nil, errors.New("paging mode unknown")
	}
	if p.DTB == 0 {
		return nil, errors.New("process has no DirectoryTableBase")
	}
	return newSpace(im.ph, im.k.mode, p.DTB, false), nil
}

// Kernel returns the kernel's address space (the System process's page
// tables); its Ranges are the mapped kernel pages. Nil when no page tables
// were found.
func (im *Image) Kernel() *Space { return im.k.space }

// Layout returns the EPROCESS layout in use, or nil.
func (im *Image) Layout() *Layout { return im.k.layout }
