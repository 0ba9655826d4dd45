/* The soft engine's engine_ops: VM and vCPU lifecycle, register state, and
 * the run loop around soft_exec() (interrupts, exceptions, HLT, INIT/SIPI). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/machine.h"
#include "cpu/engine.h"
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/profile.h"
#include "cpu/soft/dirty_log.h"
#include "cpu/soft/snapshot.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vm.h"
#include "popek/log.h"

/* Instructions per soft_exec() call: timers and interrupts are looked at
 * between calls, so this bounds their latency (~0.1-0.5 ms). */
#define SOFT_BUDGET 20000

u64 soft_vm_now(const struct soft_vm *vm)
{
	return soft_clock_ns() - vm->clock_base;
}

static u64 vm_clock(void *opaque)
{
	return soft_vm_now(opaque);
}

static struct soft_vcpu *vm_vcpu(struct soft_vm *vm, unsigned id)
{
	return id < CONFIG_MAX_CPUS ? atomic_load(&vm->vcpus[id]) : NULL;
}

/* Makes v's run loop look at its state soon: out of soft_exec and out of
 * a HLT/wait-for-SIPI sleep. Any thread; takes only v's wait lock. */
static void vcpu_wake(struct soft_vcpu *v)
{
	int reported = SOFT_STUCK_REPORTED;

	if (atomic_compare_exchange_strong(&v->stuck, &reported, SOFT_STUCK_WOKEN))
		atomic_fetch_add(&v->vm->unsettled, 1);
	atomic_store(&v->cpu.attention, true);
	pthread_mutex_lock(&v->wait_lock);
	atomic_store(&v->wake_pending, true);
	pthread_cond_signal(&v->wake);
	pthread_mutex_unlock(&v->wait_lock);
}

/* ---- the APIC bus's view of the vCPUs ---- */

static void apic_init(void *opaque, unsigned id)
{
	struct soft_vcpu *v = vm_vcpu(opaque, id);

	if (v) {
		/* Forget an older SIPI here, on the sender's side: the AP thread may
		 * see this INIT only after the SIPIs that follow it have arrived. */
		atomic_store(&v->sipi_vector, -1);
		atomic_store(&v->init_pending, true);
		vcpu_wake(v);
	}
}

static void apic_sipi(void *opaque, unsigned id, u8 vector)
{
	struct soft_vcpu *v = vm_vcpu(opaque, id);

	if (v) {
		atomic_store(&v->sipi_vector, vector);
		vcpu_wake(v);
	}
}

static void apic_kick(void *opaque, unsigned id)
{
	struct soft_vcpu *v = vm_vcpu(opaque, id);

	if (v)
		vcpu_wake(v);
}

static const struct soft_apic_cpu_ops soft_apic_cpu_ops = {
    .init = apic_init,
    .sipi = apic_sipi,
    .kick = apic_kick,
};

/* ---- VM ---- */

static bool soft_probe(char *why, size_t whylen)
{
	(void)why, (void)whylen;
	return true;
}

static int soft_vm_create(struct machine *m, struct engine_vm **out)
{
	struct soft_vm *vm = calloc(1, sizeof(*vm));
	int err;

	*out = NULL;
	if (!vm)
		return -ENOMEM;
	vm->m = m;
	vm->clock_base = soft_clock_ns();
	vm->pv_features = soft_pv_vm_features(vm);
	pthread_mutex_init(&vm->atomic_lock, NULL);
	err = soft_codemap_init(&vm->code, &m->mem, soft_codemap_code_written, &vm->code);
	if (err < 0) {
		pthread_mutex_destroy(&vm->atomic_lock);
		free(vm);
		return err;
	}
	m->mem.dma_written = soft_codemap_dma_written;
	m->mem.dma_opaque = &vm->code;
	soft_apic_bus_init(&vm->apic, &soft_apic_cpu_ops, vm);
	err = soft_irq_route_init(&vm->irq, &vm->apic, MAX(1u, m->cfg.nr_cpus), vm_clock, vm);
	if (err < 0)
		goto fail;
	vm->irq_ready = true;
	err = soft_irq_route_register(&vm->irq, &m->pio, &m->mmio);
	if (err < 0)
		goto fail;
	m->irq.set = soft_irq_route_irq_set;
	m->irq.opaque = &vm->irq;
	*out = (struct engine_vm *)vm;
	return 0;
fail:
	if (vm->irq_ready)
		soft_irq_route_destroy(&vm->irq);
	m->mem.dma_written = NULL;
	soft_codemap_destroy(&vm->code);
	pthread_mutex_destroy(&vm->atomic_lock);
	free(vm);
	return err;
}

