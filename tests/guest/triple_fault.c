/* Guest program: a triple fault (empty IDT, then ud2) must stop popek with status 2. */
#include "guest.h"

void test_main(void)
{
	struct __attribute__((packed)) { u16 limit; u64 base; } empty = {0, 0};

	/* With an IDT limit of 0, #UD cannot be delivered (#GP), nor the #GP
	 * (#DF), nor the #DF: shutdown (Intel SDM Vol. 3A 6.15, interrupt 8).
	 * ud2 rather than int3: some hosts' KVM cannot emulate INT n. */
	printf("triple_fault: loading an empty IDT and executing ud2\n");
	asm volatile("lidt %0; ud2" ::"m"(empty) : "memory");
	check(false, "the machine stopped at the triple fault");
}
