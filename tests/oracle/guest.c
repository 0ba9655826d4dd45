/* The engine side of the oracle: a hand-built machine running the soft
 * engine in flat 64-bit mode at CPL0 (identity paging, one GDT, an IDT whose
 * handlers HLT), fed one test case at a time through the engine interface. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/machine.h"
#include "cpu/engine.h"
#include "oracle/oracle.h"

#define GUEST_RAM     (64 * MiB)
#define SYS_PML4      0x100000ULL
#define SYS_PDPT      0x101000ULL
#define SYS_PD        0x102000ULL
#define SYS_GDT       0x103000ULL
#define SYS_IDT_PLAIN 0x104000ULL /* handlers: hlt */
#define SYS_IDT_FX    0x105000ULL /* handlers: fxsave64 [FX_OUT]; hlt */
#define SYS_TSS       0x106000ULL
#define SYS_PT        0x107000ULL /* 4 KiB pages of the 2 MiB around the region */
#define H_PLAIN       0x000       /* handler offsets within OR_STUB, 16 bytes each */
#define H_FX          0x200
#define H_OTHER       0x400 /* vectors 32-255 */
#define FX_LEN        9     /* fxsave64/fxrstor64 [disp32] */

struct guest_world {
	struct machine *m;
	struct engine_vcpu *ev;
	const struct engine_ops *ops;
	u64 base;
	u8 *region;
	struct x86_state tmpl;

	pthread_t watchdog;
	bool watchdog_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool quit;
	_Atomic u64 run_seq; /* odd while run() is in progress */
	_Atomic bool timed_out;
};

static void put_fx(u8 *p, bool restore, u64 addr)
{
	u32 a = (u32)addr;

	p[0] = 0x48;
	p[1] = 0x0f;
	p[2] = 0xae;
	p[3] = restore ? 0x0c : 0x04;
	p[4] = 0x25;
	memcpy(p + 5, &a, 4);
}

static int guest_write64(struct guest_world *gw, u64 gpa, u64 v)
{
	return guest_mem_write(&gw->m->mem, gpa, &v, 8);
}

static struct x86_seg flat_seg(u16 sel, u8 type, bool code)
{
	struct x86_seg s;

	memset(&s, 0, sizeof(s));
	s.selector = sel;
	s.limit = 0xffffffff;
	s.type = type;
	s.s = 1;
	s.present = 1;
	s.g = 1;
	s.l = code;
	s.db = !code;
	return s;
}

/* Page tables, GDT, TSS, IDTs and handlers (Intel SDM Vol. 3A 4.5, 3.4.5,
 * 6.14.1), and the register template every case starts from. */
