/* The interpreter's dispatch loop: fetch through the TLB, a decoded-
 * instruction cache, one indirect call per instruction.
 *
 * soft_exec(cpu, budget) is the only entry point the run loop (engine.c)
 * uses: "execute up to budget instructions from the architectural state in
 * *cpu; faults are left pending (cpu->pending_vector) with RIP at the
 * faulting instruction; stop early when cpu->exec_stop, cpu->attention or
 * cpu->kick is set". A block that got hot runs as translated code (jit/),
 * which leaves through link sites: soft_exec() points a site at the
 * translated block it finds next (jit_link_next), and from then on the code
 * jumps there directly while the vCPU's link generation and the VM's code
 * epoch (mmu/tlb.h: the codemap) say nothing changed.
 *
 * The decoded-instruction cache holds straight-line blocks keyed by the
 * guest-physical address of their first byte and the code size; every entry
 * into a block compares its cached raw bytes with guest memory, so
 * self-modifying code, other vCPUs and device DMA into code pages need no
 * invalidation protocol. The one case not caught is a store into the rest of
 * the block being executed (code patching the next few instructions of its
 * own straight-line run without a jump in between); x86 code that patches
 * itself jumps or serializes first (Intel SDM Vol. 3A 8.1.3), and Linux's
 * text_poke does. Linked translated code skips the comparison; the codemap
 * and the DMA notifier stand in for it (mmu/tlb.h).
 *
 * Chaining: each block remembers its last two successors with the
 * translation that found them (struct soft_chain); while RIP and the TLB
 * generation (tlb.h: every flush, INVLPG, remap of a page and mode/CPL
 * change moves it) still match, the next block is taken from there without
 * the TLB lookup and the hash, and its bytes are compared as always. Other
 * vCPUs' writes are caught by that comparison like any write; their page-
 * table changes reach this vCPU through its own INVLPG/CR3 write (a TLB
 * shootdown), exactly as for the TLB itself. Instructions are counted per
 * block (exec_block), and on a fault per instruction before it.
 *
 * Debugging: POPEK_SOFT_TRACE=1 logs every instruction (and runs without
 * blocks); POPEK_SOFT_PROFILE=1 (engine.c, profile.c) samples guest RIPs;
 * POPEK_SOFT_LOCKSTEP=1 checks every translated run against the interpreter
 * (jit/lockstep.h, lockstep_block). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/soft/exec/exec.h"
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/jit/jit.h"
#include "cpu/soft/profile.h"
#include "cpu/soft/vm.h"
#include "popek/log.h"

/* Decoded blocks: straight-line runs of instructions within one page (or
 * running into the next when that maps the next physical page, see
 * fetch_tail), ending at an unconditional control transfer (or after
 * BLOCK_INSNS instructions / BLOCK_BYTES bytes). Conditional branches do not
 * end a block: execution leaves it wherever RIP stops following it. 32768
 * slots of 1216 bytes in sets of two (38 MiB of address space per vCPU,
 * populated as used): direct-mapped, a guest running a pipeline (two
 * processes and the kernel in turn) missed 12% of lookups, mostly pairs of
 * hot blocks evicting each other. 16 instructions rather than 8: a loop of up to 16 is one
 * translated block that stays in its own code (jit/translate.h). */
#define DCACHE_BITS 15
#define DCACHE_SIZE (1u << DCACHE_BITS)
#define BLOCK_INSNS 16
#define BLOCK_BYTES 64

/* key = gpa + 1 of the first byte, so that zeroed (never used) memory is an
 * empty slot: the cache is calloc'ed and its pages populate on first use.
 * Links into translated code land in the dead stub once the slot is rebuilt
 * (jit_kill, jit/translate.h). */
struct soft_block {
	/* The first two cache lines hold all that a lookup and a translated run
	 * read (a link reads none of it): 38 MiB of blocks do not stay in the
	 * host's caches, and each line more is a miss more. */
	u64 key;
	u8 code_size;
	u8 n;               /* instructions */
	u16 nbytes;
	u32 jit_gen;        /* jit is valid while this equals the dcache's jit_gen */
	jit_block_fn *jit;  /* the translation, or NULL */
	struct soft_block *hint; /* the block that ran after this one last time */
	u16 execs;          /* runs through the interpreter, up to JIT_HOT */
	u8 chain_victim;    /* which chain entry a new successor replaces */
	u8 bytes[BLOCK_BYTES]; /* the block's bytes, compared on every entry */
	/* Chaining (64-bit mode), the last two successors: to->b started at
	 * linear rip, guest-physical key - 1, host address host, with the TLB
	 * at generation gen. While RIP and cpu->tlb.gen still match, that
	 * translation is what the TLB would give (tlb.h: gen changes with every
	 * flush, INVLPG, remap and mode/CPL change), so block_get() skips the
	 * TLB and the hash; b->key == key checks that the slot was not rebuilt
	 * for other code, and the byte comparison runs as on every entry. */
	struct soft_chain {
		struct soft_block *b;
		u64 rip, key, gen;
		const u8 *host;
	} chain[2];
	struct soft_insn in[BLOCK_INSNS];
} __attribute__((aligned(64)));

