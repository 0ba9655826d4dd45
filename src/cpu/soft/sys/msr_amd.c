/* The MSRs only AMD processors have, for the AMD model (AMD APM Vol. 2
 * Appendix A; family 19h PPR for HWCR and DE_CFG), and the Intel-only ones
 * that AMD lacks. Linux reads HWCR without a fault handler (it checks that
 * the TSC counts at the P0 frequency), SYSCFG from the MTRR code and NB_CFG
 * when a CPU comes online (arch/x86/pci/amd_bus.c). */
#include <errno.h>

#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vendor.h"

#define MSR_PLATFORM_ID       0x17
#define MSR_FEATURE_CONTROL   0x3a
#define MSR_ARCH_CAPABILITIES 0x10a
#define MSR_MISC_ENABLE       0x1a0
#define MSR_AMD_SYSCFG        0xc0010010
#define MSR_AMD_HWCR          0xc0010015
#define MSR_AMD_NB_CFG        0xc001001f
#define MSR_AMD_DE_CFG        0xc0011029

/* HWCR.TscFreqSel (bit 24): the TSC counts at the P0 frequency; read-only. */
#define HWCR_TSC_FREQ_SEL (1ULL << 24)

bool soft_msr_vendor_lacks(const struct soft_cpu *cpu, u32 index)
{
	bool amd = cpu->vendor == CPU_VENDOR_AMD;

	switch (index) {
	case MSR_PLATFORM_ID:
	case MSR_FEATURE_CONTROL:
	case MSR_ARCH_CAPABILITIES:
	case MSR_MISC_ENABLE:
		return amd;
	case MSR_AMD_SYSCFG:
	case MSR_AMD_HWCR:
	case MSR_AMD_NB_CFG:
	case MSR_AMD_DE_CFG:
		return !amd;
	}
	return false;
}

bool soft_msr_amd_read(struct soft_cpu *cpu, u32 index, u64 *value)
{
	switch (index) {
	case MSR_AMD_SYSCFG:
		*value = 0; /* no SME, no TOM2: nothing for the MTRR code to fix */
		return true;
	case MSR_AMD_HWCR:
		*value = cpu->msr.amd_hwcr | HWCR_TSC_FREQ_SEL;
		return true;
	case MSR_AMD_NB_CFG:
		*value = cpu->msr.amd_nb_cfg;
		return true;
	case MSR_AMD_DE_CFG:
		*value = cpu->msr.amd_de_cfg;
		return true;
	}
	return false;
}

int soft_msr_amd_write(struct soft_cpu *cpu, u32 index, u64 value)
{
	switch (index) {
	case MSR_AMD_SYSCFG:
		return value == 0 ? 0 : -EINVAL;
	case MSR_AMD_HWCR:
		/* Kept for reads; none of the bits changes this CPU's behaviour. */
		cpu->msr.amd_hwcr = value & ~HWCR_TSC_FREQ_SEL;
		return 0;
	case MSR_AMD_NB_CFG:
		/* Bit 46 (EnableCF8ExtCfg) opens extended PCI config space through
		 * ports CF8/CFC; there is no PCI, so it is only kept. */
		cpu->msr.amd_nb_cfg = value;
		return 0;
	case MSR_AMD_DE_CFG:
		/* Bit 1 makes LFENCE dispatch-serializing: it always is here. */
		cpu->msr.amd_de_cfg = value;
		return 0;
	}
	return -ENOENT;
}
