/* Multiplication and division: MUL, IMUL (one-, two- and three-operand),
 * DIV, IDIV (Intel SDM Vol. 2A/2B). #DE on a zero divisor or a quotient
 * that does not fit. The flags the manuals leave undefined follow the
 * modelled vendor (vendor.c): Intel sets SF/PF from the low half of the
 * product and clears ZF and AF, and DIV leaves every flag alone; AMD's
 * MUL/IMUL leave SF ZF AF PF alone (SQ_MUL_KEEPS_SZAP) and its DIV/IDIV
 * clear SF ZF PF and set AF (SQ_DIV_SETS_FLAGS). */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vendor.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

static void mul_flags(struct soft_cpu *cpu, unsigned size, u64 lo, bool overflow)
{
	u64 cf_of = overflow ? X86_RFLAGS_CF | X86_RFLAGS_OF : 0;

	if (soft_quirk(cpu, SQ_MUL_KEEPS_SZAP)) {
		u64 f = soft_flags_get(cpu) & ~(X86_RFLAGS_CF | X86_RFLAGS_OF);
		soft_flags_set_arith(cpu, f | cf_of);
		return;
	}
	soft_lazy_set(cpu, SOFT_LAZY_MUL, size, 0, cf_of, lo);
}

/* IMUL r, r/m (, imm): the truncated signed product, CF=OF when it did not fit. */
u64 soft_imul2(struct soft_cpu *cpu, unsigned size, u64 a, u64 b)
{
	s128 p = (s128)soft_sext(a, size) * (s128)soft_sext(b, size);
	u64 lo = (u64)p & soft_size_mask(size);

	mul_flags(cpu, size, lo, (s128)soft_sext(lo, size) != p);
	return lo;
}

/* Group 3 /4../7 on the accumulator: *ax (AX for bytes, else rAX) and *dx
 * (rDX) in and out. Returns false for #DE (registers untouched). */
bool soft_muldiv_core(struct soft_cpu *cpu, unsigned op, unsigned size, u64 *ax, u64 *dx, u64 src)
{
	unsigned bits = size * 8;
	u64 m = soft_size_mask(size), lo, hi;
	u128 dividend;

	src &= m;
	if (size == 1)
		dividend = *ax & 0xffff;
	else
		dividend = ((u128)(*dx & m) << bits) | (*ax & m);
	switch (op) {
	case 4: { /* MUL */
		u128 p = (u128)(*ax & m) * src;
		lo = (u64)p & m;
		hi = (u64)(p >> bits) & m;
		mul_flags(cpu, size, lo, hi != 0);
		break;
	}
	case 5: { /* IMUL */
		s128 p = (s128)soft_sext(*ax, size) * (s128)soft_sext(src, size);
		lo = (u64)p & m;
		hi = (u64)((u128)p >> bits) & m;
		mul_flags(cpu, size, lo, (s128)soft_sext(lo, size) != p);
		break;
	}
	case 6: { /* DIV */
		u128 q;
		if (!src)
			return false;
		q = dividend / src;
		if (q > m)
			return false;
		lo = (u64)q;
		hi = (u64)(dividend % src);
		break;
	}
	default: { /* IDIV */
		s128 n = size == 8 ? (s128)dividend : (s128)soft_sext((u64)dividend, size * 2);
		s128 d = soft_sext(src, size), q;
		s64 qmax = (s64)(m >> 1), qmin = -qmax - 1;
		if (!d)
			return false;
		if (size == 8 && n == (s128)((u128)1 << 127) && d == -1)
			return false;
		q = n / d;
		if (q > qmax || q < qmin)
			return false;
		lo = (u64)q & m;
		hi = (u64)(n % d) & m;
		break;
	}
	}
	if (op >= 6 && soft_quirk(cpu, SQ_DIV_SETS_FLAGS)) {
		u64 f = soft_flags_get(cpu) & (X86_RFLAGS_CF | X86_RFLAGS_OF);
		soft_flags_set_arith(cpu, f | X86_RFLAGS_AF);
	}
	if (size == 1) {
		*ax = (lo & 0xff) | (hi & 0xff) << 8;
	} else {
		*ax = lo;
		*dx = hi;
	}
	return true;
}

void soft_muldiv(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
	unsigned size = in->size;
	u64 src = soft_rm_read(cpu, in, size);
	u64 ax = cpu->gpr[X86_RAX], dx = cpu->gpr[X86_RDX];

	if (!soft_muldiv_core(cpu, op, size, &ax, &dx, src))
		soft_raise_noerr(cpu, EXC_DE);
	if (size == 1) {
		soft_reg_set(cpu, X86_RAX, 2, true, ax);
	} else {
		soft_reg_set(cpu, X86_RAX, size, true, ax);
		soft_reg_set(cpu, X86_RDX, size, true, dx);
	}
}

/* 0F AF: IMUL Gv, Ev. */
void soft_op_imul_reg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 b = soft_rm_read(cpu, in, size);

	soft_greg_write(cpu, in, size, soft_imul2(cpu, size, soft_greg_read(cpu, in, size), b));
}

/* 69/6B: IMUL Gv, Ev, imm. */
void soft_op_imul_imm(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 a = soft_rm_read(cpu, in, size);

	soft_greg_write(cpu, in, size, soft_imul2(cpu, size, a, in->imm));
}