/* A block is translated once it has run this often in the interpreter;
 * JIT_NEVER marks one the translator cannot take. */
#define JIT_HOT   32
#define JIT_NEVER 0xffff

struct soft_dcache {
	u64 lookups, misses;
	/* The translator (jit/): on or off, its code cache, whose flush moves
	 * jit_gen so that every older translation is dropped at once. */
	bool jit_on;
	u32 jit_gen;
	struct jit_cache jit;
	u64 jit_blocks, jit_flushes, jit_links, jit_ind_fills;
	struct jit_stubs jit_stubs; /* at the start of the cache (none: NULLs) */
	struct jit_ind_entry ind[JIT_IND_SIZE]; /* the indirect table (translate.h) */
	struct soft_lockstep *lockstep; /* POPEK_SOFT_LOCKSTEP: every translated run checked */
	bool trace; /* POPEK_SOFT_TRACE=1: log every instruction (slow) */
	struct soft_profile *prof; /* guest-RIP sampling, or NULL */
	u64 prof_next;             /* stat_insns value of the next sample */
	u8 mru[DCACHE_SIZE / 2]; /* per set: the way used last (the other goes first) */
	struct soft_insn scratch; /* uncacheable decodes (MMIO, page-crossing) */
	/* Last: a small guest's few blocks populate few of its huge pages (the
	 * fields above share the first), each zeroed by the host when touched. */
	struct soft_block b[DCACHE_SIZE];
};

