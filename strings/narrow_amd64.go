//go:build !purego

package strings

// narrowSSE2 writes the low bytes of the first n/16*16 UTF-16LE units of
// src to dst (narrow_amd64.s).
//
//go:noescape
func narrowSSE2(dst, src *byte, n int)

// narrow writes the low bytes of the n UTF-16LE units of src (high bytes
// zero) to dst[:n]. src holds at least 2n bytes, dst at least n.
func narrow(dst, src []byte, n int) {
	_, _ = dst[:n], src[:2*n]
	if k := n &^ 15; k > 0 {
		narrowSSE2(&dst[0], &src[0], k)
		dst, src, n = dst[k:], src[2*k:], n-k
	}
	narrowGo(dst, src, n)
}
