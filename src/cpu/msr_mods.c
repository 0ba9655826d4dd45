/* Which MSRs and bits a CPU template may change (see msr_mods.h). */
#include "cpu/msr_mods.h"

#include <errno.h>
#include <stdio.h>

#include "cpu/reset_msrs.h"

/* IA32_ARCH_CAPABILITIES bits a template may set (SDM Vol. 4 Table 2-2;
 * Linux's arch/x86/include/asm/msr-index.h): the "not affected" and
 * "behaves like" bits only tell the guest which mitigations to use, and
 * each mitigation is instructions the engine runs (VERW, IBPB, fences):
 * RDCL_NO(0), IBRS_ALL(1), RSBA(2), SKIP_L1DFL_VMENTRY(3), SSB_NO(4),
 * MDS_NO(5), PSCHANGE_MC_NO(6), TAA_NO(8), SBDR_SSDP_NO(13), FBSDP_NO(14),
 * PSDP_NO(15), FB_CLEAR(17), RRSBA(19), BHI_NO(20), PBRSB_NO(24), GDS_NO(26),
 * RFDS_NO(27), RFDS_CLEAR(28), ITS_NO(62); and the three that name MSRs the
 * soft engine then models (msr_mods.h). Not: MCU_CONTROL(9), DOITM(12),
 * MCU_ENUMERATION(16), FB_CLEAR_CTRL(18), XAPIC_DISABLE(21),
 * OVERCLOCKING_STATUS(23), GDS_CTRL(25) name MSRs popek lacks, the rest
 * are reserved. Every bit may be cleared. */
#define ARCH_CAPS_SETTABLE                                                                         \
	(0x7fULL | (1ULL << 8) | (0x7ULL << 13) | (1ULL << 17) | (0x3ULL << 19) | (1ULL << 24) |   \
	 (0x7ULL << 26) | (1ULL << 62) | MSR_ARCH_CAP_TSX_CTRL | MSR_ARCH_CAP_MISC_PKG_CTRLS |     \
	 MSR_ARCH_CAP_ENERGY_FILTER)

struct msr_rule {
	u32 addr;
	const char *name;
	bool intel_only;
	u64 settable;  /* bits that may be 1 */
	u64 clearable; /* bits that may be 0 */
};

/* As a guest's own WRMSR may change them (soft: sys/msr.c; KVM alike),
 * ARCH_CAPABILITIES, which a guest only reads, by ARCH_CAPS_SETTABLE. */
static const struct msr_rule msr_rules[] = {
    {MSR_MODS_ARCH_CAPABILITIES, "IA32_ARCH_CAPABILITIES", true, ARCH_CAPS_SETTABLE, ~0ULL},
    {MSR_MODS_MISC_ENABLE, "IA32_MISC_ENABLE", true, ~MSR_MISC_ENABLE_EMON,
     ~MSR_MISC_ENABLE_READONLY},
    {MSR_MODS_PAT, "IA32_PAT", false, ~0ULL, ~0ULL}, /* each byte a type: msr_mods_check */
};

static const struct msr_rule *msr_rule_find(u32 addr)
{
	for (unsigned i = 0; i < ARRAY_SIZE(msr_rules); i++)
		if (msr_rules[i].addr == addr)
			return &msr_rules[i];
	return NULL;
}

bool msr_mods_intel_only(u32 addr)
{
	const struct msr_rule *r = msr_rule_find(addr);

	return r && r->intel_only;
}

int msr_mods_check(const struct msr_mod *mods, unsigned i, const char **field, char *why,
		   size_t len)
{
	const struct msr_mod *m = &mods[i];
	const struct msr_rule *r = msr_rule_find(m->addr);
	u64 ones = m->mask & m->value, zeros = m->mask & ~m->value;

	*field = "addr";
	if (!r) {
		snprintf(why, len,
			 "MSR %#x cannot be changed by a CPU template in popek (only 0x10a "
			 "IA32_ARCH_CAPABILITIES, 0x1a0 IA32_MISC_ENABLE and 0x277 IA32_PAT)",
			 m->addr);
		return -EINVAL;
	}
	*field = "bitmap";
	if (ones & ~r->settable) {
		snprintf(why, len, "%s bits %#llx cannot be set to 1 in popek", r->name,
			 (unsigned long long)(ones & ~r->settable));
		return -EINVAL;
	}
	if (zeros & ~r->clearable) {
		snprintf(why, len, "%s bits %#llx cannot be cleared in popek", r->name,
			 (unsigned long long)(zeros & ~r->clearable));
		return -EINVAL;
	}
	/* Both engines start with RESET_PAT (reset_msrs.h); the modifiers of one
	 * MSR apply in order. */
	if (m->addr == MSR_MODS_PAT) {
		u64 pat = RESET_PAT;
		for (unsigned j = 0; j <= i; j++)
			if (mods[j].addr == MSR_MODS_PAT)
				pat = msr_mods_apply(&mods[j], pat);
		if (!msr_mem_types_ok(pat, true)) {
			snprintf(why, len, "IA32_PAT would be %#llx: a byte is not a memory type",
				 (unsigned long long)pat);
			return -EINVAL;
		}
	}
	return 0;
}

bool msr_mem_types_ok(u64 v, bool pat)
{
	for (unsigned i = 0; i < 8; i++) {
		u8 t = (u8)(v >> (8 * i));
		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && !(pat && t == 7))
			return false;
	}
	return true;
}
