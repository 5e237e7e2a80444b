#include "textflag.h"

// func fmaColsAVX2(x *float64, xstride int, n int, w *float64, ld int, b *float64, y *float64, cols int)
//
// y[j] = b[j] + sum_{i<n} x[i*xstride] * w[i*ld+j] for j < cols (cols a
// multiple of 4, n >= 1), one fused multiply-add per i in order: each lane
// computes exactly what math.FMA does in the scalar loop.
TEXT ·fmaColsAVX2(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ xstride+8(FP), R12
	SHLQ $3, R12
	MOVQ n+16(FP), CX
	MOVQ w+24(FP), DI
	MOVQ ld+32(FP), R8
	SHLQ $3, R8
	MOVQ b+40(FP), R9
	MOVQ y+48(FP), R10
	MOVQ cols+56(FP), R11

loop16:
	CMPQ R11, $16
	JLT  loop4
	VMOVUPD 0(R9), Y0
	VMOVUPD 32(R9), Y1
	VMOVUPD 64(R9), Y2
	VMOVUPD 96(R9), Y3
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ CX, DX

inner16:
	VBROADCASTSD (AX), Y4
	VFMADD231PD 0(BX), Y4, Y0
	VFMADD231PD 32(BX), Y4, Y1
	VFMADD231PD 64(BX), Y4, Y2
	VFMADD231PD 96(BX), Y4, Y3
	ADDQ R12, AX
	ADDQ R8, BX
	DECQ DX
	JNZ  inner16
	VMOVUPD Y0, 0(R10)
	VMOVUPD Y1, 32(R10)
	VMOVUPD Y2, 64(R10)
	VMOVUPD Y3, 96(R10)
	ADDQ $128, R9
	ADDQ $128, R10
	ADDQ $128, DI
	SUBQ $16, R11
	JMP  loop16

loop4:
	CMPQ R11, $4
	JLT  done
	VMOVUPD 0(R9), Y0
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ CX, DX

inner4:
	VBROADCASTSD (AX), Y4
	VFMADD231PD 0(BX), Y4, Y0
	ADDQ R12, AX
	ADDQ R8, BX
	DECQ DX
	JNZ  inner4
	VMOVUPD Y0, 0(R10)
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, DI
	SUBQ $4, R11
	JMP  loop4

done:
	VZEROUPPER
	RET