struct soft_dcache *soft_dcache_new(void)
{
	/* Fresh anonymous memory reads as zero (all slots empty) and is only
	 * populated where blocks get built. */
	struct soft_dcache *dc = mmap(NULL, sizeof(struct soft_dcache), PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	const char *t = getenv("POPEK_SOFT_TRACE");

	if (dc == MAP_FAILED)
		return NULL;
	/* Huge pages where the host has them: the blocks are looked up all
	 * over 22 MiB, which 4 KiB pages spread over more host TLB entries
	 * than there are (a page walk on top of each cold block's cache miss). */
	madvise(dc, sizeof(*dc), MADV_HUGEPAGE);
	dc->trace = t && *t && strcmp(t, "0");
	dc->jit.fd = -1;
	return dc;
}

u64 soft_dcache_jit_blocks(const struct soft_dcache *dc)
{
	return dc->jit_blocks;
}

u64 soft_dcache_jit_flushes(const struct soft_dcache *dc)
{
	return dc->jit_flushes;
}

u64 soft_dcache_jit_links(const struct soft_dcache *dc)
{
	return dc->jit_links;
}

u64 soft_dcache_jit_ind_fills(const struct soft_dcache *dc)
{
	return dc->jit_ind_fills;
}

int soft_dcache_jit(struct soft_dcache *dc, size_t cache_size)
{
	int err = jit_cache_init(&dc->jit, cache_size);

	if (err < 0)
		return err;
	dc->jit_on = true;
	dc->jit_gen = 1;
	jit_ind_clear(dc->ind);
	return 0;
}

int soft_dcache_lockstep(struct soft_dcache *dc, struct soft_lockstep_turn *turn)
{
	dc->lockstep = soft_lockstep_new(turn);
	return dc->lockstep ? 0 : -ENOMEM;
}

const char *soft_dcache_lockstep_failed(const struct soft_dcache *dc)
{
	return dc ? soft_lockstep_failed(dc->lockstep) : NULL;
}

void soft_dcache_lockstep_counts(const struct soft_dcache *dc, u64 *checked, u64 *unchecked)
{
	soft_lockstep_counts(dc ? dc->lockstep : NULL, checked, unchecked);
}

void soft_dcache_free(struct soft_dcache *dc)
{
	if (dc && dc->lockstep) {
		u64 checked, unchecked;
		soft_lockstep_counts(dc->lockstep, &checked, &unchecked);
		log_info("soft: lockstep check: %llu translated runs checked, %llu left unchecked "
			 "(devices, clock, TLB changes, DMA)",
			 (unsigned long long)checked, (unsigned long long)unchecked);
		soft_lockstep_free(dc->lockstep);
	}
	if (dc && dc->lookups)
		log_info("soft: decoded blocks: %llu lookups, %llu misses (%.2f%%)",
			 (unsigned long long)dc->lookups, (unsigned long long)dc->misses,
			 100.0 * (double)dc->misses / (double)dc->lookups);
	if (dc && dc->jit_on)
		log_info("soft: translated %llu blocks, %llu links, %llu indirect-table fills, %llu "
			 "code cache flushes, %zu of %zu KiB of code cache in use",
			 (unsigned long long)dc->jit_blocks, (unsigned long long)dc->jit_links,
			 (unsigned long long)dc->jit_ind_fills, (unsigned long long)dc->jit_flushes,
			 (size_t)(dc->jit.used / KiB), (size_t)(dc->jit.size / KiB));
	if (dc && dc->jit_on)
		jit_cache_destroy(&dc->jit);
	if (dc)
		munmap(dc, sizeof(*dc));
}

void soft_dcache_set_profile(struct soft_dcache *dc, struct soft_profile *prof)
{
	dc->prof = prof;
	dc->prof_next = 0;
}


/* The block's bytes still equal guest memory at host (1 <= n <= BLOCK_BYTES).
 * Whole words without a loop: words 0, 8, ... before the last one, then
 * the last word ending at n (overlapping), so nothing past host[n - 1] is
 * read (it may be the end of RAM). */
static inline __attribute__((always_inline)) bool block_same(const struct soft_block *b,
							      const u8 *host)
{
	const unsigned n = b->nbytes;
	const u8 *p = b->bytes;
	u64 diff;

	_Static_assert(BLOCK_BYTES <= 64, "block_same compares at most 8 words");
	if (__builtin_expect(n >= 8, 1)) {
		diff = soft_host_load(p + n - 8, 8) ^ soft_host_load(host + n - 8, 8);
		switch ((n - 1) >> 3) {
		case 7:
			diff |= soft_host_load(p + 48, 8) ^ soft_host_load(host + 48, 8);
			/* fall through */
		case 6:
			diff |= soft_host_load(p + 40, 8) ^ soft_host_load(host + 40, 8);
			/* fall through */
		case 5:
			diff |= soft_host_load(p + 32, 8) ^ soft_host_load(host + 32, 8);
			/* fall through */
		case 4:
			diff |= soft_host_load(p + 24, 8) ^ soft_host_load(host + 24, 8);
			/* fall through */
		case 3:
			diff |= soft_host_load(p + 16, 8) ^ soft_host_load(host + 16, 8);
			/* fall through */
		case 2:
			diff |= soft_host_load(p + 8, 8) ^ soft_host_load(host + 8, 8);
			/* fall through */
		case 1:
			diff |= soft_host_load(p, 8) ^ soft_host_load(host, 8);
			/* fall through */
		default:
			break;
		}
		return !diff;
	}
	if (n >= 4)
		return !((soft_host_load(p, 4) ^ soft_host_load(host, 4)) |
			 (soft_host_load(p + n - 4, 4) ^ soft_host_load(host + n - 4, 4)));
	diff = 0;
	for (unsigned i = 0; i < n; i++)
		diff |= p[i] ^ host[i];
	return !diff;
}

/* The first of the two slots of gpa's set: consecutive 4-byte pieces of
 * code in consecutive sets (64 KiB of code before the index wraps), higher
 * bits folded in. Code close together shares the host's huge pages: a small
 * guest's blocks fill a few, not one per block (each one the host zeroes
 * when first touched, 2 MiB at a time). 8-byte pieces filled fewer still
 * but missed more in a boot (4.9% of lookups, against 4.7%). */
static unsigned dcache_set(u64 gpa)
{
	const u64 x = gpa >> 2;

	return (unsigned)(((x ^ (x >> (DCACHE_BITS - 1)) ^ (x >> 23)) << 1) & (DCACHE_SIZE - 2));
}

/* Notes b as its set's way used last (a store only when that changes). */
static inline void dcache_used(struct soft_dcache *dc, const struct soft_block *b)
{
	unsigned slot = (unsigned)(b - dc->b);

	if (dc->mru[slot >> 1] != (slot & 1))
		dc->mru[slot >> 1] = (u8)(slot & 1);
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
			 map == 0   ? ""
			 : map == 1 ? "0f "
			 : map == 2 ? "0f 38 "
				    : "0f 3a ",
			 opcode, (unsigned long long)cpu->insn_rip,
			 log_escape(esc, sizeof(esc), b, n));
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

/* One instruction the slow way: code that is not RAM, or that crosses a
 * page or the CS limit. Bytes are fetched one at a time as the decoder
 * asks, so a fault on the next page happens only if the instruction really
 * extends into it. */
static const struct soft_insn *fetch_one(struct soft_cpu *cpu, struct soft_insn *in)
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
	soft_insn_bind(in, cpu->code_size);
	return in;
}

/* Decodes a new block at host (avail bytes left in the page and CS limit).
 * Returns NULL when not even the first instruction fits: the caller takes
 * the slow path. A first instruction that does not decode raises. */
