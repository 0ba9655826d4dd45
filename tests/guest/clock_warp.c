/* Guest program: the clocks never go backwards between CPUs. Every CPU reads RDTSC and
 * kvmclock (Linux Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW) in a loop
 * and counts a warp when a value is below the largest one any CPU published before the
 * read (a shared maximum, raised with CMPXCHG; the maximum is loaded, then the clock read
 * after a fence, so a value seen there was read before). Command line: cpus=N (default 2)
 * seconds=S (default 2); break_tsc=1 makes the last CPU write IA32_TIME_STAMP_COUNTER
 * 50 ms ahead, the control that shows the count works: TSC warps must then appear, while
 * kvmclock, which does not depend on a CPU's TSC offset, must stay without. Prints
 * "clock_warp: ..." lines that tests/e2e/test_clock_warp.sh reads. */
#include "guest.h"

#define MSR_TSC                  0x10
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define PVCLOCK_TSC_STABLE       (1u << 0)

/* struct pvclock_vcpu_time_info (Linux arch/x86/include/asm/pvclock-abi.h). */
struct pvclock {
	u32 version, pad0;
	u64 tsc_timestamp, system_time;
	u32 tsc_to_system_mul;
	signed char tsc_shift;
	u8 flags, pad[2];
} __attribute__((packed, aligned(64)));

struct clock_stats {
	u64 reads, warps, worst; /* worst: largest backwards step, in clock units */
};

/* One cache line per CPU, so that counting does not slow the others. */
static struct per_cpu {
	struct pvclock pv;
	struct clock_stats tsc, kvm;
	u64 max_step; /* largest forward step between two kvmclock reads (ns) */
	u8 flags;     /* the pvclock flags seen */
} __attribute__((aligned(64))) pc[SMP_MAX_CPUS];

static u64 tsc_max __attribute__((aligned(64)));
static u64 kvm_max __attribute__((aligned(64)));
static volatile u64 ready, go, stop;
static bool have_kvmclock;
static unsigned ncpus;
static u64 duration_ns, break_tsc;

static inline void fence(void)
{
	asm volatile("mfence; lfence" ::: "memory");
}

static u64 kvmclock_read(const struct pvclock *p, u8 *flags)
{
	u32 v;
	u64 tsc, delta, ns;
	signed char shift;
	u32 mul;
	u64 ts, st;

	do {
		v = __atomic_load_n(&p->version, __ATOMIC_ACQUIRE);
		fence();
		tsc = rdtsc();
		ts = p->tsc_timestamp;
		st = p->system_time;
		mul = p->tsc_to_system_mul;
		shift = p->tsc_shift;
		*flags = p->flags;
		fence();
	} while ((v & 1) || v != __atomic_load_n(&p->version, __ATOMIC_ACQUIRE));
	delta = tsc - ts;
	delta = shift < 0 ? delta >> -shift : delta << shift;
	ns = st + (u64)(((unsigned __int128)delta * mul) >> 32);
	return ns;
}

/* One read of a clock against the shared maximum. */
static void observe(u64 *max, u64 value, struct clock_stats *s, u64 seen)
{
	s->reads++;
	if (value < seen) {
		s->warps++;
		if (seen - value > s->worst)
			s->worst = seen - value;
		return;
	}
	while (value > seen && !__atomic_compare_exchange_n(max, &seen, value, false,
							    __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		;
}

static void measure(unsigned cpu)
{
	struct per_cpu *me = &pc[cpu];
	u64 start = 0, last = 0, n = 0;

	if (have_kvmclock)
		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)&me->pv | 1);
	if (break_tsc && cpu == ncpus - 1)
		wrmsr(MSR_TSC, rdtsc() + 50000000);
	__atomic_fetch_add(&ready, 1, __ATOMIC_ACQ_REL);
	while (!go)
		pause();
	while (!stop) {
		u64 seen = __atomic_load_n(&tsc_max, __ATOMIC_ACQUIRE);

		fence();
		observe(&tsc_max, rdtsc(), &me->tsc, seen);
		if (have_kvmclock) {
			u64 now;

			seen = __atomic_load_n(&kvm_max, __ATOMIC_ACQUIRE);
			fence();
			now = kvmclock_read(&me->pv, &me->flags);
			observe(&kvm_max, now, &me->kvm, seen);
			if (!start)
				start = now;
			if (last && now > last && now - last > me->max_step)
				me->max_step = now - last;
			last = now;
			if (cpu == 0 && !(++n & 1023) && now - start >= duration_ns)
				stop = 1;
		}
	}
}