static int guest_build_system(struct guest_world *gw)
{
	struct x86_sregs *s = &gw->tmpl.sregs;
	u8 *stub = gw->region + OR_STUB;
	int err = 0;

	err |= guest_write64(gw, SYS_PML4, SYS_PDPT | 7);
	err |= guest_write64(gw, SYS_PDPT, SYS_PD | 7);
	for (u64 i = 0; i < GUEST_RAM / (2 * MiB); i++)
		err |= guest_write64(gw, SYS_PD + 8 * i, i * 2 * MiB | 0x87);
	/* The region's 2 MiB in 4 KiB pages, with the guard page not present. */
	u64 big = ALIGN_DOWN(gw->base, 2 * MiB);
	err |= guest_write64(gw, SYS_PD + 8 * (big / (2 * MiB)), SYS_PT | 7);
	for (u64 i = 0; i < 512; i++) {
		u64 pa = big + 0x1000 * i;
		err |= guest_write64(gw, SYS_PT + 8 * i, pa == gw->base + OR_GUARD ? 0 : pa | 7);
	}
	err |= guest_write64(gw, SYS_GDT + 0x08, 0x00af9b000000ffffULL);
	err |= guest_write64(gw, SYS_GDT + 0x10, 0x00cf93000000ffffULL);
	err |= guest_write64(gw, SYS_GDT + 0x18,
			     0x67 | (SYS_TSS & 0xffffff) << 16 | 0x8bULL << 40 |
				 (SYS_TSS >> 24 & 0xff) << 56);
	err |= guest_write64(gw, SYS_GDT + 0x20, SYS_TSS >> 32);
	err |= guest_write64(gw, SYS_TSS + 4, gw->base + OR_STACK + OR_STACK_SIZE - 64);

	memset(stub, 0xf4, 0x1000);
	for (unsigned v = 0; v < 256; v++) {
		u64 hp = gw->base + OR_STUB + (v < 32 ? H_PLAIN + 16 * v : H_OTHER);
		u64 hf = gw->base + OR_STUB + (v < 32 ? H_FX + 16 * v : H_OTHER);
		for (unsigned t = 0; t < 2; t++) {
			u64 h = t ? hf : hp;
			/* 64-bit interrupt gate, DPL0, selector 0x08 (SDM Vol. 3A 6.14.1) */
			u64 lo =
			    (h & 0xffff) | 0x08ULL << 16 | 0x8eULL << 40 | (h >> 16 & 0xffff) << 48;
			u64 at = (t ? SYS_IDT_FX : SYS_IDT_PLAIN) + 16 * v;
			err |= guest_write64(gw, at, lo);
			err |= guest_write64(gw, at + 8, h >> 32);
		}
		if (v < 32)
			put_fx(stub + H_FX + 16 * v, false, gw->base + OR_GUEST_FX_OUT);
	}
	if (err)
		return -EFAULT;

	memset(&gw->tmpl, 0, sizeof(gw->tmpl));
	s->seg[X86_CS] = flat_seg(0x08, 0xb, true);
	s->seg[X86_SS] = flat_seg(0x10, 0x3, false);
	s->seg[X86_DS] = s->seg[X86_ES] = s->seg[X86_FS] = s->seg[X86_GS] = s->seg[X86_SS];
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = 0x18;
	s->tr.base = SYS_TSS;
	s->tr.limit = 0x67;
	s->tr.type = 0xb;
	s->tr.present = 1;
	s->ldt.type = 2;
	s->ldt.unusable = 1;
	s->gdt.base = SYS_GDT;
	s->gdt.limit = 0x27;
	s->idt.base = SYS_IDT_PLAIN;
	s->idt.limit = 0xfff;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr3 = SYS_PML4;
	s->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE | X86_EFER_NXE;
	s->apic_base = 0xfee00900;
	gw->tmpl.regs.rflags = 2;
	return 0;
}

/* Kicks a run() that has not returned for a second or two (an engine stuck
 * in a loop), so that the case fails instead of hanging the test. */
static void *guest_watchdog(void *opaque)
{
	struct guest_world *gw = opaque;
	u64 last = 0;

	pthread_mutex_lock(&gw->lock);
	while (!gw->quit) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		pthread_cond_timedwait(&gw->cond, &gw->lock, &ts);
		u64 seq = atomic_load(&gw->run_seq);
		if (!gw->quit && (seq & 1) && seq == last) {
			atomic_store(&gw->timed_out, true);
			gw->ops->kick(gw->ev);
		}
		last = seq;
	}
	pthread_mutex_unlock(&gw->lock);
	return NULL;
}

static void guest_frame(struct guest_world *gw, u64 rsp, struct oracle_result *res)
{
	u64 f[6] = {0};
	unsigned skip = res->has_err ? 1 : 0;

	if (guest_mem_read(&gw->m->mem, rsp, f, sizeof(f)) < 0) {
		res->end = END_OTHER;
		snprintf(res->why, sizeof(res->why), "exception %d with RSP 0x%llx outside RAM",
			 res->vector, (unsigned long long)rsp);
		return;
	}
	res->err = skip ? f[0] : 0;
	res->fault_rip = f[skip];
	res->fault_rflags = f[skip + 2];
	res->fault_rsp = f[skip + 3];
	res->out.gpr[R_SP] = res->fault_rsp;
	res->out.rflags = res->fault_rflags;
}

