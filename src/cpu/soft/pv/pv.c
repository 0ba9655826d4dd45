/* KVM's PV features on the soft engine besides the hypercalls: which
 * features a VM announces, steal time with its preempted flag and the PV
 * TLB flush that rides on it, PV EOI (Linux Documentation/virt/kvm/x86/
 * cpuid.rst, msr.rst; KVM's record_steal_time() and apic_sync_pv_eoi_*()
 * are the reference). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/machine.h"
#include "cpu/soft/pv/pv.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vm.h"
#include "popek/log.h"

#define SCHEDSTAT_PATH "/proc/thread-self/schedstat"

/* Steal time is refreshed this often while the vCPU runs, and whenever it
 * comes back from a sleep (the wait for a host CPU after a wake-up is
 * steal too). Linux reads it at every tick. */
#define STEAL_PERIOD_NS 1000000ULL

/* ---- pure parts ---- */

bool soft_schedstat_parse(const char *buf, u64 *run_delay)
{
	char *end;
	unsigned long long v;

	if (*buf < '0' || *buf > '9')
		return false;
	strtoull(buf, &end, 10);
	if (*end != ' ' || end[1] < '0' || end[1] > '9')
		return false;
	buf = end + 1;
	v = strtoull(buf, &end, 10);
	if (*end != ' ' && *end != '\n' && *end)
		return false;
	*run_delay = v;
	return true;
}

