/* Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR), SHLD and
 * SHRD (Intel SDM Vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD",
 * "SHRD"). Flags the manuals leave undefined (OF for counts above 1, AF) and
 * the undefined 16-bit SHLD/SHRD results follow the modelled vendor
 * (SQ_SHIFT_OF_FROM_RESULT, vendor.c): checked against the host in
 * test_soft_alu and against written-down values in test_soft_vendor. */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vendor.h"

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

static void set_cf_of(struct soft_cpu *cpu, u64 f, bool cf, bool of)
{
	f &= ~(CF | OF);
	f |= (cf ? CF : 0) | (of ? OF : 0);
	soft_flags_set_arith(cpu, f);
}

/* AMD's OF for any count: what a one-bit move would give, read off the
 * result (left: MSB ^ CF; right: the top two bits). */
static bool of_from_result(bool left, unsigned bits, u64 res, bool cf)
{
	return left ? bit(res, bits - 1) ^ cf : bit(res, bits - 1) ^ bit(res, bits - 2);
}

/* Rotate flags: CF and OF, the rest kept. Intel computes OF from the
 * operand as for a one-bit rotate (intel_of); AMD from the result. */
static void rot_flags(struct soft_cpu *cpu, u64 f, bool left, unsigned bits, u64 res, bool cf,
		      bool intel_of)
{
	bool of = soft_quirk(cpu, SQ_SHIFT_OF_FROM_RESULT) ? of_from_result(left, bits, res, cf)
							   : intel_of;
	set_cf_of(cpu, f, cf, of);
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
		rot_flags(cpu, soft_flags_get(cpu), true, bits, res, res & 1,
			  bit(val, bits - 1) ^ bit(val, bits - 2));
		return res;
	case 1: /* ROR */
		c = count & (bits - 1);
		res = c ? ((val >> c) | (val << (bits - c))) & m : val;
		rot_flags(cpu, soft_flags_get(cpu), false, bits, res, bit(res, bits - 1),
			  bit(val, 0) ^ bit(val, bits - 1));
		return res;
	case 2: /* RCL */
		f = soft_flags_get(cpu);
		cf = f & CF;
		c = size < 4 ? count % (bits + 1) : count;
		if (!c && !soft_quirk(cpu, SQ_SHIFT_OF_FROM_RESULT))
			return val; /* Intel leaves every flag alone; AMD still sets OF */
		res = rcl(val, bits, c, &cf);
		rot_flags(cpu, f, true, bits, res, cf, bit(val, bits - 1) ^ bit(val, bits - 2));
		return res;
	case 3: /* RCR */
		f = soft_flags_get(cpu);
		cf = f & CF;
		c = size < 4 ? count % (bits + 1) : count;
		if (!c && !soft_quirk(cpu, SQ_SHIFT_OF_FROM_RESULT))
			return val;
		res = rcr(val, bits, c, &cf);
		rot_flags(cpu, f, false, bits, res, cf, bit(val, bits - 1) ^ !!(f & CF));
		return res;
	default: /* SHL SHR SAL SAR */
		return soft_shift_sh(cpu, op, size, val, count);
	}
}

u64 soft_shxd(struct soft_cpu *cpu, bool left, unsigned size, u64 dst, u64 src, unsigned count)
{
	unsigned bits = size * 8;
	u64 m = soft_size_mask(size), res, af = 0;
	bool cf, of, amd = soft_quirk(cpu, SQ_SHIFT_OF_FROM_RESULT);

	dst &= m;
	src &= m;
	if (!count)
		return dst;
	if (size == 2 && count > 16 && amd) {
		/* Undefined result; AMD rotates the source by count - 16, CF = 0. */
		unsigned k = count - 16;
		res = (left ? (src << k) | (src >> (16 - k)) : (src >> k) | (src << (16 - k))) & m;
		cf = false;
	} else if (size == 2 && count > 16) {
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
	if (amd) {
		/* A 16-bit SHLD by 16 or more takes OF = CF (0 above 16). */
		of = left && size == 2 && count >= 16 ? cf : of_from_result(left, bits, res, cf);
		af = X86_RFLAGS_AF;
	} else {
		/* OF as for a one-bit shift, whatever the count (as Intel does). */
		of = left ? bit(dst, bits - 1) ^ bit(dst, bits - 2)
			  : bit(dst, bits - 1) ^ (src & 1);
	}
	soft_lazy_set(cpu, SOFT_LAZY_SHIFT, size, 0, (cf ? CF : 0) | (of ? OF : 0) | af, res);
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
