/* The registers the GDB stub shows (its target description, x86-64) and
 * their packed form in 'g'/'G'/'p'/'P' packets, from and to the
 * engine-neutral vCPU state. */
#ifndef POPEK_GDB_REGS_H
#define POPEK_GDB_REGS_H

#include <stdbool.h>

#include "core/vcpu_state.h"

/* Bytes of all registers in target description order. */
#define GDB_REGS_SIZE 600

/* The target description (gdb's qXfer:features:read:target.xml). */
const char *gdb_target_xml(void);
/* Register n's place in the packed form; false when there is none. */
bool gdb_reg_slot(unsigned n, unsigned *off, unsigned *size);
void gdb_regs_encode(const struct x86_vcpu_state *vs, u8 out[GDB_REGS_SIZE]);
/* What gdb may change: the general registers, RIP and RFLAGS. */
void gdb_regs_decode(const u8 in[GDB_REGS_SIZE], struct x86_regs *regs);

#endif
