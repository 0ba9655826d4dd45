/* The lockstep check: a translated block against the interpreter (lockstep.h). */
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/soft/jit/lockstep.h"
#include "popek/log.h"

/* What the runs write is logged by 64-byte lines of RAM. */
#define LINE     64
#define LS_LINES 256 /* lines one run may write; more: the run stands unchecked */

struct ls_line {
	u8 *host; /* the line's first byte */
	u64 gpa;
	bool by_a;     /* run A wrote it: want holds A's bytes, else the original */
	u8 orig[LINE]; /* before either run */
	u8 want[LINE]; /* what run B must leave */
};

struct soft_lockstep {
	struct soft_lockstep_turn *turn;
	/* The vCPU's state at begin (s) and after run A (a): the architectural
	 * part of struct soft_cpu (up to the TLB) and the counters below it. */
	struct soft_cpu *s, *a;
	u64 a_flags;
	u64 gen, link_gen, epoch, side;
	unsigned n;
	bool overflow;
	struct ls_line *ln; /* [LS_LINES] */
	u64 checked, unchecked;
	bool failed;
	char msg[160];
};

bool soft_lockstep_wanted(void)
{
	const char *v = getenv("POPEK_SOFT_LOCKSTEP");

	return v && *v && strcmp(v, "0");
}

struct soft_lockstep *soft_lockstep_new(struct soft_lockstep_turn *turn)
{
	struct soft_lockstep *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	ls->turn = turn;
	ls->s = aligned_alloc(_Alignof(struct soft_cpu), sizeof(*ls->s));
	ls->a = aligned_alloc(_Alignof(struct soft_cpu), sizeof(*ls->a));
	ls->ln = malloc(LS_LINES * sizeof(*ls->ln));
	if (!ls->s || !ls->a || !ls->ln) {
		soft_lockstep_free(ls);
		return NULL;
	}
	return ls;
}

void soft_lockstep_free(struct soft_lockstep *ls)
{
	if (!ls)
		return;
	free(ls->s);
	free(ls->a);
	free(ls->ln);
	free(ls);
}

/* A fair lock: with a plain mutex, a vCPU that leaves and re-enters at once
 * could keep the other one out for good. */
void soft_lockstep_enter(struct soft_lockstep *ls)
{
	u32 me = atomic_fetch_add(&ls->turn->next, 1);

	while (atomic_load(&ls->turn->serving) != me)
		sched_yield();
}

void soft_lockstep_leave(struct soft_lockstep *ls)
{
	atomic_fetch_add(&ls->turn->serving, 1);
}

/* ---- the vCPU's state ---- */

#define ARCH_END offsetof(struct soft_cpu, tlb)

static void state_keep(struct soft_cpu *to, const struct soft_cpu *cpu)
{
	memcpy(to, cpu, ARCH_END);
	memcpy(to->dr, cpu->dr, sizeof(to->dr));
	to->stat_insns = cpu->stat_insns;
}

/* All but kick, attention and code_moved, which other threads set meanwhile. */
static void state_restore(struct soft_cpu *cpu, const struct soft_cpu *from)
{
	const size_t k = offsetof(struct soft_cpu, kick), e = offsetof(struct soft_cpu, exec_stop);

	_Static_assert(offsetof(struct soft_cpu, attention) > offsetof(struct soft_cpu, kick) &&
			   offsetof(struct soft_cpu, code_moved) > offsetof(struct soft_cpu, attention) &&
			   offsetof(struct soft_cpu, code_moved) <
			       offsetof(struct soft_cpu, exec_stop),
		       "kick, attention and code_moved lie between intr_shadow and exec_stop");
	memcpy(cpu, from, k);
	memcpy((u8 *)cpu + e, (const u8 *)from + e, ARCH_END - e);
	memcpy(cpu->dr, from->dr, sizeof(cpu->dr));
	cpu->stat_insns = from->stat_insns;
	soft_priv_update(cpu); /* tlb.read_key's bank: dpriv's again */
}

static u64 code_epoch(const struct soft_cpu *cpu)
{
	return cpu->tlb.code ? __atomic_load_n(&cpu->tlb.code->epoch, __ATOMIC_SEQ_CST) : 0;
}

/* From the first check on, the TLB gives no write access: every write takes
 * the slow path, which logs it. */
static void tlb_no_writes(struct soft_cpu *cpu)
{
	struct soft_tlb *t = &cpu->tlb;

	if (t->no_write)
		return;
	t->no_write = true;
	soft_tlb_drop_write_tags(t);
}

static void line_log(struct soft_lockstep *ls, u8 *host, u64 gpa)
{
	for (unsigned i = ls->n; i-- > 0;)
		if (ls->ln[i].host == host)
			return;
	if (ls->n == LS_LINES) {
		ls->overflow = true;
		return;
	}
	struct ls_line *l = &ls->ln[ls->n++];
	l->host = host;
	l->gpa = gpa;
	l->by_a = false;
	memcpy(l->orig, host, LINE);
}

