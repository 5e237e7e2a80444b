#include "textflag.h"

// Constants of tanhAVX2, in the order of tanh in tanh.go.
DATA tanhconst<>+0(SB)/8, $0x7fffffffffffffff // absmask
DATA tanhconst<>+8(SB)/8, $0x8000000000000000 // signmask
DATA tanhconst<>+16(SB)/8, $0x4036000000000000 // clampmax
DATA tanhconst<>+24(SB)/8, $0xc000000000000000 // minustwo
DATA tanhconst<>+32(SB)/8, $0x3ff71547652b82fe // log2e
DATA tanhconst<>+40(SB)/8, $0x4338000000000000 // shifter
DATA tanhconst<>+48(SB)/8, $0x3fe62e42fee00000 // ln2hi
DATA tanhconst<>+56(SB)/8, $0x3dea39ef35793c76 // ln2lo
DATA tanhconst<>+64(SB)/8, $0x3e21eed8eff8d898 // c12
DATA tanhconst<>+72(SB)/8, $0x3e5ae64567f544e4 // c11
DATA tanhconst<>+80(SB)/8, $0x3e927e4fb7789f5c // c10
DATA tanhconst<>+88(SB)/8, $0x3ec71de3a556c734 // c9
DATA tanhconst<>+96(SB)/8, $0x3efa01a01a01a01a // c8
DATA tanhconst<>+104(SB)/8, $0x3f2a01a01a01a01a // c7
DATA tanhconst<>+112(SB)/8, $0x3f56c16c16c16c17 // c6
DATA tanhconst<>+120(SB)/8, $0x3f81111111111111 // c5
DATA tanhconst<>+128(SB)/8, $0x3fa5555555555555 // c4
DATA tanhconst<>+136(SB)/8, $0x3fc5555555555555 // c3
DATA tanhconst<>+144(SB)/8, $0x3fe0000000000000 // c2
DATA tanhconst<>+152(SB)/8, $0x3ff0000000000000 // one
DATA tanhconst<>+160(SB)/8, $0xbcc80000000003ff // expbias
GLOBL tanhconst<>(SB), RODATA|NOPTR, $168

// func tanhAVX2(x *float64, n int)
//
// x[i] = tanh(x[i]) for i < n (n a multiple of 4), computing exactly the
// operations of the scalar tanh in tanh.go in the same order, so results
// are bitwise identical.
TEXT ·tanhAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $2, CX
	JZ   done
	LEAQ tanhconst<>(SB), R8
	VBROADCASTSD 0(R8), Y10
	VBROADCASTSD 16(R8), Y11
	VBROADCASTSD 24(R8), Y12
	VBROADCASTSD 40(R8), Y13
	VBROADCASTSD 152(R8), Y14
	VBROADCASTSD 8(R8), Y15

loop:
	VMOVUPD (SI), Y0
	VANDPD  Y10, Y0, Y1
	VMINPD  Y11, Y1, Y1
	VMULPD  Y12, Y1, Y1
	VMOVAPD Y13, Y3
	VBROADCASTSD 32(R8), Y2
	VFMADD231PD Y2, Y1, Y3
	VSUBPD  Y13, Y3, Y4
	VMOVAPD Y1, Y5
	VBROADCASTSD 48(R8), Y2
	VFNMADD231PD Y2, Y4, Y5
	VBROADCASTSD 56(R8), Y2
	VFNMADD231PD Y2, Y4, Y5
	VBROADCASTSD 64(R8), Y6
	VBROADCASTSD 72(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 80(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 88(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 96(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 104(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 112(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 120(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 128(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 136(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VBROADCASTSD 144(R8), Y2
	VFMADD213PD Y2, Y5, Y6
	VFMADD213PD Y14, Y5, Y6
	VFMADD213PD Y14, Y5, Y6
	VBROADCASTSD 160(R8), Y2
	VPADDQ  Y2, Y3, Y3
	VPSLLQ  $52, Y3, Y3
	VMULPD  Y3, Y6, Y6
	VSUBPD  Y6, Y14, Y7
	VADDPD  Y6, Y14, Y8
	VDIVPD  Y8, Y7, Y7
	VANDPD  Y15, Y0, Y2
	VORPD   Y2, Y7, Y7
	VMOVUPD Y7, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET
