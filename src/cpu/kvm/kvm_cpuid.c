/* Guest CPUID for KVM vCPUs: KVM's supported leaves, with popek's topology,
 * APIC ids, hypervisor leaves and TSC frequency filled in. */
#include "cpu/kvm/kvm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/machine.h"
#include "popek/log.h"

#define CPUID_MAX_ENTRIES   4096
#define CPUID_EXTRA_ENTRIES 16 /* leaves we may add: 0xB x3, 0x1F x3, 0x15, 0x16, 0x4000000x */

#define CPUID_1_ECX_X2APIC       (1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_HYPERVISOR   (1U << 31)
#define CPUID_1_EDX_APIC         (1U << 9)
#define CPUID_1_EDX_HTT          (1U << 28)

/* "GenuineIntel" as EBX, EDX, ECX of leaf 0 (Intel SDM Vol. 2A, CPUID). */
#define CPUID_INTEL_EBX 0x756e6547U
/* "KVMKVMKVM\0\0\0" as EBX, ECX, EDX of leaf 0x40000000 (Linux
 * Documentation/virt/kvm/x86/cpuid.rst). */
#define CPUID_KVM_EBX 0x4b4d564bU
#define CPUID_KVM_ECX 0x564b4d56U
#define CPUID_KVM_EDX 0x0000004dU
/* Leaf 0x40000001 EAX: KVM_FEATURE_CLOCKSOURCE (0), CLOCKSOURCE2 (3) and
 * CLOCKSOURCE_STABLE_BIT (24), kvmclock: all that --no-pv leaves. */
#define CPUID_KVM_FEATURES       0x40000001U
#define CPUID_KVM_CLOCK_FEATURES ((1U << 0) | (1U << 3) | (1U << 24))
/* Leaf 0x40000010: EAX = TSC kHz, EBX = APIC bus kHz (the VMware timing
 * leaf, which QEMU also offers to KVM guests). */
#define CPUID_TIMING_LEAF 0x40000010U