static int soft_map_ram(struct engine_vm *evm)
{
	(void)evm; /* guest RAM is reached through m->mem directly */
	return 0;
}

static void soft_vm_destroy(struct engine_vm *evm)
{
	struct soft_vm *vm = (struct soft_vm *)evm;

	if (!vm)
		return;
	if (vm->m && vm->m->irq.opaque == &vm->irq) {
		vm->m->irq.set = NULL;
		vm->m->irq.opaque = NULL;
	}
	if (vm->irq_ready)
		soft_irq_route_destroy(&vm->irq);
	if (vm->m && vm->m->mem.dma_opaque == &vm->code) {
		vm->m->mem.dma_written = NULL;
		vm->m->mem.dma_opaque = NULL;
	}
	soft_codemap_destroy(&vm->code);
	pthread_mutex_destroy(&vm->atomic_lock);
	free(vm);
}

/* ---- vCPU ---- */

static int soft_vcpu_create(struct engine_vm *evm, unsigned id, struct engine_vcpu **out)
{
	struct soft_vm *vm = (struct soft_vm *)evm;
	struct soft_vcpu *v;
	pthread_condattr_t ca;
	int err;

	*out = NULL;
	if (id >= CONFIG_MAX_CPUS || vm_vcpu(vm, id))
		return -EINVAL;
	if (posix_memalign((void **)&v, 64, sizeof(*v)))
		return -ENOMEM;
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->cpu.dcache = soft_dcache_new();
	if (!v->cpu.dcache) {
		free(v);
		return -ENOMEM;
	}
	if (!vm->m->cfg.soft_jit_off) {
		u64 size = vm->m->cfg.soft_jit_cache ? vm->m->cfg.soft_jit_cache : CONFIG_SOFT_JIT_CACHE;
		err = soft_dcache_jit(v->cpu.dcache, size);
		if (err < 0)
			log_warn("soft: vCPU %u: no code cache for the translator (%s): interpreting",
				 id, strerror(-err));
		else if (soft_lockstep_wanted() && soft_dcache_lockstep(v->cpu.dcache, &vm->lockstep_turn) < 0)
			log_warn("soft: vCPU %u: no memory for the lockstep check: not checking", id);
	}
	err = soft_lapic_init(&v->lapic, &vm->apic, id);
	if (err < 0) {
		soft_dcache_free(v->cpu.dcache);
		free(v);
		return err;
	}
	pthread_mutex_init(&v->wait_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->wake, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&v->sipi_vector, -1);
	soft_pv_vcpu_init(v);
	v->profile = soft_profile_new();
	if (v->profile)
		soft_dcache_set_profile(v->cpu.dcache, v->profile);

	struct soft_cpu *cpu = &v->cpu;
	cpu->vm = vm;
	cpu->m = vm->m;
	cpu->id = id;
	cpu->lapic = &v->lapic;
	cpu->undo_reg = -1;
	/* Decoded code is checked by bytes (interp.c); the codemap tracks the
	 * pages of translated code, whose links skip that check (tlb.h). */
	soft_tlb_init(&cpu->tlb, &vm->code);
	soft_reset(cpu);
	cpu->wait_for_sipi = id != 0;
	atomic_store(&vm->vcpus[id], v);
	if (id >= vm->nr_vcpus)
		vm->nr_vcpus = id + 1;
	*out = (struct engine_vcpu *)v;
	return 0;
}

static void soft_vcpu_destroy(struct engine_vcpu *ev)
{
	struct soft_vcpu *v = (struct soft_vcpu *)ev;

	if (!v)
		return;
	atomic_store(&v->vm->vcpus[v->cpu.id], NULL);
	soft_profile_report(v->profile, v->cpu.id);
	soft_lapic_destroy(&v->lapic);
	soft_pv_vcpu_destroy(v);
	pthread_cond_destroy(&v->wake);
	pthread_mutex_destroy(&v->wait_lock);
	soft_dcache_free(v->cpu.dcache);
	free(v);
}

