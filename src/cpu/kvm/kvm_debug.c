/* A debugger's breakpoints on KVM (engine_ops.set_debug): KVM_SET_GUEST_DEBUG
 * with the hardware's debug registers (api.rst 4.60), four in all for
 * breakpoints and watchpoints together; software breakpoints would patch
 * guest memory. The guest's own DR0-DR7 are KVM's to switch around. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpu/kvm/kvm.h"

/* DR7 LEN field for a watch of len bytes (SDM Vol. 3B 18.2.4); -1: none. */
static int dr7_len(u32 len)
{
	switch (len) {
	case 1:
		return 0;
	case 2:
		return 1;
	case 4:
		return 3;
	case 8:
		return 2;
	default:
		return -1;
	}
}

int kvm_vcpu_set_debug(struct engine_vcpu *vcpu, const struct engine_debug *d)
{
	struct kvm_guest_debug g;
	unsigned slot = 0;
	u64 dr7 = 0;

	memset(&g, 0, sizeof(g));
	memset(vcpu->dbg_kind, 0, sizeof(vcpu->dbg_kind));
	if (d) {
		if (d->nr_bp + d->nr_watch > 4)
			return -ENOSPC;
		g.control = KVM_GUESTDBG_ENABLE | (d->step ? KVM_GUESTDBG_SINGLESTEP : 0);
		for (unsigned i = 0; i < d->nr_bp; i++, slot++) {
			g.arch.debugreg[slot] = d->bp[i];
			dr7 |= 2ULL << (2 * slot); /* Gn; R/W and LEN 00: execute */
			vcpu->dbg_kind[slot] = ENGINE_DEBUG_BREAK + 1;
		}
		for (unsigned i = 0; i < d->nr_watch; i++, slot++) {
			int len = dr7_len(d->watch[i].len);
			/* x86 watches reads only with writes (R/W 11). */
			u64 rw = d->watch[i].read ? 3 : 1;
			if (len < 0 || (d->watch[i].addr & (d->watch[i].len - 1)))
				return -EINVAL; /* the hardware needs aligned 1/2/4/8 */
			g.arch.debugreg[slot] = d->watch[i].addr;
			dr7 |= 2ULL << (2 * slot);
			dr7 |= (rw | (u64)len << 2) << (16 + 4 * slot);
			vcpu->dbg_kind[slot] = ENGINE_DEBUG_WATCH + 1;
		}
		if (slot)
			g.control |= KVM_GUESTDBG_USE_HW_BP;
		g.arch.debugreg[7] = dr7 | 0x400;
		memcpy(vcpu->dbg_addr, g.arch.debugreg, sizeof(vcpu->dbg_addr));
	}
	if (ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &g) < 0)
		return -errno;
	return 0;
}

void kvm_vcpu_debug_exit(struct engine_vcpu *vcpu, struct vcpu_exit *exit)
{
	const struct kvm_debug_exit_arch *a = &vcpu->run->debug.arch;

	exit->reason = VCPU_EXIT_DEBUG;
	exit->debug.kind = ENGINE_DEBUG_STEP; /* DR6.BS, or nothing we set */
	exit->debug.addr = a->pc;
	for (unsigned n = 0; n < 4; n++)
		if ((a->dr6 & (1u << n)) && vcpu->dbg_kind[n]) {
			exit->debug.kind = (enum engine_debug_kind)(vcpu->dbg_kind[n] - 1);
			exit->debug.addr = vcpu->dbg_addr[n];
			break;
		}
}
