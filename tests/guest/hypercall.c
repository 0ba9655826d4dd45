/* Guest program: KVM's hypercall ABI (Linux Documentation/virt/kvm/x86/
 * hypercalls.rst): VMCALL and VMMCALL, the number in RAX, arguments in RBX
 * RCX RDX RSI, the result in RAX and nothing else changed; unknown numbers
 * give -KVM_ENOSYS, a call at CPL 3 -KVM_EPERM, 32-bit callers get 32-bit
 * numbers and results. Built twice: hypercall (PV features expected, as
 * CPUID 0x40000001 must announce them) and hypercall_nopv (-DPV_OFF, run
 * with --no-pv: only kvmclock announced, the PV calls and MSRs absent). */
#include "guest.h"

#define KVM_HC_VAPIC_POLL_IRQ 1
#define KVM_HC_KICK_CPU 5
#define KVM_HC_CLOCK_PAIRING 9
#define KVM_HC_SEND_IPI 10
#define KVM_HC_SCHED_YIELD 11
#define ENOSYS_RET ((u64)-1000)
#define EPERM_RET ((u64)-1)

/* CPUID 0x40000001 EAX: kvmclock's bits (CLOCKSOURCE 0, CLOCKSOURCE2 3,
 * CLOCKSOURCE_STABLE_BIT 24) and the PV features popek implements. */
#define FEAT_KVMCLOCK ((1u << 3) | (1u << 24))
#define PV_UNHALT (1u << 7)
#define PV_SEND_IPI (1u << 11)
#define PV_SCHED_YIELD (1u << 13)
#define STEAL_TIME (1u << 5)
#define PV_EOI (1u << 6)
#define PV_TLB_FLUSH (1u << 9)
#define FEAT_PV (PV_UNHALT | PV_SEND_IPI | PV_SCHED_YIELD | STEAL_TIME | PV_TLB_FLUSH | PV_EOI)

#define MSR_KVM_STEAL_TIME 0x4b564d03
#define MSR_KVM_PV_EOI_EN 0x4b564d04
#define LAPIC_ISR 0x100
#define LAPIC_ICR_LO 0x300

static bool amd, soft;
static u32 features, apic_id;

/* The registers a hypercall may not change, and RAX. */
struct regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, r8;
};

static void vmcall(struct regs *r)
{
	asm volatile("vmcall"
		     : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx), "+S"(r->rsi),
		       "+D"(r->rdi), "+r"(r->r8)::"memory");
}

static void vmmcall(struct regs *r)
{
	asm volatile("vmmcall"
		     : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx), "+S"(r->rsi),
		       "+D"(r->rdi), "+r"(r->r8)::"memory");
}

static u64 hc(bool amd_insn, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct regs r = {nr, a0, a1, a2, a3, 0, 0};

	if (amd_insn)
		vmmcall(&r);
	else
		vmcall(&r);
	return r.rax;
}

/* The native instruction of the modelled vendor. */
static u64 hc_native(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	return hc(amd, nr, a0, a1, a2, a3);
}

static void test_identity(void)
{
	u32 r[4];

	cpuid(0x40000000, 0, r);
	check(r[1] == 0x4b4d564b && r[2] == 0x564b4d56 && r[3] == 0x4d, "CPUID 0x40000000: KVMKVMKVM");
	cpuid(0, 0, r);
	amd = r[1] == 0x68747541; /* "Auth" */
	cpuid(1, 0, r);
	apic_id = r[1] >> 24;
	cpuid(0x80000002, 0, r);
	soft = r[0] == 0x656b6f70; /* "popek soft x86-64 CPU" */
	cpuid(0x40000001, 0, r);
	features = r[0];
	/* KVM announces more than popek (async PF...): exact on the soft engine. */
#ifdef PV_OFF
	check_eq("--no-pv: CPUID 0x40000001 EAX has kvmclock and nothing else", features & ~1u,
		 FEAT_KVMCLOCK);
#else
	check_eq("CPUID 0x40000001 EAX: kvmclock and the PV features", features & (FEAT_KVMCLOCK | FEAT_PV),
		 FEAT_KVMCLOCK | FEAT_PV);
	if (soft)
		check_eq("soft engine: those and nothing else", features, FEAT_KVMCLOCK | FEAT_PV);
#endif
}