static int soft_get_state(struct engine_vcpu *ev, struct x86_state *st)
{
	struct soft_cpu *cpu = &((struct soft_vcpu *)ev)->cpu;

	memset(st, 0, sizeof(*st));
	memcpy(st->regs.gpr, cpu->gpr, sizeof(cpu->gpr));
	st->regs.rip = cpu->rip;
	st->regs.rflags = soft_flags_get(cpu);
	memcpy(st->sregs.seg, cpu->seg, sizeof(cpu->seg));
	st->sregs.tr = cpu->tr;
	st->sregs.ldt = cpu->ldt;
	st->sregs.gdt = cpu->gdt;
	st->sregs.idt = cpu->idt;
	st->sregs.cr0 = cpu->cr0;
	st->sregs.cr2 = cpu->cr2;
	st->sregs.cr3 = cpu->cr3;
	st->sregs.cr4 = cpu->cr4;
	st->sregs.cr8 = cpu->lapic ? soft_lapic_get_cr8(cpu->lapic) : 0;
	st->sregs.efer = cpu->efer;
	st->sregs.apic_base = cpu->lapic ? soft_lapic_get_base(cpu->lapic) : 0;
	return 0;
}

static int soft_set_state(struct engine_vcpu *ev, const struct x86_state *st)
{
	struct soft_cpu *cpu = &((struct soft_vcpu *)ev)->cpu;

	memcpy(cpu->gpr, st->regs.gpr, sizeof(cpu->gpr));
	cpu->rip = st->regs.rip;
	cpu->lazy.op = 0;
	cpu->rflags = st->regs.rflags | X86_RFLAGS_FIXED;
	memcpy(cpu->seg, st->sregs.seg, sizeof(cpu->seg));
	cpu->tr = st->sregs.tr;
	cpu->ldt = st->sregs.ldt;
	cpu->gdt = st->sregs.gdt;
	cpu->idt = st->sregs.idt;
	cpu->cr0 = st->sregs.cr0;
	cpu->cr2 = st->sregs.cr2;
	cpu->cr3 = st->sregs.cr3;
	cpu->cr4 = st->sregs.cr4;
	cpu->efer = st->sregs.efer;
	if (cpu->lapic) {
		if (st->sregs.apic_base && soft_lapic_set_base(cpu->lapic, st->sregs.apic_base) < 0)
			log_warn("soft: vCPU %u: APIC base %#llx refused", cpu->id,
				 (unsigned long long)st->sregs.apic_base);
		soft_lapic_set_cr8(cpu->lapic, st->sregs.cr8);
	}
	soft_tlb_flush(cpu, false);
	if ((cpu->cr0 & X86_CR0_PG) && (cpu->cr4 & X86_CR4_PAE) && !(cpu->efer & X86_EFER_LMA) &&
	    !soft_mmu_load_pdptes(cpu, cpu->cr3))
		return -EINVAL;
	soft_mode_update(cpu);
	cpu->wait_for_sipi = false;
	cpu->halted = false;
	((struct soft_vcpu *)ev)->nmi_held = 0;
	/* A new architectural state starts with nothing pending from the old one. */
	cpu->shutdown = false;
	cpu->pending_vector = -1;
	cpu->intr_shadow = 0;
	return 0;
}

static void soft_thread_start(struct engine_vcpu *ev)
{
	soft_pv_thread_start((struct soft_vcpu *)ev);
}

static void soft_kick(struct engine_vcpu *ev)
{
	struct soft_vcpu *v = (struct soft_vcpu *)ev;

	atomic_store(&v->cpu.kick, true);
	vcpu_wake(v);
}

static u64 soft_stat(struct engine_vcpu *ev, const char *name)
{
	struct soft_cpu *cpu = &((struct soft_vcpu *)ev)->cpu;

	if (!strcmp(name, "instructions"))
		return cpu->stat_insns;
	if (!strcmp(name, "ud"))
		return cpu->stat_ud;
	if (!strcmp(name, "tlb_misses"))
		return cpu->stat_tlb_misses;
	if (!strcmp(name, "hypercalls"))
		return ((struct soft_vcpu *)ev)->pv.hypercalls;
	return 0;
}

/* ---- run loop ---- */

