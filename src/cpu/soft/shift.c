/* Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR), SHLD and
 * SHRD (Intel SDM Vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD",
 * "SHRD"). Flags the SDM leaves undefined (OF for counts above 1, AF) follow
 * what Intel processors do, checked against the host in test_soft_alu. */
#include "cpu/soft/interp.h"

#define CF X86_RFLAGS_CF
#define OF X86_RFLAGS_OF

static u64 bit(u64 v, unsigned n)
{
	return (v >> n) & 1;
}

/* Rotates through CF by count (1..bits) places. */
static u64 rcl(u64 v, unsigned bits, unsigned count, bool *cf)
{
	for (unsigned i = 0; i < count; i++) {
		bool out = bit(v, bits - 1);
		v = (v << 1) | *cf;
		*cf = out;
	}
	return v & soft_size_mask(bits / 8);
}

static u64 rcr(u64 v, unsigned bits, unsigned count, bool *cf)
{
	for (unsigned i = 0; i < count; i++) {
		bool out = v & 1;
		v = (v >> 1) | ((u64)*cf << (bits - 1));
		*cf = out;
	}
	return v;
}

/* SHL/SHR/SAR/SHLD/SHRD: lazy flags from the result, CF and OF. */
static void shift_flags(struct soft_cpu *cpu, unsigned size, u64 res, bool cf, bool of)
{
	soft_lazy_set(cpu, SOFT_LAZY_SHIFT, size, 0, (cf ? CF : 0) | (of ? OF : 0), res);
}

static void set_cf_of(struct soft_cpu *cpu, u64 f, bool cf, bool of)
{
	f &= ~(CF | OF);
	f |= (cf ? CF : 0) | (of ? OF : 0);
	soft_flags_set_arith(cpu, f);
}

u64 soft_shift(struct soft_cpu *cpu, unsigned op, unsigned size, u64 val, unsigned count)
{
	unsigned bits = size * 8, c;
	u64 m = soft_size_mask(size), res, f;
	bool cf;

	val &= m;
	if (!count)
		return val;
	switch (op) {
	case 0: /* ROL */
		c = count & (bits - 1);
		res = c ? ((val << c) | (val >> (bits - c))) & m : val;
		set_cf_of(cpu, soft_flags_get(cpu), res & 1,
			  bit(val, bits - 1) ^ bit(val, bits - 2));
		return res;
	case 1: /* ROR */
		c = count & (bits - 1);
		res = c ? ((val >> c) | (val << (bits - c))) & m : val;
		set_cf_of(cpu, soft_flags_get(cpu), bit(res, bits - 1),
			  bit(val, 0) ^ bit(val, bits - 1));
		return res;
	case 2: /* RCL */
		f = soft_flags_get(cpu);
		cf = f & CF;
		c = size < 4 ? count % (bits + 1) : count;
		if (!c)
			return val; /* hardware leaves every flag alone */
		res = rcl(val, bits, c, &cf);
		set_cf_of(cpu, f, cf, bit(val, bits - 1) ^ bit(val, bits - 2));
		return res;
	case 3: /* RCR */
		f = soft_flags_get(cpu);
		cf = f & CF;
		c = size < 4 ? count % (bits + 1) : count;
		if (!c)
			return val;
		res = rcr(val, bits, c, &cf);
		set_cf_of(cpu, f, cf, bit(val, bits - 1) ^ !!(f & CF));
		return res;
	default: /* SHL SHR SAL SAR */
		return soft_shift_sh(cpu, op, size, val, count);
	}
}

u64 soft_shxd(struct soft_cpu *cpu, bool left, unsigned size, u64 dst, u64 src, unsigned count)
{
	unsigned bits = size * 8;
	u64 m = soft_size_mask(size), res;
	bool cf, of;

	dst &= m;
	src &= m;
	if (!count)
		return dst;
	if (size == 2 && count > 16) {
		/* Undefined result; Intel shifts the 48-bit dst:src:dst concatenation. */
		u64 wide = (dst << 32) | (src << 16) | dst;
		if (left) {
			res = (wide >> (32 - count)) & m;
			cf = bit(wide, 48 - count);
		} else {
			res = (wide >> count) & m;
			cf = bit(wide, count - 1);
		}
	} else if (left) {
		res = ((dst << count) | (src >> (bits - count))) & m;
		cf = bit(dst, bits - count);
	} else {
		res = ((dst >> count) | (src << (bits - count))) & m;
		cf = bit(dst, count - 1);
	}
	/* OF as for a one-bit shift, whatever the count (as Intel does). */
	of = left ? bit(dst, bits - 1) ^ bit(dst, bits - 2) : bit(dst, bits - 1) ^ (src & 1);
	shift_flags(cpu, size, res, cf, of);
	return res;
}

static unsigned shift_count(const struct soft_insn *in, u64 raw)
{
	return (unsigned)(raw & (in->size == 8 ? 0x3f : 0x1f));
}

/* C0/C1 (imm8), D0/D1 (1), D2/D3 (CL). */
void soft_op_grp2(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned op = (in->modrm >> 3) & 7, size = in->size, count;
	struct soft_rmw r;
	u64 v;

	if (in->opcode <= 0xc1)
		count = shift_count(in, in->imm);
	else if (in->opcode <= 0xd1)
		count = 1;
	else
		count = shift_count(in, cpu->gpr[X86_RCX]);
	/* Count 0 still writes: a 32-bit register is zero-extended (as on hardware). */
	v = soft_rmw_begin(cpu, in, size, &r);
	soft_rmw_end(cpu, in, size, &r, soft_shift(cpu, op, size, v, count));
}

/* 0F A4/A5 SHLD, 0F AC/AD SHRD (imm8 or CL). */
void soft_op_shxd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size, count;
	struct soft_rmw r;
	u64 v, src = soft_greg_read(cpu, in, size);

	count = shift_count(in, (in->opcode & 1) ? cpu->gpr[X86_RCX] : in->imm);
	v = soft_rmw_begin(cpu, in, size, &r);
	soft_rmw_end(cpu, in, size, &r, soft_shxd(cpu, in->opcode < 0xa8, size, v, src, count));
}
