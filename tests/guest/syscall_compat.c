/* Guest program: SYSCALL from 32-bit compatibility mode at CPL 3. Intel raises #UD (SDM
 * Vol. 2B SYSCALL: "#UD if not in 64-bit mode"); AMD enters the kernel through MSR_CSTAR in
 * 64-bit mode (APM Vol. 3 SYSCALL: "compatibility mode ... RIP = CSTAR"), and SYSRET with a
 * 32-bit operand size goes back to compatibility mode. The vendor is CPUID's; the runner
 * runs this once with --cpu-vendor intel and once with amd. */
#include "guest.h"

#define MSR_CSTAR   0xC0000083
#define USER_RFLAGS 0x202UL /* IF */

extern char __user_start[], __user_end[], compat_code[], compat_syscall[], compat_ret[],
    compat_exit[], cstar_entry[], lstar_entry[], ud_resume[];
u64 enter_compat(u64 rip, u64 rsp);
static u64 user_stack[512] __attribute__((section(".user.data"), aligned(4096)));
u64 kernel_rsp;
/* What the CSTAR handler saw on each entry (index: syscall number 1 or 2). */
u64 seen_rcx[3], seen_r11[3], seen_rflags[3], seen_cs[3], seen_ss[3], seen_rdi[3], seen_rsi[3];
volatile u64 lstar_entries;

asm(".text\n"
    /* CSTAR target: 64-bit code at CPL 0 on the user's stack (no SMAP).
     * Call 1 records and returns to compatibility mode with SYSRETL;
     * call 2 (exit) returns from enter_compat with 1. */
    "cstar_entry:\n\t"
    "mov %rcx, seen_rcx(,%rax,8)\n\t"
    "mov %r11, seen_r11(,%rax,8)\n\t"
    "mov %rdi, seen_rdi(,%rax,8)\n\t"
    "mov %rsi, seen_rsi(,%rax,8)\n\t"
    "pushfq\n\tpopq seen_rflags(,%rax,8)\n\t"
    "mov %cs, %rdx\n\tmov %rdx, seen_cs(,%rax,8)\n\t"
    "mov %ss, %rdx\n\tmov %rdx, seen_ss(,%rax,8)\n\t"
    "cmp $2, %eax\n\tje 1f\n\t"
    "mov $0x600d, %eax\n\t"
    "sysretl\n"
    "1:\tmov kernel_rsp(%rip), %rsp\n\t"
    "mov $1, %eax\n\tjmp 2f\n"
    /* The #UD handler resumes here at CPL 0: enter_compat returns 0. */
    "ud_resume:\n\t"
    "xor %eax, %eax\n"
    "2:\tpop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbx\n\tpop %rbp\n\t"
    "ret\n"
    /* LSTAR target: must not be used from compatibility mode. */
    "lstar_entry:\n\t"
    "lock incq lstar_entries(%rip)\n\t"
    "mov kernel_rsp(%rip), %rsp\n\t"
    "mov $2, %eax\n\tjmp 2b\n"
    /* enter_compat(rip, rsp): IRETQ to 32-bit code at CPL 3 (Intel SDM Vol. 3A 6.14.2). */
    ".globl enter_compat\nenter_compat:\n\t"
    "push %rbp\n\tpush %rbx\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "mov %rsp, kernel_rsp(%rip)\n\t"
    "pushq $0x2b\n\tpush %rsi\n\tpushq $0x202\n\tpushq $0x23\n\tpush %rdi\n\t"
    "iretq\n"
    /* Compatibility mode, CPL 3: syscall 1, then the exit syscall with
     * what SYSRETL left (EAX, CS, SS). */
    ".section .user.text, \"ax\"\n"
    ".code32\n"
    ".globl compat_code, compat_syscall, compat_ret, compat_exit\n"
    "compat_code:\n\t"
    "mov $1, %eax\n\tmov $0x1111, %edi\n\tmov $0, %esi\n"
    "compat_syscall:\n\t"
    "syscall\n"
    "compat_ret:\n\t"
    "mov %eax, %esi\n\t"
    "mov %cs, %edi\n\tmov %ss, %eax\n\tshl $16, %eax\n\tor %eax, %edi\n\t"
    "mov $2, %eax\n"
    "compat_exit:\n\t"
    "syscall\n\t"
    "ud2\n"
    ".code64\n"
    ".text\n");

static volatile u64 ud_rip, ud_cs, ud_count;

static void on_ud(struct trap_frame *f)
{
	ud_count++;
	ud_rip = f->rip;
	ud_cs = f->cs;
	f->rip = (u64)ud_resume;
	f->cs = SEL_KCODE;
	f->ss = SEL_KDATA;
	f->rsp = kernel_rsp;
	f->rflags = 0x2;
}

static void intel(u64 r)
{
	check_eq("Intel: enter_compat came back through the #UD handler", r, 0);
	check_eq("one #UD", ud_count, 1);
	check_eq("#UD at the SYSCALL in compatibility mode", ud_rip, (u64)compat_syscall);
	check_eq("#UD from CS 0x23 (32-bit user code)", ud_cs, SEL_UCODE32 | 3);
	check_eq("CSTAR's handler never ran", seen_rcx[1], 0);
}

static void amd(u64 r)
{
	check_eq("AMD: enter_compat came back through the exit syscall", r, 1);
	check_eq("no #UD", ud_count, 0);
	check_eq("syscall 1: argument in EDI", seen_rdi[1], 0x1111);
	check_eq("RCX: the EIP after SYSCALL", seen_rcx[1], (u64)compat_ret);
	check_eq("R11: the user's RFLAGS", seen_r11[1] & ~0xD5UL, USER_RFLAGS);
	check_eq("CSTAR entered with CS = STAR[47:32] (64-bit kernel code)", seen_cs[1], SEL_KCODE);
	check_eq("... and SS = STAR[47:32] + 8", seen_ss[1], SEL_KDATA);
	check_eq("SFMASK cleared IF", seen_rflags[1] & RFLAGS_IF, 0);
	check_eq("SYSRETL: EAX back in compatibility mode", seen_rsi[2], 0x600d);
	check_eq("SYSRETL: CS 0x23, SS 0x2b (32-bit user code, RPL 3)", seen_rdi[2],
		 (SEL_UCODE32 | 3) | (SEL_UDATA | 3) << 16);
	check_eq("exit syscall: RCX after it", seen_rcx[2], (u64)compat_exit + 2);
}

void test_main(void)
{
	u64 r;

	for (u64 va = (u64)__user_start; va < (u64)__user_end; va += 4096)
		*paging_pte(va) |= PTE_US;
	paging_flush();
	trap_set_handler(6, on_ud);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* SYSCALL: CS = STAR[47:32], SS = +8; SYSRETL: CS = STAR[63:48],
	 * SS = +8 (Intel SDM Vol. 2B SYSCALL, SYSRET; AMD APM Vol. 3). */
	wrmsr(MSR_STAR, (u64)SEL_UCODE32 << 48 | (u64)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (u64)lstar_entry);
	wrmsr(MSR_CSTAR, (u64)cstar_entry);
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF);

	trap_reset();
	r = enter_compat((u64)compat_code, (u64)&user_stack[512]);
	check_eq("LSTAR's handler never ran", lstar_entries, 0);
	check(!(read_rflags() & RFLAGS_IF), "IF clear back in the kernel");
	if (cpu_is_amd())
		amd(r);
	else
		intel(r);
}
