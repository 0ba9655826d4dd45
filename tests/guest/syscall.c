/* Guest program: SYSCALL/SYSRET between ring 3 and ring 0 (STAR, LSTAR, SFMASK, EFER.SCE). */
#include "guest.h"

#define USER_RFLAGS (RFLAGS_AC | RFLAGS_IF | 0x2) /* AC marks "from user" */

extern char __user_start[], __user_end[], user_entry[], user_fault[], user_after_fault[],
	user_ret1[], syscall_entry[];
extern u64 gdt[];
u64 enter_user(u64 rip, u64 rsp);
u64 syscall_c(u64 nr, u64 a1, u64 a2, u64 a3, u64 rcx, u64 r11);
static u64 user_stack[512] __attribute__((section(".user.data"), aligned(4096)));
u64 syscall_stack[512] __attribute__((aligned(16)));
u64 kernel_rsp, user_rsp;

/* LSTAR target: no stack switch on SYSCALL, so take our own; nr 3 returns
 * from enter_user. C ABI: syscall_c(rax, rdi, rsi, rdx, rcx, r11). */
asm(".text\n"
    "syscall_entry:\n\t"
    "cmp $3, %rax\n\tje 1f\n\t"
    "mov %rsp, user_rsp(%rip)\n\t"
    "lea syscall_stack+4096(%rip), %rsp\n\t"
    "push %rcx\n\tpush %r11\n\t"
    "mov %rcx, %r8\n\tmov %r11, %r9\n\tmov %rdx, %rcx\n\t"
    "mov %rsi, %rdx\n\tmov %rdi, %rsi\n\tmov %rax, %rdi\n\t"
    "call syscall_c\n\t"
    "pop %r11\n\tpop %rcx\n\t"
    "mov user_rsp(%rip), %rsp\n\t"
    "sysretq\n"
    "1:\tmov kernel_rsp(%rip), %rsp\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbx\n\tpop %rbp\n\t"
    "mov %rdi, %rax\n\tret\n"
    /* enter_user(rip, rsp): IRETQ to ring 3 (Intel SDM Vol. 3A 6.14.2). */
    ".globl enter_user\nenter_user:\n\t"
    "push %rbp\n\tpush %rbx\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "mov %rsp, kernel_rsp(%rip)\n\t"
    "pushq $0x2b\n\tpush %rsi\n\tpushq $0x40202\n\tpushq $0x33\n\tpush %rdi\n\t"
    "iretq\n"
    /* Ring 3: read a kernel page (#PF), then three system calls. */
    ".section .user.text, \"ax\"\n"
    ".globl user_entry, user_fault, user_after_fault, user_ret1\n"
    "user_entry:\n\t"
    "movabs $gdt, %rax\n"
    "user_fault:\n\t"
    "mov (%rax), %rax\n"
    "user_after_fault:\n\t"
    "mov $1, %eax\n\tmov $0x1111, %edi\n\tstd\n\tsyscall\n"
    "user_ret1:\n\t"
    "pushfq\n\tpop %rsi\n\tcld\n\tmov %rax, %rdx\n\t"
    "mov %cs, %edi\n\tmov %ss, %eax\n\tshl $16, %eax\n\tor %eax, %edi\n\t"
    "mov $2, %eax\n\tsyscall\n\t"
    "mov $0x600d, %edi\n\tmov $3, %eax\n\tsyscall\n\t"
    "ud2\n"
    ".text\n");

u64 syscall_c(u64 nr, u64 a1, u64 a2, u64 a3, u64 rcx, u64 r11)
{
	u64 fl = read_rflags(), cs, ss;

	asm volatile("mov %%cs, %0; mov %%ss, %1" : "=r"(cs), "=r"(ss));
	if (nr == 1) {
		check_eq("syscall 1: argument in RDI", a1, 0x1111);
		check_eq("RCX holds the RIP after SYSCALL", rcx, (u64)user_ret1);
		check_eq("R11 holds the user RFLAGS (IF, DF, AC)", r11 & ~0xD5UL,
			 USER_RFLAGS | RFLAGS_DF);
		check_eq("SFMASK cleared IF, TF and DF, kept AC",
			 fl & (RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC), RFLAGS_AC);
		check(cs == SEL_KCODE && ss == SEL_KDATA, "kernel CS %#lx SS %#lx from STAR", cs, ss);
		return 0x1234;
	}
	check_eq("syscall 2: RAX from the first syscall reached user mode", a3, 0x1234);
	check_eq("after SYSRET: CS 0x33, SS 0x2b (RPL 3)", a1, (SEL_UCODE | 3) | (SEL_UDATA | 3) << 16);
	check_eq("after SYSRET: RFLAGS restored from R11", a2 & (RFLAGS_IF | RFLAGS_DF | RFLAGS_AC),
		 RFLAGS_IF | RFLAGS_DF | RFLAGS_AC);
	return 0;
}

void test_main(void)
{
	u64 r;

	for (u64 va = (u64)__user_start; va < (u64)__user_end; va += 4096)
		*paging_pte(va) |= PTE_US;
	paging_flush();
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* SYSCALL: CS = STAR[47:32], SS = +8; SYSRET: CS = STAR[63:48] + 16,
	 * SS = +8 (Intel SDM Vol. 2B SYSCALL, SYSRET). */
	wrmsr(MSR_STAR, (u64)SEL_UCODE32 << 48 | (u64)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (u64)syscall_entry);
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF);

	trap_reset();
	trap_resume = (u64)user_after_fault;
	r = enter_user((u64)user_entry, (u64)&user_stack[512]);
	check(last_trap.count == 1 && last_trap.vector == 14 && last_trap.error == 5 &&
		      last_trap.rip == (u64)user_fault && last_trap.cr2 == (u64)gdt,
	      "ring 3 read of a kernel page: #PF error 5 at the read, CR2 exact (%lu traps, "
	      "vector %lu, error %#lx, rip %#lx, cr2 %#lx)",
	      last_trap.count, last_trap.vector, last_trap.error, last_trap.rip, last_trap.cr2);
	check_eq("exit syscall returned to the kernel with RDI", r, 0x600d);
	check(!(read_rflags() & RFLAGS_IF), "IF clear back in the kernel");
}
