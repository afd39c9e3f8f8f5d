package carve

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Field is one named value of a record. Values are strings, numbers,
// render.Hex (addresses and sizes: numbers in JSON, 0x… in text),
// booleans, time.Time, []string, []Fields or Fields.
type Field struct {
	Key   string
	Value any
}

// Fields are a record's values in a stable order. They marshal to a JSON
// object with keys in that order.
type Fields []Field

// Get returns the value of key, or nil.
func (f Fields) Get(key string) any {
	for _, x := range f {
		if x.Key == key {
			return x.Value
		}
	}
	return nil
}

// add appends key=v unless v is empty (zero string, nil slice).
func (f Fields) add(key string, v any) Fields {
	switch x := v.(type) {
	case string:
		if x == "" {
			return f
		}
	case []string:
		if len(x) == 0 {
			return f
		}
	case []Fields:
		if len(x) == 0 {
			return f
		}
	case time.Time:
		if x.IsZero() {
			return f
		}
	case nil:
		return f
	}
	return append(f, Field{key, v})
}

// MarshalJSON renders the fields as an object.
func (f Fields) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, x := range f {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(x.Key)
		b = append(b, k...)
		b = append(b, ':')
		var v []byte
		var err error
		if t, ok := x.Value.(time.Time); ok {
			v, err = json.Marshal(t.UTC().Format(time.RFC3339Nano))
		} else {
			v, err = json.Marshal(x.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", x.Key, err)
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// String renders the fields as key=value pairs for tables and CSV.
func (f Fields) String() string {
	var b strings.Builder
	for i, x := range f {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x.Key)
		b.WriteByte('=')
		b.WriteString(valueText(x.Value))
	}
	return b.String()
}

func valueText(v any) string {
	switch x := v.(type) {
	case string:
		if strings.ContainsAny(x, " \t\"") || x == "" {
			b, _ := json.Marshal(x)
			return string(b)
		}
		return x
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = valueText(s)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case Fields:
		return "{" + x.String() + "}"
	case fmt.Stringer:
		return x.String()
	case []Fields:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = "{" + s.String() + "}"
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}
