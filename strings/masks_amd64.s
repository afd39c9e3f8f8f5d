//go:build !purego

#include "textflag.h"

// func masksAVX2(src *byte, blocks int, p *uint64, z *uint64, wsEnd byte)
// For each 64-byte block of src: p gets a bit per printable byte
// (0x20..0x7e, or 0x09..wsEnd-1), z a bit per zero byte.
TEXT ·masksAVX2(SB), NOSPLIT, $0-33
	MOVQ src+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ p+16(FP), DI
	MOVQ z+24(FP), R8
	MOVBQZX wsEnd+32(FP), AX
	MOVQ AX, X13
	VPBROADCASTB X13, Y13 // wsEnd
	MOVQ $0x1f, AX
	MOVQ AX, X10
	VPBROADCASTB X10, Y10 // 0x1f
	MOVQ $0x7f, AX
	MOVQ AX, X11
	VPBROADCASTB X11, Y11 // 0x7f
	MOVQ $0x08, AX
	MOVQ AX, X12
	VPBROADCASTB X12, Y12 // 0x08
	VPXOR Y14, Y14, Y14   // 0

loop:
	TESTQ CX, CX
	JZ done
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	VPCMPGTB Y10, Y0, Y2 // b > 0x1f (signed: bytes >= 0x80 are negative)
	VPCMPGTB Y0, Y11, Y3 // 0x7f > b
	VPAND Y2, Y3, Y2
	VPCMPGTB Y12, Y0, Y4 // b > 0x08
	VPCMPGTB Y0, Y13, Y5 // wsEnd > b
	VPAND Y4, Y5, Y4
	VPOR Y4, Y2, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB Y14, Y0, Y6
	VPMOVMSKB Y6, BX

	VPCMPGTB Y10, Y1, Y2
	VPCMPGTB Y1, Y11, Y3
	VPAND Y2, Y3, Y2
	VPCMPGTB Y12, Y1, Y4
	VPCMPGTB Y1, Y13, Y5
	VPAND Y4, Y5, Y4
	VPOR Y4, Y2, Y2
	VPMOVMSKB Y2, DX
	VPCMPEQB Y14, Y1, Y6
	VPMOVMSKB Y6, R9

	SHLQ $32, DX
	ORQ DX, AX
	SHLQ $32, R9
	ORQ R9, BX
	MOVQ AX, (DI)
	MOVQ BX, (R8)
	ADDQ $64, SI
	ADDQ $8, DI
	ADDQ $8, R8
	DECQ CX
	JMP loop

done:
	VZEROUPPER
	RET
