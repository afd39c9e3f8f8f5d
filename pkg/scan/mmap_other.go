//go:build !unix

package scan

import (
	"errors"
	"os"
)

// Map is not supported on this system: callers fall back to reads.
func Map(f *os.File) (*Mapping, error) { return nil, errors.New("mmap not supported") }

// Close does nothing.
func (m *Mapping) Close() error { return nil }

func (m *Mapping) release(off int64, n int) {}

func (m *Mapping) populate(off int64, n int) {}
