/* KVM's hypercall ABI and PV features on the soft engine (src/cpu/soft/
 * hypercall.c, pv.c): numbers, arguments and results in each mode and at
 * each CPL for both vendor models, and the pure parts of the PV features. */
#include "cpu/soft/pv.h"
#include "cpu/soft/vendor.h"
#include "soft_fixture.h"

#define CHECK_FAULT(cpu, stmt, vec, err)                                                           \
	do {                                                                                       \
		CHECK(FX_FAULTS(cpu, stmt));                                                       \
		CHECK_EQ((cpu)->pending_vector, (vec));                                            \
		CHECK_EQ((cpu)->pending_error, (err));                                             \
	} while (0)
#define OK(cpu, stmt) CHECK(!FX_FAULTS(cpu, stmt))

#define GDT      0x8000
#define ENOSYS64 (0 - (u64)KVM_ENOSYS)
#define EPERM64  (0 - (u64)KVM_EPERM)

/* Runs one hypercall with the given RAX and RBX..RSI = 1..4; returns RAX
 * (or ~0 after a fault, with the exception pending). */
static u64 call(struct soft_cpu *cpu, bool amd_insn, u64 rax)
{
	volatile bool faulted;

	cpu->gpr[X86_RAX] = rax;
	for (int r = X86_RCX; r <= X86_RSI; r++)
		cpu->gpr[r] = 0x1000 + r;
	cpu->gpr[X86_RBX] = 0x1003;
	faulted = FX_FAULTS(cpu, soft_hypercall(cpu, amd_insn));
	if (faulted)
		return ~0ULL;
	/* Only RAX changes. */
	CHECK_EQ(cpu->gpr[X86_RBX], 0x1003);
	CHECK_EQ(cpu->gpr[X86_RCX], 0x1000 + X86_RCX);
	CHECK_EQ(cpu->gpr[X86_RDX], 0x1000 + X86_RDX);
	CHECK_EQ(cpu->gpr[X86_RSI], 0x1000 + X86_RSI);
	return cpu->gpr[X86_RAX];
}

static void abi_for(enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	struct soft_cpu *cpu = &f->cpu;
	bool amd = vendor == CPU_VENDOR_AMD;

	/* Real mode (CPL 0): VMCALL works on both; VMMCALL is #UD on Intel,
	 * where KVM's emulator runs it (it is Prot there). */
	CHECK_EQ(call(cpu, false, KVM_HC_VAPIC_POLL_IRQ), 0);
	if (amd) {
		CHECK_EQ(call(cpu, true, KVM_HC_VAPIC_POLL_IRQ), 0);
	} else {
		CHECK_FAULT(cpu, soft_hypercall(cpu, true), EXC_UD, 0);
	}
	/* 64-bit mode, CPL 0: both, full 64-bit numbers and results. */
	fx_long(f, GDT);
	for (int insn = 0; insn < 2; insn++) {
		CHECK_EQ(call(cpu, insn, KVM_HC_VAPIC_POLL_IRQ), 0);
		CHECK_EQ(call(cpu, insn, 0x12345), ENOSYS64);
		CHECK_EQ(call(cpu, insn, (1ULL << 32) | KVM_HC_VAPIC_POLL_IRQ), ENOSYS64);
		/* The PV calls are unknown while their features are not announced
		 * (no VM here: kvmclock only). */
		CHECK_EQ(call(cpu, insn, 5), ENOSYS64);
		CHECK_EQ(call(cpu, insn, 10), ENOSYS64);
		CHECK_EQ(call(cpu, insn, 11), ENOSYS64);
	}
	/* Compatibility mode: 32-bit number, result zero-extended. */
	fx_seg(cpu, X86_CS, 0x28, fx_desc(0, 0xfffff, 0xb, 0, false, true, true));
	soft_mode_update(cpu);
	CHECK_EQ(cpu->mode, SOFT_MODE_COMPAT);
	CHECK_EQ(call(cpu, amd, 0xffffffff00000000ULL | KVM_HC_VAPIC_POLL_IRQ), 0);
	CHECK_EQ(call(cpu, !amd, 0x12345), (u32)ENOSYS64);
	/* CPL 3: -KVM_EPERM, whatever the number; the other vendor's VMCALL is
	 * #GP(0) on AMD (KVM's emulator: Priv). */
	fx_long(f, GDT);
	fx_user64(f);
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(call(cpu, amd, KVM_HC_VAPIC_POLL_IRQ), EPERM64);
	CHECK_EQ(call(cpu, amd, 0x12345), EPERM64);
	if (amd) {
		CHECK_FAULT(cpu, soft_hypercall(cpu, false), EXC_GP, 0);
	} else {
		CHECK_EQ(call(cpu, true, KVM_HC_VAPIC_POLL_IRQ), EPERM64);
	}
	fx_free(f);
}

static void test_abi_intel(void)
{
	abi_for(CPU_VENDOR_INTEL);
}

static void test_abi_amd(void)
{
	abi_for(CPU_VENDOR_AMD);
}

/* KVM_HC_CLOCK_PAIRING: struct kvm_clock_pairing at a0, clock type a1. */
static void test_clock_pairing(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	const u64 gpa = 0x2ff0; /* across a page: one host range all the same */
	u64 tsc0, tsc;

	fx_long(f, GDT);
	memset(fx_ptr(f, gpa), 0xaa, 72);
	cpu->gpr[X86_RAX] = KVM_HC_CLOCK_PAIRING;
	cpu->gpr[X86_RBX] = gpa;
	cpu->gpr[X86_RCX] = 0;
	tsc0 = soft_rdtsc(cpu);
	OK(cpu, soft_hypercall(cpu, false));
	CHECK_EQ(cpu->gpr[X86_RAX], 0);
	tsc = fx_rd64(f, gpa + 16);
	CHECK(tsc >= tsc0 && tsc <= soft_rdtsc(cpu));
	CHECK(fx_rd64(f, gpa) > 1600000000ULL);     /* seconds: after 2020 */
	CHECK(fx_rd64(f, gpa + 8) < 1000000000ULL); /* ns */
	CHECK_EQ(fx_rd32(f, gpa + 24), 0);          /* flags */
	CHECK_EQ(fx_rd32(f, gpa + 60), 0);          /* the last pad word */
	CHECK_EQ(*fx_ptr(f, gpa + 64), 0xaa);       /* and not one byte more */
	cpu->gpr[X86_RAX] = KVM_HC_CLOCK_PAIRING;
	cpu->gpr[X86_RCX] = 1; /* only KVM_CLOCK_PAIRING_WALLCLOCK exists */
	OK(cpu, soft_hypercall(cpu, false));
	CHECK_EQ(cpu->gpr[X86_RAX], (u64)-KVM_EOPNOTSUPP);
	cpu->gpr[X86_RAX] = KVM_HC_CLOCK_PAIRING;
	cpu->gpr[X86_RBX] = 16 * MiB - 8; /* runs past the end of RAM */
	cpu->gpr[X86_RCX] = 0;
	OK(cpu, soft_hypercall(cpu, false));
	CHECK_EQ(cpu->gpr[X86_RAX], (u64)-KVM_EFAULT);
	fx_free(f);
}

int main(void)
{
	TEST_RUN(test_abi_intel);
	TEST_RUN(test_abi_amd);
	TEST_RUN(test_clock_pairing);
	return test_done();
}
