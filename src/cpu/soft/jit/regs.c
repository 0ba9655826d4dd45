/* Guest registers in host registers within a block (regs.h). */
#include <stddef.h>

#include "cpu/soft/cpu.h"
#include "cpu/soft/jit/regs.h"

#define GPR(g) ((s32)(offsetof(struct soft_cpu, gpr) + 8 * (g)))

static const enum jit_reg pool[] = JIT_REGS_POOL;

void jit_regs_init(struct jit_regs *r)
{
	for (unsigned g = 0; g < 16; g++) {
		r->host[g] = -1;
		r->used[g] = 0;
	}
	r->dirty = r->pinned = r->written = 0;
	r->clock = 0;
}

static bool host_taken(const struct jit_regs *r, enum jit_reg h)
{
	for (unsigned g = 0; g < 16; g++)
		if (r->host[g] == (s8)h)
			return true;
	return false;
}

static void evict(struct jit_regs *r, struct jit_emit *e, unsigned g)
{
	if (r->dirty & (1u << g))
		jit_mov_mr(e, 8, JR_RBX, GPR(g), (enum jit_reg)r->host[g]);
	r->host[g] = -1;
	r->dirty &= (u16)~(1u << g);
}

/* A free host register, evicting the guest register used longest ago. */
static enum jit_reg take(struct jit_regs *r, struct jit_emit *e)
{
	int victim = -1;

	for (unsigned i = 0; i < ARRAY_SIZE(pool); i++)
		if (!host_taken(r, pool[i]))
			return pool[i];
	for (unsigned g = 0; g < 16; g++)
		if (r->host[g] >= 0 && !(r->pinned & (1u << g)) &&
		    (victim < 0 || r->used[g] < r->used[victim]))
			victim = (int)g;
	/* An instruction names at most three registers: one is always free. */
	enum jit_reg h = (enum jit_reg)r->host[victim];

	evict(r, e, (unsigned)victim);
	return h;
}

enum jit_reg jit_regs_get(struct jit_regs *r, struct jit_emit *e, unsigned g, bool load)
{
	g &= 15;
	if (r->host[g] < 0) {
		enum jit_reg h = take(r, e);

		r->host[g] = (s8)h;
		if (load)
			jit_mov_rm(e, 8, h, JR_RBX, GPR(g));
	}
	r->pinned |= (u16)(1u << g);
	r->used[g] = ++r->clock;
	return (enum jit_reg)r->host[g];
}

void jit_regs_dirty(struct jit_regs *r, unsigned g)
{
	r->dirty |= (u16)(1u << (g & 15));
	r->written |= (u16)(1u << (g & 15));
}

void jit_regs_unpin(struct jit_regs *r)
{
	r->pinned = 0;
}

void jit_regs_store(const struct jit_regs *r, struct jit_emit *e)
{
	for (unsigned g = 0; g < 16; g++)
		if (r->dirty & (1u << g))
			jit_mov_mr(e, 8, JR_RBX, GPR(g), (enum jit_reg)r->host[g]);
}

void jit_regs_load(const struct jit_regs *r, struct jit_emit *e)
{
	for (unsigned g = 0; g < 16; g++)
		if (r->host[g] >= 0)
			jit_mov_rm(e, 8, (enum jit_reg)r->host[g], JR_RBX, GPR(g));
}

bool jit_regs_fit(const struct jit_regs *r, const struct jit_regs *top)
{
	for (unsigned g = 0; g < 16; g++)
		if (r->host[g] != top->host[g])
			return false;
	return !(r->dirty & ~top->dirty);
}
