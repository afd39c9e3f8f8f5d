//go:build !purego

#include "textflag.h"

// func narrowSSE2(dst, src *byte, n int)
// Writes the low bytes of the n/16*16 first UTF-16LE units of src (whose
// high bytes are zero) to dst, 16 at a time (PACKUSWB, SSE2).
TEXT ·narrowSSE2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX

loop:
	TESTQ CX, CX
	JZ done
	MOVOU (SI), X0
	MOVOU 16(SI), X1
	PACKUSWB X1, X0
	MOVOU X0, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	DECQ CX
	JMP loop

done:
	RET
