/* Guest runtime: ring 3 for test programs (enter CPL 3, come back) and the
 * CPUID helper for programs about optional features. */
#include "guest.h"

extern char __user_start[], __user_end[];
static u64 ring3_stack[512] __attribute__((section(".user.data"), aligned(4096)));
u64 ring3_kernel_rsp, ring3_rflags;
u64 ring3_enter(u64 rip, u64 rsp, u64 rbx);

/* ring3_enter(rip, rsp, rbx): saves the callee-saved registers and RSP,
 * IRETQ to CPL 3 (Intel SDM Vol. 3A 6.14.3). ring3_back: where
 * ring3_return() sends the exit's IRETQ, on the saved RSP, RAX the user's. */
asm(".text\n"
    ".globl ring3_enter\n"
    "ring3_enter:\n\t"
    "push %rbp\n\tpush %rbx\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "mov %rsp, ring3_kernel_rsp(%rip)\n\t"
    "mov %rdx, %rbx\n\t"
    "pushq $0x2b\n\tpush %rsi\n\tpushq $2\n\tpushq $0x33\n\tpush %rdi\n\t"
    "xor %eax, %eax\n\txor %ecx, %ecx\n\txor %edx, %edx\n\txor %esi, %esi\n\txor %edi, %edi\n\t"
    "iretq\n"
    ".globl ring3_back\n"
    "ring3_back:\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbx\n\tpop %rbp\n\t"
    "ret\n"
    ".section .user.text, \"ax\"\n"
    ".globl ring3_exit\n"
    "ring3_exit:\n\t"
    "int $0x81\n\t"
    "ud2\n"
    ".text\n");

_Static_assert(RING3_EXIT_VECTOR == 0x81, "ring3_exit's INT");

/* RING3_EXIT_VECTOR's raw handler: back to ring3_enter's caller. */
static void ring3_return(struct trap_frame *f)
{
	extern char ring3_back[];

	if ((f->cs & 3) != 3) {
		printf("not ok - INT %#x outside ring 3 at rip %#lx\n", RING3_EXIT_VECTOR, f->rip);
		guest_exit(false);
	}
	ring3_rflags = f->rflags;
	f->rip = (u64)ring3_back;
	f->cs = SEL_KCODE;
	f->ss = SEL_KDATA;
	f->rsp = ring3_kernel_rsp;
	f->rflags = 2;
}

void ring3_init(void)
{
	static bool mapped;

	if (mapped)
		return;
	trap_set_raw_handler(RING3_EXIT_VECTOR, ring3_return);
	for (u64 va = (u64)__user_start; va < (u64)__user_end; va += 4096)
		*paging_pte(va) |= PTE_US;
	paging_flush();
	mapped = true;
}

u64 ring3_run(const void *rip, u64 rbx)
{
	ring3_init();
	return ring3_enter((u64)rip, (u64)&ring3_stack[512], rbx);
}

/* "popek soft" starts the soft engine's brand string (CPUID 0x80000002). */
static bool soft_engine(void)
{
	u32 r[4];

	cpuid(0x80000000, 0, r);
	if (r[0] < 0x80000002)
		return false;
	cpuid(0x80000002, 0, r);
	return !memcmp(r, "popek soft", 10);
}

bool cpu_feature(const char *name, bool present)
{
	if (present)
		return true;
	if (soft_engine())
		check(false, "%s in CPUID: the soft engine offers it", name);
	else
		printf("# %s: not offered by this CPU (KVM shows the host's): nothing to test\n",
		       name);
	return false;
}
