package wstr

import (
	"testing"
	"unicode/utf16"
)

func le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestDecode(t *testing.T) {
	for _, s := range []string{"", "nc.exe", "C:\\WINNT\\system32", "Grüße", "𝄞 clef", "a\x00b"} {
		if got := Decode(le(s)); got != s {
			t.Errorf("Decode(%q) = %q", s, got)
		}
	}
	if got := Decode(append(le("ab"), 'c')); got != "ab" {
		t.Errorf("odd byte: %q", got)
	}
	if got := Decode([]byte{0x00, 0xd8, 'x', 0}); got != "\uFFFDx" {
		t.Errorf("unpaired surrogate: %q", got)
	}
	if got := DecodeZ(le("abc\x00def")); got != "abc" {
		t.Errorf("DecodeZ: %q", got)
	}
	if got := DecodeZ(le("𝄞")); got != "𝄞" {
		t.Errorf("DecodeZ without NUL: %q", got)
	}
}
