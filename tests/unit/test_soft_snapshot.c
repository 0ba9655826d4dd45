/* The soft engine's vCPU and VM state to and from the engine-neutral forms
 * (cpu/soft/snapshot.h): a vCPU in a busy state is saved, encoded, decoded
 * and loaded into a vCPU of another VM, whose own save then says the same;
 * guest time continues from the save; states the soft engine cannot hold
 * (a TSC rate other than its 1 GHz among them) are refused with a reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "cpu/engine.h"
#include "cpu/soft/snapshot.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vm.h"
#include "soft_vm_fixture.h"
#include "test.h"

/* A 64-bit kernel's state: paging on, syscalls set up, an SSE register and
 * the x87 stack used, the LAPIC's timer running and TPR raised, an NMI
 * waiting behind a running NMI handler, in an interrupt shadow. */
static void busy_state(struct vm *t, struct x86_vcpu_state *st)
{
	struct soft_vcpu *v = (struct soft_vcpu *)t->v[0];
	u8 *pml4 = guest_mem_ptr(&t->m.mem, 0x10000, 4096);

	CHECK_EQ(soft_engine_ops.save_vcpu(t->v[0], st), 0); /* a reset vCPU's form */
	memset(pml4, 0, 4096);
	for (unsigned i = 0; i < 16; i++)
		st->st.regs.gpr[i] = 0x0101010101010101ULL * (i + 3);
	st->st.regs.rip = 0xffffffff81000000ULL;
	st->st.regs.rflags = 0x282 | X86_RFLAGS_ZF | X86_RFLAGS_CF;
	for (unsigned i = 0; i < 6; i++)
		st->st.sregs.seg[i] = (struct x86_seg){.limit = 0xffffffff, .selector = 0x18,
						       .type = 3, .s = 1, .present = 1, .db = 1,
						       .g = 1};
	st->st.sregs.seg[X86_CS] = (struct x86_seg){.limit = 0xffffffff, .selector = 0x10,
						    .type = 11, .s = 1, .present = 1, .l = 1,
						    .g = 1};
	st->st.sregs.seg[X86_GS].base = 0xffff888007c00000ULL;
	st->st.sregs.tr = (struct x86_seg){.base = 0x5000, .limit = 0x67, .selector = 0x40,
					   .type = 11, .present = 1};
	st->st.sregs.gdt = (struct x86_dtable){0x4000, 0x7f};
	st->st.sregs.idt = (struct x86_dtable){0x6000, 0xfff};
	st->st.sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP |
			   X86_CR0_AM | X86_CR0_PG;
	st->st.sregs.cr2 = 0x7fff12345000ULL;
	st->st.sregs.cr3 = 0x10000;
	st->st.sregs.cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	st->st.sregs.efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	st->dr[1] = 0xffffffff81234567ULL;
	st->dr7 = 0x400 | 0x4; /* L1 (breakpoints are stored, not yet fired) */
	st->fxsave[0] = 0x7f;                 /* FCW 0x037f */
	st->fxsave[1] = 0x03;
	st->fxsave[24] = 0x80;                /* MXCSR 0x1f80 | FZ */
	st->fxsave[25] = 0x9f;
	memset(st->fxsave + 160 + 16 * 3, 0xa5, 16); /* XMM3 */
	memset(st->fxsave + 32, 0x3c, 10);           /* ST0's bytes */
	CHECK_EQ(vcpu_state_set_msr(st, 0xc0000082, 0xffffffff81a00000ULL), 0); /* LSTAR */
	CHECK_EQ(vcpu_state_set_msr(st, 0xc0000081, 0x0023001000000000ULL), 0); /* STAR */
	CHECK_EQ(vcpu_state_set_msr(st, 0xc0000102, 0x7f0000000000ULL), 0);     /* KERNEL_GS_BASE */
	CHECK_EQ(vcpu_state_set_msr(st, 0x175, 0xfffffe0000002000ULL), 0);      /* SYSENTER_ESP */
	CHECK_EQ(vcpu_state_set_msr(st, 0x277, 0x0007010600070106ULL), 0);      /* PAT */
	CHECK_EQ(vcpu_state_set_msr(st, 0x10, 5000000000ULL), 0);               /* TSC */
	x86_lapic_set_reg(st->lapic, 0x80, 0x20);                            /* TPR */
	x86_lapic_set_reg(st->lapic, 0xf0, 0x1ff);                           /* SVR: enabled */
	x86_lapic_set_reg(st->lapic, 0x320, 0x20040 | 0x000);                /* periodic, vector 0x40 */
	x86_lapic_set_reg(st->lapic, 0x3e0, 0xb);                            /* divide by 1 */
	/* Seconds left, so that no expiry (which would reload the count and
	 * raise the vector) falls inside the test on a loaded host; a count
	 * just started, as a fresh VM's guest time cannot have run a part of
	 * it already (lapic_timer_resume_locked). */
	x86_lapic_set_reg(st->lapic, 0x380, 4000000000u);                    /* TMICT */
	x86_lapic_set_reg(st->lapic, 0x390, 4000000000u);                    /* TMCCT */
	st->ev = (struct x86_events){.nmi_pending = 1, .nmi_masked = true,
				     .intr_shadow = X86_SHADOW_STI, .mp_state = X86_MP_RUNNABLE};
	(void)v;
}

