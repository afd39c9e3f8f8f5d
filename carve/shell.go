package carve

import (
	"regexp"
	"strings"
)

// Shell output carvers: cmd.exe dir listings, ping, ipconfig, netstat,
// tasklist/pslist, net use/user/share and prompts with their commands.
// Real Windows and Wine's cmd.exe word some lines differently; both are
// accepted. Output may sit in a console screen buffer (cells), where rows
// have no line ends; Text turns rows into lines.

// promptPrefix is an optional "C:\path>" before an output line (Wine's
// cmd prints the output of a piped command right after the prompt).
const promptPrefix = `^(?:[A-Za-z]:\\[^<>|"*?\r\n]{0,240}>)?`

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// ---- dir

var (
	dirVolRe     = re(promptPrefix + `\s?Volume in drive ([A-Za-z]) (?:is (.*\S)|has no label\.?)\s*$`)
	dirSerialRe  = re(`^\s?Volume Serial Number is ([0-9A-Fa-f]{4}-[0-9A-Fa-f]{4})\s*$`)
	dirOfRe      = re(`^\s?Directory of ((?:[A-Za-z]:|\\\\)[^<>|"*?]*?)\s*$`)
	dirEntryRe   = re(`^(\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4})\s+(\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm]?)?)\s+(<DIR>|<JUNCTION>|<SYMLINKD?>|[\d,.\x{a0}]+)\s+(\S.*?)\s*$`)
	dirFilesRe   = re(`^\s*([\d,.]+) (?:File\(s\)|files?)\s+([\d,.]+) bytes\s*$`)
	dirDirsRe    = re(`^\s*([\d,.]+) (?:Dir\(s\)|director(?:y|ies))\s+([\d,.]+) bytes free\s*$`)
	dirTotalRe   = re(`^\s*Total Files Listed:\s*$`)
	dirClassifRe = []*regexp.Regexp{dirVolRe, dirSerialRe, dirOfRe, dirEntryRe, dirFilesRe, dirDirsRe, dirTotalRe}
)

const (
	dirVol = iota
	dirSerial
	dirOf
	dirEntry
	dirFiles
	dirDirs
	dirTotal
)

func classifyWith(res []*regexp.Regexp) classifier {
	return func(s string) (int, []string, bool) {
		if len(s) > 1024 {
			return 0, nil, false
		}
		for k, r := range res {
			if m := r.FindStringSubmatch(s); m != nil {
				return k, m, true
			}
		}
		return 0, nil, false
	}
}

var classifyDir = classifyWith(dirClassifRe)

type dirCarver struct{}

func (dirCarver) Spec() Spec {
	return Spec{
		Name: "dir",
		Anchors: []Anchor{
			{Pattern: "Volume in drive ", Forms: Console, Start: true},
			{Pattern: "Volume Serial Number is ", Forms: Console, Start: true},
			{Pattern: "Directory of ", Forms: Console, Start: true},
			{Pattern: " File(s) ", Forms: Console},
			{Pattern: " Dir(s) ", Forms: Console},
			{Pattern: " bytes free", Forms: Console},
		},
		Back: 32 << 10, Forward: 64 << 10,
		Summary: []string{"directory", "name"},
	}
}