/* Sleeps until woken or until guest time deadline (UINT64_MAX: none). */
static void vcpu_sleep(struct soft_vcpu *v, u64 deadline)
{
	struct soft_vm *vm = v->vm;
	struct timespec ts;

	pthread_mutex_lock(&v->wait_lock);
	if (deadline != UINT64_MAX) {
		u64 host = deadline + vm->clock_base;
		ts.tv_sec = (time_t)(host / 1000000000ULL);
		ts.tv_nsec = (long)(host % 1000000000ULL);
	}
	while (!atomic_load(&v->wake_pending) && !atomic_load(&v->cpu.kick)) {
		if (deadline == UINT64_MAX) {
			pthread_cond_wait(&v->wake, &v->wait_lock);
		} else if (pthread_cond_timedwait(&v->wake, &v->wait_lock, &ts) == ETIMEDOUT) {
			break;
		}
	}
	pthread_mutex_unlock(&v->wait_lock);
}

/* Fires expired LAPIC and PIT timers; returns the next deadline. */
static u64 vcpu_timers(struct soft_vcpu *v)
{
	struct soft_vm *vm = v->vm;
	u64 now = soft_vm_now(vm);
	u64 d1 = soft_lapic_next_deadline(&v->lapic), d2 = soft_irq_route_next_deadline(&vm->irq);

	if (d1 <= now) {
		soft_lapic_tick(&v->lapic, now);
		d1 = soft_lapic_next_deadline(&v->lapic);
	}
	if (d2 <= now) {
		soft_irq_route_tick(&vm->irq, now);
		d2 = soft_irq_route_next_deadline(&vm->irq);
	}
	return MIN(d1, d2);
}

/* INIT and SIPI sent by other vCPUs (SDM Vol. 3A 8.4.4). */
static void vcpu_init_sipi(struct soft_vcpu *v)
{
	struct soft_cpu *cpu = &v->cpu;
	int vec;

	if (atomic_exchange(&v->init_pending, false)) {
		soft_init(cpu);
		v->nmi_held = 0;
		soft_pv_reset(v);
		cpu->wait_for_sipi = cpu->id != 0;
	}
	vec = atomic_exchange(&v->sipi_vector, -1);
	if (vec >= 0 && cpu->wait_for_sipi)
		soft_sipi(cpu, (u8)vec);
}

/* Takes the NMIs the LAPIC received and delivers one if NMIs are not
 * blocked; returns whether it did.
 *
 * NMIs (SDM Vol. 3A 6.7.1): one is in service until its IRET and one more
 * can wait behind it; later ones are lost. NMIs that arrive before the CPU
 * took the first are two, not one, as KVM counts them (arch/x86/kvm/x86.c,
 * process_nmi): this CPU looks only between instruction batches, so
 * "together" happens far more often than on hardware, and a guest that
 * sends itself an NMI while another CPU sends it one must get both. */
static bool vcpu_nmi(struct soft_vcpu *v)
{
	struct soft_cpu *cpu = &v->cpu;
	unsigned nmis = soft_lapic_take_nmis(&v->lapic);

	if (nmis)
		v->nmi_held = MIN(v->nmi_held + nmis, cpu->nmi_blocked ? 1u : 2u);
	if (cpu->intr_shadow || cpu->nmi_blocked || !v->nmi_held)
		return false;
	v->nmi_held--;
	soft_deliver_interrupt(cpu, EXC_NMI, SOFT_INT_HW);
	return true;
}

/* Delivers an NMI or an external interrupt if one can be taken now. */
static void vcpu_interrupts(struct soft_vcpu *v)
{
	struct soft_cpu *cpu = &v->cpu;
	int vec;

	if (vcpu_nmi(v) || cpu->intr_shadow)
		return;
	if (!(cpu->rflags & X86_RFLAGS_IF) || soft_lapic_pending_vector(&v->lapic) < 0)
		return;
	/* An NMI sent before the interrupt just seen (its sender counted it
	 * before setting IRR) still goes first, as on KVM. */
	if (vcpu_nmi(v))
		return;
	vec = soft_lapic_ack(&v->lapic);
	if (vec >= 0)
		soft_deliver_interrupt(cpu, vec, SOFT_INT_HW);
}

