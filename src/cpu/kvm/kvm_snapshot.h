/* KVM's UAPI state structures (linux/kvm.h, Documentation/virt/kvm/api.rst)
 * to and from popek's engine-neutral forms (core/vcpu_state.h,
 * core/irqchip_state.h), for snapshots that move between engines (issue 12).
 * Pure functions: no ioctl, so they are tested without /dev/kvm
 * (tests/unit/test_kvm_snapshot.c); kvm_snap_io.c calls them around the
 * ioctls. Each "_to" fills KVM's structure whole (zeroing what it does not
 * name) and returns 0, or -EINVAL with a one-line reason in why naming what
 * KVM cannot represent. A "_from" that returns int refuses likewise what the
 * neutral form cannot hold. */
#ifndef POPEK_KVM_SNAPSHOT_H
#define POPEK_KVM_SNAPSHOT_H

#include <linux/kvm.h>

#include "core/irqchip_state.h"
#include "core/vcpu_state.h"

/* Registers and segments (also kvm_state.c's get_state/set_state). */
void kvm_snap_regs_to(struct kvm_regs *k, const struct x86_regs *r);
void kvm_snap_regs_from(struct x86_regs *r, const struct kvm_regs *k);
void kvm_snap_seg_to(struct kvm_segment *k, const struct x86_seg *s);
void kvm_snap_seg_from(struct x86_seg *s, const struct kvm_segment *k);
/* interrupt_bitmap is left empty: an interrupt being injected is refused by
 * kvm_snap_events_from, so none is ever in flight in the neutral form. */
int kvm_snap_sregs_to(struct kvm_sregs *k, const struct x86_sregs *s, char *why, size_t why_len);
void kvm_snap_sregs_from(struct x86_sregs *s, const struct kvm_sregs *k);

/* x87/SSE through KVM_GET/SET_XSAVE (standard, uncompacted format). Only the
 * legacy region (the FXSAVE image) and PKRU are carried: a state component
 * in use beyond them (AVX, AVX-512, AMX...) is refused on save; on load every
 * other component is in its initial configuration. pkru_off is PKRU's byte
 * offset in KVM's area (CPUID 0xD sub-leaf 9 EBX), 0 when there is none. */
int kvm_snap_xsave_to(struct kvm_xsave *k, const u8 fxsave[X86_FXSAVE_LEN], u32 pkru, u32 pkru_off,
		      char *why, size_t why_len);
int kvm_snap_xsave_from(u8 fxsave[X86_FXSAVE_LEN], u32 *pkru, const struct kvm_xsave *k,
			u32 pkru_off, char *why, size_t why_len);
int kvm_snap_xcrs_to(struct kvm_xcrs *k, u64 xcr0, char *why, size_t why_len);
int kvm_snap_xcrs_from(u64 *xcr0, const struct kvm_xcrs *k, char *why, size_t why_len);

int kvm_snap_debugregs_to(struct kvm_debugregs *k, const struct x86_vcpu_state *st, char *why,
			  size_t why_len);
void kvm_snap_debugregs_from(struct x86_vcpu_state *st, const struct kvm_debugregs *k);

/* The neutral MSR list (cpu/snapshot_msrs.h) to KVM's entries, in the list's
 * order; k has room for max entries. IA32_TSC is copied as it is: the caller
 * moves it to the instant of the write (kvm_snap_tsc_shift). */
int kvm_snap_msrs_to(struct kvm_msrs *k, u32 max, const struct x86_vcpu_state *st, char *why,
		     size_t why_len);
int kvm_snap_msrs_from(struct x86_vcpu_state *st, const struct kvm_msrs *k, char *why,
		       size_t why_len);
/* A TSC read at guest time from_ns, as it reads at to_ns (either may be the
 * later) when it counts tsc_khz kHz. */
u64 kvm_snap_tsc_shift(u64 tsc, u64 from_ns, u64 to_ns, u32 tsc_khz);

