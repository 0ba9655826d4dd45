/* Block translation (see translate.h): each instruction either runs as host
 * code (jit/native.c) or through a call to its handler. Register use: rbx
 * holds the vCPU, r12 the block's first RIP (so the code serves the block at
 * any linear address its bytes appear at), rax, rcx and rdx are scratch, and
 * the rest hold guest registers (jit/regs.h). The prologue saves five
 * registers, which also keeps the stack 16-byte aligned for the calls.
 *
 * Flags: a native instruction leaves the guest's arithmetic flags in the
 * host's RFLAGS ("pending"); they are saved (as lazy flags in their host
 * form, flags_save) only when something may look at them: a handler call,
 * the end of the block, a Jcc leaving the block. A flag-setting native that
 * follows with nothing in between that reads them replaces them unseen
 * (liveness within the block). A Jcc on saved flags loads them back when
 * they are in host form (flags_word_saved).
 * Natives cannot fault, so cpu->rip and cpu->insn_rip need to be right only
 * before a handler call and when the block is left. A native memory access
 * (JN_MEM, and the stack's: JN_STACK, JN_CALL, JN_RET) checks the soft TLB
 * inline; a miss calls the instruction's handler
 * out of line (which walks, faults or reaches MMIO exactly as the
 * interpreter does) and comes back after it. A shift's or rotate's flags
 * differ between vendors where the manuals leave them undefined: with live
 * flags the host's are saved and the undefined ones set as the vendor
 * model sets them (jit_native_shift_flags). An instruction that reads the
 * flags (INC/DEC, ADC/SBB, CMOVcc, SETcc) gets the saved ones loaded back
 * into the host's first (flags_word_load). A save stores the lazy-flags op
 * only when the block cannot know it is SOFT_LAZY_HOST already (op_host).
 *
 * Loops: a branch back to the block's first instruction jumps to the
 * loop's start inside the code (back_edge), after the batch's budget and the
 * stop requests are checked, with the guest registers staying in host
 * registers: jit_translate() runs the translation again with the registers
 * the back edge holds loaded before the loop's start, until they fit. */
#include <stddef.h>
#include <string.h>

#include "cpu/soft/exec/exec.h"
#include "cpu/soft/jit/native.h"
#include "cpu/soft/jit/translate.h"

#define OFF_RIP       ((s32)offsetof(struct soft_cpu, rip))
#define OFF_INSN_RIP  ((s32)offsetof(struct soft_cpu, insn_rip))
#define OFF_EXEC_STOP ((s32)offsetof(struct soft_cpu, exec_stop))
#define OFF_STOPS     ((s32)offsetof(struct soft_cpu, intr_shadow))
#define OFF_LAZY_OP   ((s32)offsetof(struct soft_cpu, lazy.op))
#define OFF_LAZY_RES  ((s32)offsetof(struct soft_cpu, lazy.res))
#define OFF_LEFT      ((s32)offsetof(struct soft_cpu, jit_left))
#define OFF_JIT_EXIT  ((s32)offsetof(struct soft_cpu, jit_exit))
#define OFF_RUN_DONE  ((s32)offsetof(struct soft_cpu, run_done))
#define OFF_LINK_GEN  ((s32)offsetof(struct soft_cpu, tlb.link_gen))
#define OFF_GPR(g)    ((s32)(offsetof(struct soft_cpu, gpr) + 8 * (g)))

/* A translated block's code after its prologue (push rbx, r12, r13, r14,
 * r15; mov rbx, rdi): where links enter, with rbx already the vCPU. */
#define BODY_OFFSET 12
/* A link site starts in a fixed form, so that jit_link() finds its fields:
 * lea rdx, [rip + disp32] (the site itself, for the way back to soft_exec()
 * from a failed check or a killed block); sub [rbx + disp32], rax (the
 * block's count off cpu->jit_left); jle rel32;
 * mov rcx, [rbx + disp32] (the disp32 at SITE_GENOFF: which link
 * generation, tlb.link_gen, link_gen_g or link_gen_p);
 * cmp rcx, [rip + disp32] (the disp32 at SITE_DATA_REL, pointing at the
 * site's data in the code cache's data area, so that relinking writes no
 * code unless the target moves); jne rel32. */
#define SITE_GENOFF   23
#define SITE_DATA_REL 30
/* A site's data (jit_emit_data). */
struct site_data {
	u64 gen;    /* the link generation it was made under */
	u64 rip;    /* the RIP linked to; 0: never linked */
	u64 tries;  /* links made to a block other than the last one */
	u32 jmp;    /* the jmp rel32 into the block's code, from the site */
	s32 target; /* RIP after the site - the block's first RIP, or SITE_ANY */
};
#define SITE_ANY INT32_MIN /* the site's RIP varies (a RET, an indirect jump) */
#define SITE_NEVER (~0ULL) /* a generation never reached */
/* A site whose next block keeps changing (a RET, an indirect jump, a
 * conditional branch run by its handler) stops being linked after this many
 * changes: relinking it costs more than it saves. */
#define SITE_MAX_TRIES 4

_Static_assert(OFF_LINK_GEN > 127 && offsetof(struct soft_cpu, tlb.link_gen_g) > 127 &&
		       offsetof(struct soft_cpu, tlb.link_gen_p) > 127 &&
		       OFF_LEFT > 127,
	       "a link site reads the generation and jit_left at a disp32 from rbx");

/* The five reasons to stop, tested as one qword at OFF_STOPS. */
_Static_assert(OFF_STOPS % 8 == 0, "the stop reasons are one aligned qword");
_Static_assert(offsetof(struct soft_cpu, kick) == OFF_STOPS + 1 &&
		       offsetof(struct soft_cpu, attention) == OFF_STOPS + 2 &&
		       offsetof(struct soft_cpu, code_moved) == OFF_STOPS + 3 &&
		       offsetof(struct soft_cpu, exec_stop) == OFF_STOPS + 4 &&
		       offsetof(struct soft_cpu, stops_pad) == OFF_STOPS + 5,
	       "intr_shadow, kick, attention, code_moved and exec_stop fill the qword");
