/* The MSRs a snapshot carries in x86_vcpu_state.msrs[] (core/vcpu_state.h),
 * one list for both engines so that what one saves the other loads: every
 * MSR a guest can read back besides those in x86_sregs (EFER, FS/GS base,
 * APIC base). In load order: the TSC before the TSC deadline, which the
 * LAPIC reads against it. A vendor's model (or KVM) lacks some: those are
 * skipped on save. */
#ifndef POPEK_SNAPSHOT_MSRS_H
#define POPEK_SNAPSHOT_MSRS_H

#include "popek/types.h"

#define SNAP_MSR_TSC          0x10
#define SNAP_MSR_TSC_DEADLINE 0x6e0

static const u32 snapshot_msrs[] = {
	SNAP_MSR_TSC,
	0x48,                                   /* IA32_SPEC_CTRL */
	0x174, 0x175, 0x176,                    /* SYSENTER CS, ESP, EIP */
	0x1a0,                                  /* IA32_MISC_ENABLE */
	0x277,                                  /* IA32_PAT */
	0x2ff,                                  /* MTRR default type */
	0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR SFMASK */
	0xc0000102, 0xc0000103,                 /* KERNEL_GS_BASE, TSC_AUX */
	0xc0010015, 0xc001001f, 0xc0011029,     /* AMD HWCR, NB_CFG, DE_CFG */
	0x4b564d00, 0x4b564d01,                 /* kvmclock: wall clock, system time */
	0x4b564d03, 0x4b564d04,                 /* steal time, PV EOI */
	SNAP_MSR_TSC_DEADLINE,
};

static inline bool snapshot_msr_known(u32 index)
{
	for (unsigned i = 0; i < ARRAY_SIZE(snapshot_msrs); i++)
		if (snapshot_msrs[i] == index)
			return true;
	return false;
}

#endif
