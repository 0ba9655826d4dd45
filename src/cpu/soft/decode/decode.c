/* x86 instruction decoder: prefixes, REX, opcode maps, ModRM/SIB/displacement
 * and immediates, for 16-, 32- and 64-bit code (Intel SDM Vol. 2A ch. 2). */
#include <string.h>

#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"

#define MAX_LEN 15

/* Fetch-window bookkeeping: the instruction would be longer than 15 bytes
 * (#GP), or the caller must supply more bytes. */
#define NEED(n)                                                                                    \
	do {                                                                                       \
		if (pos + (n) > MAX_LEN)                                                           \
			return SOFT_DECODE_TOO_LONG;                                               \
		if (pos + (n) > avail)                                                             \
			return -2;                                                                 \
	} while (0)

static u64 decode_le(const u8 *p, unsigned n)
{
	u64 v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

static s64 decode_sext(u64 v, unsigned n)
{
	unsigned sh = 64 - 8 * n;

	return (s64)(v << sh) >> sh;
}

/* 16-bit ModRM addressing forms (SDM Vol. 2A Table 2-1). */
static const s8 base16[8] = {X86_RBX, X86_RBX, X86_RBP, X86_RBP,
			     X86_RSI, X86_RDI, X86_RBP, X86_RBX};
static const s8 index16[8] = {X86_RSI, X86_RDI, X86_RSI, X86_RDI, -1, -1, -1, -1};

/* Group opcodes whose validity, LOCK-ability or operand size depends on
 * ModRM.reg (SDM Vol. 2D Table A-6). Returns the adjusted attributes or 0
 * when the form is undefined. */
static u16 decode_group(const struct soft_insn *in, u16 attr, unsigned regf)
{
	if (in->map == SOFT_MAP_1B) {
		switch (in->opcode) {
		case 0x80 ... 0x83:
			return regf != 7 ? attr | SOFT_D_LOCK : attr;
		case 0x8f: /* POP Ev; XOP on AMD */
		case 0xc6: /* MOV; XABORT/XBEGIN need RTM, not offered */
		case 0xc7:
			return regf == 0 ? attr : 0;
		case 0xf6:
		case 0xf7:
			return regf == 2 || regf == 3 ? attr | SOFT_D_LOCK : attr;
		case 0xfe:
			return regf < 2 ? attr | SOFT_D_LOCK : 0;
		case 0xff:
			switch (regf) {
			case 0:
			case 1:
				return attr | SOFT_D_LOCK;
			case 2:
			case 4:
				return attr | SOFT_D_F64;
			case 3:
			case 5:
				return attr | SOFT_D_MEM;
			case 6:
				return attr | SOFT_D_D64;
			default:
				return 0;
			}
		}
		return attr;
	}
	switch (in->opcode) {
	case 0x00:
		return regf < 6 ? attr : 0;
	case 0xba:
		if (regf < 4)
			return 0;
		return regf > 4 ? attr | SOFT_D_LOCK : attr;
	case 0xc7:
		return regf == 1 ? attr | SOFT_D_LOCK : attr;
	}
	return attr;
}

/* Decodes ModRM, SIB and displacement at bytes[*ppos]. */
static int decode_modrm(const u8 *bytes, unsigned avail, unsigned *ppos, bool code64, u16 attr,
			struct soft_insn *in)
{
	unsigned pos = *ppos;
	unsigned mod, rmf, dispsz = 0;

	NEED(1);
	in->has_modrm = true;
	in->modrm = bytes[pos++];
	mod = in->modrm >> 6;
	rmf = in->modrm & 7;
	in->mod = (u8)mod;
	in->reg = (u8)(((in->modrm >> 3) & 7) | (in->rex & 4 ? 8 : 0));
	if (mod == 3 || (attr & SOFT_D_CRDR)) {
		in->rm = (u8)(rmf | (in->rex & 1 ? 8 : 0));
		*ppos = pos;
		return 0;
	}
	in->mem = true;
	in->scale = 1;
	if (in->addrsize == 2) {
		in->base = base16[rmf];
		in->index = index16[rmf];
		if (mod == 0 && rmf == 6) {
			in->base = -1;
			dispsz = 2;
		} else {
			dispsz = mod == 1 ? 1 : mod == 2 ? 2 : 0;
		}
		if (in->base == X86_RBP)
			in->seg = X86_SS;
	} else {
		if (rmf == 4) {
			unsigned sib, idx, b;

			NEED(1);
			sib = bytes[pos++];
			in->scale = (u8)(1u << (sib >> 6));
			idx = ((sib >> 3) & 7) | (in->rex & 2 ? 8 : 0);
			in->index = idx == 4 ? -1 : (s8)idx;
			b = sib & 7;
			if (b == 5 && mod == 0) {
				in->base = -1;
				dispsz = 4;
			} else {
				in->base = (s8)(b | (in->rex & 1 ? 8 : 0));
			}
		} else if (rmf == 5 && mod == 0) {
			in->base = -1;
			in->rip_rel = code64;
			dispsz = 4;
		} else {
			in->base = (s8)(rmf | (in->rex & 1 ? 8 : 0));
		}
		if (mod == 1)
			dispsz = 1;
		else if (mod == 2)
			dispsz = 4;
		if (in->base == X86_RSP || in->base == X86_RBP)
			in->seg = X86_SS;
	}
	if (dispsz) {
		NEED(dispsz);
		in->disp = decode_sext(decode_le(bytes + pos, dispsz), dispsz);
		pos += dispsz;
	}
	*ppos = pos;
	return 0;
}

static int decode_imm(const u8 *bytes, unsigned avail, unsigned *ppos, u16 attr, unsigned regf,
		      struct soft_insn *in)
{
	unsigned pos = *ppos, n = 0, n2 = 0;
	bool sext = true;

	switch (attr & SOFT_IMM_MASK) {
	case SOFT_IMM_NONE:
		return 0;
	case SOFT_IMM_B:
	case SOFT_IMM_REL8:
		n = 1;
		break;
	case SOFT_IMM_UB:
		n = 1;
		sext = false;
		break;
	case SOFT_IMM_W:
		n = 2;
		sext = false;
		break;
	case SOFT_IMM_Z:
	case SOFT_IMM_RELZ:
		n = in->opsize == 2 ? 2 : 4;
		break;
	case SOFT_IMM_V:
		n = in->opsize;
		break;
	case SOFT_IMM_ENTER:
		n = 2;
		n2 = 1;
		sext = false;
		break;
	case SOFT_IMM_FAR:
		n = in->opsize == 2 ? 2 : 4;
		n2 = 2;
		sext = false;
		break;
	case SOFT_IMM_MOFFS:
		n = in->addrsize;
		sext = false;
		break;
	case SOFT_IMM_GRP3:
		if (regf >= 2)
			return 0;
		n = in->size == 1 ? 1 : in->opsize == 2 ? 2 : 4;
		break;
	}
	NEED(n + n2);
	in->imm = decode_le(bytes + pos, n);
	if (sext)
		in->imm = (u64)decode_sext(in->imm, n);
	in->imm_size = (u8)n;
	pos += n;
	if (n2) {
		in->imm2 = decode_le(bytes + pos, n2);
		pos += n2;
	}
	*ppos = pos;
	return 0;
}

int soft_decode(const u8 *bytes, unsigned avail, unsigned code_size, struct soft_insn *in)
{
	static const s8 seg_prefix[8] = {X86_ES, X86_CS, X86_SS, X86_DS};
	bool code64 = code_size == 8, p67 = false;
	unsigned pos = 0, regf = 0;
	int segp = -1, err;
	u16 attr;
	u8 op;

	memset(in, 0, sizeof(*in));
	in->seg = X86_DS;
	in->base = -1;
	in->index = -1;
	for (;;) {
		NEED(1);
		op = bytes[pos];
		switch (op) {
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			segp = seg_prefix[(op >> 3) & 3];
			break;
		case 0x64:
			segp = X86_FS;
			break;
		case 0x65:
			segp = X86_GS;
			break;
		case 0x66:
			in->p66 = true;
			break;
		case 0x67:
			p67 = true;
			break;
		case 0xf0:
			in->lock = true;
			break;
		case 0xf2:
		case 0xf3:
			in->rep = op;
			break;
		default:
			if (code64 && (op & 0xf0) == 0x40) {
				in->rex = op;
				pos++;
				continue;
			}
			goto prefixes_done;
		}
		in->rex = 0; /* a REX prefix counts only right before the opcode */
		pos++;
	}
prefixes_done:
	pos++;
	if (op == 0x0f) {
		NEED(1);
		op = bytes[pos++];
		if (op == 0x38 || op == 0x3a) {
			in->map = op == 0x38 ? SOFT_MAP_0F38 : SOFT_MAP_0F3A;
			NEED(1);
			op = bytes[pos++];
			attr = SOFT_D_MODRM | (in->map == SOFT_MAP_0F3A ? SOFT_IMM_UB : 0);
		} else {
			in->map = SOFT_MAP_0F;
			attr = soft_decode_0f[op];
		}
	} else {
		in->map = SOFT_MAP_1B;
		attr = soft_decode_1b[op];
		/* C4/C5/62 with a register ModRM are VEX/EVEX outside 64-bit mode
		 * (and always in it): AVX is not offered, so #UD. */
		if ((op == 0xc4 || op == 0xc5 || op == 0x62) && !code64) {
			NEED(1);
			if ((bytes[pos] >> 6) == 3)
				return -1;
		}
	}
	in->opcode = op;
	if ((attr & SOFT_D_UD) || (code64 && (attr & SOFT_D_I64)))
		return -1;

	if (code64)
		in->addrsize = p67 ? 4 : 8;
	else
		in->addrsize = (u8)(p67 ? code_size ^ 6 : code_size);

	if (attr & SOFT_D_MODRM) {
		err = decode_modrm(bytes, avail, &pos, code64, attr, in);
		if (err)
			return err;
		regf = (in->modrm >> 3) & 7;
		if (attr & SOFT_D_GROUP) {
			attr = decode_group(in, attr, regf);
			if (!attr)
				return -1;
		}
		if ((attr & SOFT_D_MEM) && !in->mem)
			return -1;
	}
	if (in->lock && (!(attr & SOFT_D_LOCK) || !in->mem))
		return -1;

	if (code64) {
		if ((in->rex & 8) || (attr & SOFT_D_F64))
			in->opsize = 8;
		else if (attr & SOFT_D_D64)
			in->opsize = in->p66 ? 2 : 8;
		else
			in->opsize = in->p66 ? 2 : 4;
	} else {
		in->opsize = (u8)(in->p66 ? code_size ^ 6 : code_size);
	}
	in->size = (attr & SOFT_D_BYTE) ? 1 : in->opsize;

	if (segp >= 0 && (!code64 || segp >= X86_FS)) {
		in->seg = (s8)segp;
		in->seg_override = true;
	}

	err = decode_imm(bytes, avail, &pos, attr, regf, in);
	if (err)
		return err;
	in->len = (u8)pos;
	return 0;
}

u64 soft_insn_ea(const struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 ea = (u64)in->disp;

	if (in->base >= 0)
		ea += cpu->gpr[in->base];
	if (in->index >= 0)
		ea += cpu->gpr[in->index] * in->scale;
	if (in->rip_rel)
		ea += cpu->rip; /* the interpreter advances RIP before executing */
	if (in->addrsize == 4)
		ea = (u32)ea;
	else if (in->addrsize == 2)
		ea = (u16)ea;
	return ea;
}
