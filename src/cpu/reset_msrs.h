/* The MSR values a vCPU has after reset, as firmware leaves them, shared by
 * both engines so the guest sees one machine (the soft engine sets them in
 * src/cpu/soft/sys/reset.c, KVM with KVM_SET_MSRS in src/cpu/kvm/kvm_msrs.c). */
#ifndef POPEK_RESET_MSRS_H
#define POPEK_RESET_MSRS_H

#include "popek/types.h"

#define RESET_MSR_MISC_ENABLE   0x1a0
#define RESET_MSR_PAT           0x277
#define RESET_MSR_MTRR_DEF_TYPE 0x2ff
#define RESET_MSR_MTRR_PHYSBASE0 0x200
#define RESET_MSR_MTRR_PHYSMASK0 0x201
#define RESET_MSR_MTRR_PHYSBASE1 0x202
#define RESET_MSR_MTRR_PHYSMASK1 0x203

/* IA32_MISC_ENABLE (Intel only): fast strings (0), no branch trace store
 * (11), no PEBS (12). Without fast strings Linux drops REP_GOOD/ERMS. */
#define RESET_MISC_ENABLE (1ULL | (1ULL << 11) | (1ULL << 12))
/* PAT as at power-on (SDM Vol. 3A 11.12.4). */
#define RESET_PAT 0x0007040600070406ULL
/* MTRRs enabled (11), fixed ranges on (10), write-back by default (SDM
 * Vol. 3A 11.11.2.1). */
#define RESET_MTRR_DEF_TYPE ((1ULL << 11) | (1ULL << 10) | 6)
/* Every fixed range (the first MiB) write-back. */
#define RESET_MTRR_FIXED 0x0606060606060606ULL

/* The fixed-range MTRR MSRs, in the order of struct soft_msrs.mtrr_fixed. */
static const u32 reset_mtrr_fixed_msrs[11] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
					      0x26b, 0x26c, 0x26d, 0x26e, 0x26f};

/* Variable range 0 makes the MMIO hole (3 GiB to 4 GiB) uncacheable. */
static inline u64 reset_mtrr_var0_base(void)
{
	return 0xc0000000ULL | 0; /* type UC */
}

static inline u64 reset_mtrr_var0_mask(unsigned maxphyaddr)
{
	return (((1ULL << maxphyaddr) - 1) & ~(1ULL * GiB - 1)) | (1ULL << 11); /* valid */
}

#endif
