package physmem

import "fmt"

// FormatError reports malformed image data: where it was and what was wrong.
type FormatError struct {
	Off int64  // file offset of the bad data
	Msg string // what was expected
}

func (e *FormatError) Error() string { return fmt.Sprintf("offset 0x%x: %s", e.Off, e.Msg) }

// Warning is a non-fatal problem: the rest of the result is still usable.
// Where says what the offset or address is ("file", "phys", "va" or "").
type Warning struct {
	Where string
	Addr  uint64
	Msg   string
}

func (w Warning) String() string {
	if w.Where == "" {
		return w.Msg
	}
	return fmt.Sprintf("%s 0x%x: %s", w.Where, w.Addr, w.Msg)
}

func warnf(where string, addr uint64, format string, args ...any) Warning {
	return Warning{Where: where, Addr: addr, Msg: fmt.Sprintf(format, args...)}
}