_Static_assert(sizeof(((struct soft_cpu *)0)->intr_shadow) == 1 &&
		       sizeof(((struct soft_cpu *)0)->kick) == 1 &&
		       sizeof(((struct soft_cpu *)0)->attention) == 1 &&
		       sizeof(((struct soft_cpu *)0)->code_moved) == 1 &&
		       sizeof(((struct soft_cpu *)0)->exec_stop) == 1 &&
		       sizeof(((struct soft_cpu *)0)->stops_pad) == 3,
	       "each stop reason is a byte");

_Static_assert(sizeof(((struct soft_cpu *)0)->lazy.op) == 4, "lazy.op is stored as a dword");

/* The saved-flags word in ax (LAHF's AH, OF in AL) becomes the guest's
 * lazy flags in their host form (SOFT_LAZY_HOST). *op_host: the lazy flags
 * are known to be in that form already on every way here (nothing since the
 * last store could change it), so that only the word is stored. */
static void flags_word_store(struct jit_emit *e, bool *op_host)
{
	jit_mov_mr(e, 2, JR_RBX, OFF_LAZY_RES, JR_RAX);
	if (!*op_host)
		jit_mov_mi(e, 4, JR_RBX, OFF_LAZY_OP, SOFT_LAZY_HOST);
	*op_host = true;
}

/* The guest's arithmetic flags, pending in the host's RFLAGS, saved: LAHF
 * and SETO, cheaper than PUSHF, and no read-modify-write of cpu->rflags.
 * Leaves the host's flags as they are; clobbers rax. */
static void flags_save(struct jit_emit *e, bool *op_host)
{
	jit_emit_bytes(e, (const u8[]){0x9f, 0x0f, 0x90, 0xc0}, 4); /* lahf; seto al */
	flags_word_store(e, op_host);
}

/* The word in ax into the host's flags: SAHF; ADD AL, 0x7F sets OF from
 * bit 0. */
static void flags_word_load(struct jit_emit *e)
{
	jit_emit_bytes(e, (const u8[]){0x04, 0x7f, 0x9e}, 3); /* add al, 0x7f; sahf */
}

/* ax = the saved flags' word when they are in host form; else jumps to
 * the returned rel32 (for an out-of-line path). NULL: known to be in host
 * form (flags_word_store), nothing to check. */
static u8 *flags_word_saved(struct jit_emit *e, bool op_host)
{
	u8 *other = NULL;

	if (!op_host) {
		jit_alu_mi(e, JA_CMP, 4, JR_RBX, OFF_LAZY_OP, SOFT_LAZY_HOST);
		other = jit_jcc_fwd(e, JC_NE);
	}
	jit_movzx_rm(e, 2, JR_RAX, JR_RBX, OFF_LAZY_RES);
	return other;
}

/* ax = the word, from whatever form the flags are in (out of line: it
 * clobbers the caller-saved registers). */
static void flags_word_call(struct jit_emit *e)
{
	jit_mov_rr(e, JR_RDI, JR_RBX);
	jit_call(e, (const void *)soft_flags_host_word, JR_RAX);
}

/* A flag-setting instruction whose flags can be computed again from the
 * registers it leaves behind (flags_redo): ADD, SUB, XOR, CMP or TEST of 32
 * or 64 bits with a register or an immediate. */
struct flags_src {
	enum jit_alu op;
	bool test;
	unsigned size, dst; /* dst: the first operand's register */
	int src;            /* the second's, or -1: imm */
	s32 imm;
	u16 regs;           /* the guest registers it needs unchanged */
};

static bool flags_src_of(const struct soft_insn *in, struct flags_src *f)
{
	unsigned op = in->opcode;

	if (in->map != SOFT_MAP_1B || in->mem || in->lock || (in->size != 4 && in->size != 8))
		return false;
	*f = (struct flags_src){.size = in->size, .src = -1, .imm = (s32)in->imm};
	if (op < 0x40 && ((op & 7) == 1 || (op & 7) == 3)) { /* op Ev, Gv; op Gv, Ev */
		bool to_rm = (op & 7) == 1;
		f->op = (enum jit_alu)(op >> 3);
		f->dst = to_rm ? in->rm : in->reg;
		f->src = (int)(to_rm ? in->reg : in->rm);
	} else if (op < 0x40 && (op & 7) == 5) { /* op eAX, Iz */
		f->op = (enum jit_alu)(op >> 3);
		f->dst = X86_RAX;
	} else if (op == 0x81 || op == 0x83) {
		f->op = (enum jit_alu)(in->reg & 7);
		f->dst = in->rm;
	} else if (op == 0x85 || op == 0xa9 || (op == 0xf7 && (in->reg & 7) == 0)) {
		f->test = true;
		f->dst = op == 0xa9 ? X86_RAX : in->rm;
		f->src = op == 0x85 ? (int)in->reg : -1;
	} else {
		return false;
	}
	if (!f->test && f->op != JA_ADD && f->op != JA_SUB && f->op != JA_XOR && f->op != JA_CMP)
		return false;
	/* ADD r, r and XOR r, r leave nothing the first operand follows from. */
	if (!f->test && (f->op == JA_ADD || f->op == JA_XOR) && f->src == (int)f->dst)
		return false;
	f->regs = (u16)(1u << f->dst | (f->src >= 0 ? 1u << f->src : 0u));
	return true;
}

/* rcx op= f's second operand (cpu->gpr[] or the immediate). */
static void flags_src_op(struct jit_emit *e, enum jit_alu op, const struct flags_src *f)
{
	if (f->src >= 0)
		jit_alu_rm(e, op, f->size, JR_RCX, JR_RBX, OFF_GPR(f->src));
	else
		jit_alu_ri(e, op, f->size, JR_RCX, f->imm);
}

