/* Guest program: protection keys (Intel SDM Vol. 3A 4.6.2, 4.7): CR4.PKE and
 * CPUID's OSPKE, RDPKRU/WRPKRU, a key that denies access or writes to the
 * kernel and to ring 3 (#PF with PK), a PKRU change taking effect on a page
 * just used, and fetches, which keys never deny. */
#include "guest.h"

#define CR4_PKE  (1UL << 22)
#define KEY      5UL
#define PTE_KEY  (KEY << 59)
#define PKRU_AD  (1u << (2 * KEY))
#define PKRU_WD  (2u << (2 * KEY))

extern char user_read[], user_write[], user_rdpkru[], user_deny[], user_deny_read[];
static u64 key_page[512] __attribute__((section(".user.data"), aligned(4096)));

/* Ring 3: RBX = key_page. user_deny reads, sets PKRU = AD5 itself and
 * reads again: the second read faults. */
asm(".section .user.text, \"ax\"\n"
    "user_read:\n\tmov (%rbx), %rax\n\tjmp ring3_exit\n"
    "user_write:\n\tmovq $7, (%rbx)\n\tjmp ring3_exit\n"
    "user_rdpkru:\n\txor %ecx, %ecx\n\trdpkru\n\tjmp ring3_exit\n"
    "user_deny:\n\tmov (%rbx), %rax\n\t"
    "xor %ecx, %ecx\n\txor %edx, %edx\n\tmov $0x400, %eax\n\twrpkru\n"
    "user_deny_read:\n\tmov (%rbx), %rax\n\tjmp ring3_exit\n"
    ".text\n");

static void wrpkru(u32 v)
{
	asm volatile("wrpkru" ::"a"(v), "c"(0), "d"(0) : "memory");
}

static u32 rdpkru(void)
{
	u32 v, d;

	asm volatile("rdpkru" : "=a"(v), "=d"(d) : "c"(0));
	return v;
}

static bool ospke(void)
{
	u32 r[4];

	cpuid(7, 0, r);
	return r[2] & (1u << 4);
}

static void user_fault(const char *what, char *rip, u64 error, u64 fault_rip)
{
	trap_reset();
	trap_resume = (u64)ring3_exit;
	ring3_run(rip, (u64)key_page);
	check_trap(what, 14, error, fault_rip, (u64)key_page);
}

static void pkeys(void)
{
	u64 a = (u64)key_page, v = 0;

	check(!ospke(), "OSPKE clear while CR4.PKE=0");
	trap_reset();
	asm volatile(CATCH("rdpkru") ::"c"(0) : "rax", "rdx", "r11", "memory");
	check_trap("RDPKRU with CR4.PKE=0 is #UD", 6, 0, catch_start, 0);
	write_cr4(read_cr4() | CR4_PKE);
	check(ospke(), "OSPKE set with CR4.PKE=1");
	/* Key 5 on key_page, and on the user code (fetches ignore keys). */
	*paging_pte(a) |= PTE_US | PTE_KEY;
	*paging_pte((u64)user_read) |= PTE_US | PTE_KEY;
	paging_flush();
	trap_reset();
	asm volatile(CATCH("rdpkru") ::"c"(1) : "rax", "rdx", "r11", "memory");
	check_trap("RDPKRU with ECX != 0 is #GP(0)", 13, 0, catch_start, 0);

	wrpkru(0);
	key_page[0] = 0x1234;
	check_eq("PKRU=0: the kernel reads the key-5 page", key_page[0], 0x1234);
	wrpkru(PKRU_AD);
	check_eq("RDPKRU returns what WRPKRU wrote", rdpkru(), PKRU_AD);
	trap_reset();
	asm volatile(CATCH("movq (%1), %0") : "+r"(v) : "r"(a) : "r11", "memory");
	check_trap("AD5: the kernel's read is #PF P|PK", 14, 0x21, catch_start, a);
	trap_reset();
	asm volatile(CATCH("movq $1, (%0)") ::"r"(a) : "r11", "memory");
	check_trap("AD5: the kernel's write is #PF P|W|PK", 14, 0x23, catch_start, a);
	user_fault("AD5: a ring-3 read is #PF P|U|PK", user_read, 0x25, (u64)user_read);
	check_eq("the user code ran from a key-5 page under AD5 (fetches ignore keys)",
		 last_trap.rip, (u64)user_read);

	wrpkru(PKRU_WD);
	v = ring3_run(user_read, a);
	check_eq("WD5: ring 3 reads", v, 0x1234);
	check_eq("RDPKRU at CPL 3", ring3_run(user_rdpkru, a), PKRU_WD);
	user_fault("WD5: a ring-3 write is #PF P|W|U|PK", user_write, 0x27, (u64)user_write);
	trap_reset();
	asm volatile(CATCH("movq $1, (%0)") ::"r"(a) : "r11", "memory");
	check_trap("WD5, CR0.WP=1: the kernel's write is #PF P|W|PK", 14, 0x23, catch_start, a);
	check_eq("the refused writes changed nothing", key_page[0], 0x1234);

	/* Ring 3 itself: a read, WRPKRU AD5, the same read again. */
	wrpkru(0);
	user_fault("a WRPKRU in ring 3 denies the page it just read: #PF P|U|PK", user_deny, 0x25,
		   (u64)user_deny_read);
	check_eq("PKRU as ring 3 left it", rdpkru(), PKRU_AD);

	wrpkru(0);
	write_cr4(read_cr4() & ~CR4_PKE);
	check(!ospke(), "OSPKE clear again with CR4.PKE=0");
}

void test_main(void)
{
	u32 r[4];

	cpuid(7, 0, r);
	if (cpu_feature("PKU (CPUID.7:ECX[3])", r[2] & (1u << 3)))
		pkeys();
}
