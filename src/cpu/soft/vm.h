/* The soft engine's VM and vCPU objects (struct engine_vm / engine_vcpu of
 * engine.h): the vCPUs, the shared clock and the interrupt controllers. */
#ifndef POPEK_SOFT_VM_H
#define POPEK_SOFT_VM_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/config.h"
#include "cpu/engine.h"
#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/jit/jit.h"
#include "cpu/soft/pv/pv.h"

enum soft_stuck { SOFT_STUCK_NO, SOFT_STUCK_REPORTED, SOFT_STUCK_WOKEN };

struct soft_vcpu {
	struct soft_cpu cpu;
	struct soft_lapic lapic;
	struct soft_vm *vm;
	struct soft_profile *profile; /* POPEK_SOFT_PROFILE sampling, or NULL */
	struct engine_debug dbg;      /* a debugger's breakpoints: cpu.dbg points here */

	/* Sleeping in HLT or waiting for a SIPI: woken by wake (kick, IPI,
	 * interrupt, timer). */
	pthread_mutex_t wait_lock;
	pthread_cond_t wake;
	_Atomic bool wake_pending;

	/* INIT / SIPI requests from another vCPU's LAPIC, applied by this
	 * vCPU's thread between instructions. */
	_Atomic bool init_pending;
	_Atomic int sipi_vector; /* -1: none */

	/* NMIs taken from the LAPIC, not yet delivered (engine.c
	 * vcpu_interrupts): at most 1 while NMIs are blocked, else 2. */
	unsigned nmi_held;

	/* run() returned VCPU_EXIT_HLT for a halt with interrupts disabled or
	 * the wait for a SIPI; it now sleeps there until INIT, SIPI, NMI or a
	 * PV kick, then returns KICKED once so the machine knows this vCPU lives
	 * again. Until the machine has seen that (the next run()), stuck is
	 * SOFT_STUCK_WOKEN and counts in soft_vm.unsettled: no other vCPU
	 * reports itself stuck meanwhile, as the machine would still count this
	 * one and could stop a guest that is not stuck. */
	bool dead_halt_reported;
	bool settle;       /* returned something else than HLT after a report */
	_Atomic int stuck; /* enum soft_stuck */

	struct soft_pv_vcpu pv; /* KVM PV features (pv.h) */
};

struct soft_vm {
	struct machine *m;
	u64 clock_base; /* soft_clock_ns() at creation: guest time 0 */
	u64 snap_ns;    /* guest time of the last snapshot saved or loaded (snapshot.c) */
	unsigned nr_vcpus;
	struct soft_vcpu *_Atomic vcpus[CONFIG_MAX_CPUS];

	/* Serializes LOCK-prefixed accesses that cannot use a host atomic
	 * (MMIO, page-crossing or cache-line-splitting operands). */
	pthread_mutex_t atomic_lock;
	/* The lockstep check's turns (jit/lockstep.h, POPEK_SOFT_LOCKSTEP=1). */
	struct soft_lockstep_turn lockstep_turn;

	u32 pv_features;       /* CPUID 0x40000001 EAX: KVM_FEATURE_* bits (pv.h) */
	_Atomic int unsettled; /* vCPUs in SOFT_STUCK_WOKEN */

	struct soft_apic_bus apic;
	struct soft_irq_route irq;
	bool irq_ready;

	/* Guest pages holding translated code, and the epoch of translated
	 * code's links (tlb.h); also guest_mem's DMA notifier. */
	struct soft_codemap code;

	/* One bit per (opcode map, opcode) that already logged a #UD. */
	_Atomic u64 ud_seen[4 * 256 / 64];
};

/* Guest time in ns (the clock of the LAPIC timers, the PIT and the TSC). */
u64 soft_vm_now(const struct soft_vm *vm);

static inline struct soft_vcpu *soft_vcpu_of(struct soft_cpu *cpu)
{
	return (struct soft_vcpu *)((char *)cpu - offsetof(struct soft_vcpu, cpu));
}

#endif
