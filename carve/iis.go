package carve

import (
	"bytes"
	"strings"
	"time"
)

// IIS W3C extended log lines. Each directive (#Software, #Version, #Date,
// #Fields) and each data line is a record; a data line is decoded against
// the nearest preceding #Fields in the same run of text, else against the
// default field set of IIS 5, 6, 7 or 7.5+ that fits its number of fields.

// Default W3C field sets (Microsoft's documented defaults).
var (
	iis5Fields  = strings.Fields("time c-ip cs-method cs-uri-stem sc-status")
	iis6Fields  = strings.Fields("date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status")
	iis7Fields  = strings.Fields("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken")
	iis75Fields = strings.Fields("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken")
)

// iisKeys renames W3C fields to the record's keys.
var iisKeys = map[string]string{
	"date": "date", "time": "time", "c-ip": "c_ip", "s-ip": "s_ip", "cs-method": "method",
	"cs-uri-stem": "uri_stem", "cs-uri-query": "uri_query", "sc-status": "status",
	"sc-substatus": "substatus", "sc-win32-status": "win32_status", "s-port": "port",
	"cs-username": "username", "s-sitename": "site", "s-computername": "server",
	"cs(User-Agent)": "user_agent", "cs(Referer)": "referer", "cs(Cookie)": "cookie",
	"cs-host": "host", "cs-version": "version", "time-taken": "time_taken",
	"sc-bytes": "sc_bytes", "cs-bytes": "cs_bytes",
}

type iisCarver struct{}

func (iisCarver) Spec() Spec {
	a := []Anchor{
		{Pattern: "#Software: ", Forms: Plain},
		{Pattern: "#Version: ", Forms: Plain},
		{Pattern: "#Date: ", Forms: Plain},
		{Pattern: "#Fields: ", Forms: Plain},
	}
	// Every data line has a time field (hh:mm:ss): one anchor for all
	// methods and field orders.
	a = append(a, Anchor{Pattern: `\d:\d\d:\d\d `, Forms: Plain})
	return Spec{Name: "iis", Anchors: a, Back: 64 << 10, Forward: 8 << 10,
		Summary: []string{"c_ip", "method", "uri_stem", "status", "attacks"}}
}

func (iisCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	s, e := lineAt(t.B, t.At)
	if e-s > 8192 {
		return 0, 0, nil, false
	}
	str := t.String(s, e)
	if strings.HasPrefix(str, "#") {
		i := strings.IndexByte(str, ':')
		if i < 0 {
			return 0, 0, nil, false
		}
		name, val := str[1:i], strings.TrimSpace(str[i+1:])
		switch name {
		case "Software", "Version", "Date", "Fields", "Start-Date", "End-Date", "Remark":
		default:
			return 0, 0, nil, false
		}
		f := Fields{{"directive", strings.ToLower(name)}, {"value", val}}
		if name == "Date" {
			if ts, err := time.Parse("2006-01-02 15:04:05", val); err == nil {
				f = append(f, Field{"timestamp", ts})
			} else {
				return 0, 0, nil, false
			}
		}
		if name == "Version" && !strings.HasPrefix(val, "1.") {
			return 0, 0, nil, false
		}
		return t.Raw(s), t.Raw(e), f, true
	}
	tok := strings.Fields(str)
	if len(tok) < 5 || len(tok) > 64 {
		return 0, 0, nil, false
	}
	names, source := iisFieldsBefore(t, s), "directive"
	if names == nil || len(names) != len(tok) {
		names, source = iisDefault(tok), "default"
		if names == nil {
			return 0, 0, nil, false
		}
	}
	f, ok := iisRecord(names, tok)
	if !ok {
		return 0, 0, nil, false
	}
	f = append(f, Field{"fields_from", source})
	return t.Raw(s), t.Raw(e), f, true
}

// iisFieldsBefore returns the field names of the last #Fields directive
// before character s, or nil.
func iisFieldsBefore(t *Text, s int) []string {
	i := bytes.LastIndex(t.B[:s], []byte("#Fields:"))
	if i < 0 || (i > 0 && t.B[i-1] != '\n') {
		return nil
	}
	_, e := lineAt(t.B, i)
	return strings.Fields(t.String(i+len("#Fields:"), e))
}

