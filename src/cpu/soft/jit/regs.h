/* Guest general registers held in host registers inside one translated
 * block. A guest register is loaded from cpu->gpr[] at its first use in the
 * block and stays in its host register; one the block wrote is "dirty" and
 * goes back to cpu->gpr[] wherever the code may leave the host registers
 * behind: before a handler call (the handler reads and writes cpu->gpr[],
 * and may fault), on a TLB miss's out-of-line path, and on every way out of
 * the block. Loads and stores are MOVs, so the host's flags (the guest's
 * pending flags) survive them. The state is known at translation time; code
 * that leaves from the middle carries a copy of the state at that point. */
#ifndef POPEK_JIT_REGS_H
#define POPEK_JIT_REGS_H

#include "cpu/soft/jit/emit.h"

struct jit_regs {
	s8 host[16];   /* guest register -> host register, or -1 */
	u16 dirty;     /* guest registers whose host copy is newer than cpu->gpr[] */
	u16 pinned;    /* used by the instruction being emitted: not evicted */
	u16 written;   /* guest registers written (jit_regs_dirty) since the
			* translator last cleared it */
	u32 used[16];  /* guest register -> when last used, for eviction */
	u32 clock;
};

/* Host registers the cache uses: free in translated code (rax, rcx and rdx
 * are the natives' scratch, rbx the vCPU, r12 the block's RIP), r13-r15
 * saved by the block's prologue. */
#define JIT_REGS_POOL {JR_RSI, JR_RDI, JR_R8, JR_R9, JR_R10, JR_R11, JR_R13, JR_R14, JR_R15}

void jit_regs_init(struct jit_regs *r);
/* The host register holding guest register g, allocated (evicting the least
 * recently used register not pinned, written back if dirty) and, when load,
 * loaded. Pins g until jit_regs_unpin(). */
enum jit_reg jit_regs_get(struct jit_regs *r, struct jit_emit *e, unsigned g, bool load);
/* Guest register g was written in its host register. */
void jit_regs_dirty(struct jit_regs *r, unsigned g);
/* The next instruction may evict any register. */
void jit_regs_unpin(struct jit_regs *r);
/* Stores the dirty registers to cpu->gpr[] (the state is unchanged). */
void jit_regs_store(const struct jit_regs *r, struct jit_emit *e);
/* Loads every cached register from cpu->gpr[] (after a handler changed them). */
void jit_regs_load(const struct jit_regs *r, struct jit_emit *e);
/* Whether code with registers r may jump to where the state was top (a
 * loop's start): the same guest registers in the same host registers, and
 * none dirty that top does not treat as dirty. */
bool jit_regs_fit(const struct jit_regs *r, const struct jit_regs *top);

#endif
