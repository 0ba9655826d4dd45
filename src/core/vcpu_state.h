/* A vCPU's whole guest-visible state in popek's engine-neutral form: what a
 * snapshot stores and what both engines convert to and from (issue 12). It
 * is the state at an instruction boundary between two run() calls. Times are
 * relative to the moment of saving, so the form does not depend on either
 * engine's clock. The encoding (vcpu_state_encode) is documented field by
 * field in vcpu_state.c; decoding checks every value a guest could not have
 * produced. */
#ifndef POPEK_VCPU_STATE_H
#define POPEK_VCPU_STATE_H

#include "core/snap_codec.h"
#include "core/x86_state.h"

#define X86_MAX_SAVED_MSRS 128
#define X86_LAPIC_PAGE     1024 /* the xAPIC registers 0x000-0x3F0 (SDM Vol. 3A 10.4.1) */
#define X86_FXSAVE_LEN     512  /* FXSAVE image (SDM Vol. 1 10.5.1) */

struct x86_msr_value {
	u32 index;
	u64 value;
};

enum x86_mp_state {
	X86_MP_RUNNABLE = 0,
	X86_MP_HALTED = 1,    /* after HLT, until an interrupt */
	X86_MP_WAIT_SIPI = 2, /* an AP before INIT-SIPI, or after INIT */
};

/* Events between instructions (SDM Vol. 3A 6.9, 6.8.3). */
struct x86_events {
	bool exc_pending; /* an exception raised, not yet delivered */
	u8 exc_vector;
	bool exc_has_error;
	u32 exc_error;
	u8 nmi_pending;    /* NMIs accepted but not delivered: 0, 1 or 2 */
	bool nmi_masked;   /* an NMI handler is running (until IRET) */
	u8 intr_shadow;    /* X86_SHADOW_*: interrupts held for one instruction */
	u8 mp_state;       /* enum x86_mp_state */
};

#define X86_SHADOW_STI   1
#define X86_SHADOW_MOVSS 2

struct x86_vcpu_state {
	struct x86_state st; /* registers, segments, CRs, EFER, APIC base */
	u64 xcr0;
	u32 pkru;
	u64 dr[4], dr6, dr7;
	u8 fxsave[X86_FXSAVE_LEN]; /* x87, MMX and SSE state */
	u32 nr_msrs;               /* of msrs[]: every other MSR the guest can read back,
				      IA32_TSC (0x10) and IA32_TSC_DEADLINE (0x6E0) included;
				      IA32_TSC is the TSC at the instant of the snapshot's
				      guest time (engine.h save_vm), so vCPUs stay in step */
	struct x86_msr_value msrs[X86_MAX_SAVED_MSRS];
	struct x86_events ev;
	/* The LAPIC as its xAPIC register page: offset R holds register R's 32
	 * bits (ID at 0x20 in bits 31:24, IRR at 0x200.., TMICT 0x380, TMCCT
	 * 0x390: the timer's current count when saved). */
	u8 lapic[X86_LAPIC_PAGE];
};

/* Writes st in its documented encoding. */
void vcpu_state_encode(const struct x86_vcpu_state *st, struct snap_out *o);
/* Reads one encoding into *st; 0, or -EINVAL with the reason in in->why. */
int vcpu_state_decode(struct snap_in *in, struct x86_vcpu_state *st);

/* The MSR's saved value: true with *value, false when st has none. */
bool vcpu_state_msr(const struct x86_vcpu_state *st, u32 index, u64 *value);
/* Adds or replaces an MSR; -ENOSPC when msrs[] is full. */
int vcpu_state_set_msr(struct x86_vcpu_state *st, u32 index, u64 value);

/* The LAPIC page's 32-bit register at offset (0x000-0x3F0, 16-aligned). */
u32 x86_lapic_reg(const u8 *page, unsigned offset);
void x86_lapic_set_reg(u8 *page, unsigned offset, u32 value);

#endif
