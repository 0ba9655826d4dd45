/* Guest program: a CPU template's MSR modifiers (PUT /cpu-config's
 * msr_modifiers, src/cpu/msr_mods.h) as the guest sees them from its first
 * instruction: IA32_ARCH_CAPABILITIES (0x10A), IA32_MISC_ENABLE (0x1A0) and
 * IA32_PAT (0x277) read what the runner says the template made of them
 * (arch_caps=, misc_enable=, pat= on the command line, decimal), and
 * IA32_TSX_CTRL (0x122) exists exactly when ARCH_CAPABILITIES bit 7 says
 * so, with RTM_DISABLE and TSX_CPUID_CLEAR (bits 0, 1) writable and the
 * rest reserved (Intel SDM Vol. 4 Table 2-2). Run by test_guest_programs.sh
 * as msr_template@intel with a template; it has no meaning without one. */
#include "guest.h"

#define MSR_ARCH_CAPABILITIES 0x10A
#define MSR_TSX_CTRL          0x122
#define MSR_MISC_ENABLE       0x1A0
#define MSR_PAT               0x277
#define ARCH_CAP_TSX_CTRL     (1UL << 7)

void test_main(void)
{
	u64 caps = cmdline_u64("arch_caps", 0);

	cpu_vendor(); /* "# vendor ...", which the runner checks */
	if (!check(cmdline_u64("pat", 0) != 0, "the runner gave the expected values"))
		return;
	check_eq("IA32_ARCH_CAPABILITIES as the template made it", rdmsr(MSR_ARCH_CAPABILITIES),
		 caps);
	check_eq("IA32_MISC_ENABLE as the template made it", rdmsr(MSR_MISC_ENABLE),
		 cmdline_u64("misc_enable", 0));
	check_eq("IA32_PAT as the template made it", rdmsr(MSR_PAT), cmdline_u64("pat", 0));
	check(msr_access_faults(MSR_ARCH_CAPABILITIES, true, caps),
	      "IA32_ARCH_CAPABILITIES is read-only: wrmsr raises #GP(0)");
	if (!(caps & ARCH_CAP_TSX_CTRL)) {
		check(msr_access_faults(MSR_TSX_CTRL, false, 0),
		      "no IA32_TSX_CTRL: rdmsr raises #GP(0)");
		return;
	}
	check(!msr_access_faults(MSR_TSX_CTRL, true, 3),
	      "IA32_TSX_CTRL takes RTM_DISABLE|CPUID_CLEAR");
	check_eq("IA32_TSX_CTRL reads back", rdmsr(MSR_TSX_CTRL), 3);
	check(msr_access_faults(MSR_TSX_CTRL, true, 4), "IA32_TSX_CTRL bit 2 is reserved: #GP(0)");
}