func (dirCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	ls := block(t, classifyDir, 2)
	var f Fields
	var dirs []string
	var entries []Fields
	var names []string
	strong, n := 0, 0
	for _, l := range ls {
		m := l.m
		if l.kind == blankKind {
			continue
		}
		n++
		switch l.kind {
		case dirVol:
			f = f.add("drive", strings.ToUpper(m[1])).add("label", m[2])
		case dirSerial:
			f = f.add("serial", strings.ToUpper(m[1]))
		case dirOf:
			dirs = append(dirs, m[1])
			strong++
		case dirEntry:
			e := Fields{{"date", m[1]}, {"time", strings.TrimSpace(m[2])}}
			if strings.HasPrefix(m[3], "<") {
				e = append(e, Field{"type", strings.ToLower(strings.Trim(m[3], "<>"))})
			} else if sz, ok := number(m[3]); ok {
				e = append(e, Field{"type", "file"}, Field{"size", sz})
			}
			e = append(e, Field{"name", m[4]})
			entries = append(entries, e)
			names = append(names, m[4])
		case dirFiles:
			c, _ := number(m[1])
			b, _ := number(m[2])
			f = append(f, Field{"file_count", c}, Field{"file_bytes", b})
			strong++
		case dirDirs:
			c, _ := number(m[1])
			b, _ := number(m[2])
			f = append(f, Field{"dir_count", c}, Field{"bytes_free", b})
			strong++
		}
	}
	if strong == 0 || n < 2 {
		return 0, 0, nil, false
	}
	if len(dirs) > 0 {
		f = append(f, Field{"directory", dirs[0]})
	}
	if len(dirs) > 1 {
		f = append(f, Field{"directories", dirs})
	}
	f = f.add("name", names).add("entries", entries)
	st, en := span(t, ls)
	return st, en, f, true
}

// ---- ping

var pingRes = []*regexp.Regexp{
	re(promptPrefix + `\s*Pinging (\S+)(?: \[([0-9A-Fa-f.:%]+)\])?(?: from \S+)? with (\d+) bytes of data:\s*$`),
	re(`^\s*Reply from ([0-9A-Fa-f.:%]+): (?:bytes=(\d+) )?time([<=])(\d+)ms(?: TTL=(\d+))?\s*$`),
	re(`^\s*Reply from ([0-9A-Fa-f.:%]+): (.*\S)\s*$`),
	re(`^\s*(Request timed out|Destination (?:host|net) unreachable|General failure|Hardware error|Transmit failed\..*)\.?\s*$`),
	re(`^\s*Ping statistics for ([0-9A-Fa-f.:%]+):\s*$`),
	re(`^\s*Packets: Sent = (\d+), Received = (\d+), Lost = (\d+) \((\d+)% loss\),?\s*$`),
	re(`^\s*Approximate round trip times in milli-seconds:\s*$`),
	re(`^\s*Minimum = (\d+)ms, Maximum = +(\d+)ms, Average = +(\d+)ms\s*$`),
}

const (
	pingPinging = iota
	pingReply
	pingReplyOther
	pingFailure
	pingStats
	pingPackets
	pingApprox
	pingMinMax
)

var classifyPing = classifyWith(pingRes)

type pingCarver struct{}

func (pingCarver) Spec() Spec {
	return Spec{
		Name: "ping",
		Anchors: []Anchor{
			{Pattern: "Pinging ", Forms: Console, Start: true},
			{Pattern: "Reply from ", Forms: Console, Start: true},
			{Pattern: "Ping statistics for ", Forms: Console, Start: true},
			{Pattern: "Packets: Sent = ", Forms: Console},
		},
		Back: 8 << 10, Forward: 16 << 10,
		Summary: []string{"target", "address"},
	}
}

func (pingCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	ls := block(t, classifyPing, 1)
	if len(ls) == 0 {
		return 0, 0, nil, false
	}
	var f Fields
	replies, timeouts := 0, 0
	for _, l := range ls {
		m := l.m
		switch l.kind {
		case pingPinging:
			f = f.add("target", m[1]).add("address", m[2])
			if n, ok := atoi(m[3]); ok {
				f = append(f, Field{"bytes", n})
			}
		case pingReply:
			if replies == 0 {
				f = f.add("reply_from", m[1])
				if n, ok := atoi(m[5]); ok {
					f = append(f, Field{"ttl", n})
				}
			}
			replies++
		case pingReplyOther:
			f = f.add("reply_message", m[2])
		case pingFailure:
			timeouts++
		case pingStats:
			f = f.add("statistics_for", m[1])
		case pingPackets:
			s, _ := atoi(m[1])
			r, _ := atoi(m[2])
			lost, _ := atoi(m[3])
			pct, _ := atoi(m[4])
			f = append(f, Field{"sent", s}, Field{"received", r}, Field{"lost", lost}, Field{"loss_percent", pct})
		case pingMinMax:
			a, _ := atoi(m[1])
			b, _ := atoi(m[2])
			c, _ := atoi(m[3])
			f = append(f, Field{"min_ms", a}, Field{"max_ms", b}, Field{"avg_ms", c})
		}
	}
	if replies > 0 {
		f = append(f, Field{"replies", replies})
	}
	if timeouts > 0 {
		f = append(f, Field{"failures", timeouts})
	}
	if len(f) == 0 {
		return 0, 0, nil, false
	}
	st, en := span(t, ls)
	return st, en, f, true
}