/* f's flags again in the host's, from cpu->gpr[] as it left them: its first
 * operand recovered from the result (the inverse of ADD, SUB or XOR), then
 * the instruction on the same operands. Clobbers rcx. */
static void flags_redo(struct jit_emit *e, const struct flags_src *f)
{
	jit_mov_rm(e, f->size, JR_RCX, JR_RBX, OFF_GPR(f->dst));
	if (f->test) {
		if (f->src >= 0)
			jit_test_mr(e, f->size, JR_RBX, OFF_GPR(f->src), JR_RCX);
		else
			jit_test_ri(e, f->size, JR_RCX, f->imm);
		return;
	}
	if (f->op != JA_CMP)
		flags_src_op(e, f->op == JA_ADD ? JA_SUB : f->op == JA_SUB ? JA_ADD : JA_XOR, f);
	flags_src_op(e, f->op, f);
}

/* Code emitted out of line for instruction i: where it is reached from,
 * where it goes back to, and the registers' state there. */
struct out_of_line {
	u8 *at, *back;
	unsigned i;
	s32 off;
	struct jit_regs regs;
	bool store; /* flags: the word stored in host form too */
};

/* The saved flags in their host form from here on (*op_host): checked
 * inline; converted and stored out of line, through ool[(*n)++] with the
 * registers as in regs. */
static void flags_host_form(struct jit_emit *e, struct out_of_line *ool, unsigned *n,
			    const struct jit_regs *regs, bool *op_host)
{
	ool[*n] = (struct out_of_line){.at = flags_word_saved(e, false), .back = e->p,
				       .regs = *regs, .store = true};
	(*n)++;
	*op_host = true;
}

static void set_rip(struct jit_emit *e, s32 off)
{
	jit_lea(e, JR_RAX, JR_R12, off);
	jit_mov_mr(e, 8, JR_RBX, OFF_RIP, JR_RAX);
}

/* Whether the flags pending after instruction i are replaced by a later
 * native before anything could read them. */
static bool flags_dead(const struct soft_insn *in, unsigned i, unsigned n)
{
	for (unsigned k = i + 1; k < n; k++) {
		enum jit_native_kind kind = jit_native_kind(&in[k]);
		if (kind == JN_FLAGS)
			return true;
		if (kind != JN_MOVE)
			return false;
	}
	return false;
}

/* No request to stop (exec_stop, the interrupt shadow, attention, kick,
 * a move of the code epoch):
 * else to the rel32 added to fail[]. */
static void stop_check(struct jit_emit *e, u8 **fail, unsigned *nf)
{
	jit_alu_mi(e, JA_CMP, 8, JR_RBX, OFF_STOPS, 0);
	fail[(*nf)++] = jit_jcc_fwd(e, JC_NE);
}

/* Leaves the block with cpu->rip already where the guest goes next and
 * `retired` of its instructions done: through the link site when it may
 * (translate.h), else back to soft_exec() with the site in cpu->jit_exit.
 * target: SITE_ANY, or every way to this site stores the same RIP, the
 * block's first RIP + target (a direct branch, the end of the block after
 * host code), so a link made here is always to that RIP and the site need
 * not compare it. */
static void leave_rax(struct jit_emit *e, const struct jit_env *env, const u8 *epi,
		      s32 target);

static void leave(struct jit_emit *e, const struct jit_env *env, unsigned retired,
		  const u8 *epi, s32 target)
{
	jit_mov_ri(e, JR_RAX, retired);
	leave_rax(e, env, epi, target);
}

/* leave() with the count already in rax. A linked site's last instruction
 * is a jmp rel32 straight into the block's code (jit_link()), with rdx =
 * the site: a block whose decoded slot was rebuilt since has its code's
 * entry patched to the dead stub (jit_kill()), which returns to soft_exec()
 * as a failed site does, and soft_exec() links the site again. */
static void leave_rax(struct jit_emit *e, const struct jit_env *env, const u8 *epi,
		      s32 target)
{
	const bool rip_known = target != SITE_ANY;
	u8 *fail[12], *site, *d_gen, *d_rip = NULL, *jmp;
	unsigned nf = 0;

	site = e->p;
	if (!env->links) {
		jit_alu_mr(e, JA_SUB, 8, JR_RBX, OFF_LEFT, JR_RAX);
		jit_jmp_to(e, epi);
		return;
	}
	jit_lea_rip(e, JR_RDX, site);
	jit_alu_mr(e, JA_SUB, 8, JR_RBX, OFF_LEFT, JR_RAX); /* counted, linked or not */
	fail[nf++] = jit_jcc_fwd(e, JC_LE); /* the batch's budget used up */
	jit_mov_rm(e, 8, JR_RCX, JR_RBX, OFF_LINK_GEN);
	const bool genoff_at = e->p - site == SITE_GENOFF + 4;

	d_gen = jit_alu_r_rip(e, JA_CMP, JR_RCX);
	if (!d_gen || !genoff_at || d_gen - site != SITE_DATA_REL)
		e->full = true; /* a site jit_link() would patch wrong: no code */
	fail[nf++] = jit_jcc_fwd(e, JC_NE);
	if (!rip_known) {
		jit_mov_rm(e, 8, JR_RCX, JR_RBX, OFF_RIP);
		d_rip = jit_alu_r_rip(e, JA_CMP, JR_RCX);
		fail[nf++] = jit_jcc_fwd(e, JC_NE);
	}
	stop_check(e, fail, &nf);
	jmp = jit_jmp_fwd(e); /* unlinked: to the failure below */
	for (unsigned k = 0; k < nf; k++)
		jit_patch_here(e, fail[k]);
	jit_patch_here(e, jmp);
	if (env->stub) { /* the indirect table, then soft_exec() */
		jit_jmp_to(e, env->stub);
	} else {
		jit_mov_mr(e, 8, JR_RBX, OFF_JIT_EXIT, JR_RDX);
		jit_jmp_to(e, epi);
	}
	struct site_data *d = jit_emit_data(e, sizeof(*d));

	if (!d)
		return;
	*d = (struct site_data){.gen = SITE_NEVER,
			       .jmp = jmp ? (u32)(jmp - site) : 0, .target = target};
	jit_patch_data(e, d_gen, &d->gen);
	jit_patch_data(e, d_rip, &d->rip);
}

