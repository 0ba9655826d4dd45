/* Block translation (see translate.h): each instruction either runs as host
 * code (jit/native.c) or through a call to its handler. Register use: rbx
 * holds the vCPU, r12 the block's first RIP (so the code serves the block at
 * any linear address its bytes appear at), r13 keeps the stack 16-byte
 * aligned for the calls.
 *
 * Flags: a native instruction leaves the guest's arithmetic flags in the
 * host's RFLAGS ("pending"); they are written to cpu->rflags only when
 * something may look at them: a handler call, the end of the block, a
 * Jcc leaving the block. A flag-setting native that follows with nothing in
 * between that reads them replaces them unseen (liveness within the block).
 * Natives cannot fault, so cpu->rip and cpu->insn_rip need to be right only
 * before a handler call and when the block is left. */
#include <stddef.h>

#include "cpu/soft/exec/exec.h"
#include "cpu/soft/jit/native.h"
#include "cpu/soft/jit/translate.h"

#define OFF_RIP       ((s32)offsetof(struct soft_cpu, rip))
#define OFF_INSN_RIP  ((s32)offsetof(struct soft_cpu, insn_rip))
#define OFF_EXEC_STOP ((s32)offsetof(struct soft_cpu, exec_stop))
#define OFF_RFLAGS    ((s32)offsetof(struct soft_cpu, rflags))
#define OFF_LAZY_OP   ((s32)offsetof(struct soft_cpu, lazy.op))
#define ARITH_FLAGS   0x8d5

_Static_assert(sizeof(((struct soft_cpu *)0)->lazy.op) == 4, "lazy.op is stored as a dword");

/* cpu->rflags' arithmetic bits = the host's (saved in rcx by pushf; pop rcx),
 * lazy flags off. Changes the host's flags. */
static void flags_store(struct jit_emit *e)
{
	jit_alu_ri(e, JA_AND, 8, JR_RCX, ARITH_FLAGS);
	jit_mov_rm(e, 8, JR_RDX, JR_RBX, OFF_RFLAGS);
	jit_alu_ri(e, JA_AND, 8, JR_RDX, ~ARITH_FLAGS);
	jit_emit_bytes(e, (const u8[]){0x48, 0x09, 0xca}, 3); /* or rdx, rcx */
	jit_mov_mr(e, 8, JR_RBX, OFF_RFLAGS, JR_RDX);
	jit_mov_mi(e, 4, JR_RBX, OFF_LAZY_OP, SOFT_LAZY_NONE);
}

static void flags_save(struct jit_emit *e)
{
	jit_pushf(e);
	jit_pop(e, JR_RCX);
	flags_store(e);
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

jit_block_fn *jit_translate(struct jit_cache *c, const struct soft_insn *in, unsigned n)
{
	u8 *exits[16][2] = {{0}};
	struct { u8 *at; s32 target; unsigned retired; } taken[16];
	unsigned ntaken = 0;
	bool pending = false; /* guest flags in the host's RFLAGS, not yet saved */
	bool last_native = false; /* the last instruction ran as host code */
	struct jit_emit e;
	s32 off = 0;

	if (!n || n > 16)
		return NULL;
	jit_cache_begin(c, &e);
	jit_push(&e, JR_RBX);
	jit_push(&e, JR_R12);
	jit_push(&e, JR_R13);
	jit_mov_rr(&e, JR_RBX, JR_RDI);
	jit_mov_rm(&e, 8, JR_R12, JR_RBX, OFF_RIP);
	for (unsigned i = 0; i < n; i++) {
		s32 next = off + in[i].len;
		enum jit_native_kind kind = jit_native_kind(&in[i]);

		last_native = kind == JN_MOVE || kind == JN_FLAGS || (kind == JN_JCC && pending);
		if (kind == JN_MOVE || kind == JN_FLAGS) {
			jit_native_emit(&e, &in[i], next);
			if (kind == JN_FLAGS)
				pending = !flags_dead(in, i, n);
			off = next;
			continue;
		}
		if (kind == JN_JCC && pending) {
			/* Decide on the host's flags, then save them on both paths. */
			jit_pushf(&e);
			jit_pop(&e, JR_RCX);
			taken[ntaken].at = jit_jcc_fwd(&e, (enum jit_cc)jit_native_cc(&in[i]));
			taken[ntaken].target = next + (s32)in[i].imm;
			taken[ntaken].retired = i + 1;
			ntaken++;
			flags_store(&e);
			pending = false;
			off = next;
			continue;
		}
		if (pending) {
			flags_save(&e);
			pending = false;
		}
		/* cpu->insn_rip = this instruction, cpu->rip = the next one. */
		jit_lea(&e, JR_RAX, JR_R12, off);
		jit_mov_mr(&e, 8, JR_RBX, OFF_INSN_RIP, JR_RAX);
		set_rip(&e, next);
		jit_mov_rr(&e, JR_RDI, JR_RBX);
		jit_mov_ri(&e, JR_RSI, (u64)(uintptr_t)&in[i]);
		jit_call(&e, (const void *)in[i].exec, JR_RAX);
		if (i + 1 < n) {
			/* Leave where the interpreter would: RIP somewhere else (a
			 * taken branch) or a request to stop after this one. */
			jit_lea(&e, JR_RAX, JR_R12, next);
			jit_alu_mr(&e, JA_CMP, 8, JR_RBX, OFF_RIP, JR_RAX);
			exits[i][0] = jit_jcc_fwd(&e, JC_NE);
			jit_alu_mi(&e, JA_CMP, 1, JR_RBX, OFF_EXEC_STOP, 0);
			exits[i][1] = jit_jcc_fwd(&e, JC_NE);
		}
		off = next;
	}
	/* The whole block ran: flags and RIP as after its last instruction. */
	if (pending)
		flags_save(&e);
	if (last_native)
		set_rip(&e, off);
	jit_mov_ri(&e, JR_RAX, n);
	u8 *epilogue = e.p;
	jit_pop(&e, JR_R13);
	jit_pop(&e, JR_R12);
	jit_pop(&e, JR_RBX);
	jit_ret(&e);
	/* Exit stubs: leaving after instruction i, i + 1 of them retired. */
	for (unsigned i = 0; i + 1 < n; i++) {
		if (!exits[i][0])
			continue;
		jit_patch_here(&e, exits[i][0]);
		jit_patch_here(&e, exits[i][1]);
		jit_mov_ri(&e, JR_RAX, i + 1);
		jit_jmp_to(&e, epilogue);
	}
	/* Taken native branches: flags saved, RIP at the target. */
	for (unsigned k = 0; k < ntaken; k++) {
		jit_patch_here(&e, taken[k].at);
		flags_store(&e);
		set_rip(&e, taken[k].target);
		jit_mov_ri(&e, JR_RAX, taken[k].retired);
		jit_jmp_to(&e, epilogue);
	}
	return (jit_block_fn *)jit_cache_commit(c, &e);
}