/* KVM_HC_KICK_CPU (PV_UNHALT): a kicked vCPU's HLT ends, even with IF = 0;
 * a kick that comes first ends the next HLT (KVM's pv_unhalted). A vCPU
 * may kick itself. */
static void test_kick(void)
{
#ifdef PV_OFF
	check_eq("--no-pv: KVM_HC_KICK_CPU is unknown", hc_native(KVM_HC_KICK_CPU, 0, apic_id, 0, 0),
		 ENOSYS_RET);
#else
	check_eq("KVM_HC_KICK_CPU to itself: 0", hc_native(KVM_HC_KICK_CPU, 0, apic_id, 0, 0), 0);
	/* If the kick were lost, this would stop the machine for good. */
	asm volatile("cli; hlt" ::: "memory");
	check(true, "a HLT with IF = 0 after a kick ends");
	check_eq("KVM_HC_KICK_CPU with VMMCALL: 0", hc(true, KVM_HC_KICK_CPU, 0, apic_id, 0, 0), 0);
	asm volatile("sti; hlt; cli" ::: "memory");
	check(true, "a HLT with IF = 1 and no interrupt coming ends after a kick too");
	check_eq("KVM_HC_KICK_CPU to an APIC id with no vCPU: 0",
		 hc_native(KVM_HC_KICK_CPU, 0, apic_id + 60, 0, 0), 0);
#endif
}

static void test_basic(void)
{
	for (int amd_insn = 0; amd_insn < 2; amd_insn++) {
		const char *name = amd_insn ? "VMMCALL" : "VMCALL";
		struct regs r = {KVM_HC_VAPIC_POLL_IRQ, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666};

		amd_insn ? vmmcall(&r) : vmcall(&r);
		check(r.rax == 0 && r.rbx == 0x1111 && r.rcx == 0x2222 && r.rdx == 0x3333 &&
			      r.rsi == 0x4444 && r.rdi == 0x5555 && r.r8 == 0x6666,
		      "%s KVM_HC_VAPIC_POLL_IRQ: RAX 0, other registers kept (rax %#lx rbx %#lx "
		      "rcx %#lx rdx %#lx rsi %#lx)",
		      name, r.rax, r.rbx, r.rcx, r.rdx, r.rsi);
		r = (struct regs){0x12345, 1, 2, 3, 4, 5, 6};
		amd_insn ? vmmcall(&r) : vmcall(&r);
		check(r.rax == ENOSYS_RET && r.rbx == 1 && r.rcx == 2 && r.rdx == 3 && r.rsi == 4,
		      "%s with an unknown number: -KVM_ENOSYS (rax %#lx)", name, r.rax);
		/* 64-bit callers pass a 64-bit number: 1 + 2^32 is not 1. */
		check_eq("a 64-bit number is not cut to 32 bits",
			 hc(amd_insn, (1ULL << 32) | KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0), ENOSYS_RET);
	}
}

/* struct kvm_clock_pairing. */
static struct {
	s64 sec, nsec;
	u64 tsc;
	u32 flags, pad[9];
} pairing;

static void test_clock_pairing(void)
{
	u64 t0, t1, ret;

	memset(&pairing, 0xaa, sizeof(pairing));
	t0 = rdtsc();
	ret = hc_native(KVM_HC_CLOCK_PAIRING, (u64)&pairing, 0, 0, 0);
	t1 = rdtsc();
	check_eq("KVM_HC_CLOCK_PAIRING wall clock: 0", ret, 0);
	check(pairing.tsc >= t0 && pairing.tsc <= t1,
	      "its TSC is between the RDTSCs around the call (%lu <= %lu <= %lu)", t0, pairing.tsc,
	      t1);
	check(pairing.sec > 1600000000 && pairing.nsec >= 0 && pairing.nsec < 1000000000 &&
		      pairing.flags == 0 && pairing.pad[8] == 0,
	      "its wall clock is a time after 2020 (sec %ld nsec %ld flags %u)", pairing.sec,
	      pairing.nsec, pairing.flags);
	check_eq("clock type 1: -KVM_EOPNOTSUPP", hc_native(KVM_HC_CLOCK_PAIRING, (u64)&pairing, 1, 0, 0),
		 (u64)-95);
	check_eq("a structure outside RAM: -KVM_EFAULT",
		 hc_native(KVM_HC_CLOCK_PAIRING, TESTDEV_MMIO, 0, 0, 0), (u64)-14);
}