// ---- ipconfig

var ipconfigRes = []*regexp.Regexp{
	re(promptPrefix + `\s*Windows(?: \d+)? IP Configuration\s*$`),
	re(`^\s*(\S.*? adapter .*?):?\s*$`),
	re(`^\s\s+(\S.*?)\s*(?:\. ?)+:\s?(.*?)\s*$`),
	re(`^\s{20,}([0-9A-Fa-f.:%]+)\s*$`),
}

const (
	ipcHead = iota
	ipcAdapter
	ipcValue
	ipcMore
)

var classifyIpconfig = classifyWith(ipconfigRes)

type ipconfigCarver struct{}

func (ipconfigCarver) Spec() Spec {
	return Spec{
		Name: "ipconfig",
		Anchors: []Anchor{
			{Pattern: " IP Configuration", Forms: Console},
			{Pattern: ". . : ", Forms: Console},
		},
		Back: 16 << 10, Forward: 32 << 10,
		Summary: []string{"host_name", "ip_address", "physical_address"},
	}
}

// snake turns "Connection-specific DNS Suffix" into
// "connection_specific_dns_suffix".
func snake(s string) string {
	var b strings.Builder
	under := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(c)
			continue
		}
		under = true
	}
	return b.String()
}

func (ipconfigCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	ls := block(t, classifyIpconfig, 1)
	var f Fields
	var adapters []Fields
	var cur *Fields
	lastKey := ""
	values := 0
	multi := map[string]bool{}
	set := func(k, v string) {
		dst := &f
		if cur != nil {
			dst = cur
		}
		v = strings.TrimSuffix(strings.TrimSuffix(v, "(Preferred)"), "(Deprecated)")
		for i := range *dst {
			if (*dst)[i].Key == k {
				// Repeated key (several DNS servers, IP addresses): a list.
				switch x := (*dst)[i].Value.(type) {
				case string:
					(*dst)[i].Value = []string{x, v}
				case []string:
					(*dst)[i].Value = append(x, v)
				}
				return
			}
		}
		*dst = append(*dst, Field{k, v})
	}
	for _, l := range ls {
		m := l.m
		switch l.kind {
		case ipcHead:
			f = f.add("banner", strings.TrimSpace(strings.TrimPrefix(m[0], m[0][:strings.Index(m[0], "Windows")])))
		case ipcAdapter:
			if cur != nil {
				adapters = append(adapters, *cur)
			}
			cur = &Fields{{"adapter", m[1]}}
			lastKey = ""
		case ipcValue:
			k := snake(m[1])
			if k == "" {
				continue
			}
			values++
			lastKey = k
			if m[2] != "" {
				set(k, m[2])
			}
		case ipcMore:
			if lastKey == "" {
				continue
			}
			multi[lastKey] = true
			set(lastKey, m[1])
		}
	}
	if cur != nil {
		adapters = append(adapters, *cur)
	}
	if values < 2 {
		return 0, 0, nil, false
	}
	// Summary keys at the top level: the first adapter's addresses.
	for _, a := range adapters {
		for _, k := range []string{"ip_address", "ipv4_address", "physical_address"} {
			if v := a.Get(k); v != nil && f.Get(k) == nil {
				f = append(f, Field{strings.Replace(k, "ipv4_", "ip_", 1), v})
			}
		}
	}
	f = f.add("adapters", adapters)
	st, en := span(t, ls)
	return st, en, f, true
}