void soft_steal_update(u8 *st, u64 *last, u64 run_delay)
{
	u32 *version = (u32 *)(st + KVM_STEAL_OFF_VERSION);
	u64 *steal = (u64 *)(st + KVM_STEAL_OFF_STEAL);
	u32 v = __atomic_load_n(version, __ATOMIC_RELAXED);

	if (v & 1) /* whatever the guest left there */
		v++;
	__atomic_store_n(version, v + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (run_delay > *last)
		__atomic_store_n(steal,
				 __atomic_load_n(steal, __ATOMIC_RELAXED) + (run_delay - *last),
				 __ATOMIC_RELAXED);
	*last = run_delay;
	__atomic_store_n(version, v + 2, __ATOMIC_RELEASE);
}

/* ---- features ---- */

static bool schedstat_read(int fd, u64 *run_delay)
{
	char buf[128];
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;

	if (n <= 0)
		return false;
	buf[n] = 0;
	return soft_schedstat_parse(buf, run_delay);
}

/* Whether this host tells a thread how long it waited to run (a kernel with
 * schedstats, a /proc inside a jail). */
static bool schedstat_usable(void)
{
	int fd = open(SCHEDSTAT_PATH, O_RDONLY | O_CLOEXEC);
	u64 rd;
	bool ok = schedstat_read(fd, &rd);

	if (fd >= 0)
		close(fd);
	return ok;
}

u32 soft_pv_vm_features(const struct soft_vm *vm)
{
	u32 f = 1u << KVM_FEATURE_CLOCKSOURCE2 | 1u << KVM_FEATURE_CLOCKSOURCE_STABLE;

	if (vm->m->cfg.no_pv)
		return f;
	f |= 1u << KVM_FEATURE_PV_UNHALT | 1u << KVM_FEATURE_PV_SEND_IPI |
	     1u << KVM_FEATURE_PV_SCHED_YIELD | 1u << KVM_FEATURE_PV_EOI;
	/* Linux flushes other vCPUs' TLBs through steal time's preempted flag. */
	if (schedstat_usable())
		f |= 1u << KVM_FEATURE_STEAL_TIME | 1u << KVM_FEATURE_PV_TLB_FLUSH;
	else
		log_info("soft: %s is not readable: no steal time", SCHEDSTAT_PATH);
	return f;
}

u32 soft_pv_features(const struct soft_cpu *cpu)
{
	if (!cpu->vm)
		return 1u << KVM_FEATURE_CLOCKSOURCE2 | 1u << KVM_FEATURE_CLOCKSOURCE_STABLE;
	return cpu->vm->pv_features;
}

static bool has(const struct soft_cpu *cpu, unsigned feature)
{
	return soft_pv_features(cpu) & (1u << feature);
}

/* ---- vCPU life ---- */

void soft_pv_vcpu_init(struct soft_vcpu *v)
{
	atomic_init(&v->pv.unhalt, false);
	v->pv.schedstat_fd = -1;
}

void soft_pv_vcpu_destroy(struct soft_vcpu *v)
{
	if (v->pv.schedstat_fd >= 0)
		close(v->pv.schedstat_fd);
	v->pv.schedstat_fd = -1;
}

void soft_pv_thread_start(struct soft_vcpu *v)
{
	if (!has(&v->cpu, KVM_FEATURE_STEAL_TIME))
		return;
	if (v->pv.schedstat_fd >= 0)
		close(v->pv.schedstat_fd);
	v->pv.schedstat_fd = open(SCHEDSTAT_PATH, O_RDONLY | O_CLOEXEC);
	if (v->pv.schedstat_fd < 0)
		log_warn("soft: vCPU %u: cannot open %s: its steal time stays 0", v->cpu.id,
			 SCHEDSTAT_PATH);
}

void soft_pv_reset(struct soft_vcpu *v)
{
	struct soft_pv_vcpu *pv = &v->pv;

	atomic_store(&pv->unhalt, false);
	pv->steal_msr = 0;
	pv->steal = NULL;
	pv->preempted = false;
	pv->eoi_msr = 0;
	pv->eoi = NULL;
	pv->eoi_pending = false;
}

/* ---- the run loop's hooks ---- */

static void steal_record(struct soft_pv_vcpu *pv)
{
	u64 rd;

	if (!schedstat_read(pv->schedstat_fd, &rd))
		return;
	if (pv->steal_fresh) {
		pv->run_delay = rd; /* steal counts from the MSR write */
		pv->steal_fresh = false;
	}
	soft_steal_update(pv->steal, &pv->run_delay, rd);
}

/* KVM's apic_sync_pv_eoi_from_guest(): the guest cleared the bit (and
 * skipped its EOI write) or it did not (and will write EOI): the bit is
 * popek's again either way. */
static void pv_eoi_take(struct soft_vcpu *v)
{
	struct soft_pv_vcpu *pv = &v->pv;

	pv->eoi_pending = false;
	if (__atomic_load_n(pv->eoi, __ATOMIC_ACQUIRE) & 1) {
		__atomic_store_n(pv->eoi, 0, __ATOMIC_RELEASE);
		return;
	}
	soft_lapic_eoi(&v->lapic);
}

void soft_pv_eoi_offer(struct soft_vcpu *v)
{
	struct soft_pv_vcpu *pv = &v->pv;

	if (!pv->eoi || pv->eoi_pending || !soft_lapic_pv_eoi_ok(&v->lapic))
		return;
	__atomic_store_n(pv->eoi, 1, __ATOMIC_RELEASE);
	pv->eoi_pending = true;
}

void soft_pv_settle(struct soft_vcpu *v)
{
	if (v->pv.eoi_pending)
		pv_eoi_take(v);
}

void soft_pv_enter(struct soft_vcpu *v)
{
	struct soft_pv_vcpu *pv = &v->pv;
	u64 now;

	if (pv->eoi_pending)
		pv_eoi_take(v);
	if (!pv->steal)
		return;
	if (pv->preempted) {
		/* A vCPU that flushed its TLB may have set FLUSH_TLB here instead
		 * of sending this one an IPI (Linux's kvm_flush_tlb_multi): the
		 * flush happens before this vCPU touches memory again. */
		u8 old =
		    __atomic_exchange_n(pv->steal + KVM_STEAL_OFF_PREEMPTED, 0, __ATOMIC_SEQ_CST);
		pv->preempted = false;
		if (old & KVM_VCPU_FLUSH_TLB)
			soft_tlb_flush(&v->cpu, false);
		pv->steal_next = 0;
	}
	now = soft_clock_ns();
	if (now >= pv->steal_next) {
		steal_record(pv);
		pv->steal_next = now + STEAL_PERIOD_NS;
	}
}

void soft_pv_leave(struct soft_vcpu *v)
{
	struct soft_pv_vcpu *pv = &v->pv;

	if (!pv->steal || pv->preempted)
		return;
	/* KVM stores KVM_VCPU_PREEMPTED; an OR keeps a FLUSH_TLB the guest
	 * put there itself, which then takes effect as any other. */
	__atomic_fetch_or(pv->steal + KVM_STEAL_OFF_PREEMPTED, (u8)KVM_VCPU_PREEMPTED,
			  __ATOMIC_SEQ_CST);
	pv->preempted = true;
}

/* ---- MSRs ---- */

static int steal_msr_write(struct soft_cpu *cpu, u64 value)
{
	struct soft_pv_vcpu *pv = &soft_vcpu_of(cpu)->pv;
	u64 gpa = value & ~(KVM_STEAL_RESERVED_MASK | 1ULL);

	if (value & KVM_STEAL_RESERVED_MASK)
		return -EINVAL;
	pv->steal_msr = value;
	pv->steal = NULL;
	pv->preempted = false;
	if (!(value & 1))
		return 0;
	pv->steal = guest_mem_ptr(&cpu->m->mem, gpa, KVM_STEAL_SIZE);
	if (!pv->steal) {
		log_warn("soft: vCPU %u: steal time at %#llx is not in RAM: not updated", cpu->id,
			 (unsigned long long)gpa);
		return 0;
	}
	pv->steal_fresh = true;
	pv->steal_next = 0;
	/* As after a leave: the next enter clears KVM_VCPU_PREEMPTED and takes
	 * a FLUSH_TLB, which a restored snapshot's struct may hold. */
	pv->preempted = true;
	return 0;
}

static int eoi_msr_write(struct soft_cpu *cpu, u64 value)
{
	struct soft_vcpu *v = soft_vcpu_of(cpu);
	u64 gpa = value & ~1ULL;
	u8 *p = NULL;

	if (gpa & 3)
		return -EINVAL;
	if (value & 1) {
		p = guest_mem_ptr(&cpu->m->mem, gpa, 1);
		if (!p)
			return -EINVAL; /* KVM's kvm_gfn_to_hva_cache_init() fails */
	}
	if (v->pv.eoi_pending)
		pv_eoi_take(v);
	v->pv.eoi_msr = value;
	v->pv.eoi = p;
	return 0;
}

int soft_pv_rdmsr(struct soft_cpu *cpu, u32 index, u64 *value)
{
	switch (index) {
	case MSR_KVM_PV_EOI_EN:
		if (!has(cpu, KVM_FEATURE_PV_EOI))
			return -EINVAL;
		*value = soft_vcpu_of(cpu)->pv.eoi_msr;
		return 0;
	case MSR_KVM_STEAL_TIME:
		if (!has(cpu, KVM_FEATURE_STEAL_TIME))
			return -EINVAL;
		*value = soft_vcpu_of(cpu)->pv.steal_msr;
		return 0;
	}
	return -ENOENT;
}

int soft_pv_wrmsr(struct soft_cpu *cpu, u32 index, u64 value)
{
	switch (index) {
	case MSR_KVM_STEAL_TIME:
		if (!has(cpu, KVM_FEATURE_STEAL_TIME))
			return -EINVAL;
		return steal_msr_write(cpu, value);
	case MSR_KVM_PV_EOI_EN:
		if (!has(cpu, KVM_FEATURE_PV_EOI))
			return -EINVAL;
		return eoi_msr_write(cpu, value);
	}
	return -ENOENT;
}
