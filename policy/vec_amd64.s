#include "textflag.h"

// Vector kernels of tanh.go and optim.go. Each performs exactly the IEEE
// operations of its Go version in the same order (see the comments there),
// so the paths agree bitwise; n is a multiple of the vector width and the
// callers finish the remainder in Go.

// float32 constants of tanh32, in the order of tanh.go.
DATA tanhc<>+0(SB)/4, $0x7fffffff  // absmask
DATA tanhc<>+4(SB)/4, $0x41100000  // clamp 9
DATA tanhc<>+8(SB)/4, $0xc0000000  // -2
DATA tanhc<>+12(SB)/4, $0x3fb8aa3b // log2e
DATA tanhc<>+16(SB)/4, $0x4b400000 // shifter
DATA tanhc<>+20(SB)/4, $0x3f318000 // ln2hi
DATA tanhc<>+24(SB)/4, $0xb95e8083 // ln2lo
DATA tanhc<>+28(SB)/4, $0x39506967 // p0
DATA tanhc<>+32(SB)/4, $0x3ab743ce // p1
DATA tanhc<>+36(SB)/4, $0x3c088908 // p2
DATA tanhc<>+40(SB)/4, $0x3d2aa9c1 // p3
DATA tanhc<>+44(SB)/4, $0x3e2aaaaa // p4
DATA tanhc<>+48(SB)/4, $0x3f000000 // p5
DATA tanhc<>+52(SB)/4, $0x3f800000 // 1
DATA tanhc<>+56(SB)/4, $0x40000000 // 2
DATA tanhc<>+60(SB)/4, $0x4b3fff81 // scaleBias
DATA tanhc<>+64(SB)/4, $0x80000000 // signmask
GLOBL tanhc<>(SB), RODATA|NOPTR, $68

// func tanh512(x *float32, n int)
TEXT ·tanh512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	JZ   tdone512
	LEAQ tanhc<>(SB), R8
	VBROADCASTSS 0(R8), Z16
	VBROADCASTSS 4(R8), Z17
	VBROADCASTSS 8(R8), Z18
	VBROADCASTSS 12(R8), Z19
	VBROADCASTSS 16(R8), Z20
	VBROADCASTSS 20(R8), Z21
	VBROADCASTSS 24(R8), Z22
	VBROADCASTSS 28(R8), Z23
	VBROADCASTSS 32(R8), Z24
	VBROADCASTSS 36(R8), Z25
	VBROADCASTSS 40(R8), Z26
	VBROADCASTSS 44(R8), Z27
	VBROADCASTSS 48(R8), Z28
	VBROADCASTSS 52(R8), Z29
	VBROADCASTSS 56(R8), Z30
	VBROADCASTSS 60(R8), Z31
	VBROADCASTSS 64(R8), Z14
	VPXORD Z15, Z15, Z15

tloop512:
	VMOVUPS (SI), Z0
	VPANDD  Z16, Z0, Z1       // a = |x|
	VMINPS  Z1, Z17, Z1       // a = 9 < a ? 9 : a
	VMULPS  Z18, Z1, Z2       // m = -2a
	VMULPS  Z19, Z2, Z3       // m*log2e
	VADDPS  Z20, Z3, Z3       // t
	VSUBPS  Z20, Z3, Z4       // kf = t - shifter
	VMULPS  Z21, Z4, Z5
	VSUBPS  Z5, Z2, Z5        // r = m - kf*ln2hi
	VMULPS  Z22, Z4, Z6
	VSUBPS  Z6, Z5, Z5        // r -= kf*ln2lo
	VMULPS  Z5, Z5, Z6        // z = r*r
	VMULPS  Z23, Z5, Z7       // p0*r
	VADDPS  Z24, Z7, Z7
	VMULPS  Z5, Z7, Z7
	VADDPS  Z25, Z7, Z7
	VMULPS  Z5, Z7, Z7
	VADDPS  Z26, Z7, Z7
	VMULPS  Z5, Z7, Z7
	VADDPS  Z27, Z7, Z7
	VMULPS  Z5, Z7, Z7
	VADDPS  Z28, Z7, Z7       // p
	VMULPS  Z6, Z7, Z7
	VADDPS  Z5, Z7, Z7        // em1 = p*z + r
	VPSUBD  Z31, Z3, Z8
	VPSLLD  $23, Z8, Z8       // scale = 2^k
	VADDPS  Z29, Z7, Z9
	VMULPS  Z8, Z9, Z9
	VSUBPS  Z29, Z9, Z9       // (em1+1)*scale - 1
	VCMPPS  $4, Z15, Z4, K2   // kf != 0
	VMOVAPS Z9, K2, Z7
	VADDPS  Z30, Z7, Z10      // 2 + em1
	VPXORD  Z14, Z7, Z11      // -em1
	VDIVPS  Z10, Z11, Z11     // y
	VPANDD  Z16, Z11, Z11     // |y|
	VPANDND Z0, Z16, Z12      // sign of x
	VPORD   Z12, Z11, Z11
	VMOVUPS Z11, (SI)
	ADDQ $64, SI
	DECQ CX
	JNZ  tloop512

