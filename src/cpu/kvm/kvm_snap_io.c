/* The KVM engine's snapshot hooks (engine.h save_vm, load_vm, save_vcpu,
 * load_vcpu): the KVM_GET_* and KVM_SET_* ioctls around the conversions of
 * kvm_snapshot.h, which hold every decision. Order of the loads after QEMU's
 * kvm_arch_put_registers; the TSC deadline goes after the LAPIC, since KVM
 * ignores it unless the LAPIC timer is in TSC-deadline mode.
 *
 * Time: guest time is kvmclock (KVM_GET/SET_CLOCK). IA32_TSC in the neutral
 * form is the TSC at the snapshot's guest time, while KVM's TSC runs on
 * while the VM is paused; so a TSC read at guest time t is moved back to the
 * save's time at the guest TSC rate (kvm_snap_tsc_shift), and a loaded one
 * forward to the instant of KVM_SET_MSRS. Host-initiated TSC writes close
 * to what elapsed time predicts are matched by KVM to one offset (x86.c
 * kvm_synchronize_tsc), so vCPUs stay in step. The rate is the host's:
 * KVM_SET_TSC_KHZ is not used, so the guest's TSC frequency changes if the
 * snapshot came from another rate (the soft engine's TSC runs at 1 GHz). */
#include "cpu/kvm/kvm.h"
#include "cpu/kvm/kvm_snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "cpu/snapshot_msrs.h"
#include "popek/log.h"

#define NR_SNAP_MSRS ARRAY_SIZE(snapshot_msrs)

/* struct snap_bufs and load_vcpu's one-MSR list place a structure that ends
 * in a flexible array (kvm_xsave's extra[] in UAPI headers since Linux 5.17,
 * kvm_msrs' entries[]) before other fields, as GCC allows; clang (the fuzz
 * build) warns about it, and the warning is an error there. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Wgnu-variable-sized-type-not-at-end"
#endif

static const struct {
	int cap;
	const char *name;
} snap_caps[] = {
    {KVM_CAP_XSAVE, "KVM_CAP_XSAVE"},
    {KVM_CAP_XCRS, "KVM_CAP_XCRS"},
    {KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK"},
    {KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2"},
};

/* What snapshots need of KVM beyond kvm_required_caps: 0 or -ENOTSUP. */
static int snap_caps_check(const struct engine_vm *vm, char *why, size_t why_len)
{
	if (!vm->irqchip) {
		snap_fail(why, why_len, "the KVM VM has no in-kernel irqchip");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < ARRAY_SIZE(snap_caps); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, snap_caps[i].cap) <= 0) {
			snap_fail(why, why_len, "KVM lacks %s", snap_caps[i].name);
			return -ENOTSUP;
		}
	return 0;
}

/* A failed ioctl: its name and errno into why; returns -errno. */
static int ioctl_fail(const char *what, char *why, size_t why_len)
{
	int err = errno ? errno : EIO;

	snap_fail(why, why_len, "%s: %s", what, strerror(err));
	return -err;
}

/* KVM's count_load_time clock (ktime_get()). */
static u64 host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static int guest_ns_now(const struct engine_vm *vm, u64 *ns, char *why, size_t why_len)
{
	struct kvm_clock_data clock;

	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return ioctl_fail("KVM_GET_CLOCK", why, why_len);
	*ns = kvm_snap_clock_from(&clock);
	return 0;
}

/* PKRU's offset in KVM's XSAVE area: CPUID 0xD sub-leaf 9 (SDM Vol. 1
 * 13.2), from what KVM supports; 0 without PKRU. */
static u32 pkru_offset(const struct engine_vm *vm)
{
	for (u32 i = 0; vm->cpuid && i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];

		if (e->function == 0xd && e->index == 9 && e->eax >= 4)
			return e->ebx;
	}
	return 0;
}

