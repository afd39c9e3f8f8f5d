// Package evidence opens evidence files read-only, identifies their format
// by content (never by extension) and hashes them.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/remnant-forensics/remnant/minidump"
)

// Kind is an evidence format.
type Kind string

// Known kinds.
const (
	Minidump  Kind = "minidump"  // MDMP
	Userdump  Kind = "userdump"  // USERDUMP / USERDU64
	Crashdump Kind = "crashdump" // PAGEDUMP / PAGEDU64 kernel crash dump
	LiME      Kind = "lime"      // Linux Memory Extractor
	Raw       Kind = "raw"       // anything else: a raw image or plain bytes
)

// Identify names the format of the bytes that start a file.
func Identify(hdr []byte) Kind {
	switch {
	case minidump.IsMinidump(hdr):
		return Minidump
	case minidump.IsUserDump(hdr):
		return Userdump
	case len(hdr) >= 8 && (string(hdr[:8]) == "PAGEDUMP" || string(hdr[:8]) == "PAGEDU64"):
		return Crashdump
	case len(hdr) >= 4 && string(hdr[:4]) == "EMiL":
		return LiME
	}
	return Raw
}

// File is an evidence file opened read-only.
type File struct {
	Path string
	Size int64
	Kind Kind
	hdr  []byte // the first bytes, for messages
	f    *os.File
}

// Open opens path read-only and identifies it.
func Open(path string) (*File, error) {
	f, err := os.Open(path) // O_RDONLY: evidence is never written
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	hdr := make([]byte, 16)
	n, err := f.ReadAt(hdr, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Path: path, Size: st.Size(), Kind: Identify(hdr[:n]), hdr: hdr[:n], f: f}, nil
}

// ReadAt reads the evidence bytes.
func (e *File) ReadAt(p []byte, off int64) (int, error) { return e.f.ReadAt(p, off) }

// Close closes the file.
func (e *File) Close() error { return e.f.Close() }

// Dump parses a process dump (minidump or userdump). Errors name the file.
func (e *File) Dump() (minidump.Dump, error) {
	var (
		d   minidump.Dump
		err error
	)
	switch e.Kind {
	case Minidump:
		d, err = minidump.NewFile(e.f, e.Size)
	case Userdump:
		d, err = minidump.NewUserDump(e.f, e.Size)
	default:
		return nil, fmt.Errorf("%s: offset 0x0: not a process dump: %s", e.Path, e.describe())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Path, err)
	}
	return d, nil
}

func (e *File) describe() string {
	if e.Kind == Raw {
		if e.Size == 0 {
			return "empty file"
		}
		return fmt.Sprintf("no minidump or userdump signature (starts %q)", e.hdr[:min(8, len(e.hdr))])
	}
	return string(e.Kind)
}

// SHA256 hashes the whole file; progress, if not nil, is called with the
// number of bytes hashed so far.
func (e *File) SHA256(progress func(done int64)) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, err := e.f.ReadAt(buf, off)
		h.Write(buf[:n])
		off += int64(n)
		if progress != nil {
			progress(off)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%s: hashing at offset 0x%x: %w", e.Path, off, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