/* Returns from translated code: the prologue's registers back. */
static void epilogue(struct jit_emit *e)
{
	jit_pop(e, JR_R15);
	jit_pop(e, JR_R14);
	jit_pop(e, JR_R13);
	jit_pop(e, JR_R12);
	jit_pop(e, JR_RBX);
	jit_ret(e);
}

#define IND(field) ((s32)offsetof(struct jit_ind_entry, field))
_Static_assert(sizeof(struct jit_ind_entry) == 64, "the stub scales the table index by 64");

static unsigned ind_index(u64 rip)
{
	return (unsigned)((rip ^ (rip >> JIT_IND_BITS)) & (JIT_IND_SIZE - 1));
}

/* The stubs at the start of the code cache. The dead stub: entered from a
 * link into a block that was killed (jit_kill(), rdx = the site), returns
 * to soft_exec(). The dispatch stub: in, rdx = the link site that failed
 * (the block's count already taken off cpu->jit_left), cpu->rip = where the
 * guest goes next; the checks are a link site's (leave()), on the indirect
 * table's entry for RIP (an entry into code killed since lands in the dead
 * stub). */
bool jit_translate_stubs(struct jit_cache *c, const struct jit_env *env, struct jit_stubs *out)
{
	struct jit_emit e;
	u8 *fail[8];
	unsigned nf = 0;

	*out = (struct jit_stubs){0};
	if (!env->links)
		return true;
	jit_cache_begin(c, &e);
	const u8 *dead = e.p, *ret = e.p; /* back to soft_exec(), with the site */

	jit_mov_mr(&e, 8, JR_RBX, OFF_JIT_EXIT, JR_RDX);
	epilogue(&e);
	const u8 *dispatch = e.p;

	if (env->ind) {
		jit_mov_rm(&e, 8, JR_RCX, JR_RBX, OFF_RIP); /* rsi = &ind[ind_index(rip)] */
		jit_mov_rr(&e, JR_RSI, JR_RCX);
		jit_shift_ri(&e, JS_SHR, 8, JR_RSI, JIT_IND_BITS);
		jit_alu_rr(&e, JA_XOR, 8, JR_RSI, JR_RCX);
		jit_alu_ri(&e, JA_AND, 4, JR_RSI, JIT_IND_SIZE - 1);
		jit_shift_ri(&e, JS_SHL, 4, JR_RSI, 6);
		jit_mov_ri64(&e, JR_RDI, (u64)(uintptr_t)env->ind);
		jit_alu_rr(&e, JA_ADD, 8, JR_RSI, JR_RDI);
		jit_alu_rm(&e, JA_CMP, 8, JR_RCX, JR_RSI, IND(rip));
		fail[nf++] = jit_jcc_fwd(&e, JC_NE);
		jit_mov_rm(&e, 8, JR_RDI, JR_RSI, IND(gen_addr));
		jit_mov_rm(&e, 8, JR_RDI, JR_RDI, 0);
		jit_alu_rm(&e, JA_CMP, 8, JR_RDI, JR_RSI, IND(gen));
		fail[nf++] = jit_jcc_fwd(&e, JC_NE);
		jit_alu_mi(&e, JA_CMP, 8, JR_RBX, OFF_LEFT, 0);
		fail[nf++] = jit_jcc_fwd(&e, JC_LE);
		stop_check(&e, fail, &nf);
		jit_jmp_m(&e, JR_RSI, IND(code));
		for (unsigned k = 0; k < nf; k++)
			jit_patch_to(&e, fail[k], ret);
	}
	if (!jit_cache_commit(c, &e))
		return false;
	out->dead = dead;
	out->dispatch = env->ind ? dispatch : NULL;
	return true;
}

/* Never the value of a link generation (SITE_NEVER is never reached). */
static const u64 ind_empty_gen = 0;

void jit_ind_clear(struct jit_ind_entry *t)
{
	for (unsigned i = 0; i < JIT_IND_SIZE; i++)
		t[i] = (struct jit_ind_entry){.rip = SITE_NEVER, .gen = SITE_NEVER,
					      .gen_addr = &ind_empty_gen};
}

void jit_ind_insert(struct jit_ind_entry *t, const u64 *gen_addr, jit_block_fn *code, u64 rip)
{
	struct jit_ind_entry *x = &t[ind_index(rip)];

	*x = (struct jit_ind_entry){.rip = rip, .gen = *gen_addr, .gen_addr = gen_addr,
				    .code = (const u8 *)code + BODY_OFFSET};
}

/* A site's data, from its executable address. */
static struct site_data *site_data(const u8 *site)
{
	s32 rel;

	memcpy(&rel, site + SITE_DATA_REL, 4);
	return (struct site_data *)(uintptr_t)(site + SITE_DATA_REL + 4 + rel);
}

bool jit_site_same_page(const u8 *site, u64 rip, unsigned nbytes)
{
	const struct site_data *d = site_data(site);
	u64 first = rip - (u64)(s64)d->target;

	return d->target != SITE_ANY && !((first ^ rip) & ~0xfffULL) &&
	       !((rip ^ (rip + nbytes - 1)) & ~0xfffULL);
}

bool jit_link_wanted(const u8 *site, u64 rip)
{
	const struct site_data *d = site_data(site);

	return !d->rip || d->rip == rip || d->tries < SITE_MAX_TRIES;
}

