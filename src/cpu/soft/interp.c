/* The interpreter's dispatch loop: fetch through the TLB, a decoded-
 * instruction cache, one indirect call per instruction.
 *
 * The seam for a binary translator: soft_exec(cpu, budget) is the only
 * entry point the run loop (engine.c) uses, and its contract is just
 * "execute up to budget instructions from the architectural state in *cpu;
 * faults are left pending (cpu->pending_vector) with RIP at the faulting
 * instruction; stop early when cpu->exec_stop, cpu->attention or cpu->kick
 * is set". A translator would replace the body of this file: look up a
 * translated block by (guest-physical RIP, code size, mode) instead of a
 * decoded instruction, and fall back to soft_decode() + the same handlers
 * (in->exec) for anything it does not translate. The decoder and the
 * instruction groups need no change. Blocks need invalidation on guest
 * writes: tlb.h's codemap (soft_codemap_add / written callback) provides it.
 *
 * The decoded-instruction cache is keyed by the guest-physical address of
 * the instruction and the code size, and every hit compares the cached raw
 * bytes with guest memory, so it is always correct: self-modifying code,
 * other vCPUs and device DMA into code pages need no invalidation protocol.
 * (The comparison costs two 8-byte compares per instruction; a block cache
 * relying on the codemap could drop it later.) */
#include <stdlib.h>
#include <string.h>

#include "cpu/soft/interp.h"
#include "cpu/soft/vm.h"
#include "popek/log.h"

#define DCACHE_BITS 14
#define DCACHE_SIZE (1u << DCACHE_BITS)
#define DCACHE_EMPTY (~0ULL)

struct soft_dcache_entry {
	u64 gpa;        /* guest-physical address of the first byte, or DCACHE_EMPTY */
	u8 bytes[16];   /* the instruction's bytes (in.len of them) */
	u8 code_size;
	struct soft_insn in;
};

struct soft_dcache {
	struct soft_dcache_entry e[DCACHE_SIZE];
	struct soft_insn scratch; /* uncacheable decodes (MMIO, page-crossing) */
};

struct soft_dcache *soft_dcache_new(void)
{
	struct soft_dcache *dc = malloc(sizeof(*dc));

	if (!dc)
		return NULL;
	for (unsigned i = 0; i < DCACHE_SIZE; i++)
		dc->e[i].gpa = DCACHE_EMPTY;
	return dc;
}

void soft_dcache_free(struct soft_dcache *dc)
{
	free(dc);
}

static unsigned dcache_index(u64 gpa)
{
	return (unsigned)((gpa ^ (gpa >> DCACHE_BITS) ^ (gpa >> 28)) & (DCACHE_SIZE - 1));
}

static bool same_bytes(const u8 *a, const u8 *b, unsigned len, unsigned avail)
{
	u64 x0, y0, x1, y1;

	if (avail < 16)
		return memcmp(a, b, len) == 0;
	memcpy(&x0, a, 8);
	memcpy(&y0, b, 8);
	if (len <= 8)
		return ((x0 ^ y0) << (64 - 8 * len)) == 0;
	memcpy(&x1, a + 8, 8);
	memcpy(&y1, b + 8, 8);
	return x0 == y0 && ((x1 ^ y1) << (128 - 8 * len)) == 0;
}

/* ---- #UD reporting ---- */

/* The bytes at insn_rip, if the TLB still maps them (never faults). */
static unsigned ud_bytes(struct soft_cpu *cpu, u8 *out)
{
	u64 lin = cpu->insn_rip;
	struct soft_tlb_entry *e;
	unsigned n;

	if (cpu->mode != SOFT_MODE_LONG64)
		lin = (u32)(lin + cpu->seg[X86_CS].base);
	e = soft_tlb_slot(cpu, lin, cpu->cpl == 3);
	if (e->tag[SOFT_ACC_FETCH] != (lin & ~0xfffULL))
		return 0;
	n = MIN(15u, 4096 - (unsigned)(lin & 0xfff));
	memcpy(out, e->host + (lin & 0xfff), n);
	return n;
}

static _Noreturn void raise_ud(struct soft_cpu *cpu, unsigned map, unsigned opcode)
{
	struct soft_vm *vm = cpu->vm;
	unsigned key = (map & 3) * 256 + (opcode & 0xff);
	u64 bit = 1ULL << (key % 64);

	cpu->stat_ud++;
	if (vm && !(atomic_fetch_or(&vm->ud_seen[key / 64], bit) & bit)) {
		u8 b[16];
		char esc[80];
		unsigned n = ud_bytes(cpu, b);
		log_warn("soft: vCPU %u: #UD for opcode %s%02x at %#llx (bytes \"%s\")", cpu->id,
			 map == 0 ? "" : map == 1 ? "0f " : map == 2 ? "0f 38 " : "0f 3a ", opcode,
			 (unsigned long long)cpu->insn_rip, log_escape(esc, sizeof(esc), b, n));
	}
	soft_raise_noerr(cpu, EXC_UD);
}

_Noreturn void soft_insn_ud(struct soft_cpu *cpu, const struct soft_insn *in)
{
	raise_ud(cpu, in->map, in->opcode);
}

_Noreturn void soft_insn_ud_defined(struct soft_cpu *cpu)
{
	soft_raise_noerr(cpu, EXC_UD);
}

/* ---- fetch and decode ---- */

