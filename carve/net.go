package carve

import (
	"strconv"
	"strings"
)

// Network indicators in text: URLs, IPv4 addresses (with a port when one
// follows), e-mail addresses, IRC protocol lines and iroffer status lines.

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseIPv4 parses a dotted quad without leading zeros.
func parseIPv4(s string) ([4]byte, bool) {
	var ip [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return ip, false
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 || !isDigits(p) || len(p) > 1 && p[0] == '0' {
			return ip, false
		}
		n, _ := strconv.Atoi(p)
		if n > 255 {
			return ip, false
		}
		ip[i] = byte(n)
	}
	return ip, true
}

// ---- IPv4

type ipv4Carver struct{}

func (ipv4Carver) Spec() Spec {
	return Spec{Name: "ipv4", Anchors: []Anchor{{Pattern: `\d.\d`, Forms: Plain}},
		Back: 16, Forward: 24, Summary: []string{"address", "port"}}
}

func (ipv4Carver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Local(16, 32)
	b := t.B
	s := t.At
	for s > 0 && (isDigit(b[s-1]) || b[s-1] == '.') && t.At-s < 15 {
		s--
	}
	if s > 0 && (isAlnum(b[s-1]) || b[s-1] == '.' || b[s-1] == '-' || b[s-1] == '_') {
		return 0, 0, nil, false
	}
	e := t.At
	for e < len(b) && (isDigit(b[e]) || b[e] == '.') && e-s < 16 {
		e++
	}
	for e > s && b[e-1] == '.' { // a sentence's full stop
		e--
	}
	if e < len(b) && (isAlnum(b[e]) || b[e] == '.' || b[e] == '-' || b[e] == '_') {
		return 0, 0, nil, false
	}
	addr := string(b[s:e])
	// A version attribute (manifests: version="6.0.0.0") is no address.
	if before := strings.ToLower(string(b[max(0, s-10):s])); strings.Contains(before, "version") {
		return 0, 0, nil, false
	}
	ip, ok := parseIPv4(addr)
	// 0.0.0.0 is an address in netstat output but noise alone; 2.5.x.y
	// are X.500 object identifiers (certificate extensions, attributes).
	if !ok || ip == [4]byte{} || ip[0] == 2 && ip[1] == 5 || sectionLike(ip) {
		return 0, 0, nil, false
	}
	f := Fields{{"address", addr}}
	if e+1 < len(b) && b[e] == ':' && isDigit(b[e+1]) {
		p := e + 1
		for p < len(b) && isDigit(b[p]) && p-e <= 5 {
			p++
		}
		if port, err := strconv.Atoi(string(b[e+1 : p])); err == nil && port <= 65535 && (p == len(b) || !isAlnum(b[p])) {
			f = append(f, Field{"port", port})
			e = p
		}
	}
	return t.Raw(s), t.Raw(e), f, true
}

// wellKnown are public resolvers whose addresses have small octets.
var wellKnown = map[[4]byte]bool{{8, 8, 8, 8}: true, {8, 8, 4, 4}: true, {1, 1, 1, 1}: true, {1, 0, 0, 1}: true,
	{9, 9, 9, 9}: true, {4, 2, 2, 1}: true, {4, 2, 2, 2}: true, {4, 2, 2, 3}: true, {4, 2, 2, 4}: true}

// sectionLike reports dotted quads of small numbers that are far more
// often section or version numbers ("27.4.2.5", "8.4.26.1") than
// addresses: every octet below 32, outside 10/8 and 127/8, not all equal
// and not a well-known resolver.
func sectionLike(ip [4]byte) bool {
	if ip[0] == 10 || ip[0] == 127 || wellKnown[ip] || ip[0] == ip[1] && ip[1] == ip[2] && ip[2] == ip[3] {
		return false
	}
	return ip[0] < 32 && ip[1] < 32 && ip[2] < 32 && ip[3] < 32
}

// ---- URLs

type urlCarver struct{}

func (urlCarver) Spec() Spec {
	return Spec{Name: "url", Anchors: []Anchor{
		{Pattern: "http://", Forms: Plain, Fold: true},
		{Pattern: "https://", Forms: Plain, Fold: true},
		{Pattern: "ftp://", Forms: Plain, Fold: true},
	}, Forward: 2048, Summary: []string{"host"}}
}

func isURLChar(c byte) bool {
	return c > 0x20 && c < 0x7f && !strings.ContainsRune("\"<>\\^`{|}", rune(c))
}