/* Through the encoding, as a snapshot file carries it. */
static void through_file(const struct x86_vcpu_state *in, struct x86_vcpu_state *out)
{
	struct snap_out o;
	struct snap_in i;

	snap_out_init(&o);
	vcpu_state_encode(in, &o);
	snap_in_init(&i, o.buf, o.len);
	CHECK_EQ(vcpu_state_decode(&i, out), 0);
	snap_out_free(&o);
}

static bool msr_is(const struct x86_vcpu_state *st, u32 index, u64 want)
{
	u64 v;

	return vcpu_state_msr(st, index, &v) && v == want;
}

static void round_trip(enum cpu_vendor vendor)
{
	struct vm *a = vm_new(vendor), *b = vm_new(vendor);
	struct x86_vcpu_state *want = malloc(sizeof(*want)), *s1 = malloc(sizeof(*s1)),
			      *s2 = malloc(sizeof(*s2));
	struct x86_irqchip_state ic;
	struct x86_clock_state clock;
	char why[200] = "";
	u64 tsc1, tsc2;

	busy_state(a, want);
	CHECK_EQ(soft_engine_ops.load_vcpu(a->v[0], want, why, sizeof(why)), 0);
	if (why[0])
		printf("  load: %s\n", why);
	CHECK_EQ(soft_engine_ops.save_vm(a->evm, &ic, &clock), 0);
	CHECK_EQ(clock.tsc_khz, 1000000); /* SOFT_TSC_KHZ */
	CHECK_EQ(soft_engine_ops.save_vcpu(a->v[0], s1), 0);
	/* What went in comes out (the TSC and the timer's count move on). */
	CHECK(!memcmp(&s1->st.regs, &want->st.regs, sizeof(want->st.regs)));
	CHECK(!memcmp(&s1->st.sregs.seg, &want->st.sregs.seg, sizeof(want->st.sregs.seg)));
	CHECK_EQ(s1->st.sregs.cr3, 0x10000);
	CHECK_EQ(s1->st.sregs.efer, want->st.sregs.efer);
	CHECK_EQ(s1->st.sregs.cr8, 2); /* TPR 0x20 */
	CHECK(!memcmp(s1->fxsave, want->fxsave, 160 + 16 * 4));
	CHECK_EQ(s1->dr[1], want->dr[1]);
	CHECK_EQ(s1->dr7, want->dr7);
	CHECK(msr_is(s1, 0xc0000082, 0xffffffff81a00000ULL));
	CHECK(msr_is(s1, 0x277, 0x0007010600070106ULL));
	CHECK(vcpu_state_msr(s1, 0x10, &tsc1) && tsc1 >= 5000000000ULL && tsc1 < 6000000000ULL);
	CHECK_EQ(s1->ev.nmi_pending, 1);
	CHECK(s1->ev.nmi_masked);
	CHECK_EQ(s1->ev.intr_shadow, X86_SHADOW_STI);
	CHECK_EQ(x86_lapic_reg(s1->lapic, 0x380), 4000000000u);
	CHECK(x86_lapic_reg(s1->lapic, 0x390) <= 4000000000u);
	CHECK(x86_lapic_reg(s1->lapic, 0x390) > 3000000000u);

	/* Into another VM, later: its guest time continues from the save. */
	CHECK_EQ(soft_engine_ops.load_vm(b->evm, &ic, &clock, why, sizeof(why)), 0);
	through_file(s1, want);
	CHECK_EQ(soft_engine_ops.load_vcpu(b->v[0], want, why, sizeof(why)), 0);
	CHECK_EQ(soft_engine_ops.save_vcpu(b->v[0], s2), 0);
	CHECK(!memcmp(&s2->st, &s1->st, sizeof(s1->st)));
	CHECK(!memcmp(s2->fxsave, s1->fxsave, sizeof(s1->fxsave)));
	CHECK(!memcmp(&s2->ev, &s1->ev, sizeof(s1->ev)));
	CHECK_EQ(s2->nr_msrs, s1->nr_msrs);
	for (u32 i = 0; i < s1->nr_msrs; i++)
		if (s1->msrs[i].index != 0x10)
			CHECK(msr_is(s2, s1->msrs[i].index, s1->msrs[i].value));
	CHECK(vcpu_state_msr(s2, 0x10, &tsc2) && tsc2 >= tsc1 && tsc2 - tsc1 < 1000000000ULL);
	CHECK(!memcmp(s2->lapic, s1->lapic, 0x390)); /* all but the running count */
	/* The TSC offset itself is kept, not re-derived at each vCPU's load:
	 * vCPUs whose TSCs agreed still agree to the ns. */
	CHECK_EQ(((struct soft_vcpu *)b->v[0])->cpu.msr.tsc_offset,
		 ((struct soft_vcpu *)a->v[0])->cpu.msr.tsc_offset);
	CHECK(x86_lapic_reg(s2->lapic, 0x390) <= x86_lapic_reg(s1->lapic, 0x390));
	/* vCPU 1 never started: it still waits for its SIPI. */
	CHECK_EQ(soft_engine_ops.save_vcpu(a->v[1], s1), 0);
	CHECK_EQ(s1->ev.mp_state, X86_MP_WAIT_SIPI);
	CHECK_EQ(soft_engine_ops.load_vcpu(b->v[1], s1, why, sizeof(why)), 0);
	CHECK_EQ(soft_engine_ops.save_vcpu(b->v[1], s2), 0);
	CHECK_EQ(s2->ev.mp_state, X86_MP_WAIT_SIPI);
	free(want);
	free(s1);
	free(s2);
	vm_free(a);
	vm_free(b);
}

