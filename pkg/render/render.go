// Package render writes rows of results as an aligned table, JSON, JSON
// Lines or CSV. Every command builds rows with the same column keys for every
// kind of evidence; the keys are stable snake_case and become JSON object
// keys and CSV headers.
//
// Cell values keep their type: Hex prints 0x… in tables and CSV and a number
// in JSON; time.Time prints UTC RFC 3339 (empty when zero).
package render

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is an output format.
type Format string

// Output formats.
const (
	Table Format = "table"
	JSON  Format = "json"
	JSONL Format = "jsonl"
	CSV   Format = "csv"
)

// Formats lists the accepted format names.
var Formats = []string{string(Table), string(JSON), string(JSONL), string(CSV)}

// Hex is an address or size: 0x… in tables and CSV, a number in JSON.
type Hex uint64

func (h Hex) String() string { return "0x" + strconv.FormatUint(uint64(h), 16) }

// MarshalJSON renders the number.
func (h Hex) MarshalJSON() ([]byte, error) { return strconv.AppendUint(nil, uint64(h), 10), nil }

// Meta is the provenance written with JSON output: which tool and version
// produced the rows, from which inputs.
type Meta struct {
	Tool    string  `json:"tool"`
	Version string  `json:"version"`
	Command string  `json:"command"`
	Inputs  []Input `json:"inputs"`
}

// Input is one evidence file: its path as given, size and SHA-256 (empty
// when hashing was skipped).
type Input struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	Format string `json:"format,omitempty"`
}

// Writer streams rows in one format. Table output is buffered until Close
// so that columns can be aligned; the other formats stream.
type Writer struct {
	w      *bufio.Writer
	format Format
	cols   []string
	n      int
	table  [][]string
	csv    *csv.Writer
	meta   *Meta
	err    error
}

// NewWriter starts output with the given column keys.
func NewWriter(w io.Writer, format Format, cols []string) (*Writer, error) {
	return NewWriterMeta(w, format, cols, nil)
}

// NewWriterMeta is NewWriter with provenance: with JSON output and a non-nil
// meta the rows are wrapped in an object {tool, version, command, inputs,
// rows}. The other formats are plain row streams.
func NewWriterMeta(w io.Writer, format Format, cols []string, meta *Meta) (*Writer, error) {
	switch format {
	case Table, JSON, JSONL, CSV:
	case "":
		format = Table
	default:
		return nil, fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
	rw := &Writer{w: bufio.NewWriterSize(w, 64<<10), format: format, cols: cols, meta: meta}
	switch format {
	case CSV:
		rw.csv = csv.NewWriter(rw.w)
		rw.err = rw.csv.Write(cols)
	case JSON:
		if meta != nil {
			b, err := json.Marshal(meta)
			if err != nil {
				return nil, err
			}
			rw.w.Write(b[:len(b)-1]) // leave the object open
			rw.w.WriteString(`,"rows":`)
		}
		_, rw.err = rw.w.WriteString("[")
	}
	return rw, rw.err
}

// Write adds one row; row[i] belongs to column i.
func (rw *Writer) Write(row ...any) error {
	if rw.err != nil {
		return rw.err
	}
	if len(row) != len(rw.cols) {
		return fmt.Errorf("render: row has %d cells for %d columns", len(row), len(rw.cols))
	}
	switch rw.format {
	case Table:
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = text(v)
		}
		rw.table = append(rw.table, cells)
	case CSV:
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = text(v)
		}
		rw.err = rw.csv.Write(cells)
	case JSON, JSONL:
		b, err := object(rw.cols, row)
		if err != nil {
			rw.err = err
			return err
		}
		if rw.format == JSON {
			sep := ",\n  "
			if rw.n == 0 {
				sep = "\n  "
			}
			rw.w.WriteString(sep)
			rw.w.Write(b)
		} else {
			rw.w.Write(b)
			rw.w.WriteByte('\n')
		}
	}
	rw.n++
	return rw.err
}

// Close finishes the output and flushes it.
func (rw *Writer) Close() error {
	if rw.err != nil {
		return rw.err
	}
	switch rw.format {
	case Table:
		rw.writeTable()
	case CSV:
		rw.csv.Flush()
		rw.err = rw.csv.Error()
	case JSON:
		if rw.n > 0 {
			rw.w.WriteString("\n")
		}
		rw.w.WriteString("]")
		if rw.meta != nil {
			rw.w.WriteString("}")
		}
		rw.w.WriteString("\n")
	}
	if err := rw.w.Flush(); rw.err == nil {
		rw.err = err
	}
	return rw.err
}

func (rw *Writer) writeTable() {
	width := make([]int, len(rw.cols))
	heads := make([]string, len(rw.cols))
	for i, c := range rw.cols {
		heads[i] = strings.ToUpper(c)
		width[i] = utf8.RuneCountInString(heads[i])
	}
	for _, r := range rw.table {
		for i, c := range r {
			if n := utf8.RuneCountInString(c); n > width[i] {
				width[i] = n
			}
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			if i == len(cells)-1 {
				rw.w.WriteString(c)
				break
			}
			rw.w.WriteString(c)
			rw.w.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
		}
		rw.w.WriteByte('\n')
	}
	line(heads)
	for _, r := range rw.table {
		line(r)
	}
}

// object renders one row as a JSON object with keys in column order.
func object(cols []string, row []any) ([]byte, error) {
	b := []byte{'{'}
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(c)
		b = append(b, k...)
		b = append(b, ':')
		v, err := jsonValue(row[i])
		if err != nil {
			return nil, fmt.Errorf("render: column %s: %w", c, err)
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

func jsonValue(v any) ([]byte, error) {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return []byte("null"), nil
		}
		return json.Marshal(x.UTC().Format(time.RFC3339))
	case *time.Time:
		if x == nil || x.IsZero() {
			return []byte("null"), nil
		}
		return json.Marshal(x.UTC().Format(time.RFC3339))
	case time.Duration:
		return json.Marshal(x.Seconds())
	}
	return json.Marshal(v)
}

// text renders one cell for tables and CSV.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case Hex:
		return x.String()
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	case *time.Time:
		if x == nil || x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		return strings.Join(x, ";")
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