tdone512:
	VZEROUPPER
	RET

// func tanh256(x *float32, n int)
TEXT ·tanh256(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	JZ   tdone256
	LEAQ tanhc<>(SB), R8
	VBROADCASTSS 0(R8), Y13   // absmask
	VBROADCASTSS 52(R8), Y14  // 1
	VXORPS Y15, Y15, Y15

tloop256:
	VMOVUPS (SI), Y0
	VANDPS  Y13, Y0, Y1
	VBROADCASTSS 4(R8), Y12
	VMINPS  Y1, Y12, Y1
	VBROADCASTSS 8(R8), Y12
	VMULPS  Y12, Y1, Y2
	VBROADCASTSS 12(R8), Y12
	VMULPS  Y12, Y2, Y3
	VBROADCASTSS 16(R8), Y12
	VADDPS  Y12, Y3, Y3
	VSUBPS  Y12, Y3, Y4
	VBROADCASTSS 20(R8), Y12
	VMULPS  Y12, Y4, Y5
	VSUBPS  Y5, Y2, Y5
	VBROADCASTSS 24(R8), Y12
	VMULPS  Y12, Y4, Y6
	VSUBPS  Y6, Y5, Y5
	VMULPS  Y5, Y5, Y6
	VBROADCASTSS 28(R8), Y12
	VMULPS  Y12, Y5, Y7
	VBROADCASTSS 32(R8), Y12
	VADDPS  Y12, Y7, Y7
	VMULPS  Y5, Y7, Y7
	VBROADCASTSS 36(R8), Y12
	VADDPS  Y12, Y7, Y7
	VMULPS  Y5, Y7, Y7
	VBROADCASTSS 40(R8), Y12
	VADDPS  Y12, Y7, Y7
	VMULPS  Y5, Y7, Y7
	VBROADCASTSS 44(R8), Y12
	VADDPS  Y12, Y7, Y7
	VMULPS  Y5, Y7, Y7
	VBROADCASTSS 48(R8), Y12
	VADDPS  Y12, Y7, Y7
	VMULPS  Y6, Y7, Y7
	VADDPS  Y5, Y7, Y7        // em1
	VBROADCASTSS 60(R8), Y12
	VPSUBD  Y12, Y3, Y8
	VPSLLD  $23, Y8, Y8
	VADDPS  Y14, Y7, Y9
	VMULPS  Y8, Y9, Y9
	VSUBPS  Y14, Y9, Y9
	VCMPPS  $4, Y15, Y4, Y10  // kf != 0
	VBLENDVPS Y10, Y9, Y7, Y7
	VBROADCASTSS 56(R8), Y12
	VADDPS  Y12, Y7, Y10
	VBROADCASTSS 64(R8), Y12
	VXORPS  Y12, Y7, Y11
	VDIVPS  Y10, Y11, Y11
	VANDPS  Y13, Y11, Y11
	VANDNPS Y0, Y13, Y12
	VORPS   Y12, Y11, Y11
	VMOVUPS Y11, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ  tloop256

tdone256:
	VZEROUPPER
	RET

// func tanhGrad512(y, dy *float32, n int)
TEXT ·tanhGrad512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), SI
	MOVQ dy+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   gdone512
	LEAQ tanhc<>(SB), R8
	VBROADCASTSS 52(R8), Z31