/* RAM is mapped in whole pages: its lines are whole too. */
void soft_lockstep_write(struct soft_cpu *cpu, u8 *host, u64 gpa, unsigned len)
{
	uintptr_t first = (uintptr_t)host & ~(uintptr_t)(LINE - 1);
	uintptr_t last = ((uintptr_t)host + len - 1) & ~(uintptr_t)(LINE - 1);

	for (uintptr_t p = first; p <= last; p += LINE)
		line_log(cpu->lockstep, (u8 *)p, (gpa & ~(u64)(LINE - 1)) + (p - first));
}

void soft_lockstep_begin(struct soft_lockstep *ls, struct soft_cpu *cpu)
{
	state_keep(ls->s, cpu);
	ls->gen = cpu->tlb.gen;
	ls->link_gen = cpu->tlb.link_gen;
	ls->epoch = code_epoch(cpu);
	ls->side = cpu->stat_side;
	ls->n = 0;
	ls->overflow = false;
	tlb_no_writes(cpu);
	cpu->lockstep = ls;
}

bool soft_lockstep_switch(struct soft_lockstep *ls, struct soft_cpu *cpu)
{
	if (cpu->stat_side != ls->side || cpu->tlb.gen != ls->gen ||
	    cpu->tlb.link_gen != ls->link_gen || code_epoch(cpu) != ls->epoch || ls->overflow) {
		cpu->lockstep = NULL;
		ls->unchecked++;
		return false;
	}
	ls->a_flags = soft_flags_get(cpu);
	state_keep(ls->a, cpu);
	for (unsigned i = 0; i < ls->n; i++) {
		struct ls_line *l = &ls->ln[i];
		memcpy(l->want, l->host, LINE);
		l->by_a = true;
		memcpy(l->host, l->orig, LINE);
	}
	state_restore(cpu, ls->s);
	return true;
}

/* ---- the comparison ---- */

