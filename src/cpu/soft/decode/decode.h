/* A decoded x86 instruction, as the decoder produces it and the instruction
 * groups consume it. Decoded forms may be cached, so nothing here depends on
 * register values: the effective address is computed at execution time by
 * soft_insn_ea(). */
#ifndef POPEK_SOFT_DECODE_H
#define POPEK_SOFT_DECODE_H

#include "popek/types.h"

struct soft_cpu;

enum soft_opmap { SOFT_MAP_1B = 0, SOFT_MAP_0F = 1, SOFT_MAP_0F38 = 2, SOFT_MAP_0F3A = 3 };

struct soft_insn {
	u8 len;          /* total length in bytes (1..15) */
	u8 map;          /* enum soft_opmap */
	u8 opcode;
	u8 rep;          /* 0, 0xF2 or 0xF3: the last of those prefixes */
	bool p66;        /* operand-size prefix present (also SSE mandatory prefix) */
	bool lock;
	u8 rex;          /* the REX byte, or 0 */
	u8 opsize;       /* effective operand size: 2, 4 or 8 bytes */
	u8 addrsize;     /* effective address size: 2, 4 or 8 bytes */
	s8 seg;          /* segment of the memory operand (enum x86_segreg) */

	bool has_modrm;
	u8 modrm;
	u8 mod;          /* ModRM.mod (0-3) */
	u8 reg;          /* ModRM.reg with REX.R applied (0-15) */
	u8 rm;           /* ModRM.rm with REX.B applied when mod == 3 (register) */
	bool mem;        /* the ModRM operand is memory */

	/* Memory operand: ea = base + index * scale + disp (+ next RIP if rip_rel),
	 * truncated to addrsize. base/index are GPR numbers or -1. */
	s8 base, index;
	u8 scale;        /* 1, 2, 4, 8 */
	bool rip_rel;
	s64 disp;

	u64 imm;         /* first immediate (sign- or zero-extended per opcode) */
	u64 imm2;        /* second immediate (ENTER, far pointers' selector) */
	u8 imm_size;

	/* Added by the interpreter lead (decode.c / interp.c). */
	u8 size;         /* size of the main operand: 1 for byte forms, else opsize */
	bool seg_override; /* a segment prefix chose seg (string insns' source) */
	bool ends_block; /* set by soft_insn_bind(): an unconditional control transfer */
	/* The handler, set by soft_insn_bind() (interp.c) after decoding, so that
	 * a cached decoded instruction dispatches with one indirect call. */
	void (*exec)(struct soft_cpu *cpu, const struct soft_insn *in);
};

/* Effective offset of in's memory operand (before segmentation). */
u64 soft_insn_ea(const struct soft_cpu *cpu, const struct soft_insn *in);

/* Decodes one instruction from bytes[0..avail) for a CPU whose default
 * code size is code_size (2, 4, 8). Returns 0, or -1 when the bytes are not
 * a valid instruction (#UD), -2 when more than avail bytes are needed, or
 * SOFT_DECODE_TOO_LONG when it would be longer than 15 bytes (#GP(0),
 * Intel SDM Vol. 2A 2.3.11). Never reads past bytes[avail - 1]. */
#define SOFT_DECODE_TOO_LONG (-3)
int soft_decode(const u8 *bytes, unsigned avail, unsigned code_size, struct soft_insn *out);

/* Attribute bits of an opcode in the decoder tables (decode_tables.c). */
enum {
	SOFT_IMM_NONE = 0,
	SOFT_IMM_B,      /* imm8, sign-extended */
	SOFT_IMM_UB,     /* imm8, zero-extended */
	SOFT_IMM_W,      /* imm16, zero-extended */
	SOFT_IMM_Z,      /* imm16/imm32 by operand size, sign-extended */
	SOFT_IMM_V,      /* imm16/32/64 by operand size (MOV r, imm) */
	SOFT_IMM_REL8,   /* rel8, sign-extended */
	SOFT_IMM_RELZ,   /* rel16/rel32, sign-extended */
	SOFT_IMM_ENTER,  /* imm16 (imm), imm8 (imm2) */
	SOFT_IMM_FAR,    /* offset16/32 (imm), selector16 (imm2) */
	SOFT_IMM_MOFFS,  /* offset of address size (imm) */
	SOFT_IMM_GRP3,   /* F6/F7: imm of the operand size only for /0 and /1 */
	SOFT_IMM_MASK = 0xf,
	SOFT_D_MODRM = 1 << 4,
	SOFT_D_BYTE = 1 << 5,  /* byte operand */
	SOFT_D_D64 = 1 << 6,   /* 64-bit default operand size in 64-bit mode */
	SOFT_D_F64 = 1 << 7,   /* 64-bit operand size forced in 64-bit mode */
	SOFT_D_I64 = 1 << 8,   /* invalid in 64-bit mode */
	SOFT_D_UD = 1 << 9,    /* undefined opcode */
	SOFT_D_LOCK = 1 << 10, /* LOCK allowed with a memory destination */
	SOFT_D_GROUP = 1 << 11, /* attributes depend on ModRM.reg: see decode.c */
	SOFT_D_MEM = 1 << 12,  /* ModRM must name memory (mod != 3) */
	SOFT_D_CRDR = 1 << 13, /* MOV CR/DR: ModRM.mod is ignored, always a register */
};
extern const u16 soft_decode_1b[256];
extern const u16 soft_decode_0f[256];

#endif
