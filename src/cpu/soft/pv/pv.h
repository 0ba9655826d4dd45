/* KVM's paravirtual interface on the soft engine: the hypercalls (Linux
 * Documentation/virt/kvm/x86/hypercalls.rst), the feature bits of CPUID
 * 0x40000001 (cpuid.rst) and the MSRs behind them (msr.rst). hypercall.c
 * has VMCALL/VMMCALL and the calls; pv.c which features a VM offers, steal
 * time with the preempted flag and PV TLB flush, PV EOI and the run loop's
 * hooks. Guest-visible behaviour is KVM's (arch/x86/kvm), as with
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID.
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
#define KVM_FEATURE_STEAL_TIME         5
#define KVM_FEATURE_PV_EOI             6
#define KVM_FEATURE_PV_UNHALT          7
#define KVM_FEATURE_PV_TLB_FLUSH       9
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

/* MSRs (msr.rst). */
#define MSR_KVM_STEAL_TIME 0x4b564d03u
#define MSR_KVM_PV_EOI_EN  0x4b564d04u

/* struct kvm_steal_time: 64 bytes, 64-byte aligned, so never across a page. */
#define KVM_STEAL_SIZE          64
#define KVM_STEAL_OFF_STEAL     0
#define KVM_STEAL_OFF_VERSION   8
#define KVM_STEAL_OFF_PREEMPTED 16
#define KVM_STEAL_RESERVED_MASK 0x3eULL /* bits 5:1 of the MSR */
#define KVM_VCPU_PREEMPTED      (1u << 0)
#define KVM_VCPU_FLUSH_TLB      (1u << 1)

/* Per-vCPU state, in struct soft_vcpu. Only the vCPU's own thread touches
 * it, but for unhalt. */
struct soft_pv_vcpu {
	/* KVM_HC_KICK_CPU arrived (KVM's pv_unhalted, set by any vCPU): the run
	 * loop ends the current HLT, or the next one, even with IF = 0. */
	_Atomic bool unhalt;

	u64 steal_msr;    /* MSR_KVM_STEAL_TIME as written (0 after reset) */
	u8 *steal;        /* its struct kvm_steal_time in RAM when enabled, or NULL */
	bool steal_fresh; /* enabled since the last update: take a baseline */
	u64 run_delay;    /* the host's run_delay at the last update (ns) */
	u64 steal_next;   /* soft_clock_ns() after which to update again */
	bool preempted;   /* popek set KVM_VCPU_PREEMPTED in the guest's struct */
	int schedstat_fd; /* this vCPU thread's /proc/thread-self/schedstat, or -1 */

	u64 eoi_msr;      /* MSR_KVM_PV_EOI_EN as written (0 after reset) */
	u8 *eoi;          /* its byte in RAM when enabled, or NULL */
	bool eoi_pending; /* popek set the guest's bit for the vector in service */

	u64 hypercalls; /* count, for the engine's statistics */
};

/* ---- steal time's pure parts (pv.c; unit-tested) ---- */

/* Adds the host run_delay since *last to the steal field of st (a struct
 * kvm_steal_time in guest RAM) with the version protocol of KVM's
 * record_steal_time(): the version is odd while steal changes (an odd one
 * found there is first made even), and moves *last to run_delay. A
 * run_delay below *last adds nothing. */
void soft_steal_update(u8 *st, u64 *last, u64 run_delay);
/* The second field of a /proc/.../schedstat line ("run_time run_delay
 * timeslices", ns: the time the thread was runnable but not running);
 * false when buf is not such a line. */
bool soft_schedstat_parse(const char *buf, u64 *run_delay);

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

/* The KVM_FEATURE_* bits this VM announces, from its configuration and the
 * host (steal time needs the host's schedstat, as KVM needs sched_info_on()).
 * Call at VM creation. */
u32 soft_pv_vm_features(const struct soft_vm *vm);
/* CPUID 0x40000001 EAX for cpu (kvmclock bits only without a VM). */
u32 soft_pv_features(const struct soft_cpu *cpu);
void soft_pv_vcpu_init(struct soft_vcpu *v);
void soft_pv_vcpu_destroy(struct soft_vcpu *v);
/* Power-on or INIT: the PV MSRs and a pending kick are forgotten (KVM's
 * kvm_vcpu_reset). */
void soft_pv_reset(struct soft_vcpu *v);
/* On the vCPU's thread before its seccomp filter: opens the schedstat file. */
void soft_pv_thread_start(struct soft_vcpu *v);

/* ---- the run loop's hooks (engine.c, on the vCPU's thread) ---- */

/* Before the vCPU touches guest state again: clears the preempted flag and
 * flushes the TLB if another vCPU asked for it instead of sending an IPI
 * (PV_TLB_FLUSH), updates steal time when due, and ends the interrupt the
 * guest ended through PV EOI. Cheap when these are off or nothing is due. */
void soft_pv_enter(struct soft_vcpu *v);
/* Right before guest code runs: offers PV EOI for the interrupt in service
 * when soft_lapic_pv_eoi_ok() (KVM's apic_sync_pv_eoi_to_guest()). */
void soft_pv_eoi_offer(struct soft_vcpu *v);
/* The vCPU stops running guest code though it is not idle (halted with IF
 * = 0, waiting for a SIPI, or out of run()): marks it preempted in its
 * steal time struct. */
void soft_pv_leave(struct soft_vcpu *v);
/* Before a snapshot saves the vCPU: a PV EOI offered to the guest is
 * settled (the EOI done if the guest took it, the offer withdrawn if not),
 * so the saved LAPIC and guest memory agree without popek's bookkeeping. */
void soft_pv_settle(struct soft_vcpu *v);

/* MSR_KVM_STEAL_TIME and MSR_KVM_PV_EOI_EN (msr.c asks last): 0, -ENOENT
 * for another index, or -EINVAL when the access must raise #GP, as in KVM:
 * the feature is not announced; steal time with reserved bits set (a struct
 * outside RAM is accepted and never written); PV EOI at an address not
 * 4-byte aligned, or enabled outside RAM. */
int soft_pv_rdmsr(struct soft_cpu *cpu, u32 index, u64 *value);
int soft_pv_wrmsr(struct soft_cpu *cpu, u32 index, u64 value);

/* ---- instructions (hypercall.c) ---- */

/* 0F 01 C1 VMCALL (amd_insn false) and 0F 01 D9 VMMCALL (true). */
void soft_hypercall(struct soft_cpu *cpu, bool amd_insn);

#endif