int kvm_cpuid_fetch(struct engine_vm *vm)
{
	for (unsigned n = 128; n <= CPUID_MAX_ENTRIES; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG) {
			int err = errno;
			log_error("kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
			return -err;
		}
	}
	log_error("kvm: KVM_GET_SUPPORTED_CPUID: more than %d entries", CPUID_MAX_ENTRIES);
	return -E2BIG;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, u32 fn, u32 index)
{
	for (u32 i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static struct kvm_cpuid_entry2 *cpuid_add(struct kvm_cpuid2 *c, u32 fn, u32 index, u32 flags)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = index;
	e->flags = flags;
	return e;
}

/* Removes every subleaf of fn (we rebuild it). */
static void cpuid_drop(struct kvm_cpuid2 *c, u32 fn)
{
	u32 j = 0;

	for (u32 i = 0; i < c->nent; i++)
		if (c->entries[i].function != fn)
			c->entries[j++] = c->entries[i];
	c->nent = j;
}

static unsigned cpuid_order(unsigned n)
{
	unsigned shift = 0;

	while ((1U << shift) < n)
		shift++;
	return shift;
}

/* Leaves 0xB and 0x1F (Intel SDM Vol. 2A, CPUID "V2 Extended Topology"):
 * one thread per core, nr_cpus cores in one package; EDX is the x2APIC id. */
static void cpuid_topology_leaf(struct kvm_cpuid2 *c, u32 fn, unsigned id, unsigned nr_cpus)
{
	struct kvm_cpuid_entry2 *e;
	u32 f = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

	cpuid_drop(c, fn);
	e = cpuid_add(c, fn, 0, f);
	e->eax = 0;
	e->ebx = 1;
	e->ecx = (1U << 8) | 0; /* level type 1 = SMT */
	e->edx = id;
	e = cpuid_add(c, fn, 1, f);
	e->eax = cpuid_order(nr_cpus);
	e->ebx = nr_cpus;
	e->ecx = (2U << 8) | 1; /* level type 2 = core */
	e->edx = id;
	e = cpuid_add(c, fn, 2, f);
	e->ecx = 2; /* level type 0: no more levels */
	e->edx = id;
}

/* Leaf 0x15 (TSC/crystal ratio). Linux's native_calibrate_tsc() returns
 * crystal_khz * EBX / EAX in 32-bit arithmetic and also takes the crystal as
 * the LAPIC timer clock, so the crystal is KVM's 1 GHz APIC bus and EBX/EAX
 * is tsc_khz / 1e6, kept small enough not to overflow. */
static void cpuid_tsc_leaves(struct kvm_cpuid2 *c, u32 max_basic, u32 tsc_khz)
{
	struct kvm_cpuid_entry2 *e;
	u32 num = tsc_khz, den = KVM_LAPIC_BUS_KHZ, a = num, b = den;

	while (b) { /* gcd */
		u32 t = a % b;
		a = b;
		b = t;
	}
	num /= a;
	den /= a;
	if ((u64)num * KVM_LAPIC_BUS_KHZ > 0xffffffffULL) {
		den = 1000;
		num = (tsc_khz + 500) / 1000;
		if ((u64)num * KVM_LAPIC_BUS_KHZ > 0xffffffffULL) {
			den = 100;
			num = (tsc_khz + 5000) / 10000;
		}
	}
	if (max_basic >= 0x15) {
		cpuid_drop(c, 0x15);
		e = cpuid_add(c, 0x15, 0, 0);
		e->eax = den;
		e->ebx = num;
		e->ecx = KVM_LAPIC_BUS_KHZ * 1000U; /* crystal Hz */
	}
	if (max_basic >= 0x16) {
		cpuid_drop(c, 0x16);
		e = cpuid_add(c, 0x16, 0, 0);
		e->eax = tsc_khz / 1000;           /* base MHz */
		e->ebx = tsc_khz / 1000;           /* maximum MHz */
		e->ecx = KVM_LAPIC_BUS_KHZ / 1000; /* bus MHz */
	}
}

/* Leaf 4 (deterministic cache parameters): core count and sharing. */
static void cpuid_cache_leaf(struct kvm_cpuid2 *c, unsigned nr_cpus)
{
	u32 ids = (1U << cpuid_order(nr_cpus)) - 1;

	for (u32 i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != 4 || !(e->eax & 0x1f))
			continue;
		e->eax &= ~((0x3fU << 26) | (0xfffU << 14));
		e->eax |= MIN(ids, 63U) << 26;
		if (((e->eax >> 5) & 7) == 3) /* the L3 is shared by all cores */
			e->eax |= MIN(ids, 0xfffU) << 14;
	}
}

/* The hypervisor leaves: KVM's signature, KVM's paravirt feature leaf
 * 0x40000001 (kvmclock and friends) as KVM reports it, and the timing leaf. */
static void cpuid_hypervisor_leaves(struct kvm_cpuid2 *c, u32 tsc_khz)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x40000000, 0);

	if (!e) {
		e = cpuid_add(c, 0x40000000, 0, 0);
		e->eax = 0x40000001;
	}
	e->ebx = CPUID_KVM_EBX;
	e->ecx = CPUID_KVM_ECX;
	e->edx = CPUID_KVM_EDX;
	if (tsc_khz) {
		e->eax = MAX(e->eax, CPUID_TIMING_LEAF);
		cpuid_drop(c, CPUID_TIMING_LEAF);
		e = cpuid_add(c, CPUID_TIMING_LEAF, 0, 0);
		e->eax = tsc_khz;
		e->ebx = KVM_LAPIC_BUS_KHZ;
	}
}

/* --no-pv: leaf 0x40000001 offers kvmclock only (EDX's hints go too), and
 * KVM refuses the PV MSRs and hypercalls CPUID no longer offers, where it
 * can (KVM_CAP_ENFORCE_PV_FEATURE_CPUID), as the soft engine does. */
static void cpuid_no_pv(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, CPUID_KVM_FEATURES, 0);

	if (e) {
		e->eax &= CPUID_KVM_CLOCK_FEATURES;
		e->edx = 0;
	}
}

