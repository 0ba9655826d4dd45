/* The lockstep check (POPEK_SOFT_LOCKSTEP=1): every run of a translated
 * block is checked against the interpreter. From the same state, the
 * interpreter runs the block first (run A); its registers and the bytes it
 * wrote are kept aside and undone, then the translated code runs (run B)
 * and both results are compared: registers, flags, RIP, system state, the
 * pending exception, the instruction count and every byte either run wrote.
 * The first difference stops the VM with the guest code and both states on
 * stderr.
 *
 * What a run writes: from the first check on, the vCPU's TLB holds no write
 * entries (tlb.no_write), so every write takes the slow path, which calls
 * soft_lockstep_write() (mmu.c) before the write lands; the 64-byte lines
 * written are kept aside.
 *
 * What cannot run twice is not compared: a run A that touched a device,
 * read the clock or random numbers, wrote an MSR or made a hypercall
 * (cpu->stat_side moved), changed the TLB (mode, CR3, INVLPG), or during
 * which guest code or a device wrote RAM (the code epoch moved) stands as
 * it is, unchecked. Translated blocks run unlinked: each returns to
 * soft_exec() after one block. vCPUs of one VM take turns (a ticket lock
 * around soft_exec()'s batch) so no other vCPU writes memory between runs.
 * Slow (every block runs twice, every write takes the slow path): a
 * debugging mode, not a default. */
#ifndef POPEK_JIT_LOCKSTEP_H
#define POPEK_JIT_LOCKSTEP_H

#include "cpu/soft/cpu.h"

/* Turns of the vCPUs of one VM (in struct soft_vm). */
struct soft_lockstep_turn {
	_Atomic u32 next, serving;
};

struct soft_lockstep;

/* Whether POPEK_SOFT_LOCKSTEP asks for the check. */
bool soft_lockstep_wanted(void);
struct soft_lockstep *soft_lockstep_new(struct soft_lockstep_turn *turn);
void soft_lockstep_free(struct soft_lockstep *ls);
/* Around soft_exec()'s batch. */
void soft_lockstep_enter(struct soft_lockstep *ls);
void soft_lockstep_leave(struct soft_lockstep *ls);

/* Before run A: keeps the vCPU's state, starts logging writes. */
void soft_lockstep_begin(struct soft_lockstep *ls, struct soft_cpu *cpu);
/* After run A: true when run B is to follow (the state and the memory are
 * back as they were at begin); false when A stands unchecked. */
bool soft_lockstep_switch(struct soft_lockstep *ls, struct soft_cpu *cpu);
/* After run B: compares; on a difference prints the block (its n_insns
 * instructions, code[0..len)) and both states, and marks the check failed. */
void soft_lockstep_end(struct soft_lockstep *ls, struct soft_cpu *cpu, const u8 *code, unsigned len,
		       unsigned n_insns);
/* A message when a check failed (the VM stops), else NULL. */
const char *soft_lockstep_failed(const struct soft_lockstep *ls);
/* Blocks checked and runs left unchecked, for the exit statistics. */
void soft_lockstep_counts(const struct soft_lockstep *ls, u64 *checked, u64 *unchecked);

#endif