static const char *const gpr_name[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					 "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

/* The system state compared as bytes: two runs of fields, each up to the
 * next entry's offset; a name of NULL ends a run. */
static const struct {
	const char *name;
	size_t off;
} sys_field[] = {
    {"segment registers", offsetof(struct soft_cpu, seg)},
    {"tr", offsetof(struct soft_cpu, tr)},
    {"ldtr", offsetof(struct soft_cpu, ldt)},
    {"gdtr", offsetof(struct soft_cpu, gdt)},
    {"idtr", offsetof(struct soft_cpu, idt)},
    {"cr0", offsetof(struct soft_cpu, cr0)},
    {"cr2", offsetof(struct soft_cpu, cr2)},
    {"cr3", offsetof(struct soft_cpu, cr3)},
    {"cr4", offsetof(struct soft_cpu, cr4)},
    {"efer", offsetof(struct soft_cpu, efer)},
    {"xcr0", offsetof(struct soft_cpu, xcr0)},
    {"pkru", offsetof(struct soft_cpu, pkru)},
    {"MSRs", offsetof(struct soft_cpu, msr)},
    {"x87/SSE state", offsetof(struct soft_cpu, fx)},
    {NULL, offsetof(struct soft_cpu, vendor)},
    {"mode, CPL", offsetof(struct soft_cpu, mode)},
    {NULL, offsetof(struct soft_cpu, insn_rip)},
};

struct report {
	struct soft_lockstep *ls;
	struct soft_cpu *cpu;
	const u8 *code;
	unsigned len, n_insns;
	unsigned diffs;
};

static void report_head(struct report *r)
{
	char hex[3 * 64 + 1];
	unsigned k = 0;

	if (r->diffs++)
		return;
	for (unsigned i = 0; i < r->len && i < 64; i++)
		k += (unsigned)snprintf(hex + k, sizeof(hex) - k, " %02x", r->code[i]);
	hex[k] = 0;
	log_error("soft lockstep: vCPU %u: the translated block at %#llx differs from the "
		  "interpreter",
		  r->cpu->id, (unsigned long long)r->ls->s->rip);
	log_error("  code (%u instructions):%s", r->n_insns, hex);
	log_error("  before:      rip %#llx rflags %#llx", (unsigned long long)r->ls->s->rip,
		  (unsigned long long)soft_flags_get(r->ls->s));
	for (unsigned i = 0; i < 16; i++)
		log_error("  %-4s before %#18llx interpreter %#18llx translator %#18llx%s",
			  gpr_name[i], (unsigned long long)r->ls->s->gpr[i],
			  (unsigned long long)r->ls->a->gpr[i], (unsigned long long)r->cpu->gpr[i],
			  r->ls->a->gpr[i] != r->cpu->gpr[i] ? "  <-- differs" : "");
}

static void report_u64(struct report *r, const char *what, u64 a, u64 b)
{
	if (a == b)
		return;
	report_head(r);
	log_error("  %s: interpreter %#llx, translator %#llx", what, (unsigned long long)a,
		  (unsigned long long)b);
}

/* The run of fields from sys_field[from]: one memcmp, then field by field
 * when it differs. Returns the index after the run's end. */
static unsigned report_sys(struct report *r, unsigned from)
{
	const u8 *a = (const u8 *)r->ls->a, *b = (const u8 *)r->cpu;
	unsigned to = from;

	while (sys_field[to].name)
		to++;
	size_t start = sys_field[from].off, end = sys_field[to].off;
	if (memcmp(a + start, b + start, end - start))
		for (unsigned i = from; i < to; i++) {
			size_t lo = sys_field[i].off, hi = sys_field[i + 1].off;
			if (memcmp(a + lo, b + lo, hi - lo)) {
				report_head(r);
				log_error("  %s: differ", sys_field[i].name);
			}
		}
	return to + 1;
}

static void report_line(struct report *r, const struct ls_line *l)
{
	const u8 *want = l->by_a ? l->want : l->orig;

	for (unsigned off = 0; off < LINE; off += 16) {
		if (!memcmp(l->host + off, want + off, 16))
			continue;
		char a[3 * 16 + 1], b[3 * 16 + 1];
		for (unsigned i = 0; i < 16; i++) {
			snprintf(a + 3 * i, 4, " %02x", want[off + i]);
			snprintf(b + 3 * i, 4, " %02x", l->host[off + i]);
		}
		report_head(r);
		log_error("  memory at gpa %#llx: interpreter%s, translator%s",
			  (unsigned long long)(l->gpa + off), a, b);
	}
}

void soft_lockstep_end(struct soft_lockstep *ls, struct soft_cpu *cpu, const u8 *code, unsigned len,
		       unsigned n_insns)
{
	struct report r = {.ls = ls, .cpu = cpu, .code = code, .len = len, .n_insns = n_insns};
	const struct soft_cpu *a = ls->a;

	cpu->lockstep = NULL;
	/* A device wrote RAM (or the log ran over): nothing to hold B to. */
	if (code_epoch(cpu) != ls->epoch || ls->overflow) {
		ls->unchecked++;
		return;
	}
	ls->checked++;
	report_u64(&r, "rip", a->rip, cpu->rip);
	report_u64(&r, "rflags", ls->a_flags, soft_flags_get(cpu));
	report_u64(&r, "instructions retired", a->stat_insns - ls->s->stat_insns,
		   cpu->stat_insns - ls->s->stat_insns);
	report_u64(&r, "pending exception", (u64)(s64)a->pending_vector,
		   (u64)(s64)cpu->pending_vector);
	if (a->pending_vector >= 0) {
		report_u64(&r, "error code", a->pending_error, cpu->pending_error);
		report_u64(&r, "error code pushed", a->pending_has_error, cpu->pending_has_error);
	}
	report_u64(&r, "device, clock, MSR or hypercall accesses", 0, cpu->stat_side - ls->side);
	report_u64(&r, "TLB generation moves", 0, cpu->tlb.gen - ls->gen);
	report_u64(&r, "interrupt shadow", a->intr_shadow, cpu->intr_shadow);
	report_u64(&r, "stop request", a->exec_stop, cpu->exec_stop);
	report_u64(&r, "halted", a->halted, cpu->halted);
	report_u64(&r, "NMI blocking", a->nmi_blocked, cpu->nmi_blocked);
	report_u64(&r, "shutdown", a->shutdown, cpu->shutdown);
	for (unsigned i = 0; i < ARRAY_SIZE(sys_field); i = report_sys(&r, i))
		;
	if (memcmp(a->dr, cpu->dr, sizeof(a->dr)))
		report_u64(&r, "debug registers", 0, 1);
	for (unsigned i = 0; i < ls->n; i++)
		report_line(&r, &ls->ln[i]);
	if (r.diffs && !ls->failed) {
		ls->failed = true;
		snprintf(
		    ls->msg, sizeof(ls->msg),
		    "lockstep check: the translated block at %#llx differs from the interpreter "
		    "(details above)",
		    (unsigned long long)ls->s->rip);
	}
}

const char *soft_lockstep_failed(const struct soft_lockstep *ls)
{
	return ls && ls->failed ? ls->msg : NULL;
}

void soft_lockstep_counts(const struct soft_lockstep *ls, u64 *checked, u64 *unchecked)
{
	*checked = ls ? ls->checked : 0;
	*unchecked = ls ? ls->unchecked : 0;
}
