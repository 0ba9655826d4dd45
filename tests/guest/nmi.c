/* Guest program: NMIs sent by the local APIC (ICR delivery mode NMI) to itself and to
 * another CPU, running or halted with IF=0; NMI blocking until IRET, and NMIs that arrive
 * together (Intel SDM Vol. 3A 6.7.1 "Handling Multiple NMIs", 10.6.1 "Interrupt Command
 * Register"; KVM delivers two NMIs that arrive before the CPU took either, as kvm-unit-tests'
 * "multiple nmi" checks). Runs with --cpus 2. */
#include "guest.h"

/* Waits in TSC cycles: what must happen (5 s at popek's 1 GHz), and a
 * while to see that nothing else does. */
#define LONG_WAIT  5000000000ULL
#define SHORT_WAIT 20000000ULL

static volatile u64 nmis[SMP_MAX_CPUS], depth[SMP_MAX_CPUS], nested[SMP_MAX_CPUS];
static volatile u64 resend; /* self-NMIs the BSP's next handler sends while blocked */
static volatile u64 arrived_in_handler;
static volatile u64 ap_cmd, ap_state, ap_wakes, ap_round, ap_round_done, flushes;

enum { AP_SPIN = 1, AP_HALT, AP_SEND_TO_BSP, AP_SEND_TWO, AP_RACE, AP_EXIT };

#define VEC_FLUSH   0x44
#define VEC_TIMER   0x45
#define RACE_ROUNDS 200

static void on_nmi(struct trap_frame *f)
{
	unsigned c = smp_cpu();
	u64 n = resend, before;

	(void)f;
	if (depth[c]++)
		nested[c]++;
	nmis[c]++;
	if (c == 0 && n) {
		/* While this handler runs, NMIs are blocked (SDM 6.7.1): the
		 * ones sent now are held, and one of them stays pending. */
		resend = 0;
		before = nmis[0];
		while (n--)
			lapic_ipi(0, ICR_NMI | ICR_ASSERT);
		for (u64 t0 = rdtsc(), i = 0; rdtsc() - t0 < SHORT_WAIT; i++) {
			pause();
			if (!(i & 255))
				outb(0x80, 0);
		}
		arrived_in_handler = nmis[0] - before;
	}
	depth[c]--;
}

static void on_flush(struct trap_frame *f)
{
	(void)f;
	flushes++;
	lapic_eoi();
}

static void on_timer(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
}

/* Spins with IF unchanged (NMIs need no IF) until *p reaches want or
 * cycles of the TSC passed. */
static bool spin_until(volatile u64 *p, u64 want, u64 cycles)
{
	for (u64 t0 = rdtsc(), i = 0; *p < want && rdtsc() - t0 < cycles; i++) {
		pause();
		if (!(i & 255))
			outb(0x80, 0); /* a VM exit, where some KVM hosts inject */
	}
	return *p >= want;
}

static bool wait_for(volatile u64 *p, u64 want)
{
	return spin_until(p, want, LONG_WAIT);
}

static void quiet(void)
{
	u64 never = 0;
	spin_until(&never, 1, SHORT_WAIT);
}

static void ap_main(unsigned cpu)
{
	(void)cpu;
	for (;;) {
		u64 cmd = ap_cmd;

		ap_state = cmd;
		if (cmd == AP_EXIT)
			return;
		if (cmd == AP_SEND_TO_BSP) {
			lapic_ipi(0, ICR_NMI | ICR_ASSERT);
			ap_cmd = AP_SPIN;
		} else if (cmd == AP_SEND_TWO) {
			lapic_ipi(0, ICR_NMI | ICR_ASSERT);
			lapic_ipi(0, ICR_NMI | ICR_ASSERT);
			ap_cmd = AP_SPIN;
		} else if (cmd == AP_RACE) {
			/* Each round: an NMI to CPU 0 while it sends itself one,
			 * then a fixed IPI behind them (kvm-unit-tests' apic.c). */
			u64 r = ap_round;

			if (r == ap_round_done) {
				pause();
				continue;
			}
			lapic_ipi(0, ICR_NMI | ICR_ASSERT);
			lapic_ipi(0, ICR_ASSERT | VEC_FLUSH);
			ap_round_done = r;
		} else if (cmd == AP_HALT) {
			/* Only an NMI (or INIT) can end this HLT. */
			asm volatile("cli; hlt" ::: "memory");
			ap_wakes++;
		} else {
			pause();
		}
	}
}

/* CPU 0 halts while CPU 1 sends it two NMIs back to back: both arrive
 * before CPU 0 can take the first, and both must be delivered. The LAPIC
 * timer ends the HLT should the NMIs come before it. */
static void two_at_once(void)
{
	u64 n0 = nmis[0];

	lapic_write(LAPIC_TIMER_DIV, 0xB); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 50000000);
	ap_cmd = AP_SEND_TWO;
	asm volatile("sti; hlt; cli" ::: "memory");
	lapic_write(LAPIC_TIMER_INIT, 0);
	wait_for(&nmis[0], n0 + 2);
	quiet();
	check_eq("two NMIs sent together to a halted CPU: both delivered", nmis[0] - n0, 2);
}