/* KVM_HC_SEND_IPI: a0/a1 a bitmap of APIC ids from a2, a3 the ICR; the
 * result counts the APICs that took it. */
#define IPI_VEC 0x41
#ifndef PV_OFF
static volatile u64 ipis, nmis;

static void on_ipi(struct trap_frame *f)
{
	(void)f;
	ipis++;
	lapic_eoi();
}

static void on_nmi(struct trap_frame *f)
{
	(void)f;
	nmis++;
}
#endif

static void test_send_ipi(void)
{
#ifdef PV_OFF
	check_eq("--no-pv: KVM_HC_SEND_IPI is unknown",
		 hc_native(KVM_HC_SEND_IPI, 1, 0, apic_id, IPI_VEC), ENOSYS_RET);
#else
	bool ok;

	lapic_enable();
	trap_set_handler(IPI_VEC, on_ipi);
	trap_set_handler(2, on_nmi);
	check_eq("KVM_HC_SEND_IPI to itself: 1 APIC took it",
		 hc_native(KVM_HC_SEND_IPI, 1, 0, apic_id, IPI_VEC), 1);
	ok = wait_count(&ipis, 1, WAIT_LONG) && !wait_count(&ipis, 2, WAIT_SHORT);
	check(ok, "the interrupt came, once (%lu)", ipis);
	check_eq("with VMMCALL too", hc(true, KVM_HC_SEND_IPI, 1, 0, apic_id, IPI_VEC), 1);
	ok = wait_count(&ipis, 2, WAIT_LONG);
	check(ok, "and its interrupt came (%lu)", ipis);
	check_eq("APIC ids with no vCPU (bit 1 of a0 is a2 + 1, bit 0 of a1 a2 + 64): 0",
		 hc_native(KVM_HC_SEND_IPI, 2, 1, apic_id, IPI_VEC), 0);
	check_eq("an empty bitmap: 0", hc_native(KVM_HC_SEND_IPI, 0, 0, apic_id, IPI_VEC), 0);
	check_eq("a logical destination: -KVM_EINVAL",
		 hc_native(KVM_HC_SEND_IPI, 1, 0, apic_id, 0x800 | IPI_VEC), (u64)-22);
	check_eq("a shorthand: -KVM_EINVAL",
		 hc_native(KVM_HC_SEND_IPI, 1, 0, apic_id, 0x40000 | IPI_VEC), (u64)-22);
	ok = !wait_count(&ipis, 3, WAIT_SHORT);
	check(ok, "and no interrupt for those (%lu)", ipis);
	check_eq("an NMI to itself: 1", hc_native(KVM_HC_SEND_IPI, 1, 0, apic_id, 0x400), 1);
	ok = wait_count(&nmis, 1, WAIT_LONG);
	check(ok, "the NMI came (%lu)", nmis);
	trap_set_handler(2, NULL);
#endif
}

/* KVM_HC_SCHED_YIELD: a hint, 0 whatever the APIC id. */
static void test_sched_yield(void)
{
#ifdef PV_OFF
	check_eq("--no-pv: KVM_HC_SCHED_YIELD is unknown",
		 hc_native(KVM_HC_SCHED_YIELD, apic_id, 0, 0, 0), ENOSYS_RET);
#else
	check_eq("KVM_HC_SCHED_YIELD to itself: 0", hc_native(KVM_HC_SCHED_YIELD, apic_id, 0, 0, 0),
		 0);
	check_eq("KVM_HC_SCHED_YIELD to no vCPU: 0",
		 hc(true, KVM_HC_SCHED_YIELD, apic_id + 60, 0, 0, 0), 0);
#endif
}

#ifndef PV_OFF
/* struct kvm_steal_time (msr.rst). */
static struct {
	u64 steal;
	u32 version, flags;
	u8 preempted, pad[3];
	u32 pad2[11];
} st __attribute__((aligned(64)));

static volatile u64 timer_ticks;

static void on_timer(struct trap_frame *f)
{
	(void)f;
	timer_ticks++;
	lapic_eoi();
}

/* Sleeps in HLT until the LAPIC timer fires (about 1 ms). */
static void hlt_on_timer(void)
{
	u64 t = timer_ticks;

	lapic_write(LAPIC_TIMER_INIT, 1000000);
	while (timer_ticks == t)
		asm volatile("sti; hlt; cli" ::: "memory");
}

