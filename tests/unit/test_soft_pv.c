/* KVM's hypercall ABI and PV features on the soft engine (src/cpu/soft/
 * hypercall.c, pv.c): numbers, arguments and results in each mode and at
 * each CPL for both vendor models, and the pure parts of the PV features. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "cpu/engine.h"
#include "cpu/soft/pv/pv.h"
#include "cpu/soft/vendor.h"
#include "cpu/soft/vm.h"
#include "soft_fixture.h"
#include "soft_vm_fixture.h"

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

/* KVM_HC_SEND_IPI's bitmap (pure): which APIC ids, in which order. */
struct ids {
	unsigned n;
	u32 id[8];
};

static unsigned collect(void *opaque, u32 id)
{
	struct ids *r = opaque;

	if (r->n < 8)
		r->id[r->n++] = id;
	return id == 7 ? 0 : 1; /* pretend APIC 7 refuses */
}

static unsigned ipi_ids(u64 lo, u64 hi, u64 min, bool op64, u32 limit, struct ids *r)
{
	memset(r, 0, sizeof(*r));
	return soft_pv_ipi_each(lo, hi, min, op64, limit, collect, r);
}

static void test_ipi_bitmap(void)
{
	struct ids r;

	/* 64-bit: bit i of a0 is min + i, bit i of a1 is min + 64 + i. */
	CHECK_EQ(ipi_ids(0x5, 0x1, 3, true, 128, &r), 3);
	CHECK(r.n == 3 && r.id[0] == 3 && r.id[1] == 5 && r.id[2] == 67);
	/* The count is of the APICs that took it. */
	CHECK_EQ(ipi_ids(0x11, 0, 3, true, 128, &r), 1);
	CHECK(r.n == 2 && r.id[0] == 3 && r.id[1] == 7);
	/* Ids from limit on (no such vCPU) are not visited. */
	CHECK_EQ(ipi_ids(0, 1, 0, true, 64, &r), 0);
	CHECK_EQ(r.n, 0);
	CHECK_EQ(ipi_ids(0x3, 0, 63, true, 64, &r), 1);
	CHECK(r.n == 1 && r.id[0] == 63);
	/* 32-bit: a0 and a1 are 32 bits, the second cluster starts at min + 32. */
	CHECK_EQ(ipi_ids(0x100000001ULL, 0x2, 1, false, 64, &r), 2);
	CHECK(r.n == 2 && r.id[0] == 1 && r.id[1] == 34);
	/* min is 32-bit; min + 64 is not wrapped around to a low id. */
	CHECK_EQ(ipi_ids(0x1, 0, 0x100000002ULL, true, 64, &r), 1);
	CHECK(r.n == 1 && r.id[0] == 2);
	CHECK_EQ(ipi_ids(0x1, 0x1, 0xffffffc0ULL, true, 64, &r), 0);
	CHECK_EQ(r.n, 0);
	CHECK_EQ(ipi_ids(0, 0, 0, true, 64, &r), 0);
}

/* /proc/.../schedstat: "run_time run_delay timeslices". */
static void test_schedstat_parse(void)
{
	u64 rd = 7;

	CHECK(soft_schedstat_parse("123456 7890123 45\n", &rd));
	CHECK_EQ(rd, 7890123);
	CHECK(soft_schedstat_parse("1 2", &rd));
	CHECK_EQ(rd, 2);
	CHECK(!soft_schedstat_parse("", &rd));
	CHECK(!soft_schedstat_parse("12\n", &rd));
	CHECK(!soft_schedstat_parse("12 x 3\n", &rd));
	CHECK(!soft_schedstat_parse("-1 2 3\n", &rd));
	CHECK(!soft_schedstat_parse("1 2x 3\n", &rd));
	CHECK_EQ(rd, 2);
}

