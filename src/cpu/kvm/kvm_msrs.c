/* The MSRs a KVM vCPU starts with: the reset values both engines share
 * (src/cpu/reset_msrs.h), so that a guest sees on KVM the machine it sees on
 * the soft engine. KVM itself leaves IA32_MISC_ENABLE without fast strings
 * and the MTRRs off (api.rst 4.19 KVM_SET_MSRS). Then a CPU template's MSR
 * modifiers over what KVM and those left (cpu/msr_mods.h). */
#include "cpu/kvm/kvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/machine.h"
#include "cpu/msr_mods.h"
#include "cpu/reset_msrs.h"
#include "popek/log.h"

#define RESET_MSR_MAX 20

/* The guest's physical address width, from the CPUID KVM offers. */
static unsigned kvm_maxphyaddr(const struct engine_vm *vm)
{
	for (u32 i = 0; i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function == 0x80000008 && (e->eax & 0xff) >= 32)
			return e->eax & 0xff;
	}
	return 36;
}

static bool kvm_host_intel(const struct engine_vm *vm)
{
	for (u32 i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == 0)
			return !memcmp(&vm->cpuid->entries[i].ebx, "Genu", 4);
	return false;
}

/* KVM_GET_MSRS or KVM_SET_MSRS (req) of every entry of msrs, the template's
 * modifiers in order: 0, or an error after saying which modifier's MSR KVM
 * did not take. Both calls return how many MSRs they handled and stop at
 * the first KVM refuses. */
static int kvm_msrs_template_io(struct engine_vcpu *vcpu, unsigned long req, struct kvm_msrs *msrs)
{
	int done = ioctl(vcpu->fd, req, msrs), rc = done < 0 ? -errno : -EINVAL;
	unsigned bad = done < 0 ? 0 : (unsigned)done;
	char value[32] = "";

	if (done >= 0 && bad == msrs->nmsrs)
		return 0;
	if (req == KVM_SET_MSRS)
		snprintf(value, sizeof(value), " = %#llx",
			 (unsigned long long)msrs->entries[bad].data);
	log_error("kvm: cpu-config: msr_modifiers[%u]: KVM %s MSR %#x%s on vCPU %u: %s", bad,
		  req == KVM_SET_MSRS ? "refused" : "cannot read", msrs->entries[bad].index, value,
		  vcpu->id, done < 0 ? strerror(-rc) : "the host CPU or KVM cannot present it");
	return rc;
}

/* The template's modifiers (PUT /cpu-config): each MSR read back with
 * KVM_GET_MSRS after the reset values, its bits put in, written with
 * KVM_SET_MSRS. */
static int kvm_msrs_template(struct engine_vcpu *vcpu)
{
	const struct vm_config *cfg = &vcpu->vm->m->cfg;
	unsigned n = cfg->nr_msr_mods;
	struct kvm_msrs *msrs;
	int rc;

	if (!n)
		return 0;
	msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = n;
	for (unsigned i = 0; i < n; i++)
		msrs->entries[i].index = cfg->msr_mods[i].addr;
	rc = kvm_msrs_template_io(vcpu, KVM_GET_MSRS, msrs);
	if (rc < 0)
		goto out;
	/* Modifiers of one MSR apply in order: each over the one before. */
	for (unsigned i = 0; i < n; i++) {
		struct kvm_msr_entry *e = &msrs->entries[i];
		for (unsigned j = i; j-- > 0;)
			if (msrs->entries[j].index == e->index) {
				e->data = msrs->entries[j].data;
				break;
			}
		e->data = msr_mods_apply(&cfg->msr_mods[i], e->data);
	}
	rc = kvm_msrs_template_io(vcpu, KVM_SET_MSRS, msrs);
out:
	free(msrs);
	return rc;
}

int kvm_msrs_reset(struct engine_vcpu *vcpu)
{
	const struct engine_vm *vm = vcpu->vm;
	struct kvm_msrs *msrs;
	unsigned n = 0;
	int rc = 0;

	msrs = calloc(1, sizeof(*msrs) + RESET_MSR_MAX * sizeof(msrs->entries[0]));
	if (!msrs)
		return -ENOMEM;
#define PUT(i, v) msrs->entries[n++] = (struct kvm_msr_entry){.index = (i), .data = (v)}
	PUT(RESET_MSR_PAT, RESET_PAT);
	if (kvm_host_intel(vm)) /* AMD has no IA32_MISC_ENABLE */
		PUT(RESET_MSR_MISC_ENABLE, RESET_MISC_ENABLE);
	for (unsigned i = 0; i < ARRAY_SIZE(reset_mtrr_fixed_msrs); i++)
		PUT(reset_mtrr_fixed_msrs[i], RESET_MTRR_FIXED);
	PUT(RESET_MSR_MTRR_PHYSBASE0, reset_mtrr_var0_base());
	PUT(RESET_MSR_MTRR_PHYSMASK0, reset_mtrr_var0_mask(kvm_maxphyaddr(vm)));
	/* The default type last: the ranges are in place when MTRRs turn on. */
	PUT(RESET_MSR_MTRR_DEF_TYPE, RESET_MTRR_DEF_TYPE);
#undef PUT
	msrs->nmsrs = n;
	/* KVM_SET_MSRS returns how many it set; it stops at the first refusal. */
	int set = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (set < 0) {
		rc = -errno;
		log_error("kvm: KVM_SET_MSRS on vCPU %u: %s", vcpu->id, strerror(-rc));
	} else if ((unsigned)set != n) {
		log_error("kvm: KVM_SET_MSRS on vCPU %u: KVM refused MSR %#x", vcpu->id,
			  msrs->entries[set].index);
		rc = -EINVAL;
	}
	free(msrs);
	if (!rc && vm->m)
		rc = kvm_msrs_template(vcpu);
	return rc;
}