static struct soft_block *block_build(struct soft_cpu *cpu, struct soft_block *b, const u8 *host,
				      unsigned avail, u64 gpa)
{
	unsigned off = 0;
	int r;

	struct soft_dcache *dc = cpu->dcache;

	/* Links into the old block's code now lead back to soft_exec(). */
	if (b->jit && b->jit_gen == dc->jit_gen && dc->jit_stubs.dead)
		jit_kill(&dc->jit, b->jit, dc->jit_stubs.dead);
	b->key = 0;
	b->n = 0;
	b->hint = NULL;
	b->jit = NULL;
	b->execs = 0;
	for (unsigned k = 0; k < 2; k++) {
		b->chain[k].key = 0;
		b->chain[k].gen = cpu->tlb.gen - 1; /* no chain: gen only grows */
	}
	while (b->n < BLOCK_INSNS) {
		struct soft_insn *in = &b->in[b->n];
		r = soft_decode(host + off, avail - off, cpu->code_size, in);
		if (r || off + in->len > BLOCK_BYTES) {
			if (b->n)
				break; /* the block ends before it; it faults when reached */
			if (r == -2)
				return NULL;
			decode_failed(cpu, r, in);
		}
		soft_insn_bind(in, cpu->code_size);
		off += in->len;
		b->n++;
		if (in->ends_block || off >= avail)
			break;
	}
	b->nbytes = (u16)off;
	memcpy(b->bytes, host, off);
	b->code_size = cpu->code_size;
	b->key = gpa + 1;
	return b;
}

/* Whether slot b holds the block at gpa (host: its bytes, avail of them
 * fetchable). */
static inline __attribute__((always_inline)) bool block_hit(const struct soft_cpu *cpu,
							    const struct soft_block *b, u64 gpa,
							    const u8 *host, unsigned avail)
{
	return b->key == gpa + 1 && b->code_size == cpu->code_size && b->nbytes <= avail &&
	       block_same(b, host);
}

/* 4096 when the linear page after lin's maps, for fetches in the TLB right
 * now, the guest-physical page after gpa's, host-contiguous: an instruction
 * that straddles the two pages is then decoded into a block (else every run
 * of it takes the slow path). Used by a lookup only: a block checked this
 * way stays valid as long as cpu->tlb.gen (both pages' mappings). */
static unsigned fetch_tail(struct soft_cpu *cpu, u64 lin, u64 gpa, const u8 *host)
{
	const u64 next = (lin | 0xfff) + 1;
	const struct soft_tlb_entry *e = soft_tlb_slot(cpu, next, cpu->cpl == 3);

	if (next && e->tag[SOFT_ACC_FETCH] == next && e->gpa == (gpa | 0xfff) + 1 &&
	    e->host == host + (4096 - (gpa & 0xfff)))
		return 4096;
	return 0;
}

/* The decoded block at RIP, or NULL for the slow path. Raises #GP/#PF like
 * an instruction fetch. prev: the block that ran just before, or NULL. */

static struct soft_block *block_get(struct soft_cpu *cpu, struct soft_dcache *dc,
				    struct soft_block *prev)
{
	struct soft_block *b;
	const u8 *host;
	unsigned avail;
	u64 lin, gpa;

	if (__builtin_expect(cpu->mode == SOFT_MODE_LONG64, 1)) {
		if (prev) {
			const struct soft_chain *c = &prev->chain[0];
			if (c->rip != cpu->rip)
				c++;
			if (c->rip == cpu->rip && c->gen == cpu->tlb.gen) {
				b = c->b;
				dc->lookups++;
				if (__builtin_expect(b->key == c->key && b->code_size == 8 &&
							 block_same(b, c->host),
						     1)) {
					dcache_used(dc, b);
					return b;
				}
			}
		}
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
			return NULL;
	}
	if (__builtin_expect(avail < 15, 0) && cpu->mode == SOFT_MODE_LONG64)
		avail += fetch_tail(cpu, lin, gpa, host);
	const unsigned set = dcache_set(gpa);
	dc->lookups++;
	b = &dc->b[set];
	if (!block_hit(cpu, b, gpa, host, avail)) {
		b++;
		if (__builtin_expect(!block_hit(cpu, b, gpa, host, avail), 0)) {
			dc->misses++;
			/* An empty way first, else the one used less recently. */
			b = &dc->b[set + (!dc->b[set].key ? 0 : !b->key ? 1 : dc->mru[set >> 1] ^ 1)];
			b = block_build(cpu, b, host, avail, gpa);
			if (!b)
				return NULL;
		}
	}
	dcache_used(dc, b);
	if (prev) {
		struct soft_chain *c = &prev->chain[prev->chain_victim];
		prev->hint = b;
		if (prev->chain[0].rip == cpu->rip)
			c = &prev->chain[0];
		else if (prev->chain[1].rip == cpu->rip)
			c = &prev->chain[1];
		else
			prev->chain_victim ^= 1;
		c->b = b;
		c->rip = cpu->rip;
		c->key = gpa + 1;
		c->host = host;
		/* Outside 64-bit mode (CS base and limit) no chain is used. */
		c->gen = cpu->mode == SOFT_MODE_LONG64 ? cpu->tlb.gen : cpu->tlb.gen - 1;
	}
	return b;
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
	if (cpu->undo_flags) {
		cpu->lazy.op = SOFT_LAZY_NONE;
		cpu->rflags = cpu->undo_rflags;
		cpu->undo_flags = false;
		soft_priv_update(cpu);
	}
}