/* kvm-unit-tests' "multiple nmi": CPU 0's self NMI and CPU 1's NMI race;
 * the fixed IPI CPU 1 sends after its NMI arrives after both NMIs. */
static void race(void)
{
	u64 lost = 0, extra = 0, round;

	flushes = 0;
	ap_cmd = AP_RACE;
	for (round = 1; round <= RACE_ROUNDS; round++) {
		u64 n0 = nmis[0], f = flushes;

		ap_round = round;
		lapic_ipi(0, ICR_NMI | ICR_ASSERT);
		sti();
		spin_until(&flushes, f + 1, LONG_WAIT);
		cli();
		if (nmis[0] - n0 < 2)
			lost++;
		else if (nmis[0] - n0 > 2)
			extra++;
	}
	ap_cmd = AP_SPIN;
	check(lost == 0 && extra == 0,
	      "%u rounds of a self NMI racing CPU 1's: %lu rounds lost one, %lu got more than two",
	      RACE_ROUNDS, lost, extra);
}

void test_main(void)
{
	u64 n0, n1, got;

	trap_set_handler(2, on_nmi);
	trap_set_handler(VEC_FLUSH, on_flush);
	trap_set_handler(VEC_TIMER, on_timer);
	ap_cmd = AP_SPIN;
	if (!check(smp_start(2, ap_main) == 2, "CPU 1 started"))
		return;
	wait_for(&ap_state, AP_SPIN);

	printf("# NMI to self (physical destination = own APIC id 0), IF=0\n");
	lapic_write(LAPIC_ICR_HI, 0);
	/* Taken before the next instruction, as KVM does and as the x2APIC
	 * ICR's WRMSR does here. */
	asm volatile("movl %2, (%1)\n\tmov nmis(%%rip), %0"
		     : "=r"(got)
		     : "r"(LAPIC_BASE + LAPIC_ICR_LO), "r"(ICR_NMI | ICR_ASSERT)
		     : "memory");
	check_eq("the self NMI is taken right after the ICR write", got, 1);
	quiet();
	check_eq("exactly one NMI per IPI", nmis[0], 1);

	printf("# NMI blocking: two self NMIs sent from inside the handler\n");
	resend = 2;
	lapic_ipi(0, ICR_NMI | ICR_ASSERT);
	wait_for(&nmis[0], 3);
	check(nmis[0] == 3, "after IRET the held NMI is delivered (%lu NMIs)", nmis[0]);
	quiet();
	check_eq("no NMI arrived while the handler ran", arrived_in_handler, 0);
	check_eq("handlers never nested", nested[0], 0);
	check_eq("the two held NMIs made one pending NMI, not two", nmis[0], 3);

	printf("# NMI to CPU 1, running with IF=0\n");
	lapic_ipi(1, ICR_NMI | ICR_ASSERT);
	wait_for(&nmis[1], 1);
	check_eq("CPU 1 got the NMI", nmis[1], 1);

	printf("# NMI from CPU 1 to CPU 0\n");
	n0 = nmis[0];
	ap_cmd = AP_SEND_TO_BSP;
	wait_for(&nmis[0], n0 + 1);
	check_eq("CPU 0 got CPU 1's NMI", nmis[0] - n0, 1);

	printf("# two NMIs at once\n");
	two_at_once();
	race();

	printf("# NMI to CPU 1 halted with IF=0\n");
	ap_cmd = AP_HALT;
	wait_for(&ap_state, AP_HALT);
	quiet(); /* CPU 1 is in HLT now */
	n1 = nmis[1];
	lapic_ipi(1, ICR_NMI | ICR_ASSERT);
	wait_for(&nmis[1], n1 + 1);
	check_eq("halted CPU 1 got the NMI", nmis[1] - n1, 1);
	/* Had CPU 1 not reached HLT yet, it took the NMI before it: it is in
	 * HLT now, and another NMI must end that. */
	if (!wait_for(&ap_wakes, 1))
		lapic_ipi(1, ICR_NMI | ICR_ASSERT);
	wait_for(&ap_wakes, 1);
	check(ap_wakes >= 1, "CPU 1 went on after HLT (%lu wake-ups)", ap_wakes);

	printf("# NMI to all but self\n");
	n0 = nmis[0];
	n1 = nmis[1];
	lapic_ipi(0, ICR_NMI | ICR_ASSERT | ICR_ALL_BUT_SELF);
	check(wait_for(&nmis[1], n1 + 1), "CPU 1 got the broadcast NMI");
	quiet();
	check_eq("CPU 0 did not get its own broadcast", nmis[0], n0);
	check_eq("CPU 1's handlers never nested", nested[1], 0);

	ap_cmd = AP_EXIT;
	lapic_ipi(1, ICR_NMI | ICR_ASSERT); /* out of HLT */
	check(wait_for(&smp_done, 1), "CPU 1 finished");
}
