//go:build !purego

package strings

import "golang.org/x/sys/cpu"

// masksAVX2 is masks for 64-byte blocks with AVX2 (masks_amd64.s).
//
//go:noescape
func masksAVX2(src *byte, blocks int, p, z *uint64, wsEnd byte)

// asmMasks wraps an assembly masks routine as a masksFunc.
func asmMasks(f func(src *byte, blocks int, p, z *uint64, wsEnd byte)) masksFunc {
	return func(c *classifier, data []byte, p, z []uint64) {
		n := min(len(data)/64, len(p), len(z))
		if n > 0 {
			f(&data[0], n, &p[0], &z[0], c.wsEndByte)
		}
	}
}

func init() {
	// An AVX-512BW version ran no faster (the masks run at memory speed
	// already), so there is none.
	if cpu.X86.HasAVX2 {
		simdMasks = append(simdMasks, namedMasks{"avx2", asmMasks(masksAVX2)})
	}
	if len(simdMasks) > 0 {
		fastMasks = simdMasks[0].f
	}
}
