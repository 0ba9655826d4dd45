/* Guest time: a 1 GHz TSC derived from CLOCK_MONOTONIC (no calibration ever
 * needed, the same for every vCPU) and the kvmclock structures
 * (Linux Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW). */
#include <string.h>
#include <time.h>

#include "core/machine.h"
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vm.h"

#define PVCLOCK_TSC_STABLE_BIT (1u << 0)

/* struct pvclock_vcpu_time_info of the KVM ABI (32 bytes). */
struct pvclock_time {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
	u8 flags;
	u8 pad[2];
} __attribute__((packed));

/* struct pvclock_wall_clock (12 bytes). */
struct pvclock_wall {
	u32 version;
	u32 sec;
	u32 nsec;
} __attribute__((packed));

_Static_assert(sizeof(struct pvclock_time) == 32, "pvclock_vcpu_time_info is 32 bytes");
_Static_assert(sizeof(struct pvclock_wall) == 12, "pvclock_wall_clock is 12 bytes");

u64 soft_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

u64 soft_now_ns(struct soft_cpu *cpu)
{
	cpu->stat_side++;
	return cpu->vm ? soft_vm_now(cpu->vm) : soft_clock_ns();
}

u64 soft_rdtsc(struct soft_cpu *cpu)
{
	/* CR4.TSD: RDTSC at CPL > 0 faults (SDM Vol. 2B RDTSC). */
	if ((cpu->cr4 & (1ULL << 2)) && cpu->mode != SOFT_MODE_REAL && cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
	return soft_now_ns(cpu) + cpu->msr.tsc_offset;
}

static bool kvmclock_update(struct soft_cpu *cpu);

void soft_tsc_set_offset(struct soft_cpu *cpu, u64 offset)
{
	cpu->msr.tsc_offset = offset;
	if (cpu->lapic)
		soft_lapic_set_tsc_offset(cpu->lapic, offset);
	/* The page maps this vCPU's TSC to kvmclock time: re-map it, as KVM
	 * does after a guest's TSC write (KVM_REQ_CLOCK_UPDATE). */
	if (cpu->msr.kvm_system_time & 1)
		kvmclock_update(cpu);
}

void soft_tsc_write(struct soft_cpu *cpu, u64 value)
{
	soft_tsc_set_offset(cpu, value - soft_now_ns(cpu));
}

/* Writes the version field: odd while the rest is being updated. */
static void pv_version(u8 *p, u32 v)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(p, &v, 4);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Writes this vCPU's pvclock page. kvmclock time is the VM's clock in ns
 * (soft_now_ns), the same on every vCPU whatever its TSC offset: a guest's
 * WRMSR IA32_TSC moves that vCPU's TSC, not kvmclock, as under KVM (there
 * system_time comes from the host's clock). The TSC runs at 1 GHz, so the
 * scale is the identity ((delta << 1) * 2^31 >> 32) and the page needs a
 * rewrite only when the TSC offset changes. */
static bool kvmclock_update(struct soft_cpu *cpu)
{
	struct pvclock_time t;
	u8 *p;
	u32 ver;
	u64 now;

	p = guest_mem_ptr(&cpu->m->mem, cpu->msr.kvm_system_time & ~1ULL, sizeof(t));
	if (!p)
		return false;
	memcpy(&ver, p, 4);
	ver = (ver + 1) | 1;
	pv_version(p, ver);
	memset(&t, 0, sizeof(t));
	now = soft_now_ns(cpu);
	t.version = ver;
	t.tsc_timestamp = now + cpu->msr.tsc_offset;
	t.system_time = now;
	t.tsc_to_system_mul = 0x80000000u;
	t.tsc_shift = 1;
	t.flags = PVCLOCK_TSC_STABLE_BIT;
	memcpy(p + 4, (u8 *)&t + 4, sizeof(t) - 4);
	pv_version(p, ver + 1);
	return true;
}

bool soft_kvmclock_enable(struct soft_cpu *cpu, u64 msr_value)
{
	cpu->msr.kvm_system_time = msr_value;
	return !(msr_value & 1) || kvmclock_update(cpu);
}

bool soft_kvm_wall_clock(struct soft_cpu *cpu, u64 gpa)
{
	struct timespec rt;
	struct pvclock_wall w;
	u8 *p = guest_mem_ptr(&cpu->m->mem, gpa, sizeof(w));
	u64 boot_ns, now_sys;
	u32 ver;

	cpu->msr.kvm_wall_clock = gpa;
	if (!p)
		return false;
	/* Wall-clock time at kvmclock time 0. */
	clock_gettime(CLOCK_REALTIME, &rt);
	now_sys = soft_now_ns(cpu);
	boot_ns = (u64)rt.tv_sec * 1000000000ULL + (u64)rt.tv_nsec - now_sys;
	memcpy(&ver, p, 4);
	ver = (ver + 1) | 1;
	pv_version(p, ver);
	w.version = ver;
	w.sec = (u32)(boot_ns / 1000000000ULL);
	w.nsec = (u32)(boot_ns % 1000000000ULL);
	memcpy(p + 4, (u8 *)&w + 4, sizeof(w) - 4);
	pv_version(p, ver + 1);
	return true;
}
