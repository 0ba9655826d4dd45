/* The MSRs a Firecracker CPU template's msr_modifiers may change, and which
 * of their bits, the same for both engines so that a template means one
 * machine: checked when the template is given (PUT /cpu-config, the config
 * file), applied when a vCPU is created (soft: sys/msr_template.c, KVM:
 * kvm_msrs.c). A bit is changeable only if the engine honours the new value:
 * what it claims exists, and nothing it relies on is broken. */
#ifndef POPEK_MSR_MODS_H
#define POPEK_MSR_MODS_H

#include <stddef.h>

#include "core/config.h"

#define MSR_MODS_ARCH_CAPABILITIES 0x10a /* IA32_ARCH_CAPABILITIES */
#define MSR_MODS_MISC_ENABLE       0x1a0 /* IA32_MISC_ENABLE */
#define MSR_MODS_PAT               0x277 /* IA32_PAT */

/* IA32_ARCH_CAPABILITIES bits that name other MSRs the soft engine models
 * only when they are set (Intel SDM Vol. 4 Table 2-2): TSX_CTRL (7) for
 * IA32_TSX_CTRL, MISC_PACKAGE_CTRLS (10) for IA32_MISC_PACKAGE_CTLS and
 * ENERGY_FILTERING_CTL (11) for its bit 0. */
#define MSR_ARCH_CAP_TSX_CTRL       (1ULL << 7)
#define MSR_ARCH_CAP_MISC_PKG_CTRLS (1ULL << 10)
#define MSR_ARCH_CAP_ENERGY_FILTER  (1ULL << 11)

/* IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2): EMON (7, "performance
 * monitoring available") stays 0, there is no PMU; BTS_UNAVAILABLE (11) and
 * PEBS_UNAVAILABLE (12) are read-only 1. */
#define MSR_MISC_ENABLE_EMON     (1ULL << 7)
#define MSR_MISC_ENABLE_READONLY ((1ULL << 11) | (1ULL << 12))

/* True if the MSR exists only on Intel CPUs (the vendor check at start). */
bool msr_mods_intel_only(u32 addr);

/* 0 if mods[i] may be applied after mods[0..i-1] (the modifiers of one MSR
 * apply in order, as Firecracker's do), else -EINVAL with why (addressed to
 * the user, without the field name) and *field set to "addr" or "bitmap". */
int msr_mods_check(const struct msr_mod *mods, unsigned i, const char **field, char *why,
		   size_t len);

/* value with the modifier's bits put in. */
static inline u64 msr_mods_apply(const struct msr_mod *mod, u64 value)
{
	return (value & ~mod->mask) | (mod->value & mod->mask);
}

/* True if each byte of v is a memory type (SDM Vol. 3A 12.11.2, 12.12.2):
 * UC WC WT WP WB, and UC- too in the PAT. */
bool msr_mem_types_ok(u64 v, bool pat);

#endif
