package carve

import (
	"fmt"
	"sort"
)

// Histogram counts, per carver, the records and the values of the fields
// named in each carver's Spec.Summary (a list value counts each element),
// as bulk_extractor's histograms do.
type Histogram struct {
	keys   map[string][]string
	counts map[[3]string]int // carver, field, value
	recs   map[string]int
	order  []string
}

// NewHistogram prepares a histogram for the given carvers.
func NewHistogram(specs []Spec) *Histogram {
	h := &Histogram{keys: map[string][]string{}, counts: map[[3]string]int{}, recs: map[string]int{}}
	for _, s := range specs {
		h.keys[s.Name] = s.Summary
		h.order = append(h.order, s.Name)
	}
	return h
}

// Add counts a record.
func (h *Histogram) Add(r Record) {
	h.recs[r.Carver]++
	for _, k := range h.keys[r.Carver] {
		switch v := r.Fields.Get(k).(type) {
		case nil:
		case []string:
			for _, s := range v {
				h.counts[[3]string{r.Carver, k, s}]++
			}
		default:
			h.counts[[3]string{r.Carver, k, fmt.Sprint(v)}]++
		}
	}
}

// HistogramRow is one line of a histogram: the number of records of a
// carver (Field "records", Value empty) or of one value of a field.
type HistogramRow struct {
	Carver, Field, Value string
	Count                int
}

// Rows returns, for each carver in order, its record count and then the
// top values of each summary field, most frequent first (ties by value).
func (h *Histogram) Rows(top int) []HistogramRow {
	var out []HistogramRow
	for _, c := range h.order {
		if h.recs[c] == 0 {
			continue
		}
		out = append(out, HistogramRow{Carver: c, Field: "records", Count: h.recs[c]})
		for _, k := range h.keys[c] {
			var rows []HistogramRow
			for key, n := range h.counts {
				if key[0] == c && key[1] == k {
					rows = append(rows, HistogramRow{c, k, key[2], n})
				}
			}
			sort.Slice(rows, func(i, j int) bool {
				if rows[i].Count != rows[j].Count {
					return rows[i].Count > rows[j].Count
				}
				return rows[i].Value < rows[j].Value
			})
			if top > 0 && len(rows) > top {
				rows = rows[:top]
			}
			out = append(out, rows...)
		}
	}
	return out
}
