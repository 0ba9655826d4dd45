/* KVM's hypercalls on the soft engine (Linux Documentation/virt/kvm/x86/
 * hypercalls.rst): VMCALL or VMMCALL, the number in RAX, arguments in RBX,
 * RCX, RDX, RSI, the result in RAX and no other register changed. What the
 * guest sees follows KVM's kvm_emulate_hypercall() (arch/x86/kvm/x86.c), as
 * KVM behaves with KVM_CAP_ENFORCE_PV_FEATURE_CPUID: a call whose feature
 * CPUID does not announce is unknown (-KVM_ENOSYS). */
#include <sched.h>
#include <string.h>
#include <time.h>

#include "core/machine.h"
#include "cpu/soft/pv/pv.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vendor.h"
#include "cpu/soft/vm.h"

/* ICR fields KVM_HC_SEND_IPI takes (SDM Vol. 3A 10.6.1). */
#define ICR_VECTOR       0xffu
#define ICR_MODE_SHIFT   8
#define ICR_DEST_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_LEVEL_TRIG   (1u << 15)
#define ICR_SHORTHAND    (3u << 18)

unsigned soft_pv_ipi_each(u64 lo, u64 hi, u64 min, bool op64, u32 limit, soft_ipi_dest_fn *fn,
			  void *opaque)
{
	const unsigned cluster = op64 ? 64 : 32;
	const u64 half[2] = {op64 ? lo : (u32)lo, op64 ? hi : (u32)hi};
	unsigned count = 0;

	/* KVM passes min as a u32 (kvm_pv_send_ipi). */
	min = (u32)min;
	for (unsigned h = 0; h < 2; h++) {
		u64 base = min + h * cluster;
		for (u64 bits = half[h]; bits; bits &= bits - 1) {
			u64 id = base + (unsigned)__builtin_ctzll(bits);
			if (id >= limit)
				break;
			count += fn(opaque, (u32)id);
		}
	}
	return count;
}

/* The vCPU with APIC id, if its APIC is enabled (in KVM's APIC map). */
static struct soft_vcpu *pv_target(struct soft_vm *vm, u64 apic_id)
{
	struct soft_vcpu *t;

	if (!vm || apic_id >= CONFIG_MAX_CPUS)
		return NULL;
	t = atomic_load(&vm->vcpus[apic_id]);
	if (!t || !(soft_lapic_get_base(&t->lapic) & SOFT_APIC_BASE_EN))
		return NULL;
	return t;
}

/* KVM_HC_SCHED_YIELD (KVM's kvm_sched_yield()): the guest waits for the
 * vCPU with APIC id a0, which it sees preempted (steal time's flag), so let
 * the host run other threads. KVM yields to that vCPU's thread (yield_to);
 * popek cannot name the thread to run next and yields to whoever waits,
 * like KVM only for another, existing vCPU. A kick does not yield here:
 * KVM's directed yield_to costs the kicker little, an undirected
 * sched_yield() on a loaded host can cost it a whole time slice. */
static void pv_yield_to(struct soft_cpu *cpu, u64 apic_id)
{
	struct soft_vcpu *t = pv_target(cpu->vm, apic_id);

	if (t && &t->cpu != cpu)
		sched_yield();
}

/* KVM_HC_KICK_CPU: the vCPU with APIC id a1 leaves its HLT, or its next
 * one (KVM's APIC_DM_REMRD delivery sets pv_unhalted). */
static void pv_kick(struct soft_cpu *cpu, u64 apic_id)
{
	struct soft_vcpu *t = pv_target(cpu->vm, apic_id);
	struct soft_apic_bus *bus;

	if (!t)
		return;
	atomic_store(&t->pv.unhalt, true);
	bus = &cpu->vm->apic;
	if (bus->cpu && bus->cpu->kick)
		bus->cpu->kick(bus->cpu_opaque, t->cpu.id);
}

struct pv_ipi {
	struct soft_vm *vm;
	u32 icr;
};

/* One destination of KVM_HC_SEND_IPI: 1 when its APIC took the message
 * (KVM's kvm_apic_set_irq()). */
static unsigned pv_ipi_one(void *opaque, u32 id)
{
	const struct pv_ipi *ipi = opaque;
	struct soft_vcpu *t = pv_target(ipi->vm, id);
	unsigned mode = (ipi->icr >> ICR_MODE_SHIFT) & 7;
	bool level = ipi->icr & ICR_LEVEL_TRIG, assert = ipi->icr & ICR_LEVEL_ASSERT;
	struct soft_apic_msg msg = {
	    .dest = id,
	    .vector = (u8)(ipi->icr & ICR_VECTOR),
	    .mode = (u8)mode,
	    .level = level,
	    .assert = assert,
	    .x2apic = true, /* a 32-bit physical id: never the broadcast id */
	    .src = -1,
	};

	if (!t)
		return 0;
	switch (mode) {
	case SOFT_APIC_DM_FIXED:
	case SOFT_APIC_DM_LOWEST:
		if (level && !assert)
			return 0;
		return soft_lapic_set_irq(&t->lapic, msg.vector, level) ? 1 : 0;
	case SOFT_APIC_DM_NMI:
	case SOFT_APIC_DM_SIPI:
		soft_apic_bus_deliver(&ipi->vm->apic, &msg);
		return 1;
	case SOFT_APIC_DM_INIT:
		if (level && !assert)
			return 0;
		soft_apic_bus_deliver(&ipi->vm->apic, &msg);
		return 1;
	}
	return 0; /* SMI (no SMM here), ExtINT and reserved modes */
}

