//go:build !purego

package strings

import "golang.org/x/sys/cpu"

// masksAVX2 is masks for 64-byte blocks with AVX2 (masks_amd64.s).
//
//go:noescape
func masksAVX2(src *byte, blocks int, p, z *uint64, wsEnd byte)

func init() {
	if cpu.X86.HasAVX2 {
		fastMasks = func(c *classifier, data []byte, p, z []uint64) {
			n := min(len(data)/64, len(p), len(z))
			if n > 0 {
				masksAVX2(&data[0], n, &p[0], &z[0], c.wsEndByte)
			}
		}
	}
}