/* cpu->run while translated code runs (cpu.h). */
static const char run_jit_mark;
#define SOFT_RUN_JIT ((const void *)&run_jit_mark)

/* After a fault inside cpu->run: the instructions of the block before the
 * faulting one (at insn_rip) retired; count them. */
static void block_retired(struct soft_cpu *cpu)
{
	const struct soft_block *b = cpu->run;
	u64 rip = cpu->run_rip;
	unsigned i;

	cpu->run = NULL;
	if ((const void *)b == SOFT_RUN_JIT) {
		cpu->stat_insns += (u64)(cpu->jit_left0 - cpu->jit_left) + cpu->run_done;
		return;
	}
	for (i = 0; i < b->n && rip != cpu->insn_rip; i++) {
		rip += b->in[i].len;
		if (b->code_size != 8)
			rip &= 0xffffffffULL;
	}
	cpu->stat_insns += i;
}

/* Runs b's translated code, which counts itself down in cpu->jit_left
 * (cpu.h), and adds what retired to stat_insns. */
static void jit_run(struct soft_cpu *cpu, const struct soft_block *b)
{
	cpu->run = SOFT_RUN_JIT;
	cpu->tlb.link_gen_p = cpu->tlb.link_gen_p_clean; /* b was just looked up */
	cpu->jit_left = (s64)MIN(cpu->exec_end - cpu->stat_insns, (u64)INT64_MAX);
	cpu->jit_left0 = cpu->jit_left;
	b->jit(cpu);
	cpu->stat_insns += (u64)(cpu->jit_left0 - cpu->jit_left);
}

/* Runs one instruction (page-crossing or MMIO code, the instruction in an
 * interrupt shadow, or a CPU without a decoded-instruction cache). */
static void exec_one(struct soft_cpu *cpu, struct soft_insn *scratch, bool trace)
{
	const struct soft_insn *in;

	cpu->insn_rip = cpu->rip;
	in = fetch_one(cpu, scratch);
	if (trace)
		log_warn("soft trace: vCPU %u %04x:%#llx map %u op %02x len %u rax %#llx rflags %#llx",
			 cpu->id, cpu->seg[X86_CS].selector, (unsigned long long)cpu->rip,
			 in->map, in->opcode, in->len, (unsigned long long)cpu->gpr[X86_RAX],
			 (unsigned long long)soft_flags_get(cpu));
	cpu->rip += in->len;
	if (cpu->mode != SOFT_MODE_LONG64)
		cpu->rip &= 0xffffffffULL;
	in->exec(cpu, in);
	cpu->stat_insns++;
}

/* Runs the block from its first instruction while RIP follows it.
 * Instructions are counted once per block, not one by one: when one faults
 * (soft_raise longjmps out of here), soft_exec counts the instructions of
 * the block before it from cpu->run / cpu->run_rip (block_retired()). */
static inline __attribute__((always_inline)) void exec_block_mode(struct soft_cpu *cpu,
								  const struct soft_block *b,
								  bool wrap)
{
	const struct soft_insn *in = b->in, *const end = b->in + b->n;
	u64 rip = cpu->rip;

	for (;;) {
		u64 next = rip + in->len;
		if (wrap)
			next &= 0xffffffffULL;
		cpu->insn_rip = rip;
		cpu->rip = next;
		in->exec(cpu, in);
		in++;
		rip = cpu->rip;
		if (__builtin_expect(rip != next || cpu->exec_stop, 0) || in == end)
			break;
	}
	cpu->stat_insns += (u64)(in - b->in);
}

/* Translates a block that got hot (64-bit code only, for now); a full code
 * cache is flushed whole and the block retried once. */
static void jit_block(struct soft_cpu *cpu, struct soft_dcache *dc, struct soft_block *b)
{
	struct jit_env env = {
	    .links = cpu->tlb.code != NULL,
	    .ind = dc->ind,
	    .amd_shift = soft_quirk(cpu, SQ_SHIFT_OF_FROM_RESULT),
	    .mul_keeps = soft_quirk(cpu, SQ_MUL_KEEPS_SZAP),
	};

	/* An empty cache starts with the stubs. */
	if (!dc->jit.used)
		jit_translate_stubs(&dc->jit, &env, &dc->jit_stubs);
	env.stub = dc->jit_stubs.dispatch;
	b->jit = jit_translate(&dc->jit, b->in, b->n, &env);
	if (!b->jit) {
		jit_cache_flush(&dc->jit);
		jit_ind_clear(dc->ind);
		dc->jit_gen++;
		dc->jit_flushes++;
		jit_translate_stubs(&dc->jit, &env, &dc->jit_stubs);
		env.stub = dc->jit_stubs.dispatch;
		b->jit = jit_translate(&dc->jit, b->in, b->n, &env);
	}
	b->jit_gen = dc->jit_gen;
	if (b->jit)
		dc->jit_blocks++;
	else
		b->execs = JIT_NEVER;
}