/* Waiting for a SIPI, or halted with interrupts disabled: only another
 * vCPU (INIT, SIPI, NMI) can wake this one. Reports VCPU_EXIT_HLT once, so
 * the machine can tell when all vCPUs are stuck, then sleeps. Returns true
 * when run() should return VCPU_EXIT_HLT. */
static bool vcpu_stuck(struct soft_vcpu *v)
{
	struct soft_vm *vm = v->vm;

	/* Not idle (Linux halts with IF = 0 to wait for a lock, PV_UNHALT) and
	 * not running: preempted, as far as the guest's steal time says. An
	 * idle HLT is not, as in KVM: Linux would then never see an idle vCPU
	 * as available (available_idle_cpu()). */
	soft_pv_leave(v);
	if (!v->dead_halt_reported) {
		atomic_store(&v->stuck, SOFT_STUCK_REPORTED);
		if (atomic_load(&vm->unsettled)) {
			/* Another vCPU was woken but the machine may still count
			 * it as stuck: report later (see soft_vcpu.stuck). */
			if (atomic_exchange(&v->stuck, SOFT_STUCK_NO) == SOFT_STUCK_WOKEN)
				atomic_fetch_sub(&vm->unsettled, 1);
			vcpu_sleep(v, soft_vm_now(vm) + 1000000);
			return false;
		}
		v->dead_halt_reported = true;
		return true;
	}
	/* Woken but still stuck: the machine's count is right again. */
	if (atomic_exchange(&v->stuck, SOFT_STUCK_REPORTED) == SOFT_STUCK_WOKEN)
		atomic_fetch_sub(&vm->unsettled, 1);
	vcpu_sleep(v, UINT64_MAX);
	return false;
}

/* run() returns reason: after a report of a stuck vCPU, any other reason
 * makes the machine forget it, which the next run() settles. */
static int vcpu_exit(struct soft_vcpu *v, struct vcpu_exit *exit, enum vcpu_exit_reason reason)
{
	exit->reason = reason;
	soft_pv_leave(v);
	if (reason != VCPU_EXIT_HLT && v->dead_halt_reported) {
		v->dead_halt_reported = false;
		v->settle = true;
	}
	return 0;
}

static int soft_run(struct engine_vcpu *ev, struct vcpu_exit *exit)
{
	struct soft_vcpu *v = (struct soft_vcpu *)ev;
	struct soft_cpu *cpu = &v->cpu;

	memset(exit, 0, sizeof(*exit));
	if (v->settle) {
		/* The machine no longer counts this vCPU as stuck. */
		v->settle = false;
		if (atomic_exchange(&v->stuck, SOFT_STUCK_NO) == SOFT_STUCK_WOKEN)
			atomic_fetch_sub(&v->vm->unsettled, 1);
	}
	for (;;) {
		u64 deadline;

		/* A debugger's stop before a kick: a vCPU kicked by another's
		 * stop still reports its own (the stub keeps it for later);
		 * the next set_debug would drop it. */
		if (__builtin_expect(cpu->dbg_stop != 0, 0)) {
			exit->debug.kind = (enum engine_debug_kind)(cpu->dbg_stop - 1);
			exit->debug.addr = cpu->dbg_stop_addr;
			cpu->dbg_stop = 0;
			return vcpu_exit(v, exit, VCPU_EXIT_DEBUG);
		}
		if (atomic_exchange(&cpu->kick, false))
			return vcpu_exit(v, exit, VCPU_EXIT_KICKED);
		if (cpu->shutdown)
			return vcpu_exit(v, exit, VCPU_EXIT_SHUTDOWN);
		/* Cleared before looking: a wake-up after this point is not lost. */
		atomic_store(&v->wake_pending, false);
		atomic_store(&cpu->attention, false);
		vcpu_init_sipi(v);
		deadline = vcpu_timers(v);
		if (cpu->wait_for_sipi) {
			if (vcpu_stuck(v))
				return vcpu_exit(v, exit, VCPU_EXIT_HLT);
			continue;
		}
		soft_pv_enter(v); /* before anything touches guest memory */
		if (cpu->pending_vector >= 0) {
			log_debug("soft: vCPU %u: exception %d (error %#x) at %#llx", cpu->id,
				  cpu->pending_vector, cpu->pending_error,
				  (unsigned long long)cpu->rip);
			soft_deliver_exception(cpu);
			if (cpu->dbg && cpu->dbg->step && !cpu->dbg_stop)
				cpu->dbg_stop = ENGINE_DEBUG_STEP + 1; /* stepped into the handler */
			continue;
		}
		/* KVM_HC_KICK_CPU ends a HLT, or the next one (pv.h). */
		if (cpu->halted && atomic_exchange(&v->pv.unhalt, false))
			cpu->halted = false;
		vcpu_interrupts(v);
		if (cpu->shutdown)
			continue;
		if (cpu->halted && !(cpu->rflags & X86_RFLAGS_IF) &&
		    !soft_lapic_nmi_pending(&v->lapic)) {
			if (vcpu_stuck(v))
				return vcpu_exit(v, exit, VCPU_EXIT_HLT);
			continue;
		}
		if (v->dead_halt_reported)
			return vcpu_exit(v, exit, VCPU_EXIT_KICKED);
		if (cpu->halted) {
			vcpu_sleep(v, deadline);
			continue;
		}
		soft_pv_eoi_offer(v);
		soft_exec(cpu, SOFT_BUDGET);
		const char *why = soft_dcache_lockstep_failed(cpu->dcache);
		if (__builtin_expect(why != NULL, 0)) {
			snprintf(exit->msg, sizeof(exit->msg), "%s", why);
			return vcpu_exit(v, exit, VCPU_EXIT_ERROR);
		}
	}
}