static void test_round_trip_intel(void) { round_trip(CPU_VENDOR_INTEL); }
static void test_round_trip_amd(void) { round_trip(CPU_VENDOR_AMD); }

/* Each state is refused with a reason naming what the soft engine lacks. */
static void refused(void (*fn)(struct x86_vcpu_state *), const char *want)
{
	struct vm *t = vm_new(CPU_VENDOR_INTEL);
	struct x86_vcpu_state *st = malloc(sizeof(*st));
	char why[200] = "";

	busy_state(t, st);
	fn(st);
	CHECK_EQ(soft_engine_ops.load_vcpu(t->v[0], st, why, sizeof(why)), -EINVAL);
	if (!strstr(why, want)) {
		printf("  reason '%s' lacks '%s'\n", why, want);
		CHECK(!"the reason names the problem");
	}
	free(st);
	vm_free(t);
}

static void avx(struct x86_vcpu_state *st) { st->xcr0 = 7; }
static void mxcsr(struct x86_vcpu_state *st) { st->fxsave[26] = 0x40; } /* bit 22 */
static void unknown_msr(struct x86_vcpu_state *st) { vcpu_state_set_msr(st, 0xc0010117, 1); }
static void bad_pat(struct x86_vcpu_state *st) { vcpu_state_set_msr(st, 0x277, 0x02); }
static void cr4_bit(struct x86_vcpu_state *st) { st->st.sregs.cr4 |= 1ULL << 30; }
static void pg_no_pe(struct x86_vcpu_state *st) { st->st.sregs.cr0 &= ~X86_CR0_PE; }
static void lma_no_pae(struct x86_vcpu_state *st) { st->st.sregs.cr4 &= ~X86_CR4_PAE; }
static void apic_base(struct x86_vcpu_state *st) { st->st.sregs.apic_base |= 1ULL << 9; }
static void lapic_id(struct x86_vcpu_state *st) { x86_lapic_set_reg(st->lapic, 0x20, 5u << 24); }

static void test_refused(void)
{
	refused(avx, "XCR0");
	refused(mxcsr, "MXCSR");
	refused(unknown_msr, "MSR 0xc0010117 has no counterpart");
	refused(bad_pat, "MSR 0x277");
	refused(lapic_id, "APIC id 5");
	refused(cr4_bit, "CR4");
	refused(apic_base, "APIC base");
	refused(pg_no_pe, "CR0");
	refused(lma_no_pae, "CR4.PAE");
}

/* The soft engine's TSC runs at 1 GHz only: a snapshot's other rate (or
 * none) is refused naming both rates, and the VM's clock is left as it was. */
static void tsc_rate_refused(u32 khz)
{
	struct vm *t = vm_new(CPU_VENDOR_INTEL);
	struct soft_vm *vm = (struct soft_vm *)t->evm;
	struct x86_irqchip_state ic;
	struct x86_clock_state clock;
	char why[200] = "", want[100];
	u64 base;

	CHECK_EQ(soft_engine_ops.save_vm(t->evm, &ic, &clock), 0);
	clock.guest_ns += 5000000000ULL;
	clock.tsc_khz = khz;
	base = vm->clock_base;
	CHECK_EQ(soft_engine_ops.load_vm(t->evm, &ic, &clock, why, sizeof(why)), -EINVAL);
	snprintf(want, sizeof(want),
		 "the snapshot's TSC runs at %u kHz; the soft engine's runs at 1000000 kHz", khz);
	if (strcmp(why, want)) {
		printf("  reason '%s', wanted '%s'\n", why, want);
		CHECK(!"the reason names both rates");
	}
	CHECK_EQ(vm->clock_base, base);
	vm_free(t);
}

static void test_tsc_rate_refused(void)
{
	tsc_rate_refused(2495000);
	tsc_rate_refused(1000001);
	tsc_rate_refused(0);
}

int main(void)
{
	TEST_RUN(test_round_trip_intel);
	TEST_RUN(test_round_trip_amd);
	TEST_RUN(test_refused);
	TEST_RUN(test_tsc_rate_refused);
	return test_done();
}
