/* KVM's paravirtual interface on the soft engine: the hypercalls (Linux
 * Documentation/virt/kvm/x86/hypercalls.rst), the feature bits of CPUID
 * 0x40000001 (cpuid.rst) and the MSRs behind them (msr.rst). hypercall.c
 * has VMCALL/VMMCALL and the calls; pv.c which features a VM offers.
 * A feature is announced (and its hypercall or MSR answers) only when
 * soft_pv_features() has its bit: --no-pv (vm_config.no_pv) leaves kvmclock. */
#ifndef POPEK_SOFT_PV_H
#define POPEK_SOFT_PV_H

#include <stdatomic.h>

#include "popek/types.h"

struct soft_cpu;
struct soft_vcpu;
struct soft_vm;

/* CPUID 0x40000001 EAX (cpuid.rst). */
#define KVM_FEATURE_CLOCKSOURCE2       3
#define KVM_FEATURE_PV_UNHALT          7
#define KVM_FEATURE_PV_SEND_IPI        11
#define KVM_FEATURE_PV_SCHED_YIELD     13
#define KVM_FEATURE_CLOCKSOURCE_STABLE 24

/* Hypercall numbers and results (include/uapi/linux/kvm_para.h). */
#define KVM_HC_VAPIC_POLL_IRQ 1
#define KVM_HC_KICK_CPU       5
#define KVM_HC_CLOCK_PAIRING  9
#define KVM_HC_SEND_IPI       10
#define KVM_HC_SCHED_YIELD    11
#define KVM_ENOSYS            1000
#define KVM_EFAULT            14
#define KVM_EINVAL            22
#define KVM_EPERM             1
#define KVM_EOPNOTSUPP        95

/* Per-vCPU state, in struct soft_vcpu. */
struct soft_pv_vcpu {
	/* KVM_HC_KICK_CPU arrived (KVM's pv_unhalted, set by any vCPU): the run
	 * loop ends the current HLT, or the next one, even with IF = 0. */
	_Atomic bool unhalt;
	u64 hypercalls; /* count, for the engine's statistics */
};

/* KVM_HC_SEND_IPI's destinations (hypercall.c; pure): bit i of lo is APIC
 * id min + i, bit i of hi is APIC id min + cluster + i, the cluster being 64
 * bits in 64-bit mode and 32 otherwise (where lo and hi are 32-bit). min is
 * 32-bit, as KVM takes it, but min + cluster does not wrap around to 0 as in
 * KVM's u32 arithmetic. Calls fn for each id below limit, lowest first;
 * returns the sum of fn's results. */
typedef unsigned soft_ipi_dest_fn(void *opaque, u32 apic_id);
unsigned soft_pv_ipi_each(u64 lo, u64 hi, u64 min, bool op64, u32 limit, soft_ipi_dest_fn *fn,
			  void *opaque);

/* ---- VM and vCPU set-up (pv.c) ---- */

/* The KVM_FEATURE_* bits this VM announces, from its configuration. Call
 * at VM creation. */
u32 soft_pv_vm_features(const struct soft_vm *vm);
/* CPUID 0x40000001 EAX for cpu (kvmclock bits only without a VM). */
u32 soft_pv_features(const struct soft_cpu *cpu);
void soft_pv_vcpu_init(struct soft_vcpu *v);
void soft_pv_vcpu_destroy(struct soft_vcpu *v);
/* Power-on or INIT: a pending kick is forgotten (KVM's kvm_vcpu_reset). */
void soft_pv_reset(struct soft_vcpu *v);

/* ---- instructions (hypercall.c) ---- */

/* 0F 01 C1 VMCALL (amd_insn false) and 0F 01 D9 VMMCALL (true). */
void soft_hypercall(struct soft_cpu *cpu, bool amd_insn);

#endif