int kvm_save_vm(struct engine_vm *vm, struct x86_irqchip_state *ic, u64 *guest_ns)
{
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	char why[200];
	int err;
	u64 now;

	err = snap_caps_check(vm, why, sizeof(why));
	if (!err)
		err = guest_ns_now(vm, guest_ns, why, sizeof(why));
	for (unsigned i = 0; !err && i < 3; i++) {
		memset(&chips[i], 0, sizeof(chips[i]));
		chips[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chips[i]) < 0)
			err = ioctl_fail("KVM_GET_IRQCHIP", why, sizeof(why));
	}
	if (!err && ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0)
		err = ioctl_fail("KVM_GET_PIT2", why, sizeof(why));
	now = host_ns();
	if (!err)
		err = kvm_snap_irqchip_from(ic, chips, &pit, now, why, sizeof(why));
	if (err) {
		log_error("kvm: cannot save the interrupt controllers: %s", why);
		return err;
	}
	vm->snap_ns = *guest_ns;
	return 0;
}

int kvm_load_vm(struct engine_vm *vm, const struct x86_irqchip_state *ic, u64 guest_ns, char *why,
		size_t why_len)
{
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	int err;

	err = snap_caps_check(vm, why, why_len);
	if (err)
		return err;
	err = kvm_snap_irqchip_to(chips, &pit, ic, host_ns(), why, why_len);
	if (err)
		return err;
	kvm_snap_clock_to(&clock, guest_ns);
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return ioctl_fail("KVM_SET_CLOCK", why, why_len);
	for (unsigned i = 0; i < 3; i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chips[i]) < 0)
			return ioctl_fail("KVM_SET_IRQCHIP", why, why_len);
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return ioctl_fail("KVM_SET_PIT2", why, why_len);
	vm->snap_ns = guest_ns;
	return 0;
}

/* Every vCPU ioctl state at once, on the heap (kvm_xsave is 4 KiB). */
struct snap_bufs {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_msrs msrs; /* followed by NR_SNAP_MSRS entries */
};

static struct snap_bufs *snap_bufs_new(void)
{
	return calloc(1, sizeof(struct snap_bufs) + NR_SNAP_MSRS * sizeof(struct kvm_msr_entry));
}

static struct kvm_msr_entry *msr_entry(struct kvm_msrs *msrs, u32 index)
{
	for (u32 i = 0; i < msrs->nmsrs; i++)
		if (msrs->entries[i].index == index)
			return &msrs->entries[i];
	return NULL;
}

/* KVM_GET_MSRS stops at the first MSR this CPU lacks: that one is dropped
 * (as the soft engine skips its model's absent MSRs) and the rest read again. */
static int read_msrs(struct engine_vcpu *vcpu, struct kvm_msrs *msrs, char *why, size_t why_len)
{
	msrs->nmsrs = NR_SNAP_MSRS;
	for (u32 i = 0; i < NR_SNAP_MSRS; i++)
		msrs->entries[i] = (struct kvm_msr_entry){.index = snapshot_msrs[i]};
	for (;;) {
		int n = ioctl(vcpu->fd, KVM_GET_MSRS, msrs);

		if (n < 0)
			return ioctl_fail("KVM_GET_MSRS", why, why_len);
		if ((u32)n >= msrs->nmsrs)
			return 0;
		memmove(&msrs->entries[n], &msrs->entries[n + 1],
			(msrs->nmsrs - n - 1) * sizeof(msrs->entries[0]));
		msrs->nmsrs--;
	}
}