/* The steal field read as Linux's kvm_steal_clock() does. */
static u64 steal_read(u32 *version)
{
	u32 v;
	u64 steal;

	/* Bounded: an odd version the host never moves is reported, not waited for. */
	for (int i = 0; i < 1000000; i++) {
		v = *(volatile u32 *)&st.version;
		asm volatile("" ::: "memory");
		steal = *(volatile u64 *)&st.steal;
		asm volatile("" ::: "memory");
		if (!(v & 1) && v == *(volatile u32 *)&st.version)
			break;
	}
	*version = v;
	return steal;
}
#endif

/* STEAL_TIME: MSR_KVM_STEAL_TIME takes a 64-byte aligned struct and the
 * enable bit; the host keeps steal (and its version) current and the
 * preempted byte 0 while the vCPU runs. (The preempted flag and the TLB
 * flush asked through it need a second vCPU: tests/unit/test_soft_pv.c.) */
static void test_steal_time(void)
{
#ifdef PV_OFF
	check(msr_access_faults(MSR_KVM_STEAL_TIME, false, 0),
	      "--no-pv: RDMSR MSR_KVM_STEAL_TIME: #GP");
	check(msr_access_faults(MSR_KVM_STEAL_TIME, true, 0),
	      "--no-pv: WRMSR MSR_KVM_STEAL_TIME: #GP");
#else
	u64 s0, s1;
	u32 v0, v1;

	check_eq("MSR_KVM_STEAL_TIME reads 0 at first", rdmsr(MSR_KVM_STEAL_TIME), 0);
	check(msr_access_faults(MSR_KVM_STEAL_TIME, true, (u64)&st | 2 | 1),
	      "reserved bits (5:1) set: #GP");
	check(!msr_access_faults(MSR_KVM_STEAL_TIME, true, TESTDEV_MMIO | 1),
	      "a struct outside RAM: accepted, as KVM does");
	check_eq("and read back", rdmsr(MSR_KVM_STEAL_TIME), TESTDEV_MMIO | 1);
	memset(&st, 0, sizeof(st));
	st.version = 41; /* odd: the host makes it even before counting */
	wrmsr(MSR_KVM_STEAL_TIME, (u64)&st | 1);
	check_eq("enabled: read back", rdmsr(MSR_KVM_STEAL_TIME), (u64)&st | 1);
	lapic_enable();
	trap_set_handler(0x42, on_timer);
	lapic_write(LAPIC_TIMER_DIV, 0xB);
	lapic_write(LAPIC_LVT_TIMER, 0x42);
	hlt_on_timer();
	s0 = steal_read(&v0);
	check(v0 >= 42 && !(v0 & 1), "the host updated it (version %u, even)", v0);
	check_eq("preempted is 0 while the vCPU runs", st.preempted, 0);
	for (int i = 0; i < 3; i++)
		hlt_on_timer();
	s1 = steal_read(&v1);
	check(v1 > v0 && s1 >= s0, "later: version %u -> %u, steal %lu -> %lu ns", v0, v1, s0, s1);
	check_eq("preempted is 0 again after HLT", st.preempted, 0);

	wrmsr(MSR_KVM_STEAL_TIME, 0);
	v0 = st.version;
	hlt_on_timer();
	check(rdmsr(MSR_KVM_STEAL_TIME) == 0 && st.version == v0,
	      "disabled: the struct is left alone (version %u)", st.version);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
#endif
}

/* PV_EOI: MSR_KVM_PV_EOI_EN names a 4-byte aligned word in RAM; while the
 * host sets its bit 0, the guest's handler may clear it instead of writing
 * EOI (Linux's kvm_guest_apic_eoi_write()), and the host ends the interrupt. */
#define EOI_VEC 0x43
#ifndef PV_OFF
static volatile u64 pv_eoi_word __attribute__((aligned(8)));
static volatile u64 eoi_irqs, eoi_bits;

static void on_eoi_ipi(struct trap_frame *f)
{
	(void)f;
	eoi_irqs++;
	if (pv_eoi_word & 1) {
		eoi_bits++;
		pv_eoi_word &= ~1ULL; /* the PV EOI: no write to the APIC */
	} else {
		lapic_eoi();
	}
}

static void self_ipi(u8 vec)
{
	lapic_write(LAPIC_ICR_LO, (1u << 18) | vec); /* shorthand self, fixed */
}
#endif

