/* Guest program: the debug-exit port; writing 0x2a must end popek with status 0x55. */
#include "guest.h"

void test_main(void)
{
	printf("debug_exit: writing 0x2a to port 0xf4\n");
	outb(DEBUG_EXIT_PORT, 0x2a);
	/* Only reached when the write did not stop the machine. */
	check(false, "the machine stopped at the debug-exit write");
}