void jit_link(struct jit_cache *c, u8 *site, const struct soft_cpu *cpu, const u64 *gen_addr,
	      jit_block_fn *code, u64 rip)
{
	struct site_data *d = site_data(site);
	u8 *body = (u8 *)code + BODY_OFFSET;
	s32 off = (s32)((const u8 *)gen_addr - (const u8 *)cpu), old_off, old_rel;
	s32 rel = (s32)(body - (site + d->jmp + 4));

	if (d->rip && d->rip != rip)
		d->tries++;
	d->rip = rip;
	d->gen = *gen_addr;
	/* The code itself only when it changes: a store into code that ran
	 * lately costs the host a pipeline flush. */
	memcpy(&old_off, site + SITE_GENOFF, 4);
	memcpy(&old_rel, site + d->jmp, 4);
	if (old_off != off)
		memcpy(site + (c->rw - c->rx) + SITE_GENOFF, &off, 4);
	if (old_rel != rel)
		memcpy(site + (c->rw - c->rx) + d->jmp, &rel, 4);
}

void jit_kill(struct jit_cache *c, jit_block_fn *code, const u8 *dead)
{
	u8 *body = (u8 *)code + BODY_OFFSET + (c->rw - c->rx); /* writable */
	u8 jmp[5] = {0xe9};
	s32 rel = (s32)(dead - (body + 5));

	memcpy(jmp + 1, &rel, 4);
	memcpy(body, jmp, 5);
}

/* A conditional branch (Jcc, JrCXZ, LOOPcc): its two ways out get a link
 * site each, so that neither keeps relinking the other's. */
static bool cond_branch(const struct soft_insn *in)
{
	if (in->map == SOFT_MAP_0F)
		return in->opcode >= 0x80 && in->opcode <= 0x8f;
	return in->map == SOFT_MAP_1B &&
	       ((in->opcode >= 0x70 && in->opcode <= 0x7f) || (in->opcode >= 0xe0 && in->opcode <= 0xe3));
}

/* Runs instruction i through its handler: cpu->insn_rip = it, cpu->rip =
 * the next one; then leaves where the interpreter would (RIP somewhere else,
 * a taken branch, or a request to stop after this one) through exit[0..1];
 * the last instruction of the block too when it is a conditional branch.
 * The guest's registers must be in cpu->gpr[] (jit_regs_store) and none is
 * in a host register after it. */
static void call_handler(struct jit_emit *e, const struct soft_insn *in, unsigned i, unsigned n,
			 s32 off, u8 *exit[2])
{
	s32 next = off + in[i].len;

	jit_lea(e, JR_RAX, JR_R12, off);
	jit_mov_mr(e, 8, JR_RBX, OFF_INSN_RIP, JR_RAX);
	set_rip(e, next);
	jit_mov_mi(e, 4, JR_RBX, OFF_RUN_DONE, (s32)i); /* if it faults: cpu.h */
	jit_mov_rr(e, JR_RDI, JR_RBX);
	jit_mov_ri(e, JR_RSI, (u64)(uintptr_t)&in[i]);
	jit_call(e, (const void *)in[i].exec, JR_RAX);
	if (i + 1 < n || cond_branch(&in[i])) {
		jit_lea(e, JR_RAX, JR_R12, next);
		jit_alu_mr(e, JA_CMP, 8, JR_RBX, OFF_RIP, JR_RAX);
		exit[0] = jit_jcc_fwd(e, JC_NE);
		jit_alu_mi(e, JA_CMP, 1, JR_RBX, OFF_EXEC_STOP, 0);
		exit[1] = jit_jcc_fwd(e, JC_NE);
	}
}

/* Instruction i's handler out of line: registers stored as in before, the
 * guest's flags saved from redo's instruction when not saved before it
 * (NULL: they were), the call (leaving through exits[i] where the
 * interpreter would), registers loaded as in after (the handler's flags
 * into the host's first when flags), then back. */
static void handler_out_of_line(struct jit_emit *e, const struct soft_insn *in, unsigned n,
				unsigned i, s32 off, u8 *exits[][2], const struct jit_regs *before,
				const struct jit_regs *after, const struct flags_src *redo, bool flags,
				const u8 *back)
{
	jit_regs_store(before, e);
	if (redo) {
		bool op_host = false;

		flags_redo(e, redo);
		flags_save(e, &op_host);
	}
	call_handler(e, in, i, n, off, exits[i]);
	if (flags) {
		flags_word_call(e);
		flags_word_load(e);
	}
	jit_regs_load(after, e);
	jit_jmp_to(e, back);
}

/* A shift by CL with its flags saved (jit_native_shift_cl_flags): pending
 * flags are saved first, since a zero count keeps them; a zero count skips
 * the store and zero-extends a 32-bit register, as the interpreter does. */
static void shift_cl_live(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			  bool amd, bool pending, bool *op_host)
{
	if (pending)
		flags_save(e, op_host);
	bool host_before = *op_host; /* (what a zero count leaves) */
	u8 *zero = jit_native_shift_cl_flags(e, rg, in, amd);
	flags_word_store(e, op_host);
	*op_host = host_before;
	u8 *done = jit_jmp_fwd(e);
	jit_patch_here(e, zero);
	enum jit_reg d = jit_regs_get(rg, e, in->rm, true);
	if (in->size == 4)
		jit_mov_rr_sz(e, 4, d, d);
	jit_patch_here(e, done);
	jit_regs_dirty(rg, in->rm);
	jit_regs_unpin(rg);
}

/* A back edge: a jump to the block's first instruction, with the registers
 * as at top (the loop's start, after the pre-header's loads) and the flags
 * saved in their host form (checked here unless op_host). The batch's
 * budget and the stop requests are checked as a link checks them, then the
 * code goes straight back; where a check fails, the count is given back and
 * the code goes on where the caller emits next (to leave the usual way,
 * which counts). */