/* struct kvm_steal_time's steal and version (KVM's record_steal_time()). */
static void test_steal_update(void)
{
	u8 st[KVM_STEAL_SIZE] __attribute__((aligned(64)));
	u64 last = 1000, steal;
	u32 version;

	memset(st, 0, sizeof(st));
	steal = 100;
	memcpy(st + KVM_STEAL_OFF_STEAL, &steal, 8);
	soft_steal_update(st, &last, 1500);
	memcpy(&steal, st + KVM_STEAL_OFF_STEAL, 8);
	memcpy(&version, st + KVM_STEAL_OFF_VERSION, 4);
	CHECK_EQ(steal, 600);
	CHECK_EQ(version, 2);
	CHECK_EQ(last, 1500);
	soft_steal_update(st, &last, 1500); /* nothing new: only the version moves */
	memcpy(&steal, st + KVM_STEAL_OFF_STEAL, 8);
	memcpy(&version, st + KVM_STEAL_OFF_VERSION, 4);
	CHECK_EQ(steal, 600);
	CHECK_EQ(version, 4);
	version = 7; /* odd, left by the guest: made even first, then +2 */
	memcpy(st + KVM_STEAL_OFF_VERSION, &version, 4);
	soft_steal_update(st, &last, 1501);
	memcpy(&steal, st + KVM_STEAL_OFF_STEAL, 8);
	memcpy(&version, st + KVM_STEAL_OFF_VERSION, 4);
	CHECK_EQ(steal, 601);
	CHECK_EQ(version, 10);
	soft_steal_update(st, &last, 10); /* a smaller run_delay adds nothing */
	memcpy(&steal, st + KVM_STEAL_OFF_STEAL, 8);
	CHECK_EQ(steal, 601);
	CHECK_EQ(last, 10);
	for (unsigned i = 16; i < KVM_STEAL_SIZE; i++) /* preempted and the rest untouched */
		CHECK_EQ(st[i], 0);
}

/* ---- A machine with the soft engine's vCPUs (engine_ops), for the
 * features that involve the run loop. ---- */

/* A two-vCPU VM with PV features (or none), the translator on. */
static struct vm *vm2_new(bool no_pv)
{
	struct vm_config cfg = {.nr_cpus = 2, .no_pv = no_pv};

	return vm_new_cfg(&cfg);
}

/* vCPU i runs the real-mode bytes code from gpa (CS = 0). */
static void vm2_real(struct vm *t, unsigned i, u64 gpa, const u8 *code, unsigned len)
{
	CHECK_EQ(guest_mem_write(&t->m.mem, gpa, code, len), 0);
	vm_real_mode(t, i, gpa);
}

static enum vcpu_exit_reason vm2_run(struct vm *t, unsigned i)
{
	struct vcpu_exit ex;

	CHECK_EQ(soft_engine_ops.run(t->v[i], &ex), 0);
	return ex.reason;
}

static u64 vm2_rip(struct vm *t, unsigned i)
{
	struct x86_state st;

	soft_engine_ops.get_state(t->v[i], &st);
	return st.regs.rip;
}

struct vm2_thread {
	struct vm *t;
	unsigned i;
	_Atomic int reason; /* -1 while run() has not returned */
};

static void *vm2_thread_run(void *arg)
{
	struct vm2_thread *r = arg;

	atomic_store(&r->reason, (int)vm2_run(r->t, r->i));
	return NULL;
}

/* KVM_HC_KICK_CPU ends the HLT of a vCPU halted with IF = 0. And the machine
 * (machine.c), which stops the guest once every vCPU is halted with IF = 0,
 * must not be told so by the kicker while the kicked vCPU's thread has not
 * yet run: vCPU 1 kicks vCPU 0 and halts; it may report itself stuck only
 * after vCPU 0's run() returned and was called again. */
static void test_kick_and_stuck(void)
{
	static const u8 halts[] = {0xfa, 0xf4, 0xfa, 0xf4}; /* cli; hlt; cli; hlt */
	static const u8 kicker[] = {
	    0x66, 0xb8, 5,    0, 0, 0, /* mov eax, KVM_HC_KICK_CPU */
	    0x66, 0x31, 0xc9,          /* xor ecx, ecx: APIC id 0 */
	    0x0f, 0x01, 0xc1,          /* vmcall */
	    0xfa, 0xf4,                /* cli; hlt */
	};
	struct vm *t = vm2_new(false);
	struct vm2_thread r = {t, 1, -1};
	pthread_t th;

	vm2_real(t, 0, 0x1000, halts, sizeof(halts));
	vm2_real(t, 1, 0x2000, kicker, sizeof(kicker));
	CHECK_EQ(vm2_run(t, 0), VCPU_EXIT_HLT);
	CHECK_EQ(vm2_rip(t, 0), 0x1002);
	pthread_create(&th, NULL, vm2_thread_run, &r);
	usleep(100 * 1000);
	CHECK_EQ(atomic_load(&r.reason), -1);      /* vCPU 1 waits for vCPU 0 to settle */
	CHECK_EQ(vm2_run(t, 0), VCPU_EXIT_KICKED); /* its HLT ended: it lives */
	CHECK_EQ(vm2_run(t, 0), VCPU_EXIT_HLT);    /* the second cli; hlt */
	CHECK_EQ(vm2_rip(t, 0), 0x1004);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&r.reason), VCPU_EXIT_HLT);
	CHECK_EQ(vm2_rip(t, 1), 0x200e);
	vm_free(t);
}