/* Runs b in the interpreter or as translated code, catching a fault: a run
 * of the lockstep check. The translated run has no budget, so that a back
 * edge to b's start leaves b as the interpreter's run does. */
static void lockstep_run(struct soft_cpu *cpu, struct soft_block *b, bool translated)
{
	const u64 end = cpu->exec_end;

	cpu->run = b;
	cpu->run_rip = cpu->rip;
	if (setjmp(cpu->fault_jmp)) {
		fault_cleanup(cpu);
		if (cpu->run)
			block_retired(cpu);
		cpu->exec_end = end;
		return;
	}
	if (translated) {
		cpu->exec_end = cpu->stat_insns;
		jit_run(cpu, b);
		cpu->exec_end = end;
		cpu->jit_exit = NULL;
	} else {
		exec_block_mode(cpu, b, false);
	}
	cpu->run = NULL;
}

/* The lockstep check (jit/lockstep.h) of one run of the translated block b:
 * the interpreter first, then the translation from the same state. */
static void lockstep_block(struct soft_cpu *cpu, struct soft_dcache *dc, struct soft_block *b)
{
	jmp_buf outer;

	memcpy(outer, cpu->fault_jmp, sizeof(outer));
	soft_lockstep_begin(dc->lockstep, cpu);
	lockstep_run(cpu, b, false);
	if (soft_lockstep_switch(dc->lockstep, cpu)) {
		lockstep_run(cpu, b, true);
		soft_lockstep_end(dc->lockstep, cpu, b->bytes, b->nbytes, b->n);
	}
	memcpy(cpu->fault_jmp, outer, sizeof(outer));
	/* An exception is delivered by the run loop; a difference stops it. */
	if (cpu->pending_vector >= 0 || soft_lockstep_failed(dc->lockstep))
		cpu->exec_stop = true;
}

/* Returns the link site translated code left by (translate.h), or NULL. */
static u8 *exec_block(struct soft_cpu *cpu, struct soft_dcache *dc, struct soft_block *b)
{
	u8 *site = NULL;

	cpu->run = b;
	cpu->run_rip = cpu->rip;
	if (__builtin_expect(cpu->mode == SOFT_MODE_LONG64, 1)) {
		if (b->jit && b->jit_gen == dc->jit_gen) {
			if (__builtin_expect(dc->lockstep != NULL, 0)) {
				lockstep_block(cpu, dc, b); /* unlinked */
				cpu->run = NULL;
				return NULL;
			}
			jit_run(cpu, b);
			site = cpu->jit_exit;
			cpu->jit_exit = NULL;
		} else {
			exec_block_mode(cpu, b, false);
			/* Hot (or translated before a cache flush): translate. */
			if (dc->jit_on && b->execs != JIT_NEVER &&
			    (b->execs >= JIT_HOT || ++b->execs == JIT_HOT))
				jit_block(cpu, dc, b);
		}
	} else {
		exec_block_mode(cpu, b, true);
	}
	cpu->run = NULL;
	return site;
}

/* Links the site translated code just left by (cpu->jit_exit) to b, the
 * block found at RIP after it, when b is translated and its pages are
 * tracked by the codemap. epoch, add_epoch: the codemap's two counters read
 * before b's bytes were compared (mmu/tlb.h), epoch the one the link
 * generations last moved for (exec_batch). A page tracked only now links
 * next time: tracking it moved add_epoch (bytes checked while it was not
 * tracked may have been written). */
