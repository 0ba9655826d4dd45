/* Guest program: exception vectors, error codes, RIP and CR2 (#UD #GP #PF #DE).
 * #BP from int3 is in softint.c. */
#include "guest.h"

static u8 np_page[4096] __attribute__((aligned(4096)));
static u8 ro_page[4096] __attribute__((aligned(4096)));
static u8 rsvd_page[4096] __attribute__((aligned(4096)));

static void page_faults(void)
{
	u64 np = (u64)np_page + 0x123, ro = (u64)ro_page + 0x456, rs = (u64)rsvd_page + 0x78;
	u64 v = 0;

	*paging_pte((u64)np_page) &= ~PTE_P;
	*paging_pte((u64)ro_page) &= ~PTE_RW;
	/* Bit 63 is reserved while EFER.NXE = 0 (Intel SDM Vol. 3A 4.5, 4.7). */
	*paging_pte((u64)rsvd_page) |= 1ULL << 63;
	paging_flush();

	trap_reset();
	asm volatile(CATCH("movb (%0), %%al") ::"r"(np) : "rax", "r11", "memory");
	check_trap("#PF read of a not-present page", 14, 0, catch_start, np);
	trap_reset();
	asm volatile(CATCH("movl $1, (%0)") ::"r"(np) : "r11", "memory");
	check_trap("#PF write to a not-present page", 14, 2, catch_start, np);
	trap_reset();
	asm volatile(CATCH("movq (%1), %0") : "+r"(v) : "r"(ro) : "r11", "memory");
	check(last_trap.count == 0, "read of a read-only page does not fault");
	trap_reset();
	asm volatile(CATCH("movw $7, (%0)") ::"r"(ro) : "r11", "memory");
	check_trap("#PF write to a read-only page (CR0.WP=1)", 14, 3, catch_start, ro);
	check(((volatile u8 *)ro_page)[0x456] == 0, "the faulting write did not happen");
	trap_reset();
	asm volatile(CATCH("movb (%0), %%al") ::"r"(rs) : "rax", "r11", "memory");
	check_trap("#PF on a reserved PTE bit (P|RSVD)", 14, 9, catch_start, rs);
}

void test_main(void)
{
	u64 big = 0x8000000000000000ULL, zero = 0;

	trap_reset();
	asm volatile(CATCH("ud2") ::: "r11", "memory");
	check_trap("#UD from ud2, RIP at ud2", 6, 0, catch_start, 0);

	trap_reset();
	asm volatile(CATCH("movq (%0), %0") : "+a"(big) : : "r11", "memory");
	check_trap("#GP(0) from a non-canonical address", 13, 0, catch_start, 0);

	trap_reset();
	asm volatile("xor %%edx, %%edx\n\t" CATCH("divq %0") : "+r"(zero)
		     : "a"(1)
		     : "rdx", "r11", "memory");
	check_trap("#DE from division by zero, RIP at div", 0, 0, catch_start, 0);

	page_faults();
}
