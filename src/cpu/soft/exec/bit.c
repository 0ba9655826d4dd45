/* Bit instructions: BT BTS BTR BTC (register and immediate offsets), BSF,
 * BSR, TZCNT, LZCNT, POPCNT (Intel SDM Vol. 2A/2B). */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vendor.h"

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

/* CF = the bit; the other arithmetic flags are left as they were, as Intel
 * processors do (the SDM calls OF/SF/AF/PF undefined). */
static void bt_flags(struct soft_cpu *cpu, bool cf)
{
	u64 f = soft_flags_get(cpu) & ~X86_RFLAGS_CF;

	soft_flags_set_arith(cpu, f | (cf ? X86_RFLAGS_CF : 0));
}

static u64 bt_apply(u64 v, unsigned bitno, unsigned op)
{
	u64 b = 1ULL << bitno;

	switch (op) {
	case BT_SET:
		return v | b;
	case BT_RESET:
		return v & ~b;
	case BT_COMPLEMENT:
		return v ^ b;
	default:
		return v;
	}
}

static u64 bt_locked_fn(struct soft_cpu *cpu, u64 old, u64 bitno, unsigned size, unsigned op)
{
	(void)cpu;
	(void)size;
	return bt_apply(old, (unsigned)bitno, op);
}

static void bt_common(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op, u64 offset,
		      bool reg_offset)
{
	unsigned size = in->size, bits = size * 8, bitno;
	struct soft_insn mi;
	struct soft_rmw r;
	u64 v;

	if (!in->mem) {
		bitno = (unsigned)(offset & (bits - 1));
		v = soft_reg_get(cpu, in->rm, size, in->rex);
		bt_flags(cpu, (v >> bitno) & 1);
		if (op != BT_TEST)
			soft_reg_set(cpu, in->rm, size, in->rex, bt_apply(v, bitno, op));
		return;
	}
	mi = *in;
	if (reg_offset) {
		/* The register offset is signed and may reach outside the operand
		 * (SDM Vol. 2A "BT": bit base addressing). */
		s64 so = soft_sext(offset, size);
		mi.disp += (so >> (size == 2 ? 4 : size == 4 ? 5 : 6)) * (s64)size;
		bitno = (unsigned)(so & (bits - 1));
	} else {
		bitno = (unsigned)(offset & (bits - 1));
	}
	if (op == BT_TEST) {
		v = soft_rm_read(cpu, &mi, size);
		bt_flags(cpu, (v >> bitno) & 1);
		return;
	}
	if (in->lock) {
		v = soft_locked_rmw(cpu, &mi, size, bt_locked_fn, bitno, op);
		bt_flags(cpu, (v >> bitno) & 1);
		return;
	}
	v = soft_rmw_begin(cpu, &mi, size, &r);
	soft_rmw_end(cpu, &mi, size, &r, bt_apply(v, bitno, op));
	bt_flags(cpu, (v >> bitno) & 1);
}

/* 0F A3 BT, 0F AB BTS, 0F B3 BTR, 0F BB BTC: Ev, Gv. */
void soft_op_bt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bt_common(cpu, in, (in->opcode >> 3) & 3, soft_greg_read(cpu, in, in->size), true);
}

/* 0F BA /4../7: Ev, imm8. */
void soft_op_bt_imm(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bt_common(cpu, in, ((in->modrm >> 3) & 7) - 4, in->imm, false);
}

/* kind: 0 BSF, 1 BSR, 2 TZCNT, 3 LZCNT, 4 POPCNT. Returns the value to
 * write to the destination (dst when BSF/BSR leave it unchanged) and sets
 * the flags. */
u64 soft_bitscan(struct soft_cpu *cpu, unsigned kind, unsigned size, u64 src, u64 dst)
{
	unsigned bits = size * 8;
	u64 f, res;

	src &= soft_size_mask(size);
	/* Undefined flags as both vendors leave them: BSF/BSR clear CF, OF, SF
	 * and AF and set PF from the result (1 for a zero source); TZCNT/LZCNT
	 * clear all but CF and ZF, except that AMD keeps OF (SQ_XZCNT_KEEPS_OF).
	 * Checked against the host in test_soft_alu. */
	switch (kind) {
	case 0:
	case 1:
		if (!src) {
			soft_flags_set_arith(cpu, X86_RFLAGS_ZF | X86_RFLAGS_PF);
			return dst;
		}
		res = kind == 0 ? (u64)__builtin_ctzll(src) : (u64)(63 - __builtin_clzll(src));
		f = soft_flags_szp(res, 1) & X86_RFLAGS_PF;
		soft_flags_set_arith(cpu, f);
		return res;
	case 2:
		res = src ? (u64)__builtin_ctzll(src) : bits;
		break;
	case 3:
		res = src ? (u64)(__builtin_clzll(src) - (64 - bits)) : bits;
		break;
	default:
		res = (u64)__builtin_popcountll(src);
		soft_flags_set_arith(cpu, src ? 0 : X86_RFLAGS_ZF);
		return res;
	}
	f = (src ? 0 : X86_RFLAGS_CF) | (res ? 0 : X86_RFLAGS_ZF);
	if (soft_quirk(cpu, SQ_XZCNT_KEEPS_OF))
		f |= soft_flags_get(cpu) & X86_RFLAGS_OF;
	soft_flags_set_arith(cpu, f);
	return res;
}

/* Whether F3 0F BC/BD count: TZCNT needs BMI1 (CPUID.(EAX=7,ECX=0):EBX[3]),
 * LZCNT needs CPUID.80000001H:ECX[5]. A CPU that does not announce them
 * ignores the prefix and runs BSF/BSR (SDM Vol. 2B "TZCNT", "LZCNT"; APM
 * Vol. 3 same). Asked of soft_cpuid itself at reset, so what the guest is
 * told and what it gets cannot part. */
void soft_bitscan_reset(struct soft_cpu *cpu)
{
	u32 r[4];

	cpu->f3_bitscan = 0;
	soft_cpuid(cpu, 7, 0, r);
	if (r[1] & (1u << 3))
		cpu->f3_bitscan |= 1;
	soft_cpuid(cpu, 0x80000001, 0, r);
	if (r[2] & (1u << 5))
		cpu->f3_bitscan |= 2;
}

/* 0F BC/BD: BSF/BSR; with F3, TZCNT/LZCNT where CPUID announces them. */
void soft_op_bsf_bsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size, kind = in->opcode & 1;
	u64 src = soft_rm_read(cpu, in, size);
	u64 dst = soft_greg_read(cpu, in, size);

	if (in->rep == 0xf3 && (cpu->f3_bitscan & (1u << kind)))
		kind += 2;
	if (kind < 2 && !(src & soft_size_mask(size))) {
		soft_bitscan(cpu, kind, size, src, dst);
		return; /* destination untouched, even its upper half */
	}
	soft_greg_write(cpu, in, size, soft_bitscan(cpu, kind, size, src, dst));
}

/* F3 0F B8: POPCNT (without F3 it is JMPE: #UD). */
void soft_op_popcnt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;

	if (in->rep != 0xf3)
		soft_insn_ud(cpu, in);
	soft_greg_write(cpu, in, size, soft_bitscan(cpu, 4, size, soft_rm_read(cpu, in, size), 0));
}
