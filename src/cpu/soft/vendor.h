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
	SQ_SHIFT_OF_FROM_RESULT,    /* shifts/rotates: OF from the result for any count, AF set */
	SQ_MUL_KEEPS_SZAP,          /* MUL/IMUL leave SF ZF AF PF alone */
	SQ_DIV_SETS_FLAGS,          /* DIV/IDIV: SF ZF PF cleared, AF set, CF OF kept */
	SQ_XZCNT_KEEPS_OF,          /* TZCNT/LZCNT leave OF alone */
	SQ_STR_A32_LAZY_WRITE,      /* REP string op, 32-bit addresses, ECX = 0: RCX/RSI/RDI
				       untouched (Intel zero-extends them) */
	SQ_REP_CMP_FAULT_NEW_FLAGS, /* a fault inside REPE/REPNE CMPS/SCAS keeps the flags of
				       the last completed iteration */
	SQ_FXSAVE_PTRS_IF_ES,       /* FXSAVE stores FOP/FIP/FDP only while FSW.ES is set */
	SQ_MXCSR_MM,                /* MXCSR.MM (bit 17, MXCSR_MASK 0x2ffff): when set, SSE
				       computing instructions take misaligned operands */
	SQ_MMX_BEFORE_XM,           /* CVT*PS2PI/CVTPI2P* enter MMX state before an #XM */
	SQ_SYSCALL_ANY_MODE,        /* SYSCALL/SYSRET also outside 64-bit mode */
	SQ_SYSENTER_LONG_UD,        /* SYSENTER/SYSEXIT raise #UD in long mode */
	SQ_SYSRET_NONCANON_OK,      /* SYSRET to a non-canonical RIP does not #GP at CPL 0 */
	SQ_COUNT
};

/* Who the modelled CPU says it is (CPUID leaves 0, 1, 0x80000000). */
struct soft_vendor_id {
	const char *cpuid_name; /* 12 characters: leaf 0 EBX:EDX:ECX */
	u32 signature;          /* CPUID.1:EAX, and EDX after reset */
	u32 max_basic, max_ext; /* highest basic and extended leaves */
};

const struct soft_vendor_id *soft_vendor_id(const struct soft_cpu *cpu);

/* Reads a quirk: the run-time cost is one AND. */
static inline bool soft_quirk(const struct soft_cpu *cpu, enum soft_quirk q)
{
	return cpu->quirks & (1u << q);
}

/* Sets cpu->vendor, cpu->quirks and what depends on them for v
 * (CPU_VENDOR_HOST: the host's). */
void soft_vendor_set(struct soft_cpu *cpu, enum cpu_vendor v);

/* The manual section a quirk follows, for logs and tests. */
const char *soft_quirk_source(enum soft_quirk q);

#endif
