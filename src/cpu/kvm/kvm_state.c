/* Translation between popek's struct x86_state and KVM's kvm_regs/kvm_sregs. */
#include "cpu/kvm/kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

static void kvm_seg_from(struct x86_seg *d, const struct kvm_segment *s)
{
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->type = s->type;
	d->s = s->s;
	d->dpl = s->dpl;
	d->present = s->present;
	d->avl = s->avl;
	d->l = s->l;
	d->db = s->db;
	d->g = s->g;
	d->unusable = s->unusable;
}

static void kvm_seg_to(struct kvm_segment *d, const struct x86_seg *s)
{
	memset(d, 0, sizeof(*d));
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->type = s->type & 0xf;
	d->s = s->s & 1;
	d->dpl = s->dpl & 3;
	d->present = s->present & 1;
	d->avl = s->avl & 1;
	d->l = s->l & 1;
	d->db = s->db & 1;
	d->g = s->g & 1;
	d->unusable = s->unusable & 1;
}

/* KVM's kvm_regs names the registers; popek indexes them in encoding order. */
static __u64 *kvm_gpr(struct kvm_regs *r, enum x86_gpr i)
{
	switch (i) {
	case X86_RAX:
		return &r->rax;
	case X86_RCX:
		return &r->rcx;
	case X86_RDX:
		return &r->rdx;
	case X86_RBX:
		return &r->rbx;
	case X86_RSP:
		return &r->rsp;
	case X86_RBP:
		return &r->rbp;
	case X86_RSI:
		return &r->rsi;
	case X86_RDI:
		return &r->rdi;
	case X86_R8:
		return &r->r8;
	case X86_R9:
		return &r->r9;
	case X86_R10:
		return &r->r10;
	case X86_R11:
		return &r->r11;
	case X86_R12:
		return &r->r12;
	case X86_R13:
		return &r->r13;
	case X86_R14:
		return &r->r14;
	default:
		return &r->r15;
	}
}

int kvm_state_get(struct engine_vcpu *vcpu, struct x86_state *st)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	for (int i = X86_RAX; i <= X86_R15; i++)
		st->regs.gpr[i] = *kvm_gpr(&r, i);
	st->regs.rip = r.rip;
	st->regs.rflags = r.rflags;

	kvm_seg_from(&st->sregs.seg[X86_ES], &s.es);
	kvm_seg_from(&st->sregs.seg[X86_CS], &s.cs);
	kvm_seg_from(&st->sregs.seg[X86_SS], &s.ss);
	kvm_seg_from(&st->sregs.seg[X86_DS], &s.ds);
	kvm_seg_from(&st->sregs.seg[X86_FS], &s.fs);
	kvm_seg_from(&st->sregs.seg[X86_GS], &s.gs);
	kvm_seg_from(&st->sregs.tr, &s.tr);
	kvm_seg_from(&st->sregs.ldt, &s.ldt);
	st->sregs.gdt = (struct x86_dtable){s.gdt.base, s.gdt.limit};
	st->sregs.idt = (struct x86_dtable){s.idt.base, s.idt.limit};
	st->sregs.cr0 = s.cr0;
	st->sregs.cr2 = s.cr2;
	st->sregs.cr3 = s.cr3;
	st->sregs.cr4 = s.cr4;
	st->sregs.cr8 = s.cr8;
	st->sregs.efer = s.efer;
	st->sregs.apic_base = s.apic_base;
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
	const struct x86_sregs *x = &st->sregs;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	kvm_seg_to(&s.es, &x->seg[X86_ES]);
	kvm_seg_to(&s.cs, &x->seg[X86_CS]);
	kvm_seg_to(&s.ss, &x->seg[X86_SS]);
	kvm_seg_to(&s.ds, &x->seg[X86_DS]);
	kvm_seg_to(&s.fs, &x->seg[X86_FS]);
	kvm_seg_to(&s.gs, &x->seg[X86_GS]);
	kvm_seg_to(&s.tr, &x->tr);
	kvm_seg_to(&s.ldt, &x->ldt);
	s.gdt = (struct kvm_dtable){.base = x->gdt.base, .limit = x->gdt.limit};
	s.idt = (struct kvm_dtable){.base = x->idt.base, .limit = x->idt.limit};
	s.cr0 = x->cr0;
	s.cr2 = x->cr2;
	s.cr3 = x->cr3;
	s.cr4 = x->cr4;
	s.cr8 = x->cr8;
	s.efer = x->efer & ~X86_EFER_LMA;
	if ((x->efer & X86_EFER_LME) && (x->cr0 & X86_CR0_PG))
		s.efer |= X86_EFER_LMA;
	if (x->apic_base)
		s.apic_base = x->apic_base;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;

	memset(&r, 0, sizeof(r));
	for (int i = X86_RAX; i <= X86_R15; i++)
		*kvm_gpr(&r, i) = st->regs.gpr[i];
	r.rip = st->regs.rip;
	r.rflags = st->regs.rflags | X86_RFLAGS_FIXED;
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
