/* Guest program: exceptions raised from inside a hot loop, and a timer
 * interrupt into a loop that spins without an exit. On the soft engine a
 * block is translated after 32 runs, so by its last round each loop below
 * runs as host code (jit/): the fault must come with the RIP of the
 * faulting instruction, its error code and CR2, and the registers the loop
 * changed before it (held in host registers by the translator) must hold
 * their values; the interrupt must arrive while the loop spins.
 *
 * Each loop runs ROUNDS rounds: r8 counts them, r9 copies r8, rcx counts
 * down; in the last round (rcx = 1) the instruction at label 7 faults. */
#include "guest.h"

#define ROUNDS 200
#define VEC_TIMER 0x40

static u8 np_page[4096] __attribute__((aligned(4096)));
static u64 data[8];
static volatile u64 fault_rip, ticks;

struct regs {
	u64 r8, r9, rcx;
};

/* r8 and r9 as the loops use them (no constraint letter names them). */
#define LOOP_REGS register u64 r8_ asm("r8"), r9_ asm("r9")
#define LOOP_OUT "=&c"(r.rcx), "=&r"(r8_), "=&r"(r9_)
#define LOOP_DONE (r.r8 = r8_, r.r9 = r9_)

static void expect(const char *what, const struct regs *r, u64 vector, u64 error, u64 cr2)
{
	check_trap(what, vector, error, fault_rip, cr2);
	check(r->r8 == ROUNDS && r->r9 == ROUNDS && r->rcx == 1,
	      "%s: registers at the fault r8 %lu r9 %lu rcx %lu (want %u, %u, 1)", what, r->r8,
	      r->r9, r->rcx, ROUNDS, ROUNDS);
}

/* The loop's head and tail around body, which must leave the faulting
 * instruction at label 7 (its address goes to fault_rip). */
#define LOOP(body)                                                                          \
	"lea 7f(%%rip), %%r10\n\tmov %%r10, fault_rip(%%rip)\n\t"                           \
	"mov %[rounds], %%ecx\n\txor %%r8d, %%r8d\n"                                        \
	"1:\tadd $1, %%r8\n\tmov %%r8, %%r9\n\t" body "\n\tdec %%rcx\n\tjnz 1b"

static void divide_error(void)
{
	struct regs r;
	LOOP_REGS;

	trap_reset();
	/* The divisor is rcx - 1: 0 in the last round. */
	asm volatile(CATCH(LOOP("lea -1(%%rcx), %%rsi\n\tmov $1000, %%eax\n\txor %%edx, %%edx\n"
				"7:\tdiv %%rsi"))
		     : LOOP_OUT
		     : [rounds] "i"(ROUNDS)
		     : "rax", "rdx", "rsi", "r10", "r11", "memory");
	LOOP_DONE;
	expect("#DE from a translated loop", &r, 0, 0, 0);
}

static void invalid_opcode(void)
{
	struct regs r;
	LOOP_REGS;

	trap_reset();
	asm volatile(CATCH(LOOP("cmp $1, %%rcx\n\tjne 2f\n7:\tud2\n2:"))
		     : LOOP_OUT
		     : [rounds] "i"(ROUNDS)
		     : "r10", "r11", "memory");
	LOOP_DONE;
	expect("#UD from a translated loop", &r, 6, 0, 0);
}

/* A load (or store) from data[] in every round but the last, which uses
 * bad (a CMOV picks it). */
static void bad_access(const char *what, bool store, u64 bad, u64 vector, u64 error, u64 cr2)
{
	struct regs r;
	LOOP_REGS;

	trap_reset();
	if (store)
		asm volatile(CATCH(LOOP("mov %[ok], %%rsi\n\tcmp $1, %%rcx\n\tcmove %[bad], %%rsi\n"
					"7:\tmov %%r8, (%%rsi)"))
			     : LOOP_OUT
			     : [rounds] "i"(ROUNDS), [ok] "r"(data), [bad] "r"(bad)
			     : "rsi", "r10", "r11", "memory");
	else
		asm volatile(CATCH(LOOP("mov %[ok], %%rsi\n\tcmp $1, %%rcx\n\tcmove %[bad], %%rsi\n"
					"7:\tmov (%%rsi), %%rax"))
			     : LOOP_OUT
			     : [rounds] "i"(ROUNDS), [ok] "r"(data), [bad] "r"(bad)
			     : "rax", "rsi", "r10", "r11", "memory");
	LOOP_DONE;
	expect(what, &r, vector, error, cr2);
}

static void on_timer(struct trap_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

/* A loop with no way out but the timer's interrupt: sti; spin until the
 * handler has counted 3 ticks. */
static void timer_into_loop(void)
{
	u64 spins = 0;

	trap_set_handler(VEC_TIMER, on_timer);
	lapic_enable();
	lapic_write(LAPIC_TIMER_DIV, 0xB);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, 2000000);
	asm volatile("sti\n1:\tadd $1, %0\n\tcmpq $3, ticks(%%rip)\n\tjb 1b\n\tcli"
		     : "+r"(spins)
		     :
		     : "memory");
	lapic_write(LAPIC_TIMER_INIT, 0);
	check(ticks >= 3, "the timer interrupted the spinning loop (%lu ticks)", ticks);
	check(spins > 100, "the loop spun between ticks (%lu rounds)", spins);
}

/* Immediates near 2^31 in a translated loop: the translator once added
 * every instruction's immediate to its offset in the block as if it were
 * a branch (a signed overflow the sanitizer build stops on). */
static void large_immediates(void)
{
	u64 a = 0, b = 0;

	for (int i = 0; i < 5000; i++)
		asm volatile("add $0x7fffffff, %0\n\tand $0x7ffffff8, %k0\n\t"
			     "mov $0x7fffffff, %k1\n\tmovabs $0xffffffff7fffffff, %1"
			     : "+r"(a), "=r"(b));
	check_eq("add/and/mov with imm32 0x7fffffff in a translated loop", b,
		 0xffffffff7fffffffULL);
	check(a < 0x80000000ULL, "and kept the low 31 bits (%#lx)", a);
}

void test_main(void)
{
	u64 np = (u64)np_page + 0x238;

	large_immediates();

	divide_error();
	invalid_opcode();
	bad_access("#GP(0) from a non-canonical load in a translated loop", false,
		   0x8000000000000000ULL, 13, 0, 0);
	*paging_pte((u64)np_page) &= ~PTE_P;
	paging_flush();
	bad_access("#PF from a load in a translated loop", false, np, 14, 0, np);
	bad_access("#PF from a store in a translated loop", true, np, 14, 2, np);
	check(data[0] == ROUNDS - 1, "the stores before the faulting one happened (%lu)", data[0]);
	timer_into_loop();
}
