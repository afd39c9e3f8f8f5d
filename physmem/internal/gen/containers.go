package gen

import (
	"encoding/binary"
	"io"
	"os"
)

// run is a run of consecutive frames.
type run struct{ pfn, n uint64 }

func (im *Image) runs() []run {
	var out []run
	for _, f := range im.Frames() {
		if n := len(out); n > 0 && out[n-1].pfn+out[n-1].n == f {
			out[n-1].n++
			continue
		}
		out = append(out, run{f, 1})
	}
	return out
}

// CrashDump returns a full kernel crash dump (PAGEDUMP or PAGEDU64, DumpType
// 1) holding the frames the image uses, with the header fields of
// Volatility 3's crash.json / crash64.json.
func (im *Image) CrashDump(s Spec, withHeaderPointers bool) *Sparse {
	rs := im.runs()
	hdr := 0x1000
	if s.Arch == X64 {
		hdr = 0x2000
	}
	var pages uint64
	for _, r := range rs {
		pages += r.n
	}
	out := NewSparse(int64(hdr) + int64(pages)*pageSize)
	h := make([]byte, hdr)
	for i := 0; i+4 <= len(h); i += 4 {
		copy(h[i:], "PAGE") // unused header space holds "PAGE"
	}
	le := binary.LittleEndian
	if s.Arch == X64 {
		copy(h, "PAGEDU64")
		le.PutUint32(h[8:], 0xf)
		le.PutUint32(h[0xc:], s.Build)
		le.PutUint64(h[0x10:], im.DTB)
		if withHeaderPointers {
			le.PutUint64(h[0x20:], im.PsLoadedModuleList)
			le.PutUint64(h[0x28:], im.PsActiveProcessHead)
			le.PutUint64(h[0x80:], im.KDBG)
		}
		le.PutUint32(h[0x30:], 0x8664)
		le.PutUint32(h[0x34:], s.Processors)
		le.PutUint32(h[0x38:], 0xe2)
		le.PutUint32(h[0x88:], uint32(len(rs)))
		le.PutUint64(h[0x90:], pages)
		for i, r := range rs {
			le.PutUint64(h[0x98+16*i:], r.pfn)
			le.PutUint64(h[0xa0+16*i:], r.n)
		}
		le.PutUint32(h[0xf98:], 1)
		le.PutUint64(h[0xfa8:], filetime(s.Time))
	} else {
		copy(h, "PAGEDUMP")
		le.PutUint32(h[8:], 0xf)
		le.PutUint32(h[0xc:], s.Build)
		le.PutUint32(h[0x10:], uint32(im.DTB))
		if withHeaderPointers {
			le.PutUint32(h[0x18:], uint32(im.PsLoadedModuleList))
			le.PutUint32(h[0x1c:], uint32(im.PsActiveProcessHead))
			le.PutUint32(h[0x60:], uint32(im.KDBG))
		}
		le.PutUint32(h[0x20:], 0x14c)
		le.PutUint32(h[0x24:], s.Processors)
		le.PutUint32(h[0x28:], 0xe2)
		if s.Arch == PAE {
			h[0x5c] = 1
		} else {
			h[0x5c] = 0
		}
		le.PutUint32(h[0x64:], uint32(len(rs)))
		le.PutUint32(h[0x68:], uint32(pages))
		for i, r := range rs {
			le.PutUint32(h[0x6c+8*i:], uint32(r.pfn))
			le.PutUint32(h[0x70+8*i:], uint32(r.n))
		}
		le.PutUint32(h[0xf88:], 1)
		le.PutUint64(h[0xfc0:], filetime(s.Time))
	}
	out.Write(0, h)
	off := uint64(hdr)
	buf := make([]byte, pageSize)
	for _, r := range rs {
		for i := uint64(0); i < r.n; i++ {
			im.Mem.ReadAt(buf, int64((r.pfn+i)*pageSize))
			out.Write(off, buf)
			off += pageSize
		}
	}
	return out
}

// LiME returns a LiME file of the frames the image uses.
func (im *Image) LiME() *Sparse {
	rs := im.runs()
	var size int64
	for _, r := range rs {
		size += 32 + int64(r.n)*pageSize
	}
	out := NewSparse(size)
	off := uint64(0)
	buf := make([]byte, pageSize)
	for _, r := range rs {
		h := make([]byte, 32)
		copy(h, "EMiL")
		binary.LittleEndian.PutUint32(h[4:], 1)
		binary.LittleEndian.PutUint64(h[8:], r.pfn*pageSize)
		binary.LittleEndian.PutUint64(h[16:], (r.pfn+r.n)*pageSize-1)
		out.Write(off, h)
		off += 32
		for i := uint64(0); i < r.n; i++ {
			im.Mem.ReadAt(buf, int64((r.pfn+i)*pageSize))
			out.Write(off, buf)
			off += pageSize
		}
	}
	return out
}

// WriteFile writes r (size bytes) to path as a sparse file: pages of zeros
// are skipped.
func WriteFile(path string, r io.ReaderAt, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, pageSize)
	for off := int64(0); off < size; off += pageSize {
		n, _ := r.ReadAt(buf, off)
		zero := true
		for _, c := range buf[:n] {
			if c != 0 {
				zero = false
				break
			}
		}
		if zero {
			continue
		}
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
