/* The GDB remote stub (issue 14): `--gdb tcp:[ADDR:]PORT|unix:PATH` lets one
 * gdb at a time stop the VM, read and write registers and memory (by
 * virtual address, through the guest's page tables), set breakpoints and
 * watchpoints (the engine's own: guest memory is never patched), step and
 * continue; each vCPU is a thread. Its own thread; the VM is paused while
 * gdb looks at it. */
#ifndef POPEK_GDB_STUB_H
#define POPEK_GDB_STUB_H

#include <stdbool.h>

struct machine;
struct gdb_stub;

/* Listens on at and starts the stub's thread. With wait, the VM stays
 * paused before its first instruction until gdb lets it go. 0 or -errno
 * after one error line. */
int gdb_stub_create(struct machine *m, const char *at, bool wait, struct gdb_stub **out);
/* After machine_run: tells a connected gdb how the guest ended, then
 * stops the thread and closes the sockets. NULL is fine. */
void gdb_stub_destroy(struct gdb_stub *s);

#endif
