/* The translator tier: a decoded block the interpreter found hot becomes host
 * code. Instructions run as host code (jit/native.c) or as calls of their
 * interpreter handler (in->exec) with their decoded forms and RIPs as
 * constants; the block is left where the interpreter would leave it (RIP not
 * the next instruction's, or cpu->exec_stop), except that a branch back to
 * its first instruction stays inside while the batch's budget lasts and
 * nothing asks the vCPU to stop.
 *
 * Links: every way out of a translated block ends in a link site, a
 * single-entry cache of the block that came next last time. The site jumps
 * straight into that block's code (a patched jmp rel32) when RIP is its
 * first instruction and nothing moved since the link was made: the vCPU's
 * link generation (mmu/tlb.h: every flush, remap or mode change, and every
 * move of the VM's code epoch, a write into a page of translated code or
 * any DMA, which also asks every vCPU to stop; its low bits are the CPL; a
 * separate one for pages mapped global, and one that a flush leaves for a
 * block in the page where the site's block started, jit_site_same_page),
 * the batch's instruction budget, and no request to stop (exec_stop, the
 * interrupt shadow, attention, kick). A block whose decoded-cache slot is
 * rebuilt (other code there, or its bytes changed) has its code killed
 * (jit_kill): a link into it lands in the dead stub, back to soft_exec().
 * Otherwise the code tries the vCPU's indirect table (below), then returns
 * to soft_exec(), with cpu->jit_exit = the site, and soft_exec() links the
 * site to the block it finds next (jit_link).
 *
 * Indirect table: a site whose next block keeps changing (a RET, an
 * indirect jump) is no longer relinked; soft_exec() files the block it finds
 * after such a site in a per-vCPU table keyed by RIP instead, with the same
 * conditions as a link. A failed site looks RIP up there (the dispatch stub
 * at the start of the code cache) before it returns to soft_exec().
 * ARCHITECTURE.md has the picture. */
#ifndef POPEK_JIT_TRANSLATE_H
#define POPEK_JIT_TRANSLATE_H

#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"
#include "cpu/soft/jit/cache.h"

/* Translated code: runs from the block's first instruction at cpu->rip,
 * counting the instructions that retire down in cpu->jit_left. A fault
 * leaves through soft_raise()'s longjmp, as from the interpreter. */
typedef void jit_block_fn(struct soft_cpu *cpu);

/* An entry of the indirect table: a link site's fields, keyed by RIP. */
struct jit_ind_entry {
	u64 rip;
	u64 gen;            /* the link generation it was made under */
	const u64 *gen_addr; /* which one */
	const void *code;   /* where the block's code takes a link */
	u64 pad[4];
};
#define JIT_IND_BITS 10
#define JIT_IND_SIZE (1u << JIT_IND_BITS)

/* What translated code needs to know about its surroundings. */
struct jit_env {
	bool links;        /* link sites (the vCPU's TLB has a codemap), else none */
	struct jit_ind_entry *ind; /* the vCPU's indirect table, or NULL: none */
	const u8 *stub;      /* the dispatch stub (jit_translate_stubs), or NULL */
	bool amd_shift;      /* the vendor model's SQ_SHIFT_OF_FROM_RESULT */
	bool mul_keeps;      /* ... and its SQ_MUL_KEEPS_SZAP */
};

/* Translates the n decoded instructions in[] (64-bit code, one straight-line
 * block; in[] must stay where it is while the code is used). Returns NULL
 * when the cache has no room (the caller flushes it and may retry). */
jit_block_fn *jit_translate(struct jit_cache *c, const struct soft_insn *in, unsigned n,
			    const struct jit_env *env);

/* Points the link site at (from cpu->jit_exit) at the translated code
 * starting at rip, valid while the link generation at gen_addr (cpu's
 * tlb.link_gen, link_gen_g for a block in a page mapped global, link_gen_p
 * for one within the page of the site's block) keeps the value it has now.
 * The caller has checked the block's bytes under the code epoch that the
 * generations last moved for (mmu/tlb.h) and that its pages are tracked by
 * the codemap, and kills the code (jit_kill) before the block's slot is
 * rebuilt. */
void jit_link(struct jit_cache *c, u8 *site, const struct soft_cpu *cpu, const u64 *gen_addr,
	      jit_block_fn *code, u64 rip);
/* Makes every link into code (a translation in c) land in the dead stub
 * (dead: its writable address, as jit_stubs has it). */
void jit_kill(struct jit_cache *c, jit_block_fn *code, const u8 *dead);
/* Whether the block at rip (nbytes long) lies in the linear page where the
 * block of site started, whatever that page is: so on every run that gets
 * to site, as the site's RIP is a fixed distance from the block's first
 * (a direct branch, the end of the block). Such a link may use the vCPU's
 * link_gen_p (mmu/tlb.h). */
bool jit_site_same_page(const u8 *site, u64 rip, unsigned nbytes);
/* Whether linking site to the block at rip is worth it: not when the site's
 * next block changed too often already. */
bool jit_link_wanted(const u8 *site, u64 rip);

/* The stubs at the start of an empty code cache (none without env->links):
 * the dispatch stub looks up cpu->rip in env->ind and jumps into the block
 * found there, or returns from translated code (NULL without env->ind); the
 * dead stub is where killed code's links land. Both are addresses in the
 * writable view, as jit_env's stub. Returns false when the cache has no
 * room. */
struct jit_stubs {
	const u8 *dispatch, *dead;
};
bool jit_translate_stubs(struct jit_cache *c, const struct jit_env *env, struct jit_stubs *out);
/* Empties the indirect table (all of it: after a code cache flush). */
void jit_ind_clear(struct jit_ind_entry *t);
/* Files the block at rip in the indirect table, under the same conditions
 * as jit_link(). */
void jit_ind_insert(struct jit_ind_entry *t, const u64 *gen_addr, jit_block_fn *code, u64 rip);

#endif
