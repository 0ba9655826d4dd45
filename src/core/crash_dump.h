/* Human-readable dump of a crashed vCPU: registers, segments, control
 * registers, the code bytes at RIP and the page walk that found them. */
#ifndef POPEK_CRASH_DUMP_H
#define POPEK_CRASH_DUMP_H

#include <stdio.h>

#include "core/guest_mem.h"
#include "core/x86_state.h"

void crash_dump(FILE *out, const struct guest_mem *mem, unsigned vcpu, const struct x86_state *st);

#endif
