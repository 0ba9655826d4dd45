/* Lazy arithmetic flags: CF/PF/AF/ZF/SF/OF computed from the last recorded
 * operation only when something reads them (Intel SDM Vol. 1 3.4.3.1 and
 * Appendix A, "EFLAGS Cross-Reference"). */
#include "cpu/soft/exec/exec.h"

u64 soft_flags_szp(u64 res, unsigned size)
{
	u64 f = 0;

	res &= soft_size_mask(size);
	if (!res)
		f |= X86_RFLAGS_ZF;
	if (res & soft_sign_bit(size))
		f |= X86_RFLAGS_SF;
	if (!__builtin_parity((unsigned)(res & 0xff)))
		f |= X86_RFLAGS_PF;
	return f;
}

static u64 lazy_compute(const struct soft_lazy *lz)
{
	if (lz->op == SOFT_LAZY_HOST)
		return ((lz->res >> 8) & SOFT_FLAGS_ARITH & 0xff) | (lz->res & 1 ? X86_RFLAGS_OF : 0);
	u64 sb = soft_sign_bit(lz->size);
	u64 dst = lz->dst, src = lz->src, res = lz->res;
	u64 f = soft_flags_szp(res, lz->size);
	bool cf = false, of = false, af = false;

	switch (lz->op) {
	case SOFT_LAZY_ADD:
	case SOFT_LAZY_ADC:
		cf = lz->op == SOFT_LAZY_ADD ? res < dst : res <= dst;
		of = ((dst ^ res) & (src ^ res)) & sb;
		af = (dst ^ src ^ res) & 0x10;
		break;
	case SOFT_LAZY_SUB:
	case SOFT_LAZY_SBB:
		cf = lz->op == SOFT_LAZY_SUB ? dst < src : dst <= src;
		of = ((dst ^ src) & (dst ^ res)) & sb;
		af = (dst ^ src ^ res) & 0x10;
		break;
	case SOFT_LAZY_LOGIC:
		break;
	case SOFT_LAZY_INC:
		cf = src;
		of = res == sb;
		af = (res & 0xf) == 0;
		break;
	case SOFT_LAZY_DEC:
		cf = src;
		of = res == sb - 1;
		af = (res & 0xf) == 0xf;
		break;
	case SOFT_LAZY_MUL:
		f &= ~X86_RFLAGS_ZF;
		/* fall through */
	case SOFT_LAZY_SHIFT:
		return f | (src & (X86_RFLAGS_CF | X86_RFLAGS_AF | X86_RFLAGS_OF));
	}
	if (cf)
		f |= X86_RFLAGS_CF;
	if (of)
		f |= X86_RFLAGS_OF;
	if (af)
		f |= X86_RFLAGS_AF;
	return f;
}

u64 soft_flags_get(struct soft_cpu *cpu)
{
	if (cpu->lazy.op) {
		cpu->rflags = (cpu->rflags & ~SOFT_FLAGS_ARITH) | lazy_compute(&cpu->lazy);
		cpu->lazy.op = SOFT_LAZY_NONE;
	}
	return cpu->rflags | X86_RFLAGS_FIXED;
}

void soft_flags_set(struct soft_cpu *cpu, u64 rflags, u64 writable_mask)
{
	soft_flags_get(cpu);
	cpu->rflags = (cpu->rflags & ~writable_mask) | (rflags & writable_mask) | X86_RFLAGS_FIXED;
	soft_priv_update(cpu); /* AC */
}

u64 soft_flags_host_word(struct soft_cpu *cpu)
{
	u64 f = soft_flags_get(cpu);

	return (f & SOFT_FLAGS_ARITH & 0xff) << 8 | (f & X86_RFLAGS_OF ? 1 : 0);
}

void soft_flags_set_arith(struct soft_cpu *cpu, u64 f)
{
	cpu->lazy.op = SOFT_LAZY_NONE;
	cpu->rflags = (cpu->rflags & ~SOFT_FLAGS_ARITH) | (f & SOFT_FLAGS_ARITH);
}

bool soft_flags_cf(const struct soft_cpu *cpu)
{
	const struct soft_lazy *lz = &cpu->lazy;

	switch (lz->op) {
	case SOFT_LAZY_NONE:
		return cpu->rflags & X86_RFLAGS_CF;
	case SOFT_LAZY_ADD:
		return lz->res < lz->dst;
	case SOFT_LAZY_ADC:
		return lz->res <= lz->dst;
	case SOFT_LAZY_SUB:
		return lz->dst < lz->src;
	case SOFT_LAZY_SBB:
		return lz->dst <= lz->src;
	case SOFT_LAZY_LOGIC:
		return false;
	case SOFT_LAZY_HOST:
		return lz->res & 0x100;
	case SOFT_LAZY_SHIFT:
	case SOFT_LAZY_MUL:
		return lz->src & X86_RFLAGS_CF;
	default:
		return lz->src; /* INC, DEC */
	}
}

static bool cond_from_flags(u64 f, unsigned cc)
{
	bool r;

	switch (cc >> 1) {
	case 0:
		r = f & X86_RFLAGS_OF;
		break;
	case 1:
		r = f & X86_RFLAGS_CF;
		break;
	case 2:
		r = f & X86_RFLAGS_ZF;
		break;
	case 3:
		r = f & (X86_RFLAGS_CF | X86_RFLAGS_ZF);
		break;
	case 4:
		r = f & X86_RFLAGS_SF;
		break;
	case 5:
		r = f & X86_RFLAGS_PF;
		break;
	case 6:
		r = !(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF);
		break;
	default:
		r = (f & X86_RFLAGS_ZF) || (!(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF));
		break;
	}
	return r ^ (cc & 1);
}

/* The hot cases (after CMP/SUB/TEST/AND) are answered from the operands
 * by soft_cond_quick() (exec.h). */
bool soft_cond(struct soft_cpu *cpu, unsigned cc)
{
	bool r;

	if (soft_cond_quick(cpu, cc, &r))
		return r;
	return cond_from_flags(soft_flags_get(cpu), cc);
}