static struct soft_vcpu *vm2_vcpu(struct vm *t, unsigned i)
{
	return (struct soft_vcpu *)t->v[i];
}

static u8 *fx_guest(struct vm *t, u64 gpa)
{
	return guest_mem_ptr(&t->m.mem, gpa, 1);
}

/* KVM_HC_SEND_IPI from a 32-bit (real-mode) caller: each APIC named takes
 * the vector; the result counts them; a logical destination is refused. */
static void test_send_ipi(void)
{
	static const u8 code[] = {
	    0x66, 0xb8, 10,   0,    0, 0, /* mov eax, KVM_HC_SEND_IPI */
	    0x66, 0xbb, 0x03, 0,    0, 0, /* mov ebx, 0b11: APIC ids 0 and 1 */
	    0x66, 0x31, 0xc9,             /* xor ecx, ecx */
	    0x66, 0x31, 0xd2,             /* xor edx, edx: min 0 */
	    0x66, 0xbe, 0x41, 0,    0, 0, /* mov esi, 0x41: fixed, vector 0x41 */
	    0x0f, 0x01, 0xc1,             /* vmcall */
	    0x66, 0x89, 0xc7,             /* mov edi, eax */
	    0x66, 0xb8, 10,   0,    0, 0, /* mov eax, KVM_HC_SEND_IPI */
	    0x66, 0xbe, 0x42, 0x08, 0, 0, /* mov esi, 0x842: logical */
	    0x0f, 0x01, 0xc1,             /* vmcall */
	    0xfa, 0xf4,                   /* cli; hlt */
	};
	struct vm *t = vm2_new(false);
	struct x86_state st;

	for (unsigned i = 0; i < 2; i++)
		soft_lapic_mmio_write(&vm2_vcpu(t, i)->lapic, 0xf0, 4, 0x1ff, 0); /* SVR: on */
	vm2_real(t, 1, 0x2000, code, sizeof(code));
	CHECK_EQ(vm2_run(t, 1), VCPU_EXIT_HLT);
	soft_engine_ops.get_state(t->v[1], &st);
	CHECK_EQ(st.regs.gpr[X86_RDI], 2);
	CHECK_EQ(st.regs.gpr[X86_RAX], (u32)-KVM_EINVAL);
	CHECK_EQ(soft_lapic_pending_vector(&vm2_vcpu(t, 0)->lapic), 0x41);
	CHECK_EQ(soft_lapic_pending_vector(&vm2_vcpu(t, 1)->lapic), 0x41);
	CHECK_EQ(soft_lapic_ack(&vm2_vcpu(t, 0)->lapic), 0x41);
	CHECK_EQ(soft_lapic_pending_vector(&vm2_vcpu(t, 0)->lapic), -1); /* once, not twice */
	vm_free(t);
}

/* KVM_HC_SCHED_YIELD: 0, to any vCPU or none; unknown with --no-pv. */
static void test_sched_yield(void)
{
	static const u8 code[] = {
	    0x66, 0xb8, 11,   0, 0, 0, /* mov eax, KVM_HC_SCHED_YIELD */
	    0x66, 0x31, 0xdb,          /* xor ebx, ebx: APIC id 0 */
	    0x0f, 0x01, 0xc1,          /* vmcall */
	    0x66, 0x89, 0xc7,          /* mov edi, eax */
	    0x66, 0xb8, 11,   0, 0, 0, /* mov eax, KVM_HC_SCHED_YIELD */
	    0x66, 0xbb, 9,    0, 0, 0, /* mov ebx, 9: no such vCPU */
	    0x0f, 0x01, 0xd9,          /* vmmcall */
	    0xfa, 0xf4,                /* cli; hlt */
	};

	for (int no_pv = 0; no_pv < 2; no_pv++) {
		struct vm *t = vm2_new(no_pv);
		struct x86_state st;
		u32 want = no_pv ? (u32)-KVM_ENOSYS : 0;

		vm2_real(t, 1, 0x2000, code, sizeof(code));
		CHECK_EQ(vm2_run(t, 1), VCPU_EXIT_HLT);
		soft_engine_ops.get_state(t->v[1], &st);
		CHECK_EQ(st.regs.gpr[X86_RDI], want);
		CHECK_EQ(st.regs.gpr[X86_RAX], want);
		vm_free(t);
	}
}

