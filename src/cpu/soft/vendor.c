/* The vendor table: each behaviour Intel and AMD processors show differently
 * where software can see it, with what each vendor does and the manual
 * section that leaves it open (or states it). Intel: Intel SDM (Intel 64 and
 * IA-32 Architectures Software Developer's Manual); AMD: AMD64 Architecture
 * Programmer's Manual (APM). Where both manuals say "undefined", the
 * behaviour was measured on the processors (Intel: Core/Xeon of the last
 * decade; AMD: family 1Ah) and test_soft_vendor.c pins it down. */
#include "cpu/soft/vendor.h"
#include "host/host_cpu.h"

struct soft_quirk_row {
	bool intel, amd;
	const char *source;
};

static const struct soft_quirk_row soft_quirk_table[SQ_COUNT] = {
    /*                          Intel  AMD */
    [SQ_SHIFT_OF_FROM_RESULT] = {false, true,
				 "SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR and APM Vol. 3 "
				 "same: OF for counts > 1 and AF undefined"},
    [SQ_MUL_KEEPS_SZAP] = {false, true,
			   "SDM Vol. 2B MUL/IMUL, APM Vol. 3 MUL/IMUL: SF ZF AF "
			   "PF undefined"},
    [SQ_DIV_SETS_FLAGS] = {false, true,
			   "SDM Vol. 2A DIV/IDIV, APM Vol. 3 DIV/IDIV: all six "
			   "flags undefined"},
    [SQ_XZCNT_KEEPS_OF] = {false, true,
			   "SDM Vol. 2B LZCNT/TZCNT, APM Vol. 3 LZCNT/TZCNT: OF "
			   "SF AF PF undefined"},
    [SQ_STR_A32_LAZY_WRITE] = {false, true,
			       "SDM Vol. 2B REP, APM Vol. 3 REP: whether a 67h REP with "
			       "ECX = 0 writes (zero-extends) rCX/rSI/rDI is not specified"},
    [SQ_REP_CMP_FAULT_NEW_FLAGS] = {false, true,
				    "SDM Vol. 2B REP/REPE/REPNE, APM Vol. 3 REPx: flags at a "
				    "fault inside the loop not specified"},
    [SQ_FXSAVE_PTRS_IF_ES] = {false, true,
			      "APM Vol. 4 FXSAVE: FOP/FIP/FDP saved only when FSW.ES=1 "
			      "(SDM Vol. 2A FXSAVE: always)"},
    [SQ_MXCSR_MM] = {false, true,
		     "APM Vol. 1 4.2.2 MXCSR.MM and 4.3.2 misaligned SSE "
		     "mode; SDM Vol. 1 11.6.6 MXCSR_MASK (bit 17 reserved)"},
    [SQ_MMX_BEFORE_XM] = {false, true,
			  "SDM Vol. 2A CVTPS2PI/CVTPI2PS, APM Vol. 4 same: the order of the "
			  "x87-to-MMX transition and #XM is not specified"},
    [SQ_SYSCALL_ANY_MODE] = {false, true,
			     "SDM Vol. 2B SYSCALL/SYSRET: #UD outside 64-bit mode; APM Vol. 3 "
			     "SYSCALL/SYSRET: legacy and compatibility modes too"},
    [SQ_SYSENTER_LONG_UD] = {false, true,
			     "APM Vol. 3 SYSENTER/SYSEXIT: #UD in long mode (SDM Vol. 2B: "
			     "valid in 64-bit mode)"},
    [SQ_SYSRET_NONCANON_OK] = {false, true,
			       "SDM Vol. 2B SYSRET: #GP(0) at CPL 0 for a non-canonical RCX; "
			       "APM Vol. 3 SYSRET: no check (the fetch faults at CPL 3)"},
};

/* Intel: family 6 model 0x8f stepping 8 (a Sapphire Rapids Xeon); leaves
 * up to 0x16 (0x15/0x16 give the TSC and bus frequencies). AMD: family 0x19
 * model 0x01 stepping 1 (a Milan EPYC, Zen 3: a model Linux knows, outside
 * the Zen 1/2 errata paths); basic leaves to 0x10, extended to 0x80000021. */
static const struct soft_vendor_id soft_vendor_ids[] = {
    [CPU_VENDOR_INTEL] = {"GenuineIntel", 0x000806f8u, 0x16, 0x80000008u},
    [CPU_VENDOR_AMD] = {"AuthenticAMD", 0x00a00f11u, 0x10, 0x80000021u},
};

const struct soft_vendor_id *soft_vendor_id(const struct soft_cpu *cpu)
{
	return &soft_vendor_ids[cpu->vendor == CPU_VENDOR_AMD ? CPU_VENDOR_AMD : CPU_VENDOR_INTEL];
}

void soft_vendor_set(struct soft_cpu *cpu, enum cpu_vendor v)
{
	v = host_cpu_vendor_resolve(v);
	cpu->vendor = (u8)v;
	cpu->quirks = 0;
	for (unsigned q = 0; q < SQ_COUNT; q++)
		if (v == CPU_VENDOR_AMD ? soft_quirk_table[q].amd : soft_quirk_table[q].intel)
			cpu->quirks |= 1u << q;
	soft_bitscan_reset(cpu); /* what F3 0F BC/BD are follows this CPU's CPUID */
}

const char *soft_quirk_source(enum soft_quirk q)
{
	return q < SQ_COUNT ? soft_quirk_table[q].source : "";
}