static void test_pv_eoi(void)
{
#ifdef PV_OFF
	check(msr_access_faults(MSR_KVM_PV_EOI_EN, false, 0),
	      "--no-pv: RDMSR MSR_KVM_PV_EOI_EN: #GP");
	check(msr_access_faults(MSR_KVM_PV_EOI_EN, true, 0),
	      "--no-pv: WRMSR MSR_KVM_PV_EOI_EN: #GP");
#else
	u64 base = (u64)&pv_eoi_word, bits;
	bool ok;

	check_eq("MSR_KVM_PV_EOI_EN reads 0 at first", rdmsr(MSR_KVM_PV_EOI_EN), 0);
	check(msr_access_faults(MSR_KVM_PV_EOI_EN, true, (base + 2) | 1),
	      "an address not 4-byte aligned: #GP");
	check(msr_access_faults(MSR_KVM_PV_EOI_EN, true, TESTDEV_MMIO | 1),
	      "enabled outside RAM: #GP");
	pv_eoi_word = 0;
	check(!msr_access_faults(MSR_KVM_PV_EOI_EN, true, base | 1), "enabled in RAM");
	check_eq("and read back", rdmsr(MSR_KVM_PV_EOI_EN), base | 1);
	lapic_enable();
	trap_set_handler(EOI_VEC, on_eoi_ipi);
	/* KVM with APICv never offers it (the CPU delivers the interrupts):
	 * there only the interrupts must keep coming. */
	self_ipi(EOI_VEC);
	ok = wait_count(&eoi_irqs, 1, WAIT_LONG);
	check(ok && (eoi_bits == 1 || !soft), "the handler found the PV EOI bit set (%lu of %lu)",
	      eoi_bits, eoi_irqs);
	/* Had the host not ended it, the vector would block itself. */
	self_ipi(EOI_VEC);
	ok = wait_count(&eoi_irqs, 2, WAIT_LONG);
	check(ok && (eoi_bits == 2 || !soft),
	      "a second one came, the first ended by PV EOI (%lu of %lu)", eoi_bits, eoi_irqs);
	for (int i = 0; i < 100 && (lapic_read(LAPIC_ISR + 0x20) & (1u << (EOI_VEC & 31))); i++)
		asm volatile("sti; nop; cli" ::: "memory");
	check_eq("and nothing is left in service", lapic_read(LAPIC_ISR + 0x20) & (1u << (EOI_VEC & 31)),
		 0);
	wrmsr(MSR_KVM_PV_EOI_EN, 0);
	bits = eoi_bits;
	self_ipi(EOI_VEC);
	ok = wait_count(&eoi_irqs, 3, WAIT_LONG);
	check(ok && eoi_bits == bits, "disabled: the bit is not set any more (%lu of %lu)", eoi_bits,
	      eoi_irqs);
#endif
}

/* 32-bit callers (compatibility mode, GDT entry 0x08: 32-bit ring 0 code):
 * the number and the result are 32 bits, the result zero-extended. */
u64 compat_call(u64 rax, u64 amd_insn);
asm(".text\n"
    "compat_call:\n\t" /* rdi = RAX to pass, rsi = 1 for VMMCALL */
    "push %rbx\n\t"
    "mov %rdi, %rax\n\t"
    "mov %rsi, %rbx\n\t"
    "lea compat_far(%rip), %rcx\n\t"
    "lcall *(%rcx)\n\t"
    "pop %rbx\n\t"
    "ret\n"
    ".code32\n"
    "compat_code:\n\t"
    "test %ebx, %ebx\n\t"
    "jnz 1f\n\t"
    "vmcall\n\t"
    "lret\n"
    "1:\tvmmcall\n\t"
    "lret\n"
    ".code64\n"
    ".data\n"
    "compat_far: .long compat_code\n\t.word 0x08\n"
    ".text\n");

static void test_compat(void)
{
	for (u64 amd_insn = 0; amd_insn < 2; amd_insn++) {
		u64 r = compat_call(0xffffffff00000000ULL | KVM_HC_VAPIC_POLL_IRQ, amd_insn);
		check_eq(amd_insn ? "compatibility mode VMMCALL: RAX[31:0] is the number, result 0"
				  : "compatibility mode VMCALL: RAX[31:0] is the number, result 0",
			 r, 0);
		r = compat_call(0x12345, amd_insn);
		check_eq("compatibility mode: -KVM_ENOSYS as 32 bits, zero-extended", r,
			 (u32)ENOSYS_RET);
	}
}