// ---- netstat

var netstatRes = []*regexp.Regexp{
	re(promptPrefix + `\s*Active Connections\s*$`),
	re(`^\s*Proto\s+Local Address\s+Foreign Address\s+State(?:\s+PID)?\s*$`),
	re(`^\s*(TCP|UDP|TCPv6|UDPv6)\s+(\S+)\s+(\S+)(?:\s+([A-Z][A-Z_0-9]+))?(?:\s+(\d+))?\s*$`),
	re(`^\s*(?:(?:IPv[46] )?Route Table|Interface List|Active Routes:|Persistent Routes:|None|=+)\s*$`),
	re(`^\s*(?:0x)?[0-9a-fA-F]+\s*\.{3,}.*$`),
	re(`^\s*Network Destination\s+Netmask\s+Gateway\s+Interface\s+Metric\s*$`),
	re(`^\s*(\d+\.\d+\.\d+\.\d+)\s+(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s*$`),
	re(`^\s*Default Gateway:\s+(\S+)\s*$`),
}

const (
	nsHead = iota
	nsCols
	nsConn
	nsRouteHead
	nsIface
	nsRouteCols
	nsRoute
	nsDefault
)

var classifyNetstat = classifyWith(netstatRes)

type netstatCarver struct{}

func (netstatCarver) Spec() Spec {
	return Spec{
		Name: "netstat",
		Anchors: []Anchor{
			{Pattern: "Active Connections", Forms: Console, Start: true},
			{Pattern: "Proto  Local Address", Forms: Console},
			{Pattern: "Route Table", Forms: Console},
			{Pattern: "Active Routes:", Forms: Console, Start: true},
			{Pattern: "Network Destination", Forms: Console, Start: true},
		},
		Back: 32 << 10, Forward: 64 << 10,
		Summary: []string{"foreign_address", "local_port"},
	}
}

func (netstatCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	ls := block(t, classifyNetstat, 2)
	var conns, routes []Fields
	var foreign, ports []string
	var f Fields
	heads := 0
	for _, l := range ls {
		m := l.m
		switch l.kind {
		case nsHead, nsCols, nsRouteCols:
			heads++
		case nsConn:
			c := Fields{{"proto", m[1]}, {"local_address", m[2]}, {"foreign_address", m[3]}}
			c = c.add("state", m[4])
			if pid, ok := atoi(m[5]); ok {
				c = append(c, Field{"pid", pid})
			}
			conns = append(conns, c)
			foreign = append(foreign, m[3])
			if i := strings.LastIndexByte(m[2], ':'); i >= 0 {
				ports = append(ports, m[2][i+1:])
			}
		case nsRoute:
			metric, _ := atoi(m[5])
			routes = append(routes, Fields{{"destination", m[1]}, {"netmask", m[2]}, {"gateway", m[3]}, {"interface", m[4]}, {"metric", metric}})
		case nsDefault:
			f = f.add("default_gateway", m[1])
		}
	}
	if heads == 0 || len(conns)+len(routes) == 0 {
		return 0, 0, nil, false
	}
	kind := "connections"
	if len(routes) > 0 {
		kind = "routes"
	}
	f = append(Fields{{"table", kind}}, f...)
	f = f.add("foreign_address", foreign).add("local_port", ports).add("connections", conns).add("routes", routes)
	st, en := span(t, ls)
	return st, en, f, true
}

// ---- tasklist and pslist

var tasklistRes = []*regexp.Regexp{
	re(promptPrefix + `\s*Image Name\s+PID\s+Session Name\s+Session#\s+Mem Usage\s*$`),
	re(`^[= ]{10,}$`),
	re(`^(\S.*?)\s+(\d+)(?:\s+(\S+))?\s+(\d+)\s+([\d,.]+ K)\s*$`),
	re(promptPrefix + `\s*(?:PsList v.*|Process information for (\S+?):?)\s*$`),
	re(`^\s*Name\s+Pid\s+Pri\s+Thd\s+Hnd\s+.*$`),
	re(`^(\S.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d:.]+)\s+([\d:.]+)\s*$`),
}

