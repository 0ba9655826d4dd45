/* Guest program: software interrupts: #BP from int3 and INT n, RIP after the instruction.
 * Separate from exceptions.c because some hosts' KVM cannot emulate INT n. */
#include "guest.h"

static volatile u64 int40_count, int40_rip, int40_rsp, int40_cs, int40_if;

static void on_int40(struct trap_frame *f)
{
	int40_count++;
	int40_rip = f->rip;
	int40_rsp = f->rsp;
	int40_cs = f->cs;
	int40_if = read_rflags() & RFLAGS_IF;
}

void test_main(void)
{
	u64 rsp;

	trap_reset();
	asm volatile(CATCH("int3") ::: "r11", "memory");
	check(last_trap.count == 1 && last_trap.vector == 3 && last_trap.error == 0 &&
		      last_trap.rip == catch_end,
	      "#BP from int3: %lu traps, vector %lu, rip %#lx (want 1, 3, %#lx after int3)",
	      last_trap.count, last_trap.vector, last_trap.rip, catch_end);

	/* INT n through an interrupt gate: IF cleared in the handler, the
	 * frame has RIP after the instruction and the interrupted RSP. */
	trap_set_handler(0x40, on_int40);
	sti();
	asm volatile("mov %%rsp, %0\n\tint $0x40\n1:\n\tlea 1b(%%rip), %%r11\n\t"
		     "mov %%r11, catch_end(%%rip)"
		     : "=&r"(rsp)::"r11", "memory");
	cli();
	check(int40_count == 1, "int $0x40 reaches the vector 0x40 handler once (%lu)",
	      int40_count);
	check_eq("int $0x40: frame RIP is after the instruction", int40_rip, catch_end);
	check_eq("int $0x40: frame RSP is the interrupted RSP", int40_rsp, rsp);
	check_eq("int $0x40: frame CS is the kernel code segment", int40_cs, SEL_KCODE);
	check(!int40_if, "int $0x40 through an interrupt gate clears IF");
	check(!(read_rflags() & RFLAGS_IF), "IF is clear again after cli");
}