static int save_vcpu(struct engine_vcpu *vcpu, struct snap_bufs *b, struct x86_vcpu_state *st,
		     char *why, size_t why_len)
{
	const struct engine_vm *vm = vcpu->vm;
	struct kvm_msr_entry *tsc;
	int fd = vcpu->fd, err;
	u64 now;

	/* The MP state first: reading it takes a pending INIT or SIPI, which
	 * changes the registers. */
	if (ioctl(fd, KVM_GET_MP_STATE, &b->mp) < 0)
		return ioctl_fail("KVM_GET_MP_STATE", why, why_len);
	if (ioctl(fd, KVM_GET_REGS, &b->regs) < 0)
		return ioctl_fail("KVM_GET_REGS", why, why_len);
	if (ioctl(fd, KVM_GET_SREGS, &b->sregs) < 0)
		return ioctl_fail("KVM_GET_SREGS", why, why_len);
	if (ioctl(fd, KVM_GET_XSAVE, &b->xsave) < 0)
		return ioctl_fail("KVM_GET_XSAVE", why, why_len);
	if (ioctl(fd, KVM_GET_XCRS, &b->xcrs) < 0)
		return ioctl_fail("KVM_GET_XCRS", why, why_len);
	if (ioctl(fd, KVM_GET_DEBUGREGS, &b->dregs) < 0)
		return ioctl_fail("KVM_GET_DEBUGREGS", why, why_len);
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &b->events) < 0)
		return ioctl_fail("KVM_GET_VCPU_EVENTS", why, why_len);
	if (ioctl(fd, KVM_GET_LAPIC, &b->lapic) < 0)
		return ioctl_fail("KVM_GET_LAPIC", why, why_len);
	err = read_msrs(vcpu, &b->msrs, why, why_len);
	if (!err)
		err = guest_ns_now(vm, &now, why, why_len);
	if (err)
		return err;
	tsc = msr_entry(&b->msrs, SNAP_MSR_TSC);
	if (tsc)
		tsc->data = kvm_snap_tsc_shift(tsc->data, now, vm->snap_ns, vm->tsc_khz);

	memset(st, 0, sizeof(*st));
	kvm_snap_regs_from(&st->st.regs, &b->regs);
	kvm_snap_sregs_from(&st->st.sregs, &b->sregs);
	kvm_snap_debugregs_from(st, &b->dregs);
	kvm_snap_lapic_from(st->lapic, &b->lapic);
	if (kvm_snap_mp_from(&st->ev.mp_state, &b->mp, why, why_len) ||
	    kvm_snap_interrupt_unaccept(st->lapic, &b->events, why, why_len) ||
	    kvm_snap_events_from(&st->ev, &b->events, why, why_len) ||
	    kvm_snap_xsave_from(st->fxsave, &st->pkru, &b->xsave, pkru_offset(vm), why, why_len) ||
	    kvm_snap_xcrs_from(&st->xcr0, &b->xcrs, why, why_len) ||
	    kvm_snap_msrs_from(st, &b->msrs, why, why_len))
		return -EINVAL;
	return 0;
}

int kvm_save_vcpu(struct engine_vcpu *vcpu, struct x86_vcpu_state *st)
{
	struct snap_bufs *b = snap_bufs_new();
	char why[200];
	int err;

	if (!b)
		return -ENOMEM;
	err = snap_caps_check(vcpu->vm, why, sizeof(why));
	if (!err)
		err = save_vcpu(vcpu, b, st, why, sizeof(why));
	if (err)
		log_error("kvm: cannot save vCPU %u: %s", vcpu->id, why);
	free(b);
	return err;
}

/* KVM_SET_MSRS returns how many it set, stopping at the first refusal. */
static int write_msrs(struct engine_vcpu *vcpu, struct kvm_msrs *msrs, char *why, size_t why_len)
{
	int n;

	if (!msrs->nmsrs)
		return 0;
	n = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (n < 0)
		return ioctl_fail("KVM_SET_MSRS", why, why_len);
	if ((u32)n < msrs->nmsrs)
		return snap_fail(why, why_len, "KVM refuses MSR 0x%x = 0x%llx",
				 msrs->entries[n].index, (unsigned long long)msrs->entries[n].data);
	return 0;
}