/* KVM_HC_SEND_IPI: returns how many APICs took it, -KVM_EINVAL for a
 * logical destination or a shorthand. */
static s64 pv_send_ipi(struct soft_cpu *cpu, u64 lo, u64 hi, u64 min, u64 icr, bool op64)
{
	struct pv_ipi ipi = {cpu->vm, (u32)icr};

	if (icr & (ICR_DEST_LOGICAL | ICR_SHORTHAND))
		return -KVM_EINVAL;
	return soft_pv_ipi_each(lo, hi, min, op64, CONFIG_MAX_CPUS, pv_ipi_one, &ipi);
}

/* struct kvm_clock_pairing (hypercalls.rst): 64 bytes. */
struct pv_clock_pairing {
	s64 sec, nsec;
	u64 tsc;
	u32 flags;
	u32 pad[9];
};

_Static_assert(sizeof(struct pv_clock_pairing) == 64, "struct kvm_clock_pairing is 64 bytes");

/* KVM_HC_CLOCK_PAIRING: the host's CLOCK_REALTIME and the guest TSC at the
 * same moment, written at gpa; only clock type 0 (wall clock) exists. */
static s64 pv_clock_pairing(struct soft_cpu *cpu, u64 gpa, u64 clock_type)
{
	struct pv_clock_pairing cp;
	struct timespec ts;

	if (clock_type != 0)
		return -KVM_EOPNOTSUPP;
	memset(&cp, 0, sizeof(cp));
	clock_gettime(CLOCK_REALTIME, &ts);
	cp.tsc = soft_now_ns(cpu) + cpu->msr.tsc_offset;
	cp.sec = ts.tv_sec;
	cp.nsec = ts.tv_nsec;
	if (guest_mem_write(&cpu->m->mem, gpa, &cp, sizeof(cp)) < 0)
		return -KVM_EFAULT;
	return 0;
}

static bool has(const struct soft_cpu *cpu, unsigned feature)
{
	return soft_pv_features(cpu) & (1u << feature);
}

static s64 hypercall_run(struct soft_cpu *cpu, u64 nr, const u64 a[4], bool op64)
{
	switch (nr) {
	case KVM_HC_VAPIC_POLL_IRQ: /* the run loop looks at interrupts after this */
		return 0;
	case KVM_HC_KICK_CPU:
		if (!has(cpu, KVM_FEATURE_PV_UNHALT))
			break;
		pv_kick(cpu, a[1]);
		return 0;
	case KVM_HC_CLOCK_PAIRING:
		return pv_clock_pairing(cpu, a[0], a[1]);
	case KVM_HC_SEND_IPI:
		if (!has(cpu, KVM_FEATURE_PV_SEND_IPI))
			break;
		return pv_send_ipi(cpu, a[0], a[1], a[2], a[3], op64);
	case KVM_HC_SCHED_YIELD:
		if (!has(cpu, KVM_FEATURE_PV_SCHED_YIELD))
			break;
		pv_yield_to(cpu, a[0]);
		return 0;
	}
	return -KVM_ENOSYS;
}

/*
 * Which instruction is native: VMCALL on Intel, VMMCALL on AMD. KVM takes
 * the other one too, through its instruction emulator (the #UD it raises
 * is intercepted), which checks two things first (emulate.c, group7_rm0/
 * rm3): VMCALL is Priv, so at CPL > 0 it is #GP(0) on an AMD processor;
 * VMMCALL is Prot, so in real or virtual-8086 mode it is #UD on an Intel
 * one. Otherwise the emulator rewrites the instruction into the native one
 * and runs it again; popek leaves the code alone and gives the same result.
 *
 * At CPL > 0 KVM does not fault: kvm_emulate_hypercall() returns
 * -KVM_EPERM in RAX (the "#UD at CPL > 0" is not what KVM does;
 * popek matches KVM). Outside 64-bit mode the number, the arguments and the
 * result are 32-bit (the result zero-extended into RAX).
 */
void soft_hypercall(struct soft_cpu *cpu, bool amd_insn)
{
	bool op64 = cpu->mode == SOFT_MODE_LONG64;
	bool amd = cpu->vendor == CPU_VENDOR_AMD;
	u64 nr = cpu->gpr[X86_RAX];
	u64 a[4] = {cpu->gpr[X86_RBX], cpu->gpr[X86_RCX], cpu->gpr[X86_RDX], cpu->gpr[X86_RSI]};
	s64 ret;

	cpu->stat_side++;
	if (amd && !amd_insn && cpu->cpl > 0)
		soft_raise(cpu, EXC_GP, 0);
	if (!amd && amd_insn && (cpu->mode == SOFT_MODE_REAL || (cpu->rflags & RFLAGS_VM)))
		soft_raise_noerr(cpu, EXC_UD);
	if (!op64) {
		nr = (u32)nr;
		for (unsigned i = 0; i < 4; i++)
			a[i] = (u32)a[i];
	}
	if (cpu->cpl > 0)
		ret = -KVM_EPERM;
	else
		ret = hypercall_run(cpu, nr, a, op64);
	cpu->gpr[X86_RAX] = op64 ? (u64)ret : (u32)ret;
	if (cpu->vm)
		soft_vcpu_of(cpu)->pv.hypercalls++;
	/* An IPI or a kick to itself, KVM_HC_VAPIC_POLL_IRQ: let the run loop look. */
	cpu->exec_stop = true;
}