func iisDefault(tok []string) []string {
	switch len(tok) {
	case len(iis5Fields):
		return iis5Fields
	case len(iis6Fields): // IIS 6 and IIS 7 both have 14: s-sitename or s-ip third
		if isIPv4(tok[2]) || strings.Contains(tok[2], ":") {
			return iis7Fields
		}
		return iis6Fields
	case len(iis75Fields):
		return iis75Fields
	}
	return nil
}

func isIPv4(s string) bool {
	_, ok := parseIPv4(s)
	return ok
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// iisRecord maps tokens to fields and validates the line's shape.
func iisRecord(names, tok []string) (Fields, bool) {
	var f Fields
	var date, tm string
	methodOK, statusOK := false, false
	for i, n := range names {
		v := tok[i]
		if v == "-" {
			continue
		}
		switch n {
		case "date":
			if _, err := time.Parse("2006-01-02", v); err != nil {
				return nil, false
			}
			date = v
		case "time":
			if _, err := time.Parse("15:04:05", v); err != nil {
				return nil, false
			}
			tm = v
		case "cs-method":
			for j := 0; j < len(v); j++ {
				if (v[j] < 'A' || v[j] > 'Z') && v[j] != '_' && v[j] != '-' {
					return nil, false
				}
			}
			methodOK = true
		case "sc-status":
			if len(v) != 3 || !isDigits(v) {
				return nil, false
			}
			statusOK = true
		case "c-ip", "s-ip":
			if !isIPv4(v) && !strings.Contains(v, ":") {
				return nil, false
			}
		}
		k, ok := iisKeys[n]
		if !ok {
			k = snake(n)
		}
		if n == "cs(User-Agent)" || n == "cs(Referer)" || n == "cs(Cookie)" {
			v = strings.ReplaceAll(v, "+", " ")
		}
		f = append(f, Field{k, v})
	}
	if !methodOK || !statusOK || tm == "" {
		return nil, false
	}
	if date != "" {
		if ts, err := time.Parse("2006-01-02 15:04:05", date+" "+tm); err == nil {
			f = append(f, Field{"timestamp", ts})
		}
	}
	if a := iisAttacks(f); len(a) > 0 {
		f = append(f, Field{"attacks", a})
	}
	return f, true
}

// iisAttacks flags known attack shapes in a request.
func iisAttacks(f Fields) []string {
	stem, _ := f.Get("uri_stem").(string)
	query, _ := f.Get("uri_query").(string)
	method, _ := f.Get("method").(string)
	u := strings.ToLower(stem + "?" + query)
	var out []string
	flag := func(name string, subs ...string) {
		for _, s := range subs {
			if strings.Contains(u, s) {
				out = append(out, name)
				return
			}
		}
	}
	flag("unicode_traversal", "..%c0%af", "..%c1%1c", "..%c1%9c", "..%c0%9v", "..%c1%af", "%e0%80%af")
	flag("double_decode", "..%255c", "..%252f", "%25%35%63")
	flag("encoded_backslash", "..%5c", "..%2f")
	flag("scripts_traversal", "/scripts/..", "/msadc/..", "/_vti_bin/..", "/iisadmpwd/..")
	flag("cmd_exe", "cmd.exe", "command.com")
	flag("root_exe", "root.exe")
	flag("printer_overflow", ".printer")
	flag("ida_overflow", ".ida", ".idq")
	flag("sql_injection", "%27", "' or", "'or", "1=1", "1%3d1", "union+select", "union%20select", "union select",
		"xp_cmdshell", "@@version", "%40%40version", "exec(", ";--", "char(", "cast(", "convert(int")
	switch method {
	case "PROPFIND", "SEARCH", "PROPPATCH", "MKCOL", "LOCK":
		out = append(out, "webdav_"+strings.ToLower(method))
	}
	return out
}