/* MSR_KVM_STEAL_TIME: reserved bits #GP, as does the MSR without the
 * feature; a struct outside RAM is accepted (and never written). The
 * preempted flag: set while the vCPU is out, cleared (with the TLB flush
 * another vCPU asked for) before it runs; steal time updated. */
static void test_steal_time(void)
{
	struct vm *t = vm2_new(false), *off = vm2_new(true);
	struct soft_vcpu *v = vm2_vcpu(t, 0);
	struct soft_cpu *cpu = &v->cpu;
	const u64 gpa = 0x3040, lin = 0x7000;
	u8 *st = guest_mem_ptr(&t->m.mem, gpa, KVM_STEAL_SIZE);
	u64 value = 0, steal;
	u32 version;
	struct soft_tlb_entry *e = &cpu->tlb.e[0][soft_tlb_index(lin)];

	CHECK_EQ(soft_pv_wrmsr(&vm2_vcpu(off, 0)->cpu, MSR_KVM_STEAL_TIME, gpa | 1), -EINVAL);
	CHECK_EQ(soft_pv_rdmsr(&vm2_vcpu(off, 0)->cpu, MSR_KVM_STEAL_TIME, &value), -EINVAL);
	CHECK_EQ(soft_pv_rdmsr(cpu, MSR_KVM_STEAL_TIME + 9, &value), -ENOENT);
	if (!(v->vm->pv_features & (1u << KVM_FEATURE_STEAL_TIME))) {
		TEST_SKIP("this host has no readable /proc/thread-self/schedstat");
		goto out;
	}
	CHECK(v->vm->pv_features & (1u << KVM_FEATURE_PV_TLB_FLUSH));
	CHECK_EQ(soft_pv_rdmsr(cpu, MSR_KVM_STEAL_TIME, &value), 0);
	CHECK_EQ(value, 0);
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_STEAL_TIME, gpa | 2 | 1), -EINVAL);
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_STEAL_TIME, 0xd0000000ULL | 1), 0); /* MMIO: kept */
	CHECK_EQ(soft_pv_rdmsr(cpu, MSR_KVM_STEAL_TIME, &value), 0);
	CHECK_EQ(value, 0xd0000001ULL);
	soft_pv_leave(v);
	soft_pv_enter(v); /* nothing to write to */
	soft_engine_ops.thread_start(t->v[0]);
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_STEAL_TIME, gpa | 1), 0);
	soft_pv_enter(v);
	memcpy(&version, st + KVM_STEAL_OFF_VERSION, 4);
	memcpy(&steal, st + KVM_STEAL_OFF_STEAL, 8);
	CHECK_EQ(version, 2);
	CHECK_EQ(steal, 0); /* counted from the MSR write */
	usleep(2000);
	soft_pv_enter(v); /* a millisecond later: updated again */
	memcpy(&version, st + KVM_STEAL_OFF_VERSION, 4);
	CHECK_EQ(version, 4);
	/* Out: preempted. Another vCPU asks for a flush; in: flushed, cleared. */
	soft_tlb_fill(&cpu->tlb, lin, SOFT_PRIV_SUP, fx_guest(t, 0x9000), 0x9000, true, true, true,
		      true, 12, 0);
	CHECK_EQ(e->tag[SOFT_ACC_READ], lin);
	soft_pv_leave(v);
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], KVM_VCPU_PREEMPTED);
	soft_pv_enter(v);
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], 0);
	CHECK_EQ(e->tag[SOFT_ACC_READ], lin); /* no flush asked: kept */
	soft_pv_leave(v);
	st[KVM_STEAL_OFF_PREEMPTED] |= KVM_VCPU_FLUSH_TLB;
	soft_pv_enter(v);
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], 0);
	CHECK(e->tag[SOFT_ACC_READ] != lin); /* global entries too */
	/* Disabled: never written again. */
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_STEAL_TIME, gpa), 0);
	soft_pv_leave(v);
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], 0);
out:
	vm_free(t);
	vm_free(off);
}

