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
    [SQ_MUL_KEEPS_SZAP] = {false, true, "SDM Vol. 2B MUL/IMUL, APM Vol. 3 MUL/IMUL: SF ZF AF "
					"PF undefined"},
    [SQ_DIV_SETS_FLAGS] = {false, true, "SDM Vol. 2A DIV/IDIV, APM Vol. 3 DIV/IDIV: all six "
					"flags undefined"},
    [SQ_STR_A32_KEEPS_UPPER] = {false, true,
				"SDM Vol. 1 3.4.1.1 vs APM Vol. 3 1.2.3 (address-size "
				"override): implicit rCX/rSI/rDI updates under 67h"},
    [SQ_REP_CMP_FAULT_NEW_FLAGS] = {false, true,
				    "SDM Vol. 2B REP/REPE/REPNE, APM Vol. 3 REPx: flags at a "
				    "fault inside the loop not specified"},
    [SQ_FXSAVE_PTRS_IF_ES] = {false, true,
			      "APM Vol. 4 FXSAVE: FOP/FIP/FDP saved only when FSW.ES=1 "
			      "(SDM Vol. 2A FXSAVE: always)"},
    [SQ_FXRSTOR_COMPUTES_ES] = {false, true,
				"APM Vol. 4 FXRSTOR, Vol. 1 6.2.2.2: ES/B follow the unmasked "
				"exception flags (SDM: loaded as stored)"},
    [SQ_MXCSR_MM] = {false, true,
		     "APM Vol. 1 4.2.2 MXCSR.MM (bit 17), CPUID Fn8000_0001_ECX[MisAlignSse]"},
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

void soft_vendor_set(struct soft_cpu *cpu, enum cpu_vendor v)
{
	v = host_cpu_vendor_resolve(v);
	cpu->vendor = (u8)v;
	cpu->quirks = 0;
	for (unsigned q = 0; q < SQ_COUNT; q++)
		if (v == CPU_VENDOR_AMD ? soft_quirk_table[q].amd : soft_quirk_table[q].intel)
			cpu->quirks |= 1u << q;
}

const char *soft_quirk_source(enum soft_quirk q)
{
	return q < SQ_COUNT ? soft_quirk_table[q].source : "";
}