static const struct soft_insn *decode_failed(struct soft_cpu *cpu, int r,
					     const struct soft_insn *partial)
{
	if (r == SOFT_DECODE_TOO_LONG)
		soft_raise(cpu, EXC_GP, 0);
	raise_ud(cpu, partial->map, partial->opcode);
}

/* Slow path: code that is not RAM, crosses a page or the CS limit. Bytes
 * are fetched one at a time as the decoder asks, so a fault on the next
 * page happens only if the instruction really extends into it. */
static const struct soft_insn *fetch_slow(struct soft_cpu *cpu, struct soft_dcache *dc)
{
	struct soft_insn *in = &dc->scratch;
	u8 buf[16];
	unsigned n = 0;
	int r;

	for (;;) {
		soft_fetch(cpu, cpu->rip + n, &buf[n], 1);
		n++;
		r = soft_decode(buf, n, cpu->code_size, in);
		if (r != -2)
			break;
	}
	if (r)
		return decode_failed(cpu, r, in);
	soft_insn_bind(in);
	return in;
}

static const struct soft_insn *fetch(struct soft_cpu *cpu, struct soft_dcache *dc)
{
	struct soft_dcache_entry *ent;
	const u8 *host;
	unsigned avail;
	u64 lin, gpa;
	int r;

	if (__builtin_expect(cpu->mode == SOFT_MODE_LONG64, 1)) {
		lin = cpu->rip;
		avail = 4096 - (unsigned)(lin & 0xfff);
	} else {
		u64 eip = cpu->rip & 0xffffffffULL, limit = cpu->seg[X86_CS].limit;
		if (eip > limit)
			soft_raise(cpu, EXC_GP, 0);
		lin = (u32)(cpu->seg[X86_CS].base + eip);
		avail = (unsigned)MIN(4096 - (lin & 0xfff), limit - eip + 1);
	}
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, cpu->cpl == 3);
	if (__builtin_expect(e->tag[SOFT_ACC_FETCH] == (lin & ~0xfffULL), 1)) {
		host = e->host + (lin & 0xfff);
		gpa = e->gpa | (lin & 0xfff);
	} else {
		host = soft_fetch_ptr(cpu, cpu->rip, &avail, &gpa);
		if (!host)
			return fetch_slow(cpu, dc);
	}
	ent = &dc->e[dcache_index(gpa)];
	if (__builtin_expect(ent->gpa == gpa && ent->code_size == cpu->code_size &&
				     ent->in.len <= avail &&
				     same_bytes(ent->bytes, host, ent->in.len, avail),
			     1))
		return &ent->in;
	ent->gpa = DCACHE_EMPTY;
	r = soft_decode(host, avail, cpu->code_size, &ent->in);
	if (r == -2 && avail < 15)
		return fetch_slow(cpu, dc);
	if (r)
		return decode_failed(cpu, r, &ent->in);
	soft_insn_bind(&ent->in);
	memcpy(ent->bytes, host, ent->in.len);
	ent->code_size = cpu->code_size;
	ent->gpa = gpa;
	return &ent->in;
}

/* Without a cache (unit tests that build a bare soft_cpu). */
static const struct soft_insn *fetch_nocache(struct soft_cpu *cpu, struct soft_insn *in)
{
	u8 buf[16];
	unsigned n = 0;
	int r;

	for (;;) {
		soft_fetch(cpu, cpu->rip + n, &buf[n], 1);
		n++;
		r = soft_decode(buf, n, cpu->code_size, in);
		if (r != -2)
			break;
	}
	if (r)
		return decode_failed(cpu, r, in);
	soft_insn_bind(in);
	return in;
}

/* ---- the loop ---- */

static void fault_cleanup(struct soft_cpu *cpu)
{
	if (cpu->held_lock) {
		pthread_mutex_unlock(cpu->held_lock);
		cpu->held_lock = NULL;
	}
	if (cpu->undo_reg >= 0) {
		cpu->gpr[cpu->undo_reg] = cpu->undo_val;
		cpu->undo_reg = -1;
	}
}

u64 soft_exec(struct soft_cpu *cpu, u64 budget)
{
	const u64 start = cpu->stat_insns;
	struct soft_dcache *const dc = cpu->dcache;
	struct soft_insn nocache;

	if (setjmp(cpu->fault_jmp)) {
		/* soft_raise(): the exception is pending, RIP is back on the
		 * faulting instruction; the run loop delivers it. */
		fault_cleanup(cpu);
		return cpu->stat_insns - start;
	}
	cpu->exec_stop = false;
	cpu->undo_reg = -1;
	while (cpu->stat_insns - start < budget) {
		const struct soft_insn *in;
		u8 shadow = cpu->intr_shadow;

		cpu->insn_rip = cpu->rip;
		in = dc ? fetch(cpu, dc) : fetch_nocache(cpu, &nocache);
		cpu->rip += in->len;
		if (cpu->mode != SOFT_MODE_LONG64)
			cpu->rip &= 0xffffffffULL;
		cpu->intr_shadow = 0;
		in->exec(cpu, in);
		cpu->stat_insns++;
		/* The instruction after STI / MOV SS ran: interrupts may be taken. */
		if (__builtin_expect(cpu->exec_stop | shadow, 0))
			break;
		if (__builtin_expect(atomic_load_explicit(&cpu->attention, memory_order_relaxed) ||
					     atomic_load_explicit(&cpu->kick, memory_order_relaxed),
				     0))
			break;
	}
	return cpu->stat_insns - start;
}