static void cpuid_enforce_pv(struct engine_vcpu *vcpu)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = {1}};

	if (ioctl(vcpu->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ENFORCE_PV_FEATURE_CPUID) <= 0) {
		log_warn("kvm: no KVM_CAP_ENFORCE_PV_FEATURE_CPUID: with --no-pv the guest is not "
			 "offered PV features, but KVM still answers them");
		return;
	}
	if (ioctl(vcpu->fd, KVM_ENABLE_CAP, &cap) < 0)
		log_warn("kvm: KVM_ENABLE_CAP ENFORCE_PV_FEATURE_CPUID on vCPU %u: %s", vcpu->id,
			 strerror(errno));
}

/* AMD's own topology leaves (APM Vol. 3 E.4.7, E.4.15), as the soft engine's
 * AMD model has them: one thread per core, every core in one package.
 * 0x8000_0008 ECX: cores - 1 and the APIC id bits they use; 0x8000_001D:
 * each cache level's sharing count (EAX[25:14] + 1): L1 and L2 per core,
 * L3 (level 3) by the package. */
static void cpuid_amd_topology(struct kvm_cpuid2 *c, unsigned nr_cpus)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000008, 0);

	if (e)
		e->ecx = (e->ecx & ~0xf0ffU) | ((nr_cpus - 1) & 0xff) | (cpuid_order(nr_cpus) << 12);
	for (u32 i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function != 0x8000001d || !(e->eax & 0x1f))
			continue;
		unsigned sharing = ((e->eax >> 5) & 7) == 3 ? nr_cpus - 1 : 0;
		e->eax = (e->eax & ~(0xfffU << 14)) | (sharing << 14);
	}
}

int kvm_cpuid_setup(struct engine_vcpu *vcpu, unsigned nr_cpus)
{
	const struct engine_vm *vm = vcpu->vm;
	const struct kvm_cpuid2 *sup = vm->cpuid;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *c;
	u32 max_basic = 0;
	bool intel = false;
	unsigned id = vcpu->id;
	int rc = 0;

	c = calloc(1, sizeof(*c) + (sup->nent + CPUID_EXTRA_ENTRIES) * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = sup->nent;
	memcpy(c->entries, sup->entries, sup->nent * sizeof(c->entries[0]));

	e = cpuid_find(c, 0, 0);
	if (e) {
		max_basic = e->eax;
		intel = e->ebx == CPUID_INTEL_EBX;
	}
	e = cpuid_find(c, 1, 0);
	if (e) {
		e->ebx = (e->ebx & 0xffff) | (MIN(1U << cpuid_order(nr_cpus), 255U) << 16) |
			 ((id & 0xff) << 24);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (nr_cpus > 1)
			e->edx |= CPUID_1_EDX_HTT;
		if (vm->irqchip && vm->tsc_deadline)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		if (!vm->irqchip) {
			e->edx &= ~CPUID_1_EDX_APIC;
			e->ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE);
		}
	}
	cpuid_cache_leaf(c, nr_cpus);
	if (max_basic >= 0xb)
		cpuid_topology_leaf(c, 0xb, id, nr_cpus);
	if (max_basic >= 0x1f)
		cpuid_topology_leaf(c, 0x1f, id, nr_cpus);
	if (intel && vm->tsc_khz)
		cpuid_tsc_leaves(c, max_basic, vm->tsc_khz);
	e = cpuid_find(c, 0x8000001e, 0); /* AMD: extended APIC id, core id, node */
	if (e) {
		e->eax = id;
		e->ebx = id & 0xff; /* one thread per core (ThreadsPerCore - 1 = 0) */
		e->ecx &= ~0x7ffU;  /* one node, node 0 */
	}
	if (!intel)
		cpuid_amd_topology(c, nr_cpus);
	cpuid_hypervisor_leaves(c, vm->tsc_khz);
	if (vm->m && vm->m->cfg.no_pv)
		cpuid_no_pv(c);

	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		rc = -errno;
		log_error("kvm: KVM_SET_CPUID2 on vCPU %u: %s", id, strerror(-rc));
	} else if (vm->m && vm->m->cfg.no_pv) {
		cpuid_enforce_pv(vcpu);
	}
	free(c);
	return rc;
}
