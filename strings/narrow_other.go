//go:build purego || !amd64

package strings

// narrow writes the low bytes of the n UTF-16LE units of src (high bytes
// zero) to dst[:n]. src holds at least 2n bytes, dst at least n.
func narrow(dst, src []byte, n int) { narrowGo(dst, src, n) }