static void ap_main(unsigned cpu)
{
	measure(cpu);
}

/* TSC ticks per second without kvmclock: CPUID 0x40000010 EAX (kHz), else
 * 1 GHz (popek's soft engine). */
static u64 tsc_hz(void)
{
	u32 r[4];

	cpuid(0x40000000, 0, r);
	if (r[0] >= 0x40000010) {
		cpuid(0x40000010, 0, r);
		if (r[0])
			return (u64)r[0] * 1000;
	}
	return 1000000000;
}

/* The sums over all CPUs of one clock's statistics. */
static struct clock_stats sum(bool kvm)
{
	struct clock_stats t = {0, 0, 0};

	for (unsigned c = 0; c < ncpus; c++) {
		const struct clock_stats *s = kvm ? &pc[c].kvm : &pc[c].tsc;

		t.reads += s->reads;
		t.warps += s->warps;
		t.worst = s->worst > t.worst ? s->worst : t.worst;
	}
	printf("clock_warp: %s: %u CPUs, %lu reads, %lu warps, worst %lu\n",
	       kvm ? "kvmclock" : "tsc", ncpus, t.reads, t.warps, t.worst);
	return t;
}

void test_main(void)
{
	struct clock_stats tsc, kvm = {0, 0, 0};
	u32 r[4];
	u64 t0, step = 0;
	bool stable = true;

	ncpus = (unsigned)cmdline_u64("cpus", 2);
	duration_ns = cmdline_u64("seconds", 2) * 1000000000ULL;
	break_tsc = cmdline_u64("break_tsc", 0);
	cpuid(0x40000000, 0, r);
	have_kvmclock = !memcmp(&r[1], "KVMKVMKVM", 9) && r[0] >= 0x40000001 &&
			((cpuid(0x40000001, 0, r), r[0]) & KVM_FEATURE_CLOCKSOURCE2);
	printf("# %u CPUs, %lu s, kvmclock %s%s\n", ncpus, duration_ns / 1000000000,
	       have_kvmclock ? "yes" : "no", break_tsc ? ", the last CPU's TSC set ahead" : "");
	if (!check(smp_start(ncpus, ap_main) == ncpus, "%u CPUs started", ncpus))
		return;
	while (ready < ncpus - 1)
		pause();
	if (have_kvmclock)
		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)&pc[0].pv | 1);
	if (break_tsc && ncpus == 1)
		wrmsr(MSR_TSC, rdtsc() + 50000000);
	printf("clock_warp: running\n");
	go = 1;
	if (have_kvmclock) {
		measure(0);
	} else {
		t0 = rdtsc();
		/* The BSP only times the run: every CPU but one measures. */
		while (rdtsc() - t0 < duration_ns / 1000000000 * tsc_hz())
			pause();
		stop = 1;
	}
	while (smp_done < ncpus - 1)
		pause();

	tsc = sum(false);
	if (have_kvmclock) {
		kvm = sum(true);
		for (unsigned c = 0; c < ncpus; c++) {
			stable &= pc[c].flags & PVCLOCK_TSC_STABLE;
			if (pc[c].max_step > step)
				step = pc[c].max_step;
		}
		printf("clock_warp: largest forward step %lu ns\n", step);
	}
	for (unsigned c = 0; c < ncpus; c++)
		check(pc[c].tsc.reads > 0, "CPU %u read the clocks (%lu times)", c,
		      pc[c].tsc.reads);
	if (break_tsc)
		check(tsc.warps > 0,
		      "a CPU's TSC set ahead shows as TSC warps (%lu): the count works", tsc.warps);
	else
		check_eq("no TSC warps", tsc.warps, 0);
	if (!have_kvmclock)
		return;
	/* Without PVCLOCK_TSC_STABLE_BIT the guest must keep kvmclock monotonic
	 * itself (Linux: pvclock's last_value), as KVM may then warp. */
	if (stable)
		check_eq("no kvmclock warps (PVCLOCK_TSC_STABLE_BIT set)", kvm.warps, 0);
	else
		printf("# kvmclock without PVCLOCK_TSC_STABLE_BIT: %lu warps not counted\n",
		       kvm.warps);
}
