/* Random values and the x86-64 instruction encoder of the oracle's
 * generators (Intel SDM Vol. 2A 2.1-2.3: prefixes, REX, ModRM, SIB, VEX). */
#include <errno.h>
#include <string.h>

#include "oracle/oracle.h"

/* splitmix64: small, fast, and good enough to drive test inputs. */
u64 rng_next(struct oracle_rng *r)
{
	u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

u64 rng_value(struct oracle_rng *r)
{
	static const u64 special[] = {
	    0,
	    1,
	    2,
	    3,
	    0x7f,
	    0x80,
	    0x81,
	    0xff,
	    0x100,
	    0x7fff,
	    0x8000,
	    0x8001,
	    0xffff,
	    0x10000,
	    0x7fffffff,
	    0x80000000,
	    0x80000001,
	    0xffffffff,
	    0x100000000ULL,
	    0x7fffffffffffffffULL,
	    0x8000000000000000ULL,
	    0x8000000000000001ULL,
	    ~0ULL,
	    ~1ULL,
	    0x0f,
	    0x10,
	    0x99,
	    0x55555555aaaaaaaaULL,
	    0xfffffffffffffffeULL,
	};
	u64 v = rng_next(r);
	unsigned sh;

	switch (rng_below(r, 10)) {
	case 0:
	case 1:
		return special[rng_below(r, ARRAY_SIZE(special))];
	case 2: /* small signed */
		return (u64)(s64)(s8)v;
	case 3: /* a power of two, maybe +-1 */
		sh = rng_below(r, 64);
		return (1ULL << sh) + (u64)(s64)((int)rng_below(r, 3) - 1);
	case 4: /* sign-extended 8/16/32-bit value */
		sh = 8U << rng_below(r, 3);
		return (u64)((s64)(v << (64 - sh)) >> (64 - sh));
	case 5: /* zero-extended */
		sh = 8U << rng_below(r, 3);
		return v & ((1ULL << sh) - 1);
	default:
		return v;
	}
}

static void put_bytes(struct oracle_case *c, const void *p, unsigned n)
{
	if (c->len + n <= OR_MAX_CODE)
		memcpy(c->code + c->len, p, n);
	c->len += n;
}

static void put_u8(struct oracle_case *c, u8 v)
{
	put_bytes(c, &v, 1);
}

/* ModRM (+SIB, +disp) for e; returns the offset of a RIP-relative disp32 or -1. */
static int put_modrm(struct oracle_case *c, const struct enc *e)
{
	unsigned reg = e->reg & 7, mod, rm;
	const struct enc_mem *m = &e->m;
	int ripdisp = -1;

	if (!e->mem) {
		put_u8(c, (u8)(0xc0 | reg << 3 | (e->rm & 7)));
		return -1;
	}
	if (m->rip_rel) {
		put_u8(c, (u8)(reg << 3 | 5));
		ripdisp = (int)c->len;
		put_bytes(c, &m->disp, 4);
		return ripdisp;
	}
	if (m->base < 0) {
		/* [index*scale + disp32] or [disp32]: SIB with base=101, mod=00 */
		unsigned idx = m->index < 0 ? 4 : (unsigned)m->index & 7;
		put_u8(c, (u8)(reg << 3 | 4));
		put_u8(c, (u8)(m->scale << 6 | idx << 3 | 5));
		put_bytes(c, &m->disp, 4);
		return -1;
	}
	mod = m->disp_size == 0 ? 0 : m->disp_size == 1 ? 1 : 2;
	if (mod == 0 && (m->base & 7) == 5)
		mod = 1; /* [rbp]/[r13] has no mod=00 form: disp8 of 0 */
	if (m->index >= 0 || (m->base & 7) == 4) {
		unsigned idx = m->index < 0 ? 4 : (unsigned)m->index & 7;
		rm = 4;
		put_u8(c, (u8)(mod << 6 | reg << 3 | rm));
		put_u8(c, (u8)(m->scale << 6 | idx << 3 | (m->base & 7)));
	} else {
		put_u8(c, (u8)(mod << 6 | reg << 3 | (m->base & 7)));
	}
	if (mod == 1)
		put_u8(c, (u8)m->disp);
	else if (mod == 2)
		put_bytes(c, &m->disp, 4);
	return -1;
}

int enc_emit(const struct enc *e, u64 insn_addr, struct oracle_case *c)
{
	unsigned rex = 0x40, r = 0, x = 0, b = 0;
	int ripdisp = -1;

	c->len = 0;
	if (e->modrm) {
		r = e->reg >> 3 & 1;
		if (e->mem) {
			x = e->m.index >= 0 ? (unsigned)e->m.index >> 3 & 1 : 0;
			b = e->m.base >= 0 && !e->m.rip_rel ? (unsigned)e->m.base >> 3 & 1 : 0;
		} else {
			b = e->rm >> 3 & 1;
		}
	} else {
		b = e->rm >> 3 & 1; /* opcode-register forms (BSWAP, PUSH r, ...) */
	}
	if (e->mem && e->m.addr32)
		put_u8(c, 0x67);
	put_bytes(c, e->pfx, e->npfx);
	if (e->vex) {
		/* VEX3: C4 [R X B mmmmm] [W vvvv L pp], R/X/B and vvvv inverted */
		put_u8(c, 0xc4);
		put_u8(c, (u8)((!r) << 7 | (!x) << 6 | (!b) << 5 | (e->vex_map & 0x1f)));
		put_u8(c, (u8)(e->vex_w << 7 | ((~e->vex_v) & 15) << 3 | (e->vex_pp & 3)));
	} else {
		rex |= (e->rex_w ? 8 : 0) | r << 2 | x << 1 | b;
		if (rex != 0x40 || e->rex_force)
			put_u8(c, (u8)rex);
	}
	put_bytes(c, e->opc, e->nopc);
	if (e->modrm)
		ripdisp = put_modrm(c, e);
	if (e->imm_size)
		put_bytes(c, &e->imm, e->imm_size);
	if (c->len > 15 || c->len > OR_MAX_CODE)
		return -EINVAL;
	if (ripdisp >= 0) {
		s64 d = (s64)(e->m.target - (insn_addr + c->len));
		s32 d32 = (s32)d;
		memcpy(c->code + ripdisp, &d32, 4);
	}
	return 0;
}