/* Ring 3: both instructions, results in user memory; UD2 returns to ring 0
 * (on_user_ud). A #GP is recorded and the instruction skipped. */
extern char __user_start[], __user_end[], user_hc[], user_hc_vmcall[];
u64 user_results[4] __attribute__((section(".user.data"), aligned(4096)));
static u64 user_stack[512] __attribute__((section(".user.data"), aligned(16)));
u64 kernel_rsp;
static volatile u64 user_gp_rip, user_gps;
u64 enter_user(u64 rip, u64 rsp);
asm(".text\n"
    "enter_user:\n\t"
    "push %rbp\n\tpush %rbx\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "mov %rsp, kernel_rsp(%rip)\n\t"
    "pushq $0x2b\n\tpush %rsi\n\tpushq $0x202\n\tpushq $0x33\n\tpush %rdi\n\t"
    "iretq\n"
    "user_return:\n\t"
    "mov kernel_rsp(%rip), %rsp\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbx\n\tpop %rbp\n\t"
    "ret\n"
    ".section .user.text, \"ax\"\n"
    ".globl user_hc, user_hc_vmcall\n"
    "user_hc:\n\t"
    "movabs $user_results, %r8\n\t"
    "mov $1, %eax\n"
    "user_hc_vmcall:\n\t"
    "vmcall\n\t"
    "mov %rax, (%r8)\n\t"
    "mov $1, %eax\n\t"
    "vmmcall\n\t"
    "mov %rax, 8(%r8)\n\t"
    "mov $0x12345, %eax\n\t"
    "vmcall\n\t"
    "mov %rax, 16(%r8)\n\t"
    "mov $0x12345, %eax\n\t"
    "vmmcall\n\t"
    "mov %rax, 24(%r8)\n\t"
    "ud2\n"
    ".text\n");

extern char user_return[];

static void on_user_ud(struct trap_frame *f)
{
	f->rip = (u64)user_return;
	f->cs = SEL_KCODE;
	f->ss = SEL_KDATA;
	f->rflags &= ~RFLAGS_IF;
}

static void on_user_gp(struct trap_frame *f)
{
	if ((f->cs & 3) != 3) {
		printf("not ok - #GP in ring 0 at %#lx\n", f->rip);
		guest_exit(false);
	}
	if (!user_gps++)
		user_gp_rip = f->rip;
	f->rip += 3; /* skip the VMCALL */
}

static void test_cpl3(void)
{
	for (u64 va = (u64)__user_start; va < (u64)__user_end; va += 4096)
		*paging_pte(va) |= PTE_US;
	paging_flush();
	trap_set_handler(6, on_user_ud);
	trap_set_handler(13, on_user_gp);
	trap_reset();
	enter_user((u64)user_hc, (u64)&user_stack[512]);
	trap_set_handler(13, NULL);
	/* KVM: kvm_emulate_hypercall() answers -KVM_EPERM at CPL > 0. The other
	 * vendor's instruction goes through KVM's emulator first, where VMCALL
	 * is privileged: #GP(0) on AMD. */
	if (amd) {
		check_eq("CPL 3 VMCALL on AMD: #GP(0), twice", user_gps, 2);
		check_eq("CPL 3 VMCALL on AMD: the first #GP at the first VMCALL", user_gp_rip,
			 (u64)user_hc_vmcall);
		check_eq("CPL 3 VMCALL on AMD: RAX unchanged", user_results[0], 1);
	} else {
		check_eq("CPL 3 VMCALL on Intel: no fault", user_gps, 0);
		check_eq("CPL 3 VMCALL: -KVM_EPERM", user_results[0], EPERM_RET);
	}
	check_eq("CPL 3 VMMCALL: -KVM_EPERM", user_results[1], EPERM_RET);
	check_eq("CPL 3 unknown number: -KVM_EPERM as well (VMCALL)",
		 user_results[2], amd ? 0x12345 : EPERM_RET);
	check_eq("CPL 3 unknown number: -KVM_EPERM as well (VMMCALL)", user_results[3], EPERM_RET);
	check(!(read_rflags() & RFLAGS_IF), "back in ring 0 with interrupts off");
}

void test_main(void)
{
	test_identity();
	test_basic();
	test_clock_pairing();
	test_kick();
	test_send_ipi();
	test_sched_yield();
	test_steal_time();
	test_pv_eoi();
	test_compat();
	test_cpl3();
}