/* Exceptions, NMIs and the interrupt shadow; the MP state separately. */
int kvm_snap_events_to(struct kvm_vcpu_events *k, const struct x86_events *ev, char *why,
		       size_t why_len);
int kvm_snap_events_from(struct x86_events *ev, const struct kvm_vcpu_events *k, char *why,
			 size_t why_len);
/* Before kvm_snap_events_from, on the vCPU's LAPIC page: an interrupt KVM
 * was injecting goes back from the page's ISR to its IRR, and out of *k. */
int kvm_snap_interrupt_unaccept(u8 page[X86_LAPIC_PAGE], struct kvm_vcpu_events *k, char *why,
				size_t why_len);
int kvm_snap_mp_to(struct kvm_mp_state *k, u8 mp_state, char *why, size_t why_len);
int kvm_snap_mp_from(u8 *mp_state, const struct kvm_mp_state *k, char *why, size_t why_len);

/* The LAPIC register page: the same layout on both sides (KVM without
 * KVM_CAP_X2APIC_API keeps the ID in bits 31:24 in x2APIC mode too). */
int kvm_snap_lapic_to(struct kvm_lapic_state *k, const u8 page[X86_LAPIC_PAGE], char *why,
		      size_t why_len);
void kvm_snap_lapic_from(u8 page[X86_LAPIC_PAGE], const struct kvm_lapic_state *k);

/* One 8259A, the IOAPIC, the PIT with port 0x61. host_ns is CLOCK_MONOTONIC
 * (KVM's ktime_get(), the clock of count_load_time) at the ioctl. */
int kvm_snap_pic_to(struct kvm_pic_state *k, const struct x86_pic_chip_state *c, const char *name,
		    char *why, size_t why_len);
void kvm_snap_pic_from(struct x86_pic_chip_state *c, const struct kvm_pic_state *k);
void kvm_snap_ioapic_to(struct kvm_ioapic_state *k, const struct x86_ioapic_state *io);
void kvm_snap_ioapic_from(struct x86_ioapic_state *io, const struct kvm_ioapic_state *k);
int kvm_snap_pit_to(struct kvm_pit_state2 *k, const struct x86_irqchip_state *ic, u64 host_ns,
		    char *why, size_t why_len);
int kvm_snap_pit_from(struct x86_irqchip_state *ic, const struct kvm_pit_state2 *k, u64 host_ns,
		      char *why, size_t why_len);
/* All of them: chips[] indexed by KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC.
 * _to checks ic first (irqchip_state_check); _from checks its result. */
int kvm_snap_irqchip_to(struct kvm_irqchip chips[3], struct kvm_pit_state2 *pit,
			const struct x86_irqchip_state *ic, u64 host_ns, char *why, size_t why_len);
int kvm_snap_irqchip_from(struct x86_irqchip_state *ic, const struct kvm_irqchip chips[3],
			  const struct kvm_pit_state2 *pit, u64 host_ns, char *why, size_t why_len);

/* kvmclock: the guest's ns (engine.h save_vm's clock->guest_ns). */
void kvm_snap_clock_to(struct kvm_clock_data *k, u64 guest_ns);
u64 kvm_snap_clock_from(const struct kvm_clock_data *k);
/* Whether a VM whose TSC runs at cur_khz may be moved to the snapshot's
 * want_khz with KVM_SET_TSC_KHZ. KVM (x86.c kvm_set_tsc_khz) runs a rate
 * within 250 ppm of the host's unscaled; another needs the host's TSC
 * scaling (KVM_CAP_TSC_CONTROL, can_scale), without which KVM refuses a
 * slower rate and only approaches a faster one by catching up at VM
 * entries, which popek refuses too (as QEMU does). 0, or -EINVAL with a
 * one-line reason in why naming both rates. */
int kvm_snap_tsc_rate_check(u32 want_khz, u32 cur_khz, bool can_scale, char *why, size_t why_len);

#endif