static void back_edge(struct jit_emit *e, unsigned retired, const u8 *top, bool op_host)
{
	u8 *fail[3];
	unsigned nf = 0;

	if (!op_host) {
		jit_alu_mi(e, JA_CMP, 4, JR_RBX, OFF_LAZY_OP, SOFT_LAZY_HOST);
		u8 *other = jit_jcc_fwd(e, JC_NE);
		back_edge(e, retired, top, true);
		jit_patch_here(e, other);
		return;
	}
	jit_alu_mi(e, JA_SUB, 8, JR_RBX, OFF_LEFT, (s32)retired);
	fail[nf++] = jit_jcc_fwd(e, JC_LE);
	stop_check(e, fail, &nf);
	jit_jmp_to(e, top);
	for (unsigned k = 0; k < nf; k++)
		jit_patch_here(e, fail[k]);
	jit_alu_mi(e, JA_ADD, 8, JR_RBX, OFF_LEFT, (s32)retired);
}

/* Whether the block jumps back to its first instruction (a Jcc, or the JMP
 * that ends it): a loop inside its code. */
static bool block_loops(const struct soft_insn *in, unsigned n)
{
	s32 off = 0;

	for (unsigned i = 0; i < n; i++) {
		enum jit_native_kind kind = jit_native_kind(&in[i]);

		off += in[i].len;
		if ((kind == JN_JCC || (kind == JN_JMP && i + 1 == n)) && off + (s32)in[i].imm == 0)
			return true;
	}
	return false;
}

/* One translation of in[] into e (jit_translate): the guest registers top
 * holds are loaded before the loop's start, and a back edge whose
 * registers are as top's (jit_regs_fit) stays inside the code. *be: the
 * registers at the first back edge (*found: there is one). */
