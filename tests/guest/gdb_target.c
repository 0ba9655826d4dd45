/* Guest program for the GDB stub's end-to-end test (tests/e2e/test_gdb.sh):
 * a function to break on, a counter to watch, and an exit status that
 * shows what the debugger changed: debug_exit(gdb_add(20, 1)), so status
 * (2 * 21) | 1 = 43 untouched; a debugger that sets rdi to 40 at gdb_add
 * makes it (2 * 41) | 1 = 83. Also runs (exit 43) without a debugger.
 * With "spin=1" on its command line it never ends. */
#include "guest.h"

volatile u64 gdb_counter;

__attribute__((noinline)) u64 gdb_add(u64 a, u64 b)
{
	gdb_counter += a;
	return a + b;
}

void test_main(void)
{
	/* spin=1: runs until stopped from outside (Ctrl-C, kill). */
	while (cmdline_u64("spin", 0))
		pause();
	for (int i = 0; i < 3; i++)
		gdb_counter++;
	debug_exit((u8)gdb_add(20, 1));
}
