/* Decoder attribute tables for the one-byte and 0F opcode maps
 * (Intel SDM Vol. 2D, Appendix A.3, "One, Two and Three-Byte Opcode Maps"). */
#include "cpu/soft/decode/decode.h"

/* One opcode row per line reads best here. */
/* clang-format off */
#define M SOFT_D_MODRM
#define B SOFT_D_BYTE
#define LK SOFT_D_LOCK
#define D64 SOFT_D_D64
#define F64 SOFT_D_F64
#define I64 SOFT_D_I64
#define UD SOFT_D_UD
#define G SOFT_D_GROUP
#define MEM SOFT_D_MEM
#define IB SOFT_IMM_B
#define IUB SOFT_IMM_UB
#define IW SOFT_IMM_W
#define IZ SOFT_IMM_Z
#define IV SOFT_IMM_V

/* The eight classic ALU rows: Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / rAX,Iz. */
#define ALU_ROW(o, lk) [o] = M | B | (lk), [o + 1] = M | (lk), [o + 2] = M | B, [o + 3] = M, \
		       [o + 4] = B | IB, [o + 5] = IZ

const u16 soft_decode_1b[256] = {
	ALU_ROW(0x00, LK), /* ADD */
	ALU_ROW(0x08, LK), /* OR */
	ALU_ROW(0x10, LK), /* ADC */
	ALU_ROW(0x18, LK), /* SBB */
	ALU_ROW(0x20, LK), /* AND */
	ALU_ROW(0x28, LK), /* SUB */
	ALU_ROW(0x30, LK), /* XOR */
	ALU_ROW(0x38, 0),  /* CMP */
	[0x06] = I64, [0x07] = I64, [0x0e] = I64, [0x16] = I64, [0x17] = I64,
	[0x1e] = I64, [0x1f] = I64,
	[0x27] = I64, [0x2f] = I64, [0x37] = I64, [0x3f] = I64, /* DAA DAS AAA AAS */
	[0x40 ... 0x4f] = 0,                                    /* INC/DEC r (REX in 64-bit) */
	[0x50 ... 0x5f] = D64,                                  /* PUSH/POP r */
	[0x60] = I64, [0x61] = I64,                             /* PUSHA POPA */
	[0x62] = M | I64 | MEM,                                 /* BOUND (EVEX when mod=3) */
	[0x63] = M,                                             /* ARPL / MOVSXD */
	[0x68] = D64 | IZ, [0x69] = M | IZ, [0x6a] = D64 | IB, [0x6b] = M | IB,
	[0x6c] = B, [0x6e] = B,                                 /* INS OUTS */
	[0x70 ... 0x7f] = F64 | SOFT_IMM_REL8,                  /* Jcc rel8 */
	[0x80] = M | B | IB | G, [0x81] = M | IZ | G, [0x82] = M | B | IB | G | I64,
	[0x83] = M | IB | G,
	[0x84] = M | B, [0x85] = M, [0x86] = M | B | LK, [0x87] = M | LK,
	[0x88] = M | B, [0x89] = M, [0x8a] = M | B, [0x8b] = M,
	[0x8c] = M, [0x8d] = M | MEM, [0x8e] = M, [0x8f] = M | D64 | G,
	[0x9a] = I64 | SOFT_IMM_FAR, [0x9c] = D64, [0x9d] = D64,
	[0xa0] = B | SOFT_IMM_MOFFS, [0xa1] = SOFT_IMM_MOFFS, [0xa2] = B | SOFT_IMM_MOFFS,
	[0xa3] = SOFT_IMM_MOFFS,
	[0xa4] = B, [0xa6] = B, [0xa8] = B | IB, [0xa9] = IZ, [0xaa] = B, [0xac] = B, [0xae] = B,
	[0xb0 ... 0xb7] = B | IB, [0xb8 ... 0xbf] = IV,
	[0xc0] = M | B | IUB, [0xc1] = M | IUB,
	[0xc2] = F64 | IW, [0xc3] = F64,
	[0xc4] = M | I64 | MEM, [0xc5] = M | I64 | MEM,         /* LES LDS (VEX otherwise) */
	[0xc6] = M | B | IB | G, [0xc7] = M | IZ | G,
	[0xc8] = D64 | SOFT_IMM_ENTER, [0xc9] = D64, [0xca] = IW, [0xcd] = IUB, [0xce] = I64,
	[0xd0] = M | B, [0xd1] = M, [0xd2] = M | B, [0xd3] = M,
	[0xd4] = I64 | IUB, [0xd5] = I64 | IUB, [0xd6] = I64,   /* AAM AAD SALC */
	[0xd8 ... 0xdf] = M,                                    /* x87 */
	[0xe0 ... 0xe3] = F64 | SOFT_IMM_REL8,                  /* LOOPcc JrCXZ */
	[0xe4] = B | IUB, [0xe5] = IUB, [0xe6] = B | IUB, [0xe7] = IUB,
	[0xe8] = F64 | SOFT_IMM_RELZ, [0xe9] = F64 | SOFT_IMM_RELZ,
	[0xea] = I64 | SOFT_IMM_FAR, [0xeb] = F64 | SOFT_IMM_REL8,
	[0xec] = B, [0xee] = B,
	[0xf6] = M | B | SOFT_IMM_GRP3 | G, [0xf7] = M | SOFT_IMM_GRP3 | G,
	[0xfe] = M | B | G, [0xff] = M | G,
};