static void jit_link_next(struct soft_cpu *cpu, struct soft_dcache *dc, u8 *site,
			  const struct soft_block *b, u64 epoch, u64 add_epoch)
{
	struct soft_codemap *map = cpu->tlb.code;
	u64 gpa = b->key - 1, last = gpa + b->nbytes - 1; /* last: maybe in the next page */

	if (!map || !b->jit || b->jit_gen != dc->jit_gen || b->code_size != 8 ||
	    !dc->jit_stubs.dead)
		return;
	if (!soft_codemap_test(map, gpa))
		soft_codemap_add(map, gpa);
	if (!soft_codemap_test(map, last))
		soft_codemap_add(map, last);
	if (!soft_codemap_test(map, gpa) || !soft_codemap_test(map, last) ||
	    __atomic_load_n(&map->epoch, __ATOMIC_SEQ_CST) != epoch ||
	    __atomic_load_n(&map->add_epoch, __ATOMIC_SEQ_CST) != add_epoch)
		return;
	/* A block in a page mapped global survives CR3 writes (tlb.h). */
	const struct soft_tlb_entry *e =
	    soft_tlb_slot(cpu, cpu->rip, cpu->cpl == 3 ? SOFT_PRIV_USER : SOFT_PRIV_SUP);
	bool global = e->tag[SOFT_ACC_FETCH] == (cpu->rip & ~0xfffULL) && e->global;

	const u64 *gen = global ? &cpu->tlb.link_gen_g : &cpu->tlb.link_gen;

	/* A site whose next block keeps changing: the indirect table. */
	if (!jit_link_wanted(site, cpu->rip)) {
		jit_ind_insert(dc->ind, gen, b->jit, cpu->rip);
		dc->jit_ind_fills++;
		return;
	}
	/* Within the page the site's block started in: a CR3 write keeps it.
	 * b was just looked up, so link_gen_p is clean again (a link made
	 * under its unclean value would hold after the next TLB change). */
	if (jit_site_same_page(site, cpu->rip, b->nbytes)) {
		cpu->tlb.link_gen_p = cpu->tlb.link_gen_p_clean;
		gen = &cpu->tlb.link_gen_p;
	}
	jit_link(&dc->jit, site, cpu, gen, b->jit, cpu->rip);
	dc->jit_links++;
}

/* Whether the block stopped at an STI that set IF while no interrupt
 * waits to be taken (SDM Vol. 2B "STI": one pending now is taken after the
 * next instruction): then the batch goes on and the run loop need not look.
 * Interrupts raised later, by another thread or a timer, reach the vCPU as
 * with IF set all along. */
static bool sti_window_empty(struct soft_cpu *cpu)
{
	return cpu->sti_window && cpu->exec_stop && cpu->intr_shadow == 1 && cpu->lapic &&
	       cpu->pending_vector < 0 && !(cpu->rflags & X86_RFLAGS_TF) &&
	       !atomic_load_explicit(&cpu->attention, memory_order_relaxed) &&
	       !atomic_load_explicit(&cpu->kick, memory_order_relaxed) &&
	       !soft_lapic_nmi_pending(cpu->lapic) && soft_lapic_pending_vector(cpu->lapic) < 0;
}

/* One instruction under the debug registers, TF or RF (SDM Vol. 3B 18.3):
 * an execute breakpoint faults before it unless RF is set; RF is cleared
 * as it starts; data breakpoints it hit and TF at its start make one #DB
 * trap after it, held back one instruction by MOV SS / POP SS. No #DB
 * follows an instruction that delivered an event (INT n, INT3, INTO, INT1):
 * the handler starts with TF clear. */
static void debug_step(struct soft_cpu *cpu, struct soft_insn *scratch, bool trace)
{
	const bool tf = cpu->rflags & X86_RFLAGS_TF;
	u64 lin = cpu->seg[X86_CS].base + cpu->rip, bits;

	if (cpu->mode != SOFT_MODE_LONG64)
		lin &= 0xffffffffULL;
	cpu->insn_rip = cpu->rip;
	if (!cpu->db_ss_shadow)
		cpu->db_hits = 0;
	cpu->db_ss_shadow = false;
	if (cpu->dbg && soft_debug_dbg_before(cpu, lin))
		return; /* a debugger's breakpoint: the run loop reports it */
	if (cpu->db_exec && !(cpu->rflags & (1ULL << 16))) {
		unsigned hit = soft_debug_exec_hits(cpu, lin);
		if (hit) {
			soft_debug_raise_trap(cpu, hit); /* a fault: RIP stays */
			return;
		}
	}
	cpu->rflags &= ~(1ULL << 16);
	cpu->intr_shadow = 0;
	cpu->db_delivered = false;
	/* A REP instruction: one iteration when a trap may follow each. */
	cpu->db_rep = tf || cpu->db_data || (cpu->dbg && cpu->dbg->step) ? SOFT_REP_ONE
									  : SOFT_REP_RF;
	exec_one(cpu, scratch, trace);
	cpu->db_rep = SOFT_REP_BATCH;
	if (cpu->dbg)
		soft_debug_dbg_after(cpu);
	if (cpu->db_ss_shadow)
		return; /* the next instruction reports these hits too */
	bits = cpu->db_hits;
	if (tf && !cpu->db_delivered)
		bits |= 1ULL << 14; /* BS */
	if (bits && cpu->pending_vector < 0)
		soft_debug_raise_trap(cpu, bits);
}