static void guest_decode_end(struct guest_world *gw, const struct oracle_case *c,
			     const struct x86_state *st, struct oracle_result *res)
{
	u64 rip = st->regs.rip, off = rip - gw->base;
	unsigned tail = c->sse ? FX_LEN + 1 : 1;

	memcpy(res->out.gpr, st->regs.gpr, sizeof(res->out.gpr));
	res->out.rflags = st->regs.rflags;
	for (unsigned k = 0; k < c->nexits; k++) {
		if (off == OR_INSN + (u64)(s64)c->exit_off[k] + tail) {
			res->end = END_EXIT;
			res->exit = (int)k;
			return;
		}
	}
	if (off >= OR_STUB + H_PLAIN + 1 && off < OR_STUB + H_OTHER &&
	    off % 16 == 1 + (off >= OR_STUB + H_FX ? FX_LEN : 0)) {
		res->end = END_EXCEPTION;
		res->vector = (int)((off - OR_STUB) % 0x200 / 16);
		res->has_err = res->vector == 8 || (res->vector >= 10 && res->vector <= 14) ||
			       res->vector == 17 || res->vector == 21;
		res->cr2 = st->sregs.cr2;
		guest_frame(gw, st->regs.gpr[R_SP], res);
		return;
	}
	res->end = END_OTHER;
	if (off == OR_STUB + H_OTHER + 1)
		snprintf(res->why, sizeof(res->why), "interrupt through a vector >= 32");
	else if (off > OR_WINDOW_LO && off <= OR_WINDOW_HI)
		snprintf(res->why, sizeof(res->why),
			 "halted at insn%+lld, which is no exit point (wrong length or target?)",
			 (long long)(off - 1 - OR_INSN));
	else
		snprintf(res->why, sizeof(res->why), "halted at unexpected RIP 0x%llx",
			 (unsigned long long)rip);
}

void guest_run(struct guest_world *gw, const struct oracle_case *c, struct oracle_result *res)
{
	u8 *code = gw->region + OR_CODE;
	struct x86_state st = gw->tmpl;
	struct vcpu_exit ex;
	int err;

	memset(res, 0, sizeof(*res));
	res->mem = gw->region + OR_MEM;
	memset(code + OR_WINDOW_LO, 0xf4, OR_WINDOW_HI - OR_WINDOW_LO);
	memcpy(code + OR_INSN, c->code, c->len);
	for (unsigned k = 0; k < c->nexits; k++) {
		u8 *p = code + OR_INSN + c->exit_off[k];
		if (c->sse) {
			put_fx(p, false, gw->base + OR_GUEST_FX_OUT);
			p[FX_LEN] = 0xf4;
		} else {
			p[0] = 0xf4;
		}
	}
	st.regs.rip = gw->base + OR_INSN;
	if (c->sse) {
		put_fx(code + OR_INSN - FX_LEN, true, gw->base + OR_GUEST_FX_IN);
		memcpy(gw->region + OR_GUEST_FX_IN, c->in.fx, 512);
		st.regs.rip -= FX_LEN;
		st.sregs.idt.base = SYS_IDT_FX;
	}
	memcpy(gw->region + OR_MEM, c->mem, OR_MEM_SIZE);
	memcpy(st.regs.gpr, c->in.gpr, sizeof(st.regs.gpr));
	st.sregs.seg[X86_GS].base = c->gs_base;
	st.regs.rflags = 2 | (c->in.rflags & (FL_ARITH | FL_DF));

	err = gw->ops->set_state(gw->ev, &st);
	if (err < 0) {
		res->end = END_OTHER;
		snprintf(res->why, sizeof(res->why), "set_state failed: %s", strerror(-err));
		return;
	}
	atomic_store(&gw->timed_out, false);
	for (;;) {
		atomic_fetch_add(&gw->run_seq, 1);
		err = gw->ops->run(gw->ev, &ex);
		atomic_fetch_add(&gw->run_seq, 1);
		if (err < 0) {
			res->end = END_OTHER;
			snprintf(res->why, sizeof(res->why), "run failed: %s", strerror(-err));
			return;
		}
		if (ex.reason != VCPU_EXIT_KICKED)
			break;
		if (atomic_load(&gw->timed_out)) {
			res->end = END_OTHER;
			snprintf(res->why, sizeof(res->why), "did not reach HLT (timed out)");
			return;
		}
	}
	if (ex.reason != VCPU_EXIT_HLT) {
		res->end = END_OTHER;
		snprintf(res->why, sizeof(res->why), "%s%s%.120s",
			 ex.reason == VCPU_EXIT_SHUTDOWN ? "shutdown (triple fault)"
							 : "engine error",
			 ex.msg[0] ? ": " : "", ex.msg);
		return;
	}
	err = gw->ops->get_state(gw->ev, &st);
	if (err < 0) {
		res->end = END_OTHER;
		snprintf(res->why, sizeof(res->why), "get_state failed: %s", strerror(-err));
		return;
	}
	guest_decode_end(gw, c, &st, res);
	if (c->sse)
		memcpy(res->out.fx, gw->region + OR_GUEST_FX_OUT, 512);
}