static int load_vcpu(struct engine_vcpu *vcpu, struct snap_bufs *b, const struct x86_vcpu_state *st,
		     char *why, size_t why_len)
{
	const struct engine_vm *vm = vcpu->vm;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} deadline;
	struct kvm_msr_entry *e;
	int fd = vcpu->fd, err;
	u64 now;

	/* Every conversion first: a refusal leaves the vCPU untouched. */
	memset(&deadline, 0, sizeof(deadline));
	kvm_snap_regs_to(&b->regs, &st->st.regs);
	if (kvm_snap_sregs_to(&b->sregs, &st->st.sregs, why, why_len) ||
	    kvm_snap_xsave_to(&b->xsave, st->fxsave, st->pkru, pkru_offset(vm), why, why_len) ||
	    kvm_snap_xcrs_to(&b->xcrs, st->xcr0, why, why_len) ||
	    kvm_snap_debugregs_to(&b->dregs, st, why, why_len) ||
	    kvm_snap_events_to(&b->events, &st->ev, why, why_len) ||
	    kvm_snap_mp_to(&b->mp, st->ev.mp_state, why, why_len) ||
	    kvm_snap_lapic_to(&b->lapic, st->lapic, why, why_len) ||
	    kvm_snap_msrs_to(&b->msrs, NR_SNAP_MSRS, st, why, why_len))
		return -EINVAL;
	/* The TSC deadline goes after the LAPIC. */
	e = msr_entry(&b->msrs, SNAP_MSR_TSC_DEADLINE);
	if (e) {
		deadline.h.nmsrs = 1;
		deadline.e = *e;
		*e = b->msrs.entries[--b->msrs.nmsrs];
	}

	if (ioctl(fd, KVM_SET_REGS, &b->regs) < 0)
		return ioctl_fail("KVM_SET_REGS", why, why_len);
	if (ioctl(fd, KVM_SET_XSAVE, &b->xsave) < 0)
		return ioctl_fail("KVM_SET_XSAVE", why, why_len);
	if (ioctl(fd, KVM_SET_XCRS, &b->xcrs) < 0)
		return ioctl_fail("KVM_SET_XCRS", why, why_len);
	if (ioctl(fd, KVM_SET_SREGS, &b->sregs) < 0)
		return ioctl_fail("KVM_SET_SREGS", why, why_len);
	err = guest_ns_now(vm, &now, why, why_len);
	if (err)
		return err;
	e = msr_entry(&b->msrs, SNAP_MSR_TSC);
	if (e)
		e->data = kvm_snap_tsc_shift(e->data, vm->snap_ns, now, vm->tsc_khz);
	err = write_msrs(vcpu, &b->msrs, why, why_len);
	if (err)
		return err;
	if (ioctl(fd, KVM_SET_MP_STATE, &b->mp) < 0)
		return ioctl_fail("KVM_SET_MP_STATE", why, why_len);
	if (ioctl(fd, KVM_SET_LAPIC, &b->lapic) < 0)
		return ioctl_fail("KVM_SET_LAPIC", why, why_len);
	err = write_msrs(vcpu, &deadline.h, why, why_len);
	if (err)
		return err;
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &b->events) < 0)
		return ioctl_fail("KVM_SET_VCPU_EVENTS", why, why_len);
	if (ioctl(fd, KVM_SET_DEBUGREGS, &b->dregs) < 0)
		return ioctl_fail("KVM_SET_DEBUGREGS", why, why_len);
	return 0;
}

int kvm_load_vcpu(struct engine_vcpu *vcpu, const struct x86_vcpu_state *st, char *why,
		  size_t why_len)
{
	struct snap_bufs *b = snap_bufs_new();
	int err;

	if (!b) {
		snap_fail(why, why_len, "out of memory");
		return -ENOMEM;
	}
	err = snap_caps_check(vcpu->vm, why, why_len);
	if (!err)
		err = load_vcpu(vcpu, b, st, why, why_len);
	free(b);
	return err;
}