/* ---- snapshots (snapshot.c) ---- */

static int soft_save_vm(struct engine_vm *evm, struct x86_irqchip_state *ic,
			struct x86_clock_state *clock)
{
	soft_vm_save((struct soft_vm *)evm, ic, clock);
	return 0;
}

static int soft_load_vm(struct engine_vm *evm, const struct x86_irqchip_state *ic,
			const struct x86_clock_state *clock, char *why, size_t why_len)
{
	return soft_vm_load((struct soft_vm *)evm, ic, clock, why, why_len);
}

static int soft_save_vcpu(struct engine_vcpu *ev, struct x86_vcpu_state *st)
{
	struct soft_vcpu *v = (struct soft_vcpu *)ev;

	vcpu_init_sipi(v); /* an INIT or SIPI sent before the pause takes effect first */
	soft_vcpu_save(v, st);
	return 0;
}

static int soft_load_vcpu(struct engine_vcpu *ev, const struct x86_vcpu_state *st, char *why,
			  size_t why_len)
{
	return soft_vcpu_load((struct soft_vcpu *)ev, st, why, why_len);
}

/* The debugger's breakpoints take the one-instruction path (interp.c
 * debug_step): slow, but exact, and guest memory is never patched. */
static int soft_set_debug(struct engine_vcpu *ev, const struct engine_debug *d)
{
	struct soft_vcpu *v = (struct soft_vcpu *)ev;
	struct soft_cpu *cpu = &v->cpu;

	if (d && (d->nr_bp > ENGINE_DEBUG_MAX_BP || d->nr_watch > ENGINE_DEBUG_MAX_WATCH))
		return -EINVAL;
	for (unsigned i = 0; d && i < d->nr_watch; i++)
		if (d->watch[i].len < 1 || d->watch[i].len > 8)
			return -EINVAL;
	if (d)
		v->dbg = *d;
	cpu->dbg = d ? &v->dbg : NULL;
	cpu->dbg_stop = 0;
	soft_debug_update(cpu);
	return 0;
}

const struct engine_ops soft_engine_ops = {
    .name = "soft",
    .probe = soft_probe,
    .vm_create = soft_vm_create,
    .map_ram = soft_map_ram,
    .vm_destroy = soft_vm_destroy,
    .vcpu_create = soft_vcpu_create,
    .vcpu_destroy = soft_vcpu_destroy,
    .get_state = soft_get_state,
    .set_state = soft_set_state,
    .thread_start = soft_thread_start,
    .run = soft_run,
    .kick = soft_kick,
    .stat = soft_stat,
    .save_vm = soft_save_vm,
    .load_vm = soft_load_vm,
    .save_vcpu = soft_save_vcpu,
    .load_vcpu = soft_load_vcpu,
    .dirty_log_start = soft_dirty_log_rearm,
    .dirty_log_sync = soft_dirty_log_rearm,
    .set_debug = soft_set_debug,
};
