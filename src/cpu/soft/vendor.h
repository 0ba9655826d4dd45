/* The CPU vendor the soft engine models (--cpu-vendor): its identity in
 * CPUID, and every behaviour software can observe on which Intel and AMD
 * processors differ, as one bit per difference ("quirk"). The table with
 * the manual section behind each line is in vendor.c. */
#ifndef POPEK_SOFT_VENDOR_H
#define POPEK_SOFT_VENDOR_H

#include "core/config.h"
#include "cpu/soft/cpu.h"

/* A quirk's bit is set in cpu->quirks when the modelled vendor behaves
 * that way; the name says what the set bit means. */
enum soft_quirk {
	SQ_SHIFT_OF_FROM_RESULT,   /* shifts/rotates: OF from the result for any count, AF set */
	SQ_MUL_KEEPS_SZAP,         /* MUL/IMUL leave SF ZF AF PF alone */
	SQ_DIV_SETS_FLAGS,         /* DIV/IDIV: SF ZF PF cleared, AF set, CF OF kept */
	SQ_STR_A32_KEEPS_UPPER,    /* 32-bit-address string ops keep RCX/RSI/RDI[63:32] */
	SQ_REP_CMP_FAULT_NEW_FLAGS, /* a fault inside REPE/REPNE CMPS/SCAS keeps the flags of
				       the last completed iteration */
	SQ_FXSAVE_PTRS_IF_ES,      /* FXSAVE stores FOP/FIP/FDP only while FSW.ES is set */
	SQ_FXRSTOR_COMPUTES_ES,    /* FXRSTOR derives FSW.ES and B from the unmasked exceptions */
	SQ_MXCSR_MM,               /* MXCSR.MM (bit 17): misaligned SSE accesses allowed */
	SQ_SYSCALL_ANY_MODE,       /* SYSCALL/SYSRET also outside 64-bit mode */
	SQ_SYSENTER_LONG_UD,       /* SYSENTER/SYSEXIT raise #UD in long mode */
	SQ_SYSRET_NONCANON_OK,     /* SYSRET to a non-canonical RIP does not #GP at CPL 0 */
	SQ_COUNT
};

/* Reads a quirk: the run-time cost is one AND. */
static inline bool soft_quirk(const struct soft_cpu *cpu, enum soft_quirk q)
{
	return cpu->quirks & (1u << q);
}

/* Sets cpu->vendor and cpu->quirks for v (CPU_VENDOR_HOST: the host's). */
void soft_vendor_set(struct soft_cpu *cpu, enum cpu_vendor v);

/* The manual section a quirk follows, for logs and tests. */
const char *soft_quirk_source(enum soft_quirk q);

#endif
