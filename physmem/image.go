package physmem

import (
	"fmt"
	"io"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Image is an opened physical memory image.
type Image struct {
	r      io.ReaderAt
	size   int64
	format Format
	crash  *CrashHeader
	ph     *phys
	warns  []Warning
	k      kernel
}

// Open reads an image's container (raw, crash dump or LiME, by content),
// then finds the kernel: paging mode, page tables, version, structure layout
// and the process list. Only an unreadable container is an error; what the
// kernel search could not establish is reported by Warnings and Info.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	if size < 0 {
		return nil, &FormatError{0, fmt.Sprintf("negative image size %d", size)}
	}
	im := &Image{r: r, size: size, format: detect(r, size)}
	var runs []Run
	switch im.format {
	case FormatCrash32, FormatCrash64:
		h, rs, w, err := parseCrash(r, size)
		if err != nil {
			return nil, err
		}
		im.crash, runs = h, rs
		im.warns = append(im.warns, w...)
	case FormatLiME:
		rs, w, err := parseLiME(r, size)
		if err != nil {
			return nil, err
		}
		runs = rs
		im.warns = append(im.warns, w...)
	default:
		runs = []Run{{PA: 0, Size: uint64(size), FileOff: 0}}
	}
	im.ph = newPhys(r, runs)
	im.discover()
	return im, nil
}

// Format returns the container format.
func (im *Image) Format() Format { return im.format }

// Crash returns the crash dump header, or nil for other formats.
func (im *Image) Crash() *CrashHeader { return im.crash }

// Runs returns the runs of physical memory the file holds, by physical
// address, with their file offsets.
func (im *Image) Runs() []Run { return append([]Run(nil), im.ph.runs...) }

// View returns the physical view: R reads by physical address (ReadAt's
// offset is a physical address), Data lists the physical ranges the image
// holds, Size is the first physical address past the last of them.
func (im *Image) View() addrspace.View {
	return addrspace.View{R: im.ph, Size: int64(im.ph.end()), Data: im.ph.ranges()}
}

// ReadPhys reads physical memory at pa. Addresses the image does not hold
// give an *addrspace.UnmappedError.
func (im *Image) ReadPhys(p []byte, pa uint64) (int, error) { return im.ph.read(p, pa) }

// FileOffset returns the offset in the image file that holds physical
// address pa.
func (im *Image) FileOffset(pa uint64) (uint64, bool) { return im.ph.fileOff(pa) }

// Warnings returns the problems met while opening the image and finding the
// kernel.
func (im *Image) Warnings() []Warning { return append([]Warning(nil), im.warns...) }

// NewSpace returns the virtual address space described by the page tables
// at dtb in the given paging mode; Ranges walks its user half.
func (im *Image) NewSpace(mode Mode, dtb uint64) *Space { return newSpace(im.ph, mode, dtb, false) }

func (im *Image) warn(w Warning) { im.warns = append(im.warns, w) }