static bool translate_pass(struct jit_emit *ep, const struct soft_insn *in, unsigned n,
			   const struct jit_env *env, const struct jit_regs *top, struct jit_regs *be,
			   bool *found)
{
	u8 *exits[16][2] = {{0}};
	struct {
		u8 *at;
		s32 target;
		unsigned retired;
		bool loop; /* a back edge that stays inside */
		bool save; /* the flags are the host's, to be saved first */
		bool op_host; /* ... and op_host was this at the branch */
		struct jit_regs regs;
	} taken[16];
	struct {
		u8 *miss[JIT_MISSES], *cont;
		struct jit_refill rf;
		unsigned i;
		s32 off;
		bool flags; /* the instruction leaves its flags in the host's */
		bool redo;  /* the guest's flags, pending, are fs's: saved on a miss only */
		struct flags_src fs;
		struct jit_regs before, after;
	} mem[16];
	struct jit_regs rg;
	struct out_of_line jslow[16], fslow[17]; /* (one an instruction, one the pre-header's) */
	unsigned ntaken = 0, nmem = 0, njslow = 0, nfslow = 0;
	bool pending = false; /* guest flags in the host's RFLAGS, not yet saved */
	bool op_host = false; /* cpu->lazy.op is SOFT_LAZY_HOST (flags_word_store) */
	bool word_in_ax = false; /* ... and ax still holds the word just stored */
	bool last_native = false; /* the last instruction ran as host code */
	bool rip_stored = false;  /* ... and stored RIP itself (RET) */
	struct jit_emit e = *ep;
	s32 off = 0, end = 0;
	bool jumps = false;       /* ... and went to next + imm (CALL, JMP): end */
	/* The pending flags are those of in[prod] (flags_src_of: fs), and
	 * none of its registers was written since (rg.written): -1, not known. */
	int prod = -1;
	struct flags_src fs;

	jit_push(&e, JR_RBX);
	jit_push(&e, JR_R12);
	jit_push(&e, JR_R13);
	jit_push(&e, JR_R14);
	jit_push(&e, JR_R15);
	jit_mov_rr(&e, JR_RBX, JR_RDI);
	if (jit_emit_len(&e) != BODY_OFFSET)
		return false;
	jit_mov_rm(&e, 8, JR_R12, JR_RBX, OFF_RIP);
	if (jit_emit_len(&e) < BODY_OFFSET + 5)
		return false; /* jit_kill() writes a jmp rel32 over it */
	/* A loop's flags in their host form from its start on, so that its
	 * saves store only the word (no guest register is loaded yet). */
	if (block_loops(in, n)) {
		struct jit_regs none;

		jit_regs_init(&none);
		flags_host_form(&e, fslow, &nfslow, &none, &op_host);
	}
	jit_regs_load(top, &e); /* the pre-header */
	const u8 *top_p = e.p;
	rg = *top;
	for (unsigned i = 0; i < n; i++) {
		s32 next = off + in[i].len;
		enum jit_native_kind kind = jit_native_kind(&in[i]);
		const bool ax_word = word_in_ax; /* the last instruction stored them */

		/* A relative branch to more than 2 GiB from the block's start
		 * has no s32 offset from it (set_rip): its handler runs it. */
		if ((kind == JN_JCC || kind == JN_CALL || kind == JN_JMP) &&
		    ((s64)next + (s32)in[i].imm > INT32_MAX || (s64)next + (s32)in[i].imm < INT32_MIN))
			kind = JN_NONE;

		word_in_ax = false;

		/* A shift by CL with live flags, or a 32-bit one (a zero count
		 * still zero-extends): the modelled flags, saved. A rotate by CL
		 * keeps flags it finds: the handler. */
		bool cl_live = kind == JN_SHIFT_CL && (in[i].size == 4 || !flags_dead(in, i, n));

		if (cl_live && (in[i].reg & 7) <= JS_ROR)
			kind = JN_NONE;
		/* IMUL r, m and MUL r: the host's flags are not the vendor
		 * model's (and IMUL's miss path's handler sets them): only where
		 * none is read. */
		if (kind == JN_MEMALU && jit_native_is_imul(&in[i]) && !flags_dead(in, i, n))
			kind = JN_NONE;
		if (kind == JN_MUL)
			kind = flags_dead(in, i, n) ? JN_FLAGS : JN_NONE;
		const bool redo_ok = prod >= 0 && !(rg.written & fs.regs);

		if (kind != JN_MOVE && kind != JN_CMOV)
			prod = -1; /* (a JN_FLAGS sets it again below) */
		bool live = (kind == JN_SHIFT && !flags_dead(in, i, n)) ||
			    (kind == JN_SHIFT_CL && cl_live);
		/* A rotate and AMD's IMUL keep some of the flags they find. */
		bool keeps = live && (jit_native_is_rotate(&in[i]) ||
				      (jit_native_is_imul(&in[i]) && env->mul_keeps));

		if (!pending && (kind == JN_INCDEC || kind == JN_CMOV || kind == JN_CARRY || keeps)) {
			/* It reads (or keeps some of) the saved flags: back into
			 * the host's, from their host form inline, else out of
			 * line through soft_flags_host_word(). */
			fslow[nfslow].at = ax_word ? NULL : flags_word_saved(&e, op_host);
			fslow[nfslow].back = e.p;
			fslow[nfslow].regs = rg;
			fslow[nfslow].store = false;
			nfslow += fslow[nfslow].at != NULL;
			flags_word_load(&e);
			pending = true;
		}
		if (live) {
			/* Live flags: the host's, the undefined ones as modelled. */
			if (kind == JN_SHIFT_CL) {
				shift_cl_live(&e, &rg, &in[i], env->amd_shift, pending, &op_host);
			} else {
				if (jit_native_is_imul(&in[i]))
					jit_native_imul_flags(&e, &rg, &in[i], env->mul_keeps);
				else
					jit_native_shift_flags(&e, &rg, &in[i], env->amd_shift);
				flags_word_store(&e, &op_host);
				word_in_ax = true;
			}
			pending = false;
			last_native = true;
			rip_stored = jumps = false;
			off = next;
			continue;
		}
		if ((kind == JN_CALL || kind == JN_RET || kind == JN_JMP || kind == JN_IND) &&
		    i + 1 != n)
			kind = JN_NONE; /* (they end their block) */
		last_native = kind != JN_NONE;
		jumps = kind == JN_CALL || kind == JN_JMP;
		end = jumps ? next + (s32)in[i].imm : 0; /* only a jump has a target */
		rip_stored = kind == JN_RET || kind == JN_IND;
		if (kind == JN_JMP) {
			off = next;
			continue;
		}
		if (kind == JN_SHIFT || kind == JN_INCDEC) {
			jit_native_emit(&e, &rg, &in[i], next);
			pending = true;
			off = next;
			continue;
		}
		if (kind == JN_MEMINC) {
			/* It keeps CF: the flags saved in host form before its
			 * TLB check, which clobbers the host's (native.c). */
			if (pending) {
				flags_save(&e, &op_host);
				pending = false;
			} else if (!op_host) {
				flags_host_form(&e, fslow, &nfslow, &rg, &op_host);
			}
		}
		if (jit_native_mem_kind(kind)) {
			/* Pending flags that nothing reads after the access (an
			 * ALU access replaces them) matter only if it faults: on
			 * a TLB miss, computed again before the handler runs. */
			mem[nmem].redo = pending && redo_ok && (kind == JN_MEMALU || flags_dead(in, i, n));
			mem[nmem].fs = fs;
			if (pending && !mem[nmem].redo)
				flags_save(&e, &op_host);
			pending = false;
			jit_native_mem(&e, &rg, &in[i], next, mem[nmem].miss, &mem[nmem].before,
				       &mem[nmem].rf);
			mem[nmem].after = rg;
			mem[nmem].cont = e.p;
			mem[nmem].i = i;
			mem[nmem].off = off;
			mem[nmem].flags = kind == JN_MEMALU || kind == JN_MEMINC;
			nmem++;
			if (mem[nmem - 1].flags) { /* its miss path's handler sets them */
				pending = !flags_dead(in, i, n);
				op_host = false;
			}
			off = next;
			continue;
		}
		if (kind == JN_SHIFT_CL) { /* the host's flags: dead (see above) */
			jit_native_emit(&e, &rg, &in[i], next);
			off = next;
			continue;
		}
		if (kind == JN_CMOV) { /* reads the pending flags, leaves them */
			jit_native_emit(&e, &rg, &in[i], next);
			off = next;
			continue;
		}
		if (kind == JN_MOVE || kind == JN_FLAGS || kind == JN_CARRY) {
			jit_native_emit(&e, &rg, &in[i], next);
			if (kind != JN_MOVE)
				pending = !flags_dead(in, i, n);
			else if (!in[i].rip_rel && !jit_native_high_byte(&in[i]))
				word_in_ax = ax_word; /* (those two use rax) */
			if (kind == JN_FLAGS && pending && flags_src_of(&in[i], &fs)) {
				prod = (int)i;
				rg.written = 0;
			}
			off = next;
			continue;
		}
		if (kind == JN_JCC && in[i].imm == 0) {
			off = next; /* to the next instruction either way: as a NOP */
			continue;
		}
		if (kind == JN_JCC) {
			/* Decide on the host's flags, then save them on each way
			 * where they may be read, or needed for a fault's state:
			 * the taken way leaves the block (or loops), the other
			 * goes on, where a later instruction may replace them. */
			taken[ntaken].save = pending;
			taken[ntaken].op_host = op_host;
			if (!pending) {
				/* Saved: decided natively from their host form;
				 * from the interpreter's, its handler decides out of
				 * line (soft_cond_quick() is cheaper than computing
				 * RFLAGS). Either way they stay saved. */
				jslow[njslow].at = ax_word ? NULL : flags_word_saved(&e, op_host);
				flags_word_load(&e);
				jslow[njslow].i = i;
				jslow[njslow].off = off;
				jslow[njslow].regs = rg;
			}
			taken[ntaken].at = jit_jcc_fwd(&e, (enum jit_cc)jit_native_cc(&in[i]));
			taken[ntaken].target = next + (s32)in[i].imm;
			taken[ntaken].retired = i + 1;
			taken[ntaken].regs = rg;
			taken[ntaken].loop = taken[ntaken].target == 0 && jit_regs_fit(&rg, top);
			if (taken[ntaken].target == 0 && !*found) {
				*be = rg;
				*found = true;
			}
			ntaken++;
			if (!pending && jslow[njslow].at)
				jslow[njslow++].back = e.p;
			if (pending && !flags_dead(in, i, n))
				flags_save(&e, &op_host);
			pending = false;
			off = next;
			continue;
		}
		if (pending) {
			flags_save(&e, &op_host);
			pending = false;
		}
		jit_regs_store(&rg, &e);
		jit_regs_init(&rg);
		call_handler(&e, in, i, n, off, exits[i]);
		op_host = false;
		off = next;
	}
	/* The whole block ran: registers, flags and RIP as after its last
	 * instruction; a jump to its start may stay inside. */
	if (pending)
		flags_save(&e, &op_host);
	if (last_native && jumps && end == 0) {
		if (!*found) {
			*be = rg;
			*found = true;
		}
		if (jit_regs_fit(&rg, top))
			back_edge(&e, n, top_p, op_host);
	}
	jit_regs_store(&rg, &e);
	if (last_native && !rip_stored)
		set_rip(&e, jumps ? end : off);
	u8 *to_end = jit_jmp_fwd(&e);
	u8 *epi = e.p;
	epilogue(&e);
	/* Out of line, each with the registers stored around it: flags in the
	 * interpreter's form into the word, then back to loading it; a Jcc on
	 * them through its handler; a TLB miss's handler (the access done, and
	 * the flags of one that sets them loaded into the host's). */
	for (unsigned k = 0; k < nfslow; k++) {
		jit_patch_here(&e, fslow[k].at);
		jit_regs_store(&fslow[k].regs, &e);
		flags_word_call(&e);
		if (fslow[k].store) {
			bool op_stored = false;

			flags_word_store(&e, &op_stored);
		}
		jit_regs_load(&fslow[k].regs, &e);
		jit_jmp_to(&e, fslow[k].back);
	}
	for (unsigned k = 0; k < njslow; k++) {
		jit_patch_here(&e, jslow[k].at);
		handler_out_of_line(&e, in, n, jslow[k].i, jslow[k].off, exits, &jslow[k].regs,
				    &jslow[k].regs, NULL, false, jslow[k].back);
	}
	for (unsigned k = 0; k < nmem; k++) /* loads' refills: their TLB checks */
		if (mem[k].rf.at[0])
			jit_native_refill(&e, &mem[k].rf, mem[k].miss);
	for (unsigned k = 0; k < nmem; k++) {
		for (unsigned m = 0; m < JIT_MISSES; m++)
			jit_patch_here(&e, mem[k].miss[m]);
		handler_out_of_line(&e, in, n, mem[k].i, mem[k].off, exits, &mem[k].before,
				    &mem[k].after, mem[k].redo ? &mem[k].fs : NULL, mem[k].flags,
				    mem[k].cont);
	}
	jit_patch_here(&e, to_end);
	leave(&e, env, n, epi, last_native && !rip_stored ? (jumps ? end : off) : SITE_ANY);
	/* Exit stubs: leaving after instruction i, i + 1 of them retired. A
	 * handler in the middle of the block rarely leaves (a stop request, a
	 * far branch): those share one site, which keeps blocks small; the last
	 * instruction's way out has its own. */
	const u8 *shared = NULL;
	for (unsigned i = 0; i + 1 < n; i++) {
		if (exits[i][0] && !shared) {
			shared = e.p;
			leave_rax(&e, env, epi, SITE_ANY);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (!exits[i][0])
			continue;
		jit_patch_here(&e, exits[i][0]);
		jit_patch_here(&e, exits[i][1]);
		if (i + 1 < n) {
			jit_mov_ri(&e, JR_RAX, i + 1);
			jit_jmp_to(&e, shared);
		} else {
			leave(&e, env, i + 1, epi, SITE_ANY);
		}
	}
	/* Taken native branches: flags saved, RIP at the target. */
	for (unsigned k = 0; k < ntaken; k++) {
		jit_patch_here(&e, taken[k].at);
		if (taken[k].save)
			flags_save(&e, &taken[k].op_host);
		if (taken[k].loop)
			back_edge(&e, taken[k].retired, top_p, taken[k].op_host);
		jit_regs_store(&taken[k].regs, &e);
		set_rip(&e, taken[k].target);
		leave(&e, env, taken[k].retired, epi, taken[k].target);
	}
	*ep = e;
	return !e.full;
}

jit_block_fn *jit_translate(struct jit_cache *c, const struct soft_insn *in, unsigned n,
			    const struct jit_env *env)
{
	struct jit_regs top, be;
	struct jit_emit e;
	bool found = false;

	if (!n || n > 16)
		return NULL;
	/* A loop (a branch back to the first instruction) keeps its registers
	 * in host registers across iterations when the registers at its back
	 * edge are where the pre-header put them: translated again with
	 * those, up to twice, until they are. */
	jit_regs_init(&top);
	for (unsigned pass = 0;; pass++) {
		jit_cache_begin(c, &e);
		if (!translate_pass(&e, in, n, env, &top, &be, &found))
			return NULL;
		if (!found || jit_regs_fit(&be, &top) || pass == 2)
			break;
		top = be;
		top.pinned = 0;
		found = false;
	}
	return (jit_block_fn *)jit_cache_commit(c, &e);
}