static int guest_cpuid(struct guest_world *gw, u32 leaf, u32 sub, u32 out[4])
{
	struct oracle_case *c = calloc(1, sizeof(*c));
	struct oracle_result *res = calloc(1, sizeof(*res));
	int err = 0;

	if (!c || !res) {
		err = -ENOMEM;
		goto out;
	}
	c->code[0] = 0x0f;
	c->code[1] = 0xa2;
	c->len = 2;
	c->nexits = 1;
	c->exit_off[0] = 2;
	c->in.gpr[R_AX] = leaf;
	c->in.gpr[R_CX] = sub;
	c->in.gpr[R_SP] = gw->base + OR_STACK + 0x800;
	guest_run(gw, c, res);
	if (res->end != END_EXIT) {
		err = -EIO;
		goto out;
	}
	out[0] = (u32)res->out.gpr[R_AX];
	out[1] = (u32)res->out.gpr[R_BX];
	out[2] = (u32)res->out.gpr[R_CX];
	out[3] = (u32)res->out.gpr[R_DX];
out:
	free(c);
	free(res);
	return err;
}

int guest_features(struct guest_world *gw, u64 *mask)
{
	u32 l0[4], l1[4] = {0}, l7[4] = {0}, e0[4], e1[4] = {0};
	int err;

	err = guest_cpuid(gw, 0, 0, l0);
	if (!err)
		err = guest_cpuid(gw, 1, 0, l1);
	if (!err && l0[0] >= 7)
		err = guest_cpuid(gw, 7, 0, l7);
	if (!err)
		err = guest_cpuid(gw, 0x80000000, 0, e0);
	if (!err && e0[0] >= 0x80000001)
		err = guest_cpuid(gw, 0x80000001, 0, e1);
	if (err)
		return err;
	*mask = oracle_features_from_cpuid(l1[2], l1[3], l7[1], e1[2]);
	return 0;
}

/* A NOP; HLT must run: otherwise the engine is not ready for the oracle. */
static int guest_smoke(struct guest_world *gw, char *why, size_t whylen)
{
	struct oracle_case *c = calloc(1, sizeof(*c));
	struct oracle_result *res = calloc(1, sizeof(*res));
	int err = 0;

	if (!c || !res) {
		err = -ENOMEM;
		goto out;
	}
	c->code[0] = 0x90;
	c->len = 1;
	c->nexits = 1;
	c->exit_off[0] = 1;
	c->in.gpr[R_SP] = gw->base + OR_STACK + 0x800;
	guest_run(gw, c, res);
	if (res->end != END_EXIT) {
		snprintf(why, whylen, "NOP; HLT did not halt at the next instruction: %s",
			 res->end == END_OTHER ? res->why : "took an exception");
		err = -ENOSYS;
	}
out:
	free(c);
	free(res);
	return err;
}