gloop512:
	VMOVUPS (SI), Z0
	VMULPS  Z0, Z0, Z0
	VSUBPS  Z0, Z31, Z0
	VMULPS  (DI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  gloop512

gdone512:
	VZEROUPPER
	RET

// func tanhGrad256(y, dy *float32, n int)
TEXT ·tanhGrad256(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), SI
	MOVQ dy+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   gdone256
	LEAQ tanhc<>(SB), R8
	VBROADCASTSS 52(R8), Y15

gloop256:
	VMOVUPS (SI), Y0
	VMULPS  Y0, Y0, Y0
	VSUBPS  Y0, Y15, Y0
	VMULPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  gloop256

gdone256:
	VZEROUPPER
	RET

// func adam512(p, m, v, grad *float64, p32 *float32, n int, c *adamConsts)
TEXT ·adam512(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), SI
	MOVQ m+8(FP), R8
	MOVQ v+16(FP), R9
	MOVQ grad+24(FP), R10
	MOVQ p32+32(FP), DI
	MOVQ n+40(FP), CX
	MOVQ c+48(FP), AX
	SHRQ $3, CX
	JZ   adone512
	VBROADCASTSD 0(AX), Z16   // b1
	VBROADCASTSD 8(AX), Z17   // 1-b1
	VBROADCASTSD 16(AX), Z18  // b2
	VBROADCASTSD 24(AX), Z19  // 1-b2
	VBROADCASTSD 32(AX), Z20  // scale
	VBROADCASTSD 40(AX), Z21  // step
	VBROADCASTSD 48(AX), Z22  // 1/sqrt(c2)
	VBROADCASTSD 56(AX), Z23  // eps

aloop512:
	VMULPD  (R10), Z20, Z0    // gi = g*scale
	VMULPD  (R8), Z16, Z1     // b1*m
	VMULPD  Z0, Z17, Z2       // (1-b1)*gi
	VADDPD  Z2, Z1, Z1        // mi
	VMOVUPD Z1, (R8)
	VMULPD  (R9), Z18, Z3     // b2*v
	VMULPD  Z0, Z19, Z4       // (1-b2)*gi
	VMULPD  Z0, Z4, Z4        // ...*gi
	VADDPD  Z4, Z3, Z3        // vi
	VMOVUPD Z3, (R9)
	VSQRTPD Z3, Z5
	VMULPD  Z22, Z5, Z5
	VADDPD  Z23, Z5, Z5       // sqrt(vi)*isc2 + eps
	VMULPD  Z1, Z21, Z6       // step*mi
	VDIVPD  Z5, Z6, Z6
	VMOVUPD (SI), Z7
	VSUBPD  Z6, Z7, Z7
	VMOVUPD Z7, (SI)
	VCVTPD2PS Z7, Y8
	VMOVUPS Y8, (DI)
	ADDQ $32, DI
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	DECQ CX
	JNZ  aloop512

adone512:
	VZEROUPPER
	RET

// func adam256(p, m, v, grad *float64, p32 *float32, n int, c *adamConsts)
TEXT ·adam256(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), SI
	MOVQ m+8(FP), R8
	MOVQ v+16(FP), R9
	MOVQ grad+24(FP), R10
	MOVQ p32+32(FP), DI
	MOVQ n+40(FP), CX
	MOVQ c+48(FP), AX
	SHRQ $2, CX
	JZ   adone256
	VBROADCASTSD 0(AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	VBROADCASTSD 32(AX), Y12
	VBROADCASTSD 40(AX), Y13
	VBROADCASTSD 48(AX), Y14
	VBROADCASTSD 56(AX), Y15

aloop256:
	VMULPD  (R10), Y12, Y0
	VMULPD  (R8), Y8, Y1
	VMULPD  Y0, Y9, Y2
	VADDPD  Y2, Y1, Y1
	VMOVUPD Y1, (R8)
	VMULPD  (R9), Y10, Y3
	VMULPD  Y0, Y11, Y4
	VMULPD  Y0, Y4, Y4
	VADDPD  Y4, Y3, Y3
	VMOVUPD Y3, (R9)
	VSQRTPD Y3, Y5
	VMULPD  Y14, Y5, Y5
	VADDPD  Y15, Y5, Y5
	VMULPD  Y1, Y13, Y6
	VDIVPD  Y5, Y6, Y6
	VMOVUPD (SI), Y7
	VSUBPD  Y6, Y7, Y7
	VMOVUPD Y7, (SI)
	VCVTPD2PSY Y7, X7
	VMOVUPS X7, (DI)
	ADDQ $16, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ CX
	JNZ  aloop256

adone256:
	VZEROUPPER
	RET

// func narrow512(dst *float32, src *float64, n int)
TEXT ·narrow512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   ndone512

nloop512:
	VMOVUPD (SI), Z0
	VCVTPD2PS Z0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  nloop512

ndone512:
	VZEROUPPER
	RET

// func narrow256(dst *float32, src *float64, n int)
TEXT ·narrow256(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $2, CX
	JZ   ndone256

nloop256:
	VMOVUPD (SI), Y0
	VCVTPD2PSY Y0, X1
	VMOVUPS X1, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  nloop256

ndone256:
	VZEROUPPER
	RET

// func reduce512(dst *float64, srcs [][]float32, n int, part *[8]float64)
//
// dst[j] = float64(srcs[0][j]) + float64(srcs[1][j]) + ... in source
// order, and part[j%8] += dst[j]² (fused), for j < n (a multiple of 8).
TEXT ·reduce512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ srcs_base+8(FP), R8
	MOVQ srcs_len+16(FP), R9
	MOVQ n+32(FP), CX
	MOVQ part+40(FP), R10
	VMOVUPD (R10), Z2
	SHRQ $3, CX
	JZ   rdone512
	XORQ AX, AX              // byte offset into the float32 sources

rloop512:
	MOVQ (R8), SI
	VCVTPS2PD (SI)(AX*1), Z0
	MOVQ $1, DX

rsrc512:
	CMPQ DX, R9
	JGE  rsum512
	LEAQ (DX)(DX*2), R11
	MOVQ (R8)(R11*8), SI     // srcs[DX]'s data (24-byte slice headers)
	VCVTPS2PD (SI)(AX*1), Z1
	VADDPD Z1, Z0, Z0
	INCQ DX
	JMP  rsrc512

rsum512:
	VMOVUPD Z0, (DI)
	VFMADD231PD Z0, Z0, Z2
	ADDQ $32, AX
	ADDQ $64, DI
	DECQ CX
	JNZ  rloop512

rdone512:
	VMOVUPD Z2, (R10)
	VZEROUPPER
	RET

// func reduce256(dst *float64, srcs [][]float32, n int, part *[8]float64)
TEXT ·reduce256(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ srcs_base+8(FP), R8
	MOVQ srcs_len+16(FP), R9
	MOVQ n+32(FP), CX
	MOVQ part+40(FP), R10
	VMOVUPD (R10), Y2
	VMOVUPD 32(R10), Y3
	SHRQ $3, CX
	JZ   rdone256
	XORQ AX, AX

rloop256:
	MOVQ (R8), SI
	VCVTPS2PD (SI)(AX*1), Y0
	VCVTPS2PD 16(SI)(AX*1), Y1
	MOVQ $1, DX

rsrc256:
	CMPQ DX, R9
	JGE  rsum256
	LEAQ (DX)(DX*2), R11
	MOVQ (R8)(R11*8), SI
	VCVTPS2PD (SI)(AX*1), Y4
	VADDPD Y4, Y0, Y0
	VCVTPS2PD 16(SI)(AX*1), Y5
	VADDPD Y5, Y1, Y1
	INCQ DX
	JMP  rsrc256

rsum256:
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VFMADD231PD Y0, Y0, Y2
	VFMADD231PD Y1, Y1, Y3
	ADDQ $32, AX
	ADDQ $64, DI
	DECQ CX
	JNZ  rloop256

rdone256:
	VMOVUPD Y2, (R10)
	VMOVUPD Y3, 32(R10)
	VZEROUPPER
	RET
