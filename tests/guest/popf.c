/* Guest program: PUSHF/POPF, CLI/STI and the STI interrupt shadow at CPL 0. */
#include "guest.h"

#define VEC 0x40

static volatile u64 count, frame_rip, hlt_rip;

/* Records where the interrupt arrived. If it arrived on the HLT itself
 * (shadow not honoured), skip the HLT so that the test does not hang. */
static void on_timer(struct trap_frame *f)
{
	count++;
	frame_rip = f->rip;
	if (f->rip == hlt_rip)
		f->rip++;
	lapic_eoi();
}

static void popf_to(u64 v)
{
	asm volatile("push %0; popfq" ::"r"(v) : "memory", "cc");
}

/* Fires the one-shot timer with IF=0 and waits until the interrupt is
 * pending in the IRR (Intel SDM Vol. 3A 11.8.4). */
static bool make_pending(void)
{
	lapic_write(LAPIC_TIMER_INIT, 1000);
	for (int i = 0; i < 10000000; i++)
		if (lapic_read(LAPIC_IRR + 0x10 * (VEC / 32)) & (1u << (VEC % 32)))
			return true;
	return false;
}

static void flags(void)
{
	check(!(read_rflags() & RFLAGS_IF), "IF is clear at entry (multiboot state)");
	sti();
	check(read_rflags() & RFLAGS_IF, "STI sets IF (PUSHF shows it)");
	cli();
	check(!(read_rflags() & RFLAGS_IF), "CLI clears IF");
	popf_to(0x202);
	check(read_rflags() & RFLAGS_IF, "POPF sets IF at CPL 0");
	popf_to(0x002);
	check(!(read_rflags() & RFLAGS_IF), "POPF clears IF at CPL 0");
	popf_to(0x002 | RFLAGS_IOPL | RFLAGS_DF | RFLAGS_CF | RFLAGS_AC);
	check_eq("POPF sets IOPL, DF, CF, AC at CPL 0", read_rflags() & 0xFFFFF,
		 0x002 | RFLAGS_IOPL | RFLAGS_DF | RFLAGS_CF | RFLAGS_AC);
	popf_to(0x002 | (1UL << 16) | (1UL << 17) | (1UL << 15) | (1UL << 3));
	check_eq("POPF leaves RF, VM and reserved bits 3, 15 clear", read_rflags() & 0xFFFFF, 0x002);
}

/* Whether the last interrupt arrived at an RIP in [lo, hi]. The exact
 * point is lo; a later one (before the cli at hi) is accepted because
 * some hosts' KVM only injects a pending interrupt at the next VM exit,
 * which the outb to port 0x80 forces. Earlier than lo is the bug. */
static bool arrived(u64 n, u64 lo, u64 hi)
{
	if (count == n && frame_rip > lo && frame_rip <= hi)
		printf("# arrived %lu bytes after the expected instruction boundary\n",
		       frame_rip - lo);
	return count == n && frame_rip >= lo && frame_rip <= hi;
}

static void shadow(void)
{
	u64 lo, hi;

	lapic_enable();
	lapic_write(LAPIC_TIMER_DIV, 0xB);
	lapic_write(LAPIC_LVT_TIMER, VEC);

	check(make_pending(), "timer interrupt pending in the IRR with IF=0");
	asm volatile("sti\n\tnop\n1:\toutb %%al, $0x80\n2:\tcli\n\t"
		     "lea 1b(%%rip), %0\n\tlea 2b(%%rip), %1"
		     : "=r"(lo), "=r"(hi)::"memory");
	check(arrived(1, lo, hi), "sti; nop: the interrupt arrives after the nop (count %lu rip "
	      "%#lx, want %#lx)", count, frame_rip, lo);

	check(make_pending(), "pending again");
	asm volatile("lea 2f(%%rip), %0\n\tmov %0, hlt_rip(%%rip)\n\tsti\n2:\thlt\n1:\tcli\n\t"
		     "lea 1b(%%rip), %0"
		     : "=&r"(lo)::"memory");
	check(count == 2 && frame_rip == lo,
	      "sti; hlt with a pending interrupt: HLT runs, then wakes (count %lu rip %#lx, "
	      "want %#lx after hlt)",
	      count, frame_rip, lo);

	/* POPF has no shadow: the interrupt comes right after it. */
	check(make_pending(), "pending a third time");
	asm volatile("push $0x202\n\tpopfq\n1:\toutb %%al, $0x80\n2:\tcli\n\t"
		     "lea 1b(%%rip), %0\n\tlea 2b(%%rip), %1"
		     : "=r"(lo), "=r"(hi)::"memory");
	check(arrived(3, lo, hi), "popf setting IF: the interrupt arrives right after it (count "
	      "%lu rip %#lx, want %#lx)", count, frame_rip, lo);

	check(make_pending(), "pending a fourth time");
	asm volatile("sti; cli" ::: "memory");
	check_eq("sti; cli: no interrupt inside the shadow", count, 3);
	asm volatile("sti; nop; outb %%al, $0x80; cli" ::: "memory");
	check_eq("the pending interrupt arrives after a later sti", count, 4);
}

void test_main(void)
{
	trap_set_handler(VEC, on_timer);
	flags();
	shadow();
}