static u64 exec_batch(struct soft_cpu *cpu, u64 budget)
{
	const u64 start = cpu->stat_insns;
	struct soft_dcache *const dc = cpu->dcache;
	struct soft_insn scratch;

	if (setjmp(cpu->fault_jmp)) {
		/* soft_raise(): the exception is pending, RIP is back on the
		 * faulting instruction; the run loop delivers it. */
		cpu->db_rep = SOFT_REP_BATCH; /* a fault on the debug path */
		fault_cleanup(cpu);
		if (dc && cpu->run)
			block_retired(cpu);
		return cpu->stat_insns - start;
	}
	cpu->exec_stop = false;
	cpu->sti_window = cpu->block_end = false;
	cpu->exec_end = start + budget < start ? UINT64_MAX : start + budget;
	cpu->undo_reg = -1;
	cpu->undo_flags = false;
	if (__builtin_expect(soft_debug_active(cpu), 0)) {
		debug_step(cpu, dc ? &dc->scratch : &scratch, dc && dc->trace);
		return cpu->stat_insns - start;
	}
	if (cpu->intr_shadow) {
		/* The instruction after STI / MOV SS runs alone: then interrupts
		 * may be taken (SDM Vol. 3A 6.8.3). */
		cpu->intr_shadow = 0;
		exec_one(cpu, dc ? &dc->scratch : &scratch, dc && dc->trace);
		return cpu->stat_insns - start;
	}
	struct soft_block *prev = NULL;
	const bool blocks = dc && !dc->trace;
	struct soft_profile *const prof = dc ? dc->prof : NULL; /* set before the vCPU runs */
	const u64 *const epoch = dc && dc->jit_on && cpu->tlb.code ? &cpu->tlb.code->epoch : NULL;
	u8 *site = NULL; /* the link site the last translated block left by */

	while (cpu->stat_insns - start < budget) {
		struct soft_block *b;
		u64 ep = 0, ap = 0;

		if (epoch) {
			/* Links made before the code epoch's last move are not
			 * followed (cleared first: a move after the load sets it). */
			if (atomic_load_explicit(&cpu->code_moved, memory_order_relaxed))
				atomic_store(&cpu->code_moved, false);
			ep = __atomic_load_n(epoch, __ATOMIC_SEQ_CST);
			ap = __atomic_load_n(&cpu->tlb.code->add_epoch, __ATOMIC_SEQ_CST);
			soft_tlb_see_epoch(&cpu->tlb, ep);
		}

		cpu->insn_rip = cpu->rip; /* a fetch fault reports this RIP */
		b = blocks ? block_get(cpu, dc, prev) : NULL;

		if (b) {
			if (site)
				jit_link_next(cpu, dc, site, b, ep, ap);
			/* Decoded blocks outgrow the host's caches: fetch the block
			 * that followed this one last time while this one runs. */
			if (b->hint) {
				__builtin_prefetch(b->hint);
				__builtin_prefetch((const char *)b->hint + 64);
				__builtin_prefetch((const char *)b->hint + 128);
			}
			site = exec_block(cpu, dc, b);
			prev = b;
		} else {
			prev = NULL;
			site = NULL;
			exec_one(cpu, dc ? &dc->scratch : &scratch, dc && dc->trace);
		}
		/* Profiling: one sample every SOFT_PROFILE_PERIOD instructions. */
		if (__builtin_expect(prof && cpu->stat_insns >= dc->prof_next, 0)) {
			soft_profile_sample(prof, cpu->rip, 1);
			dc->prof_next = cpu->stat_insns + SOFT_PROFILE_PERIOD;
		}
		if (__builtin_expect(cpu->exec_stop || cpu->intr_shadow, 0)) {
			/* A MOV to CR3 or an INVLPG: the next block is looked up
			 * in the new address space; nothing else needs the run loop. */
			if (cpu->block_end && cpu->exec_stop && !cpu->intr_shadow) {
				cpu->exec_stop = cpu->block_end = false;
			} else if (sti_window_empty(cpu)) {
				/* The instruction after STI alone, then on (it may
				 * stop the batch itself: HLT, a fault). */
				cpu->exec_stop = cpu->sti_window = false;
				cpu->intr_shadow = 0;
				exec_one(cpu, dc ? &dc->scratch : &scratch, dc && dc->trace);
				if (cpu->exec_stop || cpu->intr_shadow)
					break;
			} else {
				break;
			}
			prev = NULL;
			site = NULL;
		}
		if (__builtin_expect(atomic_load_explicit(&cpu->attention, memory_order_relaxed) ||
					 atomic_load_explicit(&cpu->kick, memory_order_relaxed),
				     0))
			break;
	}
	return cpu->stat_insns - start;
}

u64 soft_exec(struct soft_cpu *cpu, u64 budget)
{
	struct soft_lockstep *ls = cpu->dcache ? cpu->dcache->lockstep : NULL;
	u64 n;

	if (__builtin_expect(!ls, 1))
		return exec_batch(cpu, budget);
	/* The lockstep check: no other vCPU writes memory between its runs. */
	soft_lockstep_enter(ls);
	n = exec_batch(cpu, budget);
	soft_lockstep_leave(ls);
	return n;
}
