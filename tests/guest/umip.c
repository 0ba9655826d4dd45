/* Guest program: UMIP (Intel SDM Vol. 3A 2.5, CR4.UMIP): SGDT, SIDT, SLDT,
 * SMSW and STR work in ring 3 without it and raise #GP(0) there with it,
 * while ring 0 keeps them. */
#include "guest.h"

#define CR4_UMIP (1UL << 11)

extern char user_sgdt[], user_sidt[], user_sldt[], user_str[], user_smsw[], user_smsw_m[],
	user_sldt_i[], user_str_i[], user_smsw_i[];
static u8 user_buf[4096] __attribute__((section(".user.data"), aligned(4096)));

/* Ring 3, RBX = user_buf: each stores and returns what it got in RAX
 * (the register forms start from RAX = 0x77; *_i: their instruction). */
asm(".section .user.text, \"ax\"\n"
    "user_sgdt:\n\tsgdt (%rbx)\n\tmov (%rbx), %rax\n\tjmp ring3_exit\n"
    "user_sidt:\n\tsidt (%rbx)\n\tmov (%rbx), %rax\n\tjmp ring3_exit\n"
    "user_sldt:\n\tmov $0x77, %eax\nuser_sldt_i:\tsldt %eax\n\tjmp ring3_exit\n"
    "user_str:\n\tmov $0x77, %eax\nuser_str_i:\tstr %eax\n\tjmp ring3_exit\n"
    "user_smsw:\n\tmov $0x77, %eax\nuser_smsw_i:\tsmsw %eax\n\tjmp ring3_exit\n"
    "user_smsw_m:\n\tsmsw (%rbx)\n\tmovzwl (%rbx), %eax\n\tjmp ring3_exit\n"
    ".text\n");

static const struct {
	const char *name;
	char *entry, *insn;
} insns[] = {
    {"SGDT m", user_sgdt, user_sgdt},       {"SIDT m", user_sidt, user_sidt},
    {"SLDT r32", user_sldt, user_sldt_i},   {"STR r32", user_str, user_str_i},
    {"SMSW r32", user_smsw, user_smsw_i},   {"SMSW m16", user_smsw_m, user_smsw_m},
};

static void umip(void)
{
	struct __attribute__((packed)) {
		u16 limit;
		u64 base;
	} g, i;
	u64 got[6];
	u16 tr;

	asm volatile("sgdt %0; sidt %1; str %2" : "=m"(g), "=m"(i), "=r"(tr));
	for (unsigned k = 0; k < 6; k++)
		got[k] = ring3_run(insns[k].entry, (u64)user_buf);
	check_eq("CR4.UMIP=0: SGDT in ring 3 stores the GDT limit", got[0] & 0xffff, g.limit);
	check_eq("CR4.UMIP=0: SIDT in ring 3 stores the IDT limit", got[1] & 0xffff, i.limit);
	check_eq("CR4.UMIP=0: SLDT in ring 3", got[2], 0);
	check_eq("CR4.UMIP=0: STR in ring 3", got[3], tr);
	check_eq("CR4.UMIP=0: SMSW r32 in ring 3", got[4], (u32)read_cr0());
	check_eq("CR4.UMIP=0: SMSW m16 in ring 3", got[5], read_cr0() & 0xffff);

	write_cr4(read_cr4() | CR4_UMIP);
	for (unsigned k = 0; k < 6; k++) {
		trap_reset();
		trap_resume = (u64)ring3_exit;
		u64 rax = ring3_run(insns[k].entry, (u64)user_buf);
		check(last_trap.count == 1 && last_trap.vector == 13 && last_trap.error == 0 &&
			      last_trap.rip == (u64)insns[k].insn,
		      "CR4.UMIP=1: %s in ring 3 is #GP(0) (%lu traps, vector %lu error %#lx rip "
		      "%#lx)",
		      insns[k].name, last_trap.count, last_trap.vector, last_trap.error,
		      last_trap.rip);
		if (k >= 2 && k <= 4)
			check_eq("  and leaves the register alone", rax, 0x77);
	}
	struct __attribute__((packed)) {
		u16 limit;
		u64 base;
	} g2;
	asm volatile("sgdt %0" : "=m"(g2));
	check(g2.limit == g.limit && g2.base == g.base, "CR4.UMIP=1: ring 0 still runs SGDT");
	write_cr4(read_cr4() & ~CR4_UMIP);
}

void test_main(void)
{
	u32 r[4];

	cpuid(7, 0, r);
	if (cpu_feature("UMIP (CPUID.7:ECX[2])", r[2] & (1u << 2)))
		umip();
}