func (urlCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Local(0, 2048)
	b := t.B
	s := t.At
	i := s + strings.Index(string(b[s:min(len(b), s+8)]), "://") + 3
	e := i
	for e < len(b) && isURLChar(b[e]) && e-s < 2048 {
		e++
	}
	for e > i && strings.IndexByte(".,;:!?)]'", b[e-1]) >= 0 {
		e--
	}
	u := string(b[s:e])
	rest := u[i-s:]
	hostport := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		hostport = rest[:j]
	}
	if j := strings.LastIndexByte(hostport, '@'); j >= 0 {
		hostport = hostport[j+1:]
	}
	host, port := hostport, ""
	if j := strings.LastIndexByte(hostport, ':'); j >= 0 {
		host, port = hostport[:j], hostport[j+1:]
		if !isDigits(port) {
			return 0, 0, nil, false
		}
	}
	if !validHost(host) {
		return 0, 0, nil, false
	}
	f := Fields{{"url", u}, {"scheme", strings.ToLower(u[:i-s-3])}, {"host", strings.ToLower(host)}}
	if port != "" {
		n, _ := strconv.Atoi(port)
		f = append(f, Field{"port", n})
	}
	return t.Raw(s), t.Raw(e), f, true
}

// validHost accepts an IPv4 address, "localhost" or a DNS name with a
// dot and an alphabetic top-level label.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, ok := parseIPv4(h); ok || strings.EqualFold(h, "localhost") {
		return true
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for k := 0; k < len(l); k++ {
			if !isAlnum(l[k]) && l[k] != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for k := 0; k < len(tld); k++ {
		if isDigit(tld[k]) || tld[k] == '-' {
			return false
		}
	}
	return true
}

// ---- e-mail

type emailCarver struct{}

func (emailCarver) Spec() Spec {
	return Spec{Name: "email", Anchors: []Anchor{{Pattern: `\w@\w`, Forms: Plain}},
		Back: 64, Forward: 256, Summary: []string{"address", "domain"}}
}

// gTLDs are the generic top-level domains worth an e-mail address (and
// the special-use names of RFC 2606 and 6761); any two-letter label is a
// country code.
var gTLDs = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`com net org edu gov mil int info biz name pro aero coop museum mobi asia tel
		travel jobs cat arpa post xxx app dev io co me tv cc ws xyz online site tech top club shop store blog
		cloud email live life world news today space website ninja guru company solutions systems network
		services support security software group global center agency digital media studio zone link click
		host page team local localdomain lan corp home internal intranet test example invalid localhost onion`) {
		gTLDs[t] = true
	}
}

func knownTLD(domain string) bool {
	tld := strings.ToLower(domain[strings.LastIndexByte(domain, '.')+1:])
	return len(tld) == 2 || gTLDs[tld]
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) && (c|32 < 'a' || c|32 > 'f') {
			return false
		}
	}
	return len(b) > 0
}

func isLocalChar(c byte) bool { return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0 }

func (emailCarver) Decode(in *Input) (int, int, Fields, bool) {
	t := in.Local(64, 260)
	b := t.B
	at := t.At + 1
	if at >= len(b) || b[at] != '@' {
		return 0, 0, nil, false
	}
	s := at
	for s > 0 && isLocalChar(b[s-1]) && at-s < 64 {
		s--
	}
	for s < at && (b[s] == '.' || b[s] == '-') {
		s++
	}
	if s == at || s > 0 && isLocalChar(b[s-1]) {
		return 0, 0, nil, false
	}
	// Escapes before the address belong to the text around it: "\u003C",
	// "%3C" (URL- or JSON-escaped "<").
	if s > 0 && b[s-1] == '\\' && at-s > 5 && b[s] == 'u' && isHex(b[s+1:s+5]) {
		s += 5
	}
	if i := strings.LastIndexByte(string(b[s:at]), '%'); i >= 0 && s+i+3 < at && isHex(b[s+i+1:s+i+3]) {
		s += i + 3
	}
	e := at + 1
	for e < len(b) && (isAlnum(b[e]) || b[e] == '.' || b[e] == '-') && e-at < 254 {
		e++
	}
	for e > at+1 && (b[e-1] == '.' || b[e-1] == '-') {
		e--
	}
	domain := string(b[at+1 : e])
	if !validHost(domain) || isIPv4(domain) || !knownTLD(domain) {
		return 0, 0, nil, false
	}
	addr := string(b[s:e])
	return t.Raw(s), t.Raw(e), Fields{{"address", addr}, {"domain", strings.ToLower(domain)}}, true
}