const u16 soft_decode_0f[256] = {
	[0x00] = M | G, [0x01] = M | G, [0x02] = M, [0x03] = M,
	[0x04] = UD, [0x0a] = UD, [0x0c] = UD, [0x0d] = M, [0x0e] = UD, [0x0f] = UD,
	[0x10 ... 0x17] = M,                                    /* SSE moves */
	[0x18 ... 0x1f] = M,                                    /* prefetch, hint NOPs */
	[0x20 ... 0x23] = M | F64 | SOFT_D_CRDR,                /* MOV CR/DR */
	[0x24 ... 0x27] = UD,
	[0x28 ... 0x2f] = M,
	[0x36] = UD, [0x37] = UD, [0x39] = UD, [0x3b ... 0x3f] = UD,
	[0x40 ... 0x4f] = M,                                    /* CMOVcc */
	[0x50 ... 0x6f] = M,
	[0x70 ... 0x73] = M | IUB,
	[0x74 ... 0x76] = M,
	[0x78 ... 0x7b] = UD,                                   /* VMREAD VMWRITE: no VMX */
	[0x7c ... 0x7f] = M,
	[0x80 ... 0x8f] = F64 | SOFT_IMM_RELZ,                  /* Jcc rel16/32 */
	[0x90 ... 0x9f] = M | B,                                /* SETcc */
	[0xa0] = D64, [0xa1] = D64, [0xa3] = M, [0xa4] = M | IUB, [0xa5] = M,
	[0xa6] = UD, [0xa7] = UD,
	[0xa8] = D64, [0xa9] = D64, [0xab] = M | LK, [0xac] = M | IUB, [0xad] = M,
	[0xae] = M | G, [0xaf] = M,
	[0xb0] = M | B | LK, [0xb1] = M | LK, [0xb2] = M | MEM, [0xb3] = M | LK,
	[0xb4] = M | MEM, [0xb5] = M | MEM, [0xb6] = M, [0xb7] = M,
	[0xb8] = M, [0xb9] = M, [0xba] = M | IUB | G, [0xbb] = M | LK,
	[0xbc ... 0xbf] = M,
	[0xc0] = M | B | LK, [0xc1] = M | LK, [0xc2] = M | IUB, [0xc3] = M | MEM,
	[0xc4 ... 0xc6] = M | IUB, [0xc7] = M | G,
	[0xd0 ... 0xff] = M,
};
/* clang-format on */