int guest_create(u64 base, struct guest_world **out, char *why, size_t whylen)
{
	struct guest_world *gw = calloc(1, sizeof(*gw));
	struct machine *m = calloc(1, sizeof(*m));
	int err;

	*out = NULL;
	if (!gw || !m) {
		free(gw);
		free(m);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	gw->m = m;
	gw->base = base;
	gw->ops = &soft_engine_ops;
	pthread_mutex_init(&gw->lock, NULL);
	pthread_cond_init(&gw->cond, NULL);
	m->cfg.mem_size = GUEST_RAM;
	m->cfg.nr_cpus = 1;
	m->cfg.engine = ENGINE_SOFT;
	m->engine = gw->ops;
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->pio, "pio", &m->dev_lock);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	err = event_loop_init(&m->loop);
	if (err < 0) {
		snprintf(why, whylen, "event_loop_init: %s", strerror(-err));
		goto fail_loop;
	}
	err = guest_mem_init(&m->mem, GUEST_RAM);
	if (err < 0) {
		snprintf(why, whylen, "guest_mem_init: %s", strerror(-err));
		goto fail_mem;
	}
	gw->region = guest_mem_ptr(&m->mem, base, OR_REGION_SIZE);
	if (!gw->region) {
		snprintf(why, whylen, "region 0x%llx is not guest RAM", (unsigned long long)base);
		err = -EINVAL;
		goto fail_vm;
	}
	if (!gw->ops->vm_create || !gw->ops->run || !gw->ops->set_state) {
		snprintf(why, whylen, "soft_engine_ops lacks vm_create/run/set_state");
		err = -ENOSYS;
		goto fail_vm;
	}
	err = gw->ops->vm_create(m, &m->evm);
	if (err < 0) {
		snprintf(why, whylen, "vm_create: %s", strerror(-err));
		goto fail_vm;
	}
	err = gw->ops->map_ram(m->evm);
	if (!err)
		err = gw->ops->vcpu_create(m->evm, 0, &gw->ev);
	if (err < 0) {
		snprintf(why, whylen, "map_ram/vcpu_create: %s", strerror(-err));
		goto fail_vcpu;
	}
	m->nr_vcpus = 1;
	m->vcpus[0].m = m;
	m->vcpus[0].ev = gw->ev;
	err = guest_build_system(gw);
	if (err < 0) {
		snprintf(why, whylen, "cannot write the system tables");
		goto fail_sys;
	}
	if (pthread_create(&gw->watchdog, NULL, guest_watchdog, gw) == 0)
		gw->watchdog_started = true;
	err = guest_smoke(gw, why, whylen);
	if (err < 0) {
		guest_destroy(gw);
		return err;
	}
	*out = gw;
	return 0;
fail_sys:
	gw->ops->vcpu_destroy(gw->ev);
fail_vcpu:
	gw->ops->vm_destroy(m->evm);
fail_vm:
	guest_mem_destroy(&m->mem);
fail_mem:
	event_loop_destroy(&m->loop);
fail_loop:
	free(m);
	free(gw);
	return err;
}

void guest_destroy(struct guest_world *gw)
{
	if (!gw)
		return;
	if (gw->watchdog_started) {
		pthread_mutex_lock(&gw->lock);
		gw->quit = true;
		pthread_cond_signal(&gw->cond);
		pthread_mutex_unlock(&gw->lock);
		pthread_join(gw->watchdog, NULL);
	}
	gw->ops->vcpu_destroy(gw->ev);
	gw->ops->vm_destroy(gw->m->evm);
	guest_mem_destroy(&gw->m->mem);
	event_loop_destroy(&gw->m->loop);
	pthread_mutex_destroy(&gw->m->dev_lock);
	free(gw->m);
	free(gw);
}
