// Command carveanchors prints the anchors of remnant's carvers as one POSIX
// extended regular expression, for `grep -E` in bench/carve.sh: the same
// literals that the carve prefilter searches, so that `strings | grep -E`
// does the equivalent candidate search with the usual tools.
package main

import (
	"fmt"
	"strings"

	"github.com/remnant-forensics/remnant/carve"
)

func main() {
	var alts []string
	seen := map[string]bool{}
	for _, c := range carve.Registry {
		for _, a := range c.Spec().Anchors {
			var b strings.Builder
			p := a.Pattern
			for i := 0; i < len(p); i++ {
				ch := p[i]
				if ch == '\\' && i+1 < len(p) {
					i++
					switch p[i] {
					case 'd':
						b.WriteString("[0-9]")
					case 'a':
						b.WriteString("[A-Za-z]")
					case 'w':
						b.WriteString("[A-Za-z0-9_-]")
					case 's':
						b.WriteString("[ \t]")
					case '\\':
						b.WriteString(`\\`)
					}
					continue
				}
				if a.Fold && (ch|32) >= 'a' && (ch|32) <= 'z' {
					fmt.Fprintf(&b, "[%c%c]", ch|32, ch&^32)
					continue
				}
				if strings.IndexByte(`.[]()*+?{}|^$\`, ch) >= 0 {
					b.WriteByte('\\')
				}
				b.WriteByte(ch)
			}
			if s := b.String(); !seen[s] {
				seen[s] = true
				alts = append(alts, s)
			}
		}
	}
	fmt.Println(strings.Join(alts, "|"))
}
