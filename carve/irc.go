package carve

import "strings"

// IRC protocol lines (PRIVMSG, NOTICE, JOIN, PART, XDCC and DCC requests)
// and iroffer's status and pack-list lines.

var (
	ircMsgRe    = re(`^(?::(\S+) )?(PRIVMSG|NOTICE) ([^\s:]+) :(.*?)\s*$`)
	ircJoinRe   = re(`^(?::(\S+) )?(JOIN|PART) :?([#&][^\s,]+)(?: :?(.*?))?\s*$`)
	ircXdccRe   = re(`(?i)\b(XDCC) (SEND|LIST|INFO|SEARCH|REMOVE|CANCEL|BATCH|GET)\b ?#?(\S*)`)
	ircDccRe    = re(`\bDCC (SEND|CHAT|RESUME|ACCEPT) (\S+)(?: (\d+))?(?: (\d+))?(?: (\d+))?`)
	irofStatRe  = re(`Stat: (\d+)/(\d+) Sls, (\d+)/(\d+) Q(?:, (\d+)/(\d+) I)?`)
	irofPacksRe = re(`\*\* (\d+) packs? \*\*(?:\s+(\d+) of (\d+) slots? open)?`)
	irofPackRe  = re(`^\s*#(\d+)\s+(\d+)x \[\s*([\d.]+[KMGT]?)\]\s+(\S.*?)\s*$`)
)

type ircCarver struct{}

func (ircCarver) Spec() Spec {
	return Spec{Name: "irc", Anchors: []Anchor{
		{Pattern: "PRIVMSG ", Forms: Console},
		{Pattern: "NOTICE ", Forms: Console},
		{Pattern: "JOIN #", Forms: Console},
		{Pattern: "JOIN :#", Forms: Console},
		{Pattern: "PART #", Forms: Console},
		{Pattern: "XDCC ", Forms: Console, Fold: true},
		{Pattern: "DCC SEND ", Forms: Console},
		{Pattern: "Stat: ", Forms: Console},
		{Pattern: " packs **", Forms: Console},
		{Pattern: " pack **", Forms: Console},
		{Pattern: `\dx [`, Forms: Console},
	}, Back: 1024, Forward: 1024, Summary: []string{"kind", "target", "nick"}}
}

func (ircCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Text()
	s, e := lineAt(t.B, t.At)
	if e-s > 1024 {
		return 0, 0, nil, false
	}
	str := t.String(s, e)
	var f Fields
	prefixNick := func(p string) string {
		if i := strings.IndexByte(p, '!'); i >= 0 {
			return p[:i]
		}
		return p
	}
	switch {
	case ircMsgRe.MatchString(str):
		m := ircMsgRe.FindStringSubmatch(str)
		f = Fields{{"kind", strings.ToLower(m[2])}}.add("nick", prefixNick(m[1])).add("prefix", m[1]).
			add("target", m[3]).add("message", m[4])
		if x := ircXdccRe.FindStringSubmatch(m[4]); x != nil {
			f = f.add("xdcc", strings.ToUpper(x[2])).add("pack", x[3])
		}
		if x := ircDccRe.FindStringSubmatch(m[4]); x != nil {
			f = f.add("dcc", x[1]).add("file", x[2])
		}
	case ircJoinRe.MatchString(str):
		m := ircJoinRe.FindStringSubmatch(str)
		f = Fields{{"kind", strings.ToLower(m[2])}}.add("nick", prefixNick(m[1])).add("prefix", m[1]).add("target", m[3])
	case irofStatRe.MatchString(str):
		m := irofStatRe.FindStringSubmatch(str)
		f = Fields{{"kind", "iroffer_status"}, {"slots_used", m[1]}, {"slots", m[2]}, {"queued", m[3]}, {"queue_size", m[4]}}
	case irofPacksRe.MatchString(str):
		m := irofPacksRe.FindStringSubmatch(str)
		f = Fields{{"kind", "iroffer_packs"}, {"packs", m[1]}}.add("slots_open", m[2]).add("slots", m[3])
	case irofPackRe.MatchString(str):
		m := irofPackRe.FindStringSubmatch(str)
		f = Fields{{"kind", "iroffer_pack"}, {"pack", m[1]}, {"gets", m[2]}, {"size", m[3]}, {"file", m[4]}}
	case ircXdccRe.MatchString(str):
		m := ircXdccRe.FindStringSubmatch(str)
		f = Fields{{"kind", "xdcc"}, {"xdcc", strings.ToUpper(m[2])}}.add("pack", m[3])
	case ircDccRe.MatchString(str):
		m := ircDccRe.FindStringSubmatch(str)
		f = Fields{{"kind", "dcc"}, {"dcc", m[1]}, {"file", m[2]}}
	default:
		return 0, 0, nil, false
	}
	f = append(f, Field{"line", str})
	return t.Raw(s), t.Raw(e), f, true
}