/* Which sleeps count as preempted: not an idle HLT (Linux would never find
 * an idle vCPU available), but a HLT with IF = 0 and any time out of run(). */
static void test_preempted_marking(void)
{
	static const u8 code[] = {0xfb, 0xf4, 0xfa, 0xf4}; /* sti; hlt; cli; hlt */
	struct vm *t = vm2_new(false);
	struct soft_vcpu *v = vm2_vcpu(t, 0);
	struct soft_vm *vm = (struct soft_vm *)t->evm;
	const u64 gpa = 0x3000;
	u8 *st = guest_mem_ptr(&t->m.mem, gpa, KVM_STEAL_SIZE);
	struct vm2_thread r = {t, 0, -1};
	pthread_t th;

	if (!(vm->pv_features & (1u << KVM_FEATURE_STEAL_TIME))) {
		TEST_SKIP("this host has no readable /proc/thread-self/schedstat");
		vm_free(t);
		return;
	}
	vm2_real(t, 0, 0x1000, code, sizeof(code));
	CHECK_EQ(soft_pv_wrmsr(&v->cpu, MSR_KVM_STEAL_TIME, gpa | 1), 0);
	pthread_create(&th, NULL, vm2_thread_run, &r);
	usleep(100 * 1000);
	CHECK_EQ(atomic_load(&r.reason), -1); /* asleep in sti; hlt */
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], 0);
	soft_engine_ops.kick(t->v[0]);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&r.reason), VCPU_EXIT_KICKED);
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], KVM_VCPU_PREEMPTED); /* out of run() */
	atomic_store(&r.reason, -1);
	pthread_create(&th, NULL, vm2_thread_run, &r);
	usleep(100 * 1000);
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], 0); /* in run(), halted with IF = 1 again */
	atomic_store(&v->pv.unhalt, true);        /* as KVM_HC_KICK_CPU does */
	vm->apic.cpu->kick(vm->apic.cpu_opaque, 0);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&r.reason), VCPU_EXIT_HLT); /* cli; hlt: stuck */
	CHECK_EQ(vm2_rip(t, 0), 0x1004);
	CHECK_EQ(st[KVM_STEAL_OFF_PREEMPTED], KVM_VCPU_PREEMPTED);
	vm_free(t);
}

/* When the LAPIC lets the guest end an interrupt through PV EOI. */
static void test_pv_eoi_lapic(void)
{
	struct soft_lapic l;

	CHECK_EQ(soft_lapic_init(&l, NULL, 0), 0);
	soft_lapic_mmio_write(&l, 0xf0, 4, 0x1ff, 0); /* SVR: on */
	CHECK(!soft_lapic_pv_eoi_ok(&l));             /* nothing in service */
	CHECK(soft_lapic_set_irq(&l, 0x41, false));
	CHECK_EQ(soft_lapic_ack(&l), 0x41);
	CHECK(soft_lapic_pv_eoi_ok(&l)); /* one edge vector in service, none waiting */
	CHECK(soft_lapic_set_irq(&l, 0x31, false));
	CHECK(!soft_lapic_pv_eoi_ok(&l)); /* one waits */
	soft_lapic_eoi(&l);
	CHECK_EQ(soft_lapic_ack(&l), 0x31);
	CHECK(soft_lapic_pv_eoi_ok(&l));
	CHECK(soft_lapic_set_irq(&l, 0x51, false));
	CHECK_EQ(soft_lapic_ack(&l), 0x51);
	CHECK(!soft_lapic_pv_eoi_ok(&l)); /* nested: two in service */
	soft_lapic_eoi(&l);               /* ends 0x51, the highest */
	CHECK(soft_lapic_pv_eoi_ok(&l));
	soft_lapic_eoi(&l);
	CHECK(soft_lapic_set_irq(&l, 0x61, true));
	CHECK_EQ(soft_lapic_ack(&l), 0x61);
	CHECK(!soft_lapic_pv_eoi_ok(&l)); /* level-triggered: the IOAPIC needs the EOI */
	soft_lapic_eoi(&l);
	CHECK_EQ(soft_lapic_pending_vector(&l), -1);
	CHECK(!soft_lapic_pv_eoi_ok(&l));
	soft_lapic_destroy(&l);
}

