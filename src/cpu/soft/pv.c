/* KVM's PV features on the soft engine besides the hypercalls: which
 * features a VM announces (Linux Documentation/virt/kvm/x86/cpuid.rst). */
#include "core/machine.h"
#include "cpu/soft/pv.h"
#include "cpu/soft/vm.h"

u32 soft_pv_vm_features(const struct soft_vm *vm)
{
	u32 f = 1u << KVM_FEATURE_CLOCKSOURCE2 | 1u << KVM_FEATURE_CLOCKSOURCE_STABLE;

	if (vm->m->cfg.no_pv)
		return f;
	f |= 1u << KVM_FEATURE_PV_UNHALT | 1u << KVM_FEATURE_PV_SEND_IPI |
	     1u << KVM_FEATURE_PV_SCHED_YIELD;
	return f;
}

u32 soft_pv_features(const struct soft_cpu *cpu)
{
	if (!cpu->vm)
		return 1u << KVM_FEATURE_CLOCKSOURCE2 | 1u << KVM_FEATURE_CLOCKSOURCE_STABLE;
	return cpu->vm->pv_features;
}

void soft_pv_vcpu_init(struct soft_vcpu *v)
{
	atomic_init(&v->pv.unhalt, false);
}

void soft_pv_vcpu_destroy(struct soft_vcpu *v)
{
	(void)v;
}

void soft_pv_reset(struct soft_vcpu *v)
{
	atomic_store(&v->pv.unhalt, false);
}
