/* get_state and set_state: popek's struct x86_state through KVM_GET/SET_REGS and SREGS
 * (the conversions are kvm_snapshot.c's). */
#include "cpu/kvm/kvm.h"
#include "cpu/kvm/kvm_snapshot.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "popek/log.h"

int kvm_state_get(struct engine_vcpu *vcpu, struct x86_state *st)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	kvm_snap_regs_from(&st->regs, &r);
	kvm_snap_sregs_from(&st->sregs, &s);
	return 0;
}

/* Loads st. Two liberties, both documented for callers:
 *  - apic_base 0 keeps the vCPU's current APIC base (a loader that leaves it
 *    zero must not disable the LAPIC);
 *  - EFER.LMA is recomputed as LME && CR0.PG (Intel SDM Vol. 3A 9.8.5), which
 *    KVM_SET_SREGS insists on, and RFLAGS bit 1 is forced to 1.
 * The pending-interrupt bitmap of kvm_sregs is kept as it was. */
int kvm_state_set(struct engine_vcpu *vcpu, const struct x86_state *st)
{
	struct x86_sregs x = st->sregs;
	__u64 bitmap[ARRAY_SIZE(((struct kvm_sregs *)0)->interrupt_bitmap)];
	struct kvm_regs r;
	struct kvm_sregs s;
	char why[160];

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	x.efer &= ~X86_EFER_LMA;
	if ((x.efer & X86_EFER_LME) && (x.cr0 & X86_CR0_PG))
		x.efer |= X86_EFER_LMA;
	if (!x.apic_base)
		x.apic_base = s.apic_base;
	memcpy(bitmap, s.interrupt_bitmap, sizeof(bitmap));
	if (kvm_snap_sregs_to(&s, &x, why, sizeof(why)) < 0) {
		log_error("kvm: vCPU %u: cannot load %s", vcpu->id, why);
		return -EINVAL;
	}
	memcpy(s.interrupt_bitmap, bitmap, sizeof(bitmap));
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;

	kvm_snap_regs_to(&r, &st->regs);
	r.rflags |= X86_RFLAGS_FIXED;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

/* x87 and SSE reset values (Intel SDM Vol. 3A 10.1.1, Table 10-1): FCW 0x37f
 * (all exceptions masked, 64-bit precision), MXCSR 0x1f80. */
int kvm_state_fpu_reset(struct engine_vcpu *vcpu)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}