const (
	tlHead = iota
	tlSep
	tlRow
	plHost
	plHead
	plRow
)

var classifyTasklist = classifyWith(tasklistRes)

type tasklistCarver struct{}

func (tasklistCarver) Spec() Spec {
	return Spec{
		Name: "tasklist",
		Anchors: []Anchor{
			{Pattern: "Image Name ", Forms: Console, Start: true},
			{Pattern: "Process information for ", Forms: Console, Start: true},
			{Pattern: "Pid Pri Thd", Forms: Console},
		},
		Back: 32 << 10, Forward: 64 << 10,
		Summary: []string{"image"},
	}
}

func (tasklistCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	ls := block(t, classifyTasklist, 1)
	var f Fields
	var procs []Fields
	var images []string
	heads := 0
	tool := ""
	for _, l := range ls {
		m := l.m
		switch l.kind {
		case tlHead:
			heads++
			tool = "tasklist"
		case plHost:
			f = f.add("host", m[1])
			tool = "pslist"
		case plHead:
			heads++
			tool = "pslist"
		case tlRow:
			pid, _ := atoi(m[2])
			sess, _ := atoi(m[4])
			p := Fields{{"image", m[1]}, {"pid", pid}}
			p = p.add("session_name", m[3])
			p = append(p, Field{"session", sess}, Field{"mem_usage", m[5]})
			procs = append(procs, p)
			images = append(images, m[1])
		case plRow:
			pid, _ := atoi(m[2])
			pri, _ := atoi(m[3])
			thd, _ := atoi(m[4])
			hnd, _ := atoi(m[5])
			procs = append(procs, Fields{{"image", m[1]}, {"pid", pid}, {"priority", pri}, {"threads", thd}, {"handles", hnd}, {"cpu_time", m[7]}, {"elapsed_time", m[8]}})
			images = append(images, m[1])
		}
	}
	if heads == 0 || len(procs) == 0 {
		return 0, 0, nil, false
	}
	f = append(Fields{{"tool", tool}}, f...)
	f = f.add("image", images).add("processes", procs)
	st, en := span(t, ls)
	return st, en, f, true
}

// ---- net use / net user / net share

var (
	netUseHeadRe   = re(promptPrefix + `\s*New connections will (?:not )?be remembered\.\s*$`)
	netUseColsRe   = re(`^\s*Status\s+Local\s+Remote\s+Network\s*$`)
	netUseRowRe    = re(`^(?:(OK|Disconnected|Unavailable|Reconnecting|Connected)\s+)?\s*([A-Z]:|LPT\d:)?\s*(\\\\\S+)\s*(.*?)\s*$`)
	netUserHeadRe  = re(promptPrefix + `\s*User accounts for \\\\(\S+)\s*$`)
	netShareColsRe = re(promptPrefix + `\s*Share name\s+Resource\s+Remark\s*$`)
	netShareRowRe  = re(`^(\S+)(?:\s+((?:[A-Za-z]:\\|\\\\)\S*(?: \S+)*?))?(?:\s{2,}(.*?))?\s*$`)
	netSepRe       = re(`^-{10,}\s*$`)
	netDoneRe      = re(`^\s*The command completed (?:successfully|with one or more errors)\.\s*$`)
	netNoEntriesRe = re(`^\s*There are no entries in the list\.\s*$`)
	netColumnSplit = re(`\s{2,}`)
)

type netCmdCarver struct{}

func (netCmdCarver) Spec() Spec {
	return Spec{
		Name: "net",
		Anchors: []Anchor{
			{Pattern: "New connections will ", Forms: Console, Start: true},
			{Pattern: "User accounts for \\\\", Forms: Console, Start: true},
			{Pattern: "Share name ", Forms: Console, Start: true},
		},
		Forward: 32 << 10,
		Summary: []string{"user", "remote", "share"},
	}
}

