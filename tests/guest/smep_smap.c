/* Guest program: SMEP and SMAP (Intel SDM Vol. 3A 4.6.1): the kernel
 * executing a user page, touching one without and with STAC, an implicit
 * supervisor access (the LDT on a user page) that EFLAGS.AC does not
 * cover, STAC/CLAC at CPL 3 (#UD). */
#include "guest.h"

#define CR4_SMEP (1UL << 20)
#define CR4_SMAP (1UL << 21)
#define EFER_NXE (1UL << 11)

extern u64 gdt[];
extern char user_ret42[], user_stac[], user_clac[];
static u64 user_page[512] __attribute__((section(".user.data"), aligned(4096)));
static u64 user_ldt[512] __attribute__((section(".user.data"), aligned(4096)));
static u64 gdt2[12] __attribute__((aligned(16)));

/* user_ret42 is called by the kernel; user_stac/user_clac run in ring 3. */
asm(".section .user.text, \"ax\"\n"
    "user_ret42:\n\tmov $42, %eax\n\tret\n"
    "user_stac:\n\tstac\n\tjmp ring3_exit\n"
    "user_clac:\n\tclac\n\tjmp ring3_exit\n"
    ".text\n");

static void smep(void)
{
	u64 r = 0;

	asm volatile("call *%1" : "=a"(r) : "r"(user_ret42) : "memory");
	check_eq("CR4.SMEP=0: the kernel runs a user page", r, 42);
	write_cr4(read_cr4() | CR4_SMEP);
	trap_reset();
	asm volatile(CATCH("jmp *%0") ::"r"(user_ret42) : "r11", "memory");
	check_trap("CR4.SMEP=1: the kernel's fetch from a user page is #PF P|I/D", 14, 0x11,
	       (u64)user_ret42, (u64)user_ret42);
	write_cr4(read_cr4() & ~CR4_SMEP);
	r = 0;
	asm volatile("call *%1" : "=a"(r) : "r"(user_ret42) : "memory");
	check_eq("CR4.SMEP=0 again: it runs", r, 42);
}

/* Loads FS from LDT entry 0 (selector 4), the LDT being user_ldt. */
static void load_fs_from_ldt(void)
{
	asm volatile(CATCH("mov %w0, %%fs") ::"r"(4) : "r11", "memory");
}

static void smap(void)
{
	u64 a = (u64)&user_page[3], v = 0;

	user_page[3] = 0x5a5a;
	asm volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory");
	check_eq("CR4.SMAP=0: the kernel reads a user page", v, 0x5a5a);
	write_cr4(read_cr4() | CR4_SMAP);
	trap_reset();
	asm volatile(CATCH("movq (%1), %0") : "+r"(v) : "r"(a) : "r11", "memory");
	check_trap("CR4.SMAP=1, AC=0: the kernel's read of a user page is #PF P", 14, 1, catch_start, a);
	trap_reset();
	asm volatile(CATCH("movq $7, (%0)") ::"r"(a) : "r11", "memory");
	check_trap("CR4.SMAP=1, AC=0: the kernel's write is #PF P|W", 14, 3, catch_start, a);

	trap_reset();
	asm volatile("stac; movq $0x600d, (%1); movq (%1), %0; clac" : "=r"(v) : "r"(a) : "memory");
	check(last_trap.count == 0 && v == 0x600d,
	      "STAC: the kernel writes and reads the user page (%lu traps, read %#lx)",
	      last_trap.count, v);
	check(!(read_rflags() & RFLAGS_AC), "CLAC cleared AC");
	trap_reset();
	asm volatile(CATCH("movq (%1), %0") : "+r"(v) : "r"(a) : "r11", "memory");
	check_trap("after CLAC: #PF again", 14, 1, catch_start, a);

	/* An implicit supervisor access (the LDT, SDM Vol. 3A 4.6) to a user
	 * page faults under SMAP even with AC = 1. */
	u64 base = (u64)user_ldt;
	memcpy(gdt2, gdt, 10 * 8);
	gdt2[10] = 15 | (base & 0xFFFFFF) << 16 | 0x82ULL << 40 | ((base >> 24) & 0xFF) << 56;
	gdt2[11] = base >> 32;
	struct __attribute__((packed)) {
		u16 limit;
		u64 base;
	} p = {sizeof(gdt2) - 1, (u64)gdt2};
	asm volatile("lgdt %0; lldt %w1" ::"m"(p), "r"(0x50) : "memory");
	write_cr4(read_cr4() & ~CR4_SMAP);
	user_ldt[0] = 0x00CF93000000FFFFULL; /* data, DPL 0, accessed */
	write_cr4(read_cr4() | CR4_SMAP);
	trap_reset();
	asm volatile("stac" ::: "memory");
	load_fs_from_ldt();
	asm volatile("clac" ::: "memory");
	check_trap("CR4.SMAP=1, AC=1: loading FS from an LDT on a user page is #PF P", 14, 1,
	       catch_start, base);
	write_cr4(read_cr4() & ~CR4_SMAP);
	trap_reset();
	load_fs_from_ldt();
	check(last_trap.count == 0, "CR4.SMAP=0: the same load works (%lu traps)", last_trap.count);
	asm volatile("mov %w0, %%fs; lldt %w0" ::"r"(0) : "memory");
}

static void stac_clac_user(void)
{
	trap_reset();
	trap_resume = (u64)ring3_exit;
	ring3_run(user_stac, 0);
	check_trap("STAC at CPL 3 is #UD", 6, 0, (u64)user_stac, 0);
	check(!(ring3_rflags & RFLAGS_AC), "AC still clear after it");
	trap_reset();
	trap_resume = (u64)ring3_exit;
	ring3_run(user_clac, 0);
	check_trap("CLAC at CPL 3 is #UD", 6, 0, (u64)user_clac, 0);
}

void test_main(void)
{
	u32 r[4];

	ring3_init(); /* user_page, user_ldt, user_ret42: user-mode addresses */
	/* With NX on, the #PF I/D bit is defined on AMD too (the AMD APM's
	 * error code has it only then; Intel sets it for SMEP alone). */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	cpuid(7, 0, r);
	if (cpu_feature("SMEP (CPUID.7:EBX[7])", r[1] & (1u << 7)))
		smep();
	if (cpu_feature("SMAP (CPUID.7:EBX[20])", r[1] & (1u << 20))) {
		smap();
		stac_clac_user();
	}
}