/* MSR_KVM_PV_EOI_EN and the bit's round trip: offered for the interrupt in
 * service, the guest clears it instead of its EOI, popek then does the EOI. */
static void test_pv_eoi(void)
{
	struct vm *t = vm2_new(false), *off = vm2_new(true);
	struct soft_vcpu *v = vm2_vcpu(t, 0);
	struct soft_cpu *cpu = &v->cpu;
	const u64 gpa = 0x3100;
	u8 *bit = guest_mem_ptr(&t->m.mem, gpa, 1);
	u64 value = 7;

	CHECK_EQ(soft_pv_wrmsr(&vm2_vcpu(off, 0)->cpu, MSR_KVM_PV_EOI_EN, gpa | 1), -EINVAL);
	CHECK_EQ(soft_pv_rdmsr(&vm2_vcpu(off, 0)->cpu, MSR_KVM_PV_EOI_EN, &value), -EINVAL);
	CHECK_EQ(soft_pv_rdmsr(cpu, MSR_KVM_PV_EOI_EN, &value), 0);
	CHECK_EQ(value, 0);
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_PV_EOI_EN, (gpa + 2) | 1), -EINVAL); /* alignment */
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_PV_EOI_EN, gpa + 2), -EINVAL);       /* even disabled */
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_PV_EOI_EN, 0xfee00000ULL | 1), -EINVAL); /* not RAM */
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_PV_EOI_EN, 0xfee00000ULL), 0); /* disabled: any */
	CHECK_EQ(soft_pv_wrmsr(cpu, MSR_KVM_PV_EOI_EN, gpa | 1), 0);
	CHECK_EQ(soft_pv_rdmsr(cpu, MSR_KVM_PV_EOI_EN, &value), 0);
	CHECK_EQ(value, gpa | 1);

	soft_lapic_mmio_write(&v->lapic, 0xf0, 4, 0x1ff, 0);
	soft_pv_eoi_offer(v);
	CHECK_EQ(*bit, 0); /* nothing in service */
	CHECK(soft_lapic_set_irq(&v->lapic, 0x41, false));
	CHECK_EQ(soft_lapic_ack(&v->lapic), 0x41);
	soft_pv_eoi_offer(v);
	CHECK_EQ(*bit, 1);
	*bit = 0; /* the guest's handler: test-and-clear, no EOI write */
	soft_pv_enter(v);
	CHECK(!soft_lapic_pv_eoi_ok(&v->lapic)); /* popek did the EOI */
	CHECK(soft_lapic_set_irq(&v->lapic, 0x41, false));
	CHECK_EQ(soft_lapic_pending_vector(&v->lapic), 0x41); /* not blocked by 0x41 in service */
	CHECK_EQ(soft_lapic_ack(&v->lapic), 0x41);
	soft_pv_eoi_offer(v);
	CHECK_EQ(*bit, 1);
	soft_pv_enter(v); /* the guest did not end it yet: the bit is taken back */
	CHECK_EQ(*bit, 0);
	CHECK(soft_lapic_pv_eoi_ok(&v->lapic)); /* still in service */
	soft_lapic_eoi(&v->lapic);              /* the guest's own EOI write */
	soft_pv_eoi_offer(v);
	CHECK_EQ(*bit, 0);
	vm_free(t);
	vm_free(off);
}

int main(void)
{
	TEST_RUN(test_abi_intel);
	TEST_RUN(test_abi_amd);
	TEST_RUN(test_clock_pairing);
	TEST_RUN(test_ipi_bitmap);
	TEST_RUN(test_schedstat_parse);
	TEST_RUN(test_steal_update);
	TEST_RUN(test_kick_and_stuck);
	TEST_RUN(test_send_ipi);
	TEST_RUN(test_sched_yield);
	TEST_RUN(test_steal_time);
	TEST_RUN(test_preempted_marking);
	TEST_RUN(test_pv_eoi_lapic);
	TEST_RUN(test_pv_eoi);
	return test_done();
}