func (netCmdCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	b := t.B
	s, e := lineAt(b, t.At)
	head := t.String(s, e)
	var f Fields
	kind := ""
	switch {
	case netUseHeadRe.MatchString(head):
		kind = "use"
	case netUserHeadRe.MatchString(head):
		kind = "user"
		f = f.add("host", netUserHeadRe.FindStringSubmatch(head)[1])
	case netShareColsRe.MatchString(head):
		kind = "share"
	default:
		return 0, 0, nil, false
	}
	f = append(Fields{{"command", "net " + kind}}, f...)
	var rows []Fields
	var users, remotes, shares []string
	end, sep, done := e, false, false
	for n := nextStart(b, e); n >= 0 && !done; {
		ns, ne := lineAt(b, n)
		str := t.String(ns, ne)
		n = nextStart(b, ne)
		trim := strings.TrimSpace(str)
		switch {
		case trim == "":
			continue
		case netDoneRe.MatchString(str), netNoEntriesRe.MatchString(str):
			end, done = ne, true
			continue
		case netSepRe.MatchString(str):
			sep = true
			end = ne
			continue
		case kind == "use" && netUseColsRe.MatchString(str):
			end = ne
			continue
		}
		if !sep || len(str) > 200 {
			break
		}
		switch kind {
		case "use":
			m := netUseRowRe.FindStringSubmatch(str)
			if m == nil {
				done = true
				continue
			}
			r := Fields{}.add("status", m[1]).add("local", m[2]).add("remote", m[3]).add("network", m[4])
			rows = append(rows, r)
			remotes = append(remotes, m[3])
		case "user":
			for _, u := range netColumnSplit.Split(trim, -1) {
				if len(u) > 20 {
					done = true
					break
				}
				users = append(users, u)
			}
		case "share":
			m := netShareRowRe.FindStringSubmatch(str)
			if m == nil {
				done = true
				continue
			}
			rows = append(rows, Fields{}.add("share", m[1]).add("resource", m[2]).add("remark", m[3]))
			shares = append(shares, m[1])
		}
		if !done {
			end = ne
		}
	}
	if !sep && !done {
		return 0, 0, nil, false
	}
	f = f.add("user", users).add("remote", remotes).add("share", shares).add("entries", rows)
	if len(users)+len(rows) == 0 && !done {
		return 0, 0, nil, false
	}
	return t.Raw(s), t.Raw(end), f, true
}

// ---- prompts

type promptCarver struct{}

func (promptCarver) Spec() Spec {
	return Spec{
		Name:    "prompt",
		Anchors: []Anchor{{Pattern: `\a:\\`, Forms: Console, Start: true}},
		Back:    2, Forward: 2048,
		Summary: []string{"program", "command"},
	}
}

func (promptCarver) Decode(in *Input) (int, int, Fields, bool) {
	if in.Enc == Cells {
		return promptDecode(in.Text()) // rows need the whole screen
	}
	return promptDecode(in.Local(1, 2048))
}

func promptDecode(t *Text) (int, int, Fields, bool) {
	b := t.B
	s := t.At
	if s > 0 && b[s-1] != '\n' {
		return 0, 0, nil, false
	}
	_, e := lineAt(b, s)
	gt := -1
	for i := s + 3; i < e && i < s+260; i++ {
		c := b[i]
		if c == '>' {
			gt = i
			break
		}
		if c == '<' || c == '|' || c == '"' || c == '*' || c == '?' || c == ':' {
			return 0, 0, nil, false
		}
	}
	if gt < 0 {
		return 0, 0, nil, false
	}
	cmd := strings.TrimSpace(t.String(gt+1, e))
	if cmd == "" || cmd[0] == '>' || len(cmd) > 1024 {
		return 0, 0, nil, false
	}
	prog := cmd
	if i := strings.IndexAny(cmd, " \t"); i >= 0 {
		prog = cmd[:i]
	}
	f := Fields{{"cwd", t.String(s, gt)}, {"command", cmd}, {"program", strings.ToLower(prog)}}
	for e > gt+1 && b[e-1] == ' ' {
		e--
	}
	return t.Raw(s), t.Raw(e), f, true
}
