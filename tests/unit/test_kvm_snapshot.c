/* KVM's UAPI state to and from the engine-neutral snapshot forms
 * (cpu/kvm/kvm_snapshot.h), without /dev/kvm: each piece goes neutral ->
 * KVM (checked by what KVM's fields mean) -> neutral unchanged, and KVM ->
 * neutral -> KVM unchanged; a state the soft engine saved converts without
 * refusal and comes back the same; what one side cannot hold is refused
 * with a reason naming it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "cpu/engine.h"
#include "cpu/kvm/kvm_snapshot.h"
#include "cpu/snapshot_msrs.h"
#include "soft_vm_fixture.h"
#include "test.h"

static char why[200];

/* A refusal whose reason names the problem. */
#define REFUSED(call, want)                                                                        \
	do {                                                                                       \
		why[0] = 0;                                                                        \
		CHECK_EQ((call), -EINVAL);                                                         \
		if (!strstr(why, (want))) {                                                        \
			printf("  reason '%s' lacks '%s'\n", why, (want));                         \
			CHECK(!"the reason names the problem");                                    \
		}                                                                                  \
	} while (0)

static u32 rd32(const void *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return v;
}

static u64 rd64(const void *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

/* Field by field: the structures have padding, which memcmp would read. */
static bool seg_eq(const struct x86_seg *a, const struct x86_seg *b)
{
	return a->base == b->base && a->limit == b->limit && a->selector == b->selector &&
	       a->type == b->type && a->s == b->s && a->dpl == b->dpl && a->present == b->present &&
	       a->avl == b->avl && a->l == b->l && a->db == b->db && a->g == b->g &&
	       a->unusable == b->unusable;
}

static bool sregs_eq(const struct x86_sregs *a, const struct x86_sregs *b)
{
	for (unsigned i = 0; i < 6; i++)
		if (!seg_eq(&a->seg[i], &b->seg[i]))
			return false;
	return seg_eq(&a->tr, &b->tr) && seg_eq(&a->ldt, &b->ldt) && a->gdt.base == b->gdt.base &&
	       a->gdt.limit == b->gdt.limit && a->idt.base == b->idt.base &&
	       a->idt.limit == b->idt.limit && a->cr0 == b->cr0 && a->cr2 == b->cr2 &&
	       a->cr3 == b->cr3 && a->cr4 == b->cr4 && a->cr8 == b->cr8 && a->efer == b->efer &&
	       a->apic_base == b->apic_base;
}

static bool events_eq(const struct x86_events *a, const struct x86_events *b)
{
	return a->exc_pending == b->exc_pending && a->exc_vector == b->exc_vector &&
	       a->exc_has_error == b->exc_has_error && a->exc_error == b->exc_error &&
	       a->nmi_pending == b->nmi_pending && a->nmi_masked == b->nmi_masked &&
	       a->intr_shadow == b->intr_shadow && a->mp_state == b->mp_state;
}

static bool pit_eq(const struct x86_pit_channel_state *a, const struct x86_pit_channel_state *b)
{
	return a->count == b->count && a->mode == b->mode && a->rw == b->rw && a->bcd == b->bcd &&
	       a->gate == b->gate && a->armed == b->armed && a->running == b->running &&
	       a->base_ticks == b->base_ticks && a->run_ns == b->run_ns &&
	       a->write_msb == b->write_msb && a->write_lsb == b->write_lsb &&
	       a->read_msb == b->read_msb && a->latch == b->latch &&
	       a->latch_left == b->latch_left && a->status_latched == b->status_latched &&
	       a->status == b->status && a->irq_armed == b->irq_armed && a->irq_tick == b->irq_tick;
}

static bool ioapic_eq(const struct x86_ioapic_state *a, const struct x86_ioapic_state *b)
{
	return a->id == b->id && a->ioregsel == b->ioregsel && a->lines == b->lines &&
	       !memcmp(a->rte, b->rte, sizeof(a->rte));
}

/* The PIC's fields are all bytes: no padding there. */
static bool irqchip_eq(const struct x86_irqchip_state *a, const struct x86_irqchip_state *b)
{
	for (unsigned i = 0; i < 3; i++)
		if (!pit_eq(&a->pit[i], &b->pit[i]))
			return false;
	return ioapic_eq(&a->ioapic, &b->ioapic) && !memcmp(a->pic, b->pic, sizeof(a->pic)) &&
	       a->port61 == b->port61;
}

/* ---- registers ---------------------------------------------------------- */

static void test_regs(void)
{
	struct x86_regs r, back;
	struct kvm_regs k, k2;

	for (unsigned i = 0; i < 16; i++)
		r.gpr[i] = 0x1111111111111111ULL * (i + 1);
	r.rip = 0xffffffff81000123ULL;
	r.rflags = 0x246;
	kvm_snap_regs_to(&k, &r);
	CHECK_EQ(k.rax, r.gpr[X86_RAX]);
	CHECK_EQ(k.rbx, r.gpr[X86_RBX]); /* KVM orders rax, rbx, rcx, rdx */
	CHECK_EQ(k.rsp, r.gpr[X86_RSP]);
	CHECK_EQ(k.r15, r.gpr[X86_R15]);
	CHECK_EQ(k.rip, r.rip);
	kvm_snap_regs_from(&back, &k);
	CHECK(!memcmp(&back, &r, sizeof(r)));

	for (unsigned i = 0; i < sizeof(k) / 8; i++)
		((__u64 *)&k)[i] = 0xa5a5a5a500000000ULL + i;
	kvm_snap_regs_from(&back, &k);
	CHECK_EQ(back.gpr[X86_RCX], k.rcx);
	kvm_snap_regs_to(&k2, &back);
	CHECK(!memcmp(&k2, &k, sizeof(k)));
}

/* A 64-bit kernel's segments: long-mode CS, user SS, a busy TSS, no LDT. */
static void busy_sregs(struct x86_sregs *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 6; i++)
		s->seg[i] = (struct x86_seg){.limit = 0xffffffff,
					     .selector = 0x18,
					     .type = 3,
					     .s = 1,
					     .present = 1,
					     .db = 1,
					     .g = 1};
	s->seg[X86_CS] = (struct x86_seg){.limit = 0xffffffff,
					  .selector = 0x10,
					  .type = 11,
					  .s = 1,
					  .present = 1,
					  .l = 1,
					  .g = 1};
	s->seg[X86_SS] = (struct x86_seg){.limit = 0xffffffff,
					  .selector = 0x2b,
					  .type = 3,
					  .s = 1,
					  .dpl = 3,
					  .present = 1,
					  .db = 1,
					  .g = 1,
					  .avl = 1};
	s->seg[X86_GS].base = 0xffff888007c00000ULL;
	s->tr = (struct x86_seg){.base = 0xfffffe0000003000ULL,
				 .limit = 0x4087,
				 .selector = 0x40,
				 .type = 11,
				 .present = 1};
	s->ldt = (struct x86_seg){.unusable = 1};
	s->gdt = (struct x86_dtable){0xfffffe0000001000ULL, 0x7f};
	s->idt = (struct x86_dtable){0xfffffe0000000000ULL, 0xfff};
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr2 = 0x7fff12345000ULL;
	s->cr3 = 0x1234000;
	s->cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s->cr8 = 2;
	s->efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	s->apic_base = 0xfee00900;
}

static void test_sregs(void)
{
	struct x86_sregs s, back;
	struct kvm_sregs k, k2;

	busy_sregs(&s);
	CHECK_EQ(kvm_snap_sregs_to(&k, &s, why, sizeof(why)), 0);
	CHECK_EQ(k.cs.type, 11);
	CHECK_EQ(k.cs.l, 1);
	CHECK_EQ(k.cs.db, 0);
	CHECK_EQ(k.ss.dpl, 3);
	CHECK_EQ(k.ss.avl, 1);
	CHECK_EQ(k.ss.selector, 0x2b);
	CHECK_EQ(k.gs.base, 0xffff888007c00000ULL);
	CHECK_EQ(k.tr.type, 11);
	CHECK_EQ(k.tr.s, 0);
	CHECK_EQ(k.ldt.unusable, 1);
	CHECK_EQ(k.idt.limit, 0xfff);
	CHECK_EQ(k.efer, s.efer);
	CHECK_EQ(k.apic_base, 0xfee00900);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(k.interrupt_bitmap[i], 0);
	kvm_snap_sregs_from(&back, &k);
	CHECK(sregs_eq(&back, &s));

	k.ds.dpl = 3;
	k.ds.type = 7;
	k.es.present = 0;
	k.es.unusable = 1;
	kvm_snap_sregs_from(&back, &k);
	CHECK_EQ(kvm_snap_sregs_to(&k2, &back, why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k)));

	s.efer &= ~X86_EFER_LMA;
	REFUSED(kvm_snap_sregs_to(&k, &s, why, sizeof(why)), "long mode");
	busy_sregs(&s);
	s.seg[X86_SS].dpl = 4;
	REFUSED(kvm_snap_sregs_to(&k, &s, why, sizeof(why)), "SS attributes");
}

/* ---- x87/SSE, XCR0, debug registers ------------------------------------- */

#define PKRU_OFF 0xa80 /* Intel's (CPUID 0xD.9 EBX) */

static void busy_fxsave(u8 *fx)
{
	memset(fx, 0, X86_FXSAVE_LEN);
	fx[0] = 0x7f; /* FCW 0x027f */
	fx[1] = 0x02;
	fx[2] = 0x00; /* FSW: TOP 7 after one push */
	fx[3] = 0x38;
	fx[4] = 0x80;  /* FTW: ST0 in use */
	fx[24] = 0x80; /* MXCSR 0x9f80: FZ */
	fx[25] = 0x9f;
	fx[28] = 0xff; /* MXCSR_MASK 0xffff */
	fx[29] = 0xff;
	memset(fx + 32, 0x3c, 10);            /* ST0 */
	memset(fx + 160 + 16 * 3, 0xa5, 16);  /* XMM3 */
	memset(fx + 160 + 16 * 15, 0x5a, 16); /* XMM15 */
}

static void test_xsave(void)
{
	static struct kvm_xsave k, k2;
	u8 fx[X86_FXSAVE_LEN], back[X86_FXSAVE_LEN];
	const u8 *area = (const u8 *)k.region;
	u32 pkru = 0x55555554, pkru2;

	busy_fxsave(fx);
	CHECK_EQ(kvm_snap_xsave_to(&k, fx, pkru, PKRU_OFF, why, sizeof(why)), 0);
	CHECK_EQ(rd32(area) & 0xffff, 0x027f); /* FCW */
	CHECK_EQ(rd32(area + 24), 0x9f80);     /* MXCSR */
	CHECK_EQ(area[160 + 48], 0xa5);        /* XMM3 */
	CHECK_EQ(rd64(area + 512), 0x203);     /* XSTATE_BV: x87, SSE, PKRU */
	CHECK_EQ(rd64(area + 520), 0);         /* XCOMP_BV: standard format */
	CHECK_EQ(rd32(area + PKRU_OFF), pkru);
	CHECK_EQ(kvm_snap_xsave_from(back, &pkru2, &k, PKRU_OFF, why, sizeof(why)), 0);
	CHECK(!memcmp(back, fx, sizeof(fx)));
	CHECK_EQ(pkru2, pkru);
	CHECK_EQ(kvm_snap_xsave_to(&k, fx, 0, 0, why, sizeof(why)), 0);
	CHECK_EQ(rd64(area + 512), 3);

	/* KVM's area -> neutral -> KVM. */
	memset(&k, 0, sizeof(k));
	busy_fxsave((u8 *)k.region);
	((u8 *)k.region)[512] = 0x03;
	((u8 *)k.region)[513] = 0x02;
	memcpy((u8 *)k.region + PKRU_OFF, &pkru, 4);
	CHECK_EQ(kvm_snap_xsave_from(back, &pkru2, &k, PKRU_OFF, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_xsave_to(&k2, back, pkru2, PKRU_OFF, why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k)));

	/* Components in their initial configuration read as their initial values. */
	((u8 *)k.region)[512] = 0;
	((u8 *)k.region)[513] = 0;
	CHECK_EQ(kvm_snap_xsave_from(back, &pkru2, &k, PKRU_OFF, why, sizeof(why)), 0);
	CHECK_EQ(rd32(back) & 0xffff, 0x037f);
	CHECK_EQ(back[32], 0);
	CHECK_EQ(back[160 + 48], 0);
	CHECK_EQ(rd32(back + 24), 0x9f80);
	CHECK_EQ(pkru2, 0);

	/* AVX (upper halves of YMM) in use: the neutral form has no place for it. */
	((u8 *)k.region)[512] = 0x07;
	REFUSED(kvm_snap_xsave_from(back, &pkru2, &k, PKRU_OFF, why, sizeof(why)),
		"AVX state in use");
	((u8 *)k.region)[512] = 0x03;
	((u8 *)k.region)[514] = 0x06; /* bits 17, 18 */
	REFUSED(kvm_snap_xsave_from(back, &pkru2, &k, PKRU_OFF, why, sizeof(why)), "AMX");
	((u8 *)k.region)[514] = 0;
	((u8 *)k.region)[527] = 0x80;
	REFUSED(kvm_snap_xsave_from(back, &pkru2, &k, PKRU_OFF, why, sizeof(why)), "compacted");
	REFUSED(kvm_snap_xsave_to(&k, fx, pkru, 0, why, sizeof(why)), "PKRU");
	fx[26] = 1;
	REFUSED(kvm_snap_xsave_to(&k, fx, 0, 0, why, sizeof(why)), "MXCSR");
}

static void test_xcrs(void)
{
	struct kvm_xcrs k;
	u64 xcr0;

	CHECK_EQ(kvm_snap_xcrs_to(&k, 7, why, sizeof(why)), 0);
	CHECK_EQ(k.nr_xcrs, 1);
	CHECK_EQ(k.xcrs[0].xcr, 0);
	CHECK_EQ(k.xcrs[0].value, 7);
	CHECK_EQ(kvm_snap_xcrs_from(&xcr0, &k, why, sizeof(why)), 0);
	CHECK_EQ(xcr0, 7);
	k.nr_xcrs = 0; /* a guest without XSAVE */
	CHECK_EQ(kvm_snap_xcrs_from(&xcr0, &k, why, sizeof(why)), 0);
	CHECK_EQ(xcr0, 1);
	REFUSED(kvm_snap_xcrs_to(&k, 0, why, sizeof(why)), "XCR0 0x0");
	REFUSED(kvm_snap_xcrs_to(&k, 5, why, sizeof(why)), "XCR0 0x5");
	k.nr_xcrs = 1;
	k.xcrs[0].xcr = 1;
	REFUSED(kvm_snap_xcrs_from(&xcr0, &k, why, sizeof(why)), "XCR1");
}

static void test_debugregs(void)
{
	static struct x86_vcpu_state st, back;
	struct kvm_debugregs k, k2;

	for (unsigned i = 0; i < 4; i++)
		st.dr[i] = 0xffffffff81000000ULL + i * 0x10;
	st.dr6 = 0xffff4ff1;
	st.dr7 = 0x400 | 0x4 | (1u << 18); /* L1, R/W1 write */
	CHECK_EQ(kvm_snap_debugregs_to(&k, &st, why, sizeof(why)), 0);
	CHECK_EQ(k.db[1], 0xffffffff81000010ULL);
	CHECK_EQ(k.dr6, 0xffff4ff1);
	CHECK_EQ(k.dr7, st.dr7);
	CHECK_EQ(k.flags, 0);
	kvm_snap_debugregs_from(&back, &k);
	CHECK(!memcmp(back.dr, st.dr, sizeof(st.dr)));
	CHECK_EQ(back.dr6, st.dr6);
	CHECK_EQ(back.dr7, st.dr7);
	kvm_snap_debugregs_from(&back, &k);
	CHECK_EQ(kvm_snap_debugregs_to(&k2, &back, why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k)));
	st.dr7 |= 1ULL << 32;
	REFUSED(kvm_snap_debugregs_to(&k, &st, why, sizeof(why)), "DR7");
}

/* ---- MSRs ----------------------------------------------------------------- */

static void test_msrs(void)
{
	static struct x86_vcpu_state st, back;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[ARRAY_SIZE(snapshot_msrs)];
	} k, k2;
	u64 v;

	/* Out of the list's order: KVM gets the list's (the TSC first). */
	CHECK_EQ(vcpu_state_set_msr(&st, SNAP_MSR_TSC_DEADLINE, 5000123456ULL), 0);
	CHECK_EQ(vcpu_state_set_msr(&st, 0xc0000082, 0xffffffff81a00000ULL), 0);
	CHECK_EQ(vcpu_state_set_msr(&st, 0x277, 0x0007010600070106ULL), 0);
	CHECK_EQ(vcpu_state_set_msr(&st, 0x4b564d01, 0x1234001), 0);
	CHECK_EQ(vcpu_state_set_msr(&st, SNAP_MSR_TSC, 5000000000ULL), 0);
	CHECK_EQ(kvm_snap_msrs_to(&k.h, ARRAY_SIZE(k.e), &st, why, sizeof(why)), 0);
	CHECK_EQ(k.h.nmsrs, 5);
	CHECK_EQ(k.h.entries[0].index, SNAP_MSR_TSC);
	CHECK_EQ(k.h.entries[0].data, 5000000000ULL);
	CHECK_EQ(k.h.entries[4].index, SNAP_MSR_TSC_DEADLINE);
	CHECK_EQ(k.h.entries[1].index, 0x277);
	CHECK_EQ(k.h.entries[1].reserved, 0);
	CHECK_EQ(kvm_snap_msrs_from(&back, &k.h, why, sizeof(why)), 0);
	CHECK_EQ(back.nr_msrs, st.nr_msrs);
	for (u32 i = 0; i < st.nr_msrs; i++)
		CHECK(vcpu_state_msr(&back, st.msrs[i].index, &v) && v == st.msrs[i].value);
	CHECK_EQ(kvm_snap_msrs_to(&k2.h, ARRAY_SIZE(k2.e), &back, why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k.h) + k.h.nmsrs * sizeof(k.e[0])));
	REFUSED(kvm_snap_msrs_to(&k.h, 2, &st, why, sizeof(why)), "more than 2 MSRs");

	CHECK_EQ(vcpu_state_set_msr(&st, 0xc0010117, 1), 0); /* AMD VM_HSAVE_PA */
	REFUSED(kvm_snap_msrs_to(&k.h, ARRAY_SIZE(k.e), &st, why, sizeof(why)),
		"MSR 0xc0010117 has no counterpart");
	k.h.nmsrs = 1;
	k.h.entries[0] = (struct kvm_msr_entry){.index = 0x3a, .data = 5}; /* FEATURE_CONTROL */
	REFUSED(kvm_snap_msrs_from(&back, &k.h, why, sizeof(why)), "MSR 0x3a");

	/* The TSC moved between instants at its rate, either way. */
	CHECK_EQ(kvm_snap_tsc_shift(1000, 5000000000ULL, 6000000000ULL, 2500000),
		 1000 + 2500000000ULL);
	CHECK_EQ(kvm_snap_tsc_shift(1000 + 2500000000ULL, 6000000000ULL, 5000000000ULL, 2500000),
		 1000);
	CHECK_EQ(kvm_snap_tsc_shift(77, 10, 10, 3000000), 77);
}

/* ---- events, MP state ------------------------------------------------------ */

static void test_events(void)
{
	struct x86_events ev = {.exc_pending = true,
				.exc_vector = 14,
				.exc_has_error = true,
				.exc_error = 2,
				.nmi_pending = 1,
				.nmi_masked = true,
				.intr_shadow = X86_SHADOW_STI,
				.mp_state = X86_MP_HALTED};
	struct x86_events back = {.mp_state = X86_MP_HALTED};
	struct kvm_vcpu_events k, k2;

	CHECK_EQ(kvm_snap_events_to(&k, &ev, why, sizeof(why)), 0);
	CHECK_EQ(k.exception.injected, 1);
	CHECK_EQ(k.exception.pending, 0);
	CHECK_EQ(k.exception.nr, 14);
	CHECK_EQ(k.exception.has_error_code, 1);
	CHECK_EQ(k.exception.error_code, 2);
	CHECK_EQ(k.nmi.pending, 1);
	CHECK_EQ(k.nmi.masked, 1);
	CHECK_EQ(k.nmi.injected, 0);
	CHECK_EQ(k.interrupt.shadow, KVM_X86_SHADOW_INT_STI); /* 2: not our 1 */
	CHECK_EQ(k.interrupt.injected, 0);
	CHECK(k.flags & KVM_VCPUEVENT_VALID_SHADOW);
	CHECK(k.flags & KVM_VCPUEVENT_VALID_NMI_PENDING);
	CHECK(!(k.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR));
	CHECK_EQ(kvm_snap_events_from(&back, &k, why, sizeof(why)), 0);
	CHECK(events_eq(&back, &ev));

	ev = (struct x86_events){.intr_shadow = X86_SHADOW_MOVSS, .nmi_pending = 2};
	CHECK_EQ(kvm_snap_events_to(&k, &ev, why, sizeof(why)), 0);
	CHECK_EQ(k.interrupt.shadow, KVM_X86_SHADOW_INT_MOV_SS);
	CHECK_EQ(k.nmi.pending, 2);
	back.mp_state = X86_MP_RUNNABLE; /* kept: kvm_snap_mp_from's */
	CHECK_EQ(kvm_snap_events_from(&back, &k, why, sizeof(why)), 0);
	CHECK(events_eq(&back, &ev));

	/* KVM -> neutral -> KVM. */
	memset(&k, 0, sizeof(k));
	k.exception.injected = 1;
	k.exception.nr = 13;
	k.exception.has_error_code = 1;
	k.exception.error_code = 0x18;
	k.nmi.pending = 1;
	k.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI;
	k.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	CHECK_EQ(kvm_snap_events_from(&back, &k, why, sizeof(why)), 0);
	CHECK_EQ(back.intr_shadow, X86_SHADOW_STI | X86_SHADOW_MOVSS);
	CHECK_EQ(kvm_snap_events_to(&k2, &back, why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k)));

	/* An NMI KVM was injecting is one more pending, NMIs not yet masked. */
	memset(&k, 0, sizeof(k));
	k.nmi.injected = 1;
	k.nmi.masked = 1;
	k.nmi.pending = 1;
	CHECK_EQ(kvm_snap_events_from(&back, &k, why, sizeof(why)), 0);
	CHECK_EQ(back.nmi_pending, 2);
	CHECK(!back.nmi_masked);

	ev = (struct x86_events){.exc_pending = true, .exc_vector = 32};
	REFUSED(kvm_snap_events_to(&k, &ev, why, sizeof(why)), "vector 32");
	ev.exc_vector = 2;
	REFUSED(kvm_snap_events_to(&k, &ev, why, sizeof(why)), "vector 2");
	memset(&k, 0, sizeof(k));
	k.interrupt.injected = 1;
	k.interrupt.nr = 0xec;
	REFUSED(kvm_snap_events_from(&back, &k, why, sizeof(why)),
		"external interrupt vector 236 is being delivered");
	memset(&k, 0, sizeof(k));
	k.smi.smm = 1;
	REFUSED(kvm_snap_events_from(&back, &k, why, sizeof(why)), "SMM");
	memset(&k, 0, sizeof(k));
	k.exception.pending = 1;
	k.exception.nr = 14;
	k.exception_has_payload = 1;
	REFUSED(kvm_snap_events_from(&back, &k, why, sizeof(why)), "payload");
}

/* An interrupt KVM was injecting goes back from the LAPIC's ISR to its IRR. */
static void test_interrupt_unaccept(void)
{
	u8 page[X86_LAPIC_PAGE];
	struct kvm_vcpu_events k;
	struct x86_events ev;

	memset(page, 0, sizeof(page));
	memset(&k, 0, sizeof(k));
	CHECK_EQ(kvm_snap_interrupt_unaccept(page, &k, why, sizeof(why)), 0); /* none */
	x86_lapic_set_reg(page, 0x100 + 0x20, 1u << 1);  /* ISR: 0x41, in service below */
	x86_lapic_set_reg(page, 0x100 + 0x70, 1u << 12); /* ISR: 0xec, being delivered */
	x86_lapic_set_reg(page, 0x200 + 0x30, 1u << 3);  /* IRR: 0x63 */
	k.interrupt.injected = 1;
	k.interrupt.nr = 0xec;
	CHECK_EQ(kvm_snap_interrupt_unaccept(page, &k, why, sizeof(why)), 0);
	CHECK_EQ(x86_lapic_reg(page, 0x170), 0);
	CHECK_EQ(x86_lapic_reg(page, 0x270), 1u << 12);
	CHECK_EQ(x86_lapic_reg(page, 0x120), 1u << 1);
	CHECK_EQ(x86_lapic_reg(page, 0x230), 1u << 3);
	CHECK_EQ(k.interrupt.injected, 0);
	CHECK_EQ(kvm_snap_events_from(&ev, &k, why, sizeof(why)), 0);

	/* Not the highest in service: it did not come from this LAPIC. */
	k.interrupt.injected = 1;
	k.interrupt.nr = 0x30;
	REFUSED(kvm_snap_interrupt_unaccept(page, &k, why, sizeof(why)),
		"external interrupt vector 48 is being delivered, and the LAPIC did not");
	x86_lapic_set_reg(page, 0x110, 1u << 16); /* ISR: 0x30 */
	REFUSED(kvm_snap_interrupt_unaccept(page, &k, why, sizeof(why)), "vector 48");
	x86_lapic_set_reg(page, 0x170, (1u << 12) | (1u << 14)); /* ISR: 0xec, 0xee */
	k.interrupt.nr = 0xec;
	REFUSED(kvm_snap_interrupt_unaccept(page, &k, why, sizeof(why)), "vector 236");
	k.interrupt.nr = 0x41;
	k.interrupt.soft = 1;
	REFUSED(kvm_snap_interrupt_unaccept(page, &k, why, sizeof(why)), "software interrupt");
}

static void test_mp_state(void)
{
	static const struct {
		u8 ours;
		u32 kvm;
	} map[] = {{X86_MP_RUNNABLE, KVM_MP_STATE_RUNNABLE},
		   {X86_MP_HALTED, KVM_MP_STATE_HALTED},
		   {X86_MP_WAIT_SIPI, KVM_MP_STATE_INIT_RECEIVED}};
	struct kvm_mp_state k;
	u8 mp;

	for (unsigned i = 0; i < ARRAY_SIZE(map); i++) {
		CHECK_EQ(kvm_snap_mp_to(&k, map[i].ours, why, sizeof(why)), 0);
		CHECK_EQ(k.mp_state, map[i].kvm);
		mp = 0xff;
		CHECK_EQ(kvm_snap_mp_from(&mp, &k, why, sizeof(why)), 0);
		CHECK_EQ(mp, map[i].ours);
	}
	/* A never-started AP waits for INIT then SIPI: ours waits for SIPI. */
	k.mp_state = KVM_MP_STATE_UNINITIALIZED;
	CHECK_EQ(kvm_snap_mp_from(&mp, &k, why, sizeof(why)), 0);
	CHECK_EQ(mp, X86_MP_WAIT_SIPI);
	k.mp_state = KVM_MP_STATE_SIPI_RECEIVED;
	REFUSED(kvm_snap_mp_from(&mp, &k, why, sizeof(why)), "SIPI_RECEIVED");
	k.mp_state = KVM_MP_STATE_AP_RESET_HOLD;
	REFUSED(kvm_snap_mp_from(&mp, &k, why, sizeof(why)), "MP state 9 has no counterpart");
	REFUSED(kvm_snap_mp_to(&k, 3, why, sizeof(why)), "MP state 3");
}

/* ---- LAPIC ------------------------------------------------------------------ */

static void busy_lapic(u8 *page, u32 id)
{
	memset(page, 0, X86_LAPIC_PAGE);
	x86_lapic_set_reg(page, 0x20, id << 24);
	x86_lapic_set_reg(page, 0x30, 0x50014);          /* version */
	x86_lapic_set_reg(page, 0x80, 0x20);             /* TPR */
	x86_lapic_set_reg(page, 0xd0, 1u << 24);         /* LDR */
	x86_lapic_set_reg(page, 0xe0, ~0u);              /* DFR: flat */
	x86_lapic_set_reg(page, 0xf0, 0x1ff);            /* SVR */
	x86_lapic_set_reg(page, 0x100 + 0x30, 1u << 2);  /* ISR: vector 0x62 */
	x86_lapic_set_reg(page, 0x200 + 0x70, 1u << 28); /* IRR: vector 0xfc */
	x86_lapic_set_reg(page, 0x320, 0x20040);         /* LVT timer: periodic, 0x40 */
	x86_lapic_set_reg(page, 0x350, 0x700);           /* LINT0 ExtINT */
	x86_lapic_set_reg(page, 0x360, 0x400);           /* LINT1 NMI */
	x86_lapic_set_reg(page, 0x380, 4000000);         /* TMICT */
	x86_lapic_set_reg(page, 0x390, 1500000);         /* TMCCT */
	x86_lapic_set_reg(page, 0x3e0, 0xb);             /* divide by 1 */
}

static void test_lapic(void)
{
	u8 page[X86_LAPIC_PAGE], back[X86_LAPIC_PAGE];
	struct kvm_lapic_state k, k2;

	busy_lapic(page, 1);
	CHECK_EQ(kvm_snap_lapic_to(&k, page, why, sizeof(why)), 0);
	CHECK_EQ(rd32(k.regs + 0x20) >> 24, 1); /* KVM's xAPIC ID: bits 31:24 */
	CHECK_EQ(rd32(k.regs + 0x80), 0x20);
	CHECK_EQ(rd32(k.regs + 0x130), 1u << 2);
	CHECK_EQ(rd32(k.regs + 0x380), 4000000);
	CHECK_EQ(rd32(k.regs + 0x390), 1500000);
	kvm_snap_lapic_from(back, &k);
	CHECK(!memcmp(back, page, sizeof(page)));

	for (unsigned i = 0; i < sizeof(k.regs); i++)
		k.regs[i] = (char)(i * 7);
	memset(k.regs + 0x20, 0, 3); /* ID bits 23:0 */
	kvm_snap_lapic_from(back, &k);
	CHECK_EQ(kvm_snap_lapic_to(&k2, back, why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k)));

	x86_lapic_set_reg(page, 0x20, 5); /* an x2APIC-style ID */
	REFUSED(kvm_snap_lapic_to(&k, page, why, sizeof(why)), "LAPIC ID register 0x5");
}

/* ---- PIC, IOAPIC, PIT, clock ------------------------------------------------- */

#define HOST_NS 10000000000ULL

/* Linux's PICs (ICW1 0x11, ICW4 8086) mid-flight, the slave re-initialized
 * and waiting for ICW3; a busy IOAPIC; PIT channel 0 periodic, channel 2
 * in a one-shot with a latched count and half a count written. */
static void busy_irqchip(struct x86_irqchip_state *ic)
{
	memset(ic, 0, sizeof(*ic));
	ic->pic[0] = (struct x86_pic_chip_state){.irr = 0x11,
						 .isr = 0x02,
						 .imr = 0xb8,
						 .lines = 0x11,
						 .elcr = 0x00,
						 .elcr_mask = 0xf8,
						 .base = 0x30,
						 .prio_add = 3,
						 .icw4_needed = true,
						 .auto_eoi = true,
						 .read_isr = true,
						 .special_mask = true};
	ic->pic[1] = (struct x86_pic_chip_state){.irr = 0x40,
						 .imr = 0xff,
						 .lines = 0x40,
						 .elcr = 0x0e,
						 .elcr_mask = 0xde,
						 .base = 0x38,
						 .prio_add = 7,
						 .icw_step = 3,
						 .icw4_needed = true,
						 .sfnm = true,
						 .rotate_aeoi = true,
						 .poll = true};
	ic->ioapic.id = 2;
	ic->ioapic.ioregsel = 0x13;
	for (unsigned i = 0; i < LAYOUT_IOAPIC_PINS; i++)
		ic->ioapic.rte[i] = 1ull << 16;  /* masked */
	ic->ioapic.rte[2] = 0x30 | (1ull << 56); /* PIT: edge, dest 1 */
	ic->ioapic.rte[4] = 0x24 | (1ull << 11); /* UART: logical */
	ic->ioapic.rte[9] =
	    0x29 | (1ull << 15) | (1ull << 13) | (1ull << 14);   /* SCI: level, low, remote IRR */
	ic->ioapic.rte[16] = 0x41 | (1ull << 15) | (3ull << 56); /* virtio: level */
	ic->ioapic.lines = (1u << 9) | (1u << 16);
	ic->pit[0] = (struct x86_pit_channel_state){.count = 11932,
						    .mode = 2,
						    .rw = 3,
						    .gate = true,
						    .armed = true,
						    .running = true,
						    .run_ns = 3000000,
						    .write_lsb = 0x9c};
	ic->pit[0].irq_armed = true;
	ic->pit[0].irq_tick = (x86_pit_ticks(&ic->pit[0]) / 11932 + 1) * 11932;
	ic->pit[1] = (struct x86_pit_channel_state){.gate = true};
	ic->pit[2] = (struct x86_pit_channel_state){.count = 0x1000,
						    .mode = 0,
						    .rw = 3,
						    .gate = true,
						    .armed = true,
						    .running = true,
						    .run_ns = 500000,
						    .write_msb = true,
						    .write_lsb = 0x34,
						    .latch = 0x0abc,
						    .latch_left = 2,
						    .status_latched = true,
						    .status = 0x30};
	ic->port61 = 0x03;
}

static void test_pic(void)
{
	struct x86_irqchip_state ic;
	struct x86_pic_chip_state back;
	struct kvm_pic_state k, k2;

	busy_irqchip(&ic);
	CHECK_EQ(kvm_snap_pic_to(&k, &ic.pic[0], "master", why, sizeof(why)), 0);
	CHECK_EQ(k.last_irr, 0x11);
	CHECK_EQ(k.irq_base, 0x30);
	CHECK_EQ(k.priority_add, 3);
	CHECK_EQ(k.read_reg_select, 1);
	CHECK_EQ(k.init_state, 0);
	CHECK_EQ(k.init4, 1);
	CHECK_EQ(k.elcr_mask, 0xf8);
	kvm_snap_pic_from(&back, &k);
	CHECK(!memcmp(&back, &ic.pic[0], sizeof(back)));
	CHECK_EQ(kvm_snap_pic_to(&k, &ic.pic[1], "slave", why, sizeof(why)), 0);
	CHECK_EQ(k.init_state, 2); /* ICW3 next: KVM counts ICW2 as 1 */
	CHECK_EQ(k.special_fully_nested_mode, 1);
	CHECK_EQ(k.rotate_on_auto_eoi, 1);
	CHECK_EQ(k.poll, 1);
	CHECK_EQ(k.elcr, 0x0e);
	kvm_snap_pic_from(&back, &k);
	CHECK(!memcmp(&back, &ic.pic[1], sizeof(back)));

	memset(&k, 0, sizeof(k));
	k = (struct kvm_pic_state){.last_irr = 0x81,
				   .irr = 0x80,
				   .imr = 0x0f,
				   .isr = 0x01,
				   .priority_add = 5,
				   .irq_base = 0x68,
				   .read_reg_select = 1,
				   .init_state = 3,
				   .init4 = 1,
				   .elcr = 0x20,
				   .elcr_mask = 0xde};
	kvm_snap_pic_from(&back, &k);
	CHECK_EQ(back.icw_step, 4);
	CHECK_EQ(kvm_snap_pic_to(&k2, &back, "slave", why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k)));

	ic.pic[0].single = true;
	REFUSED(kvm_snap_pic_to(&k, &ic.pic[0], "master", why, sizeof(why)),
		"PIC master in single mode");
	ic.pic[0].single = false;
	ic.pic[0].ltim = true;
	REFUSED(kvm_snap_pic_to(&k, &ic.pic[0], "master", why, sizeof(why)), "LTIM");
}

static void test_ioapic(void)
{
	struct x86_irqchip_state ic;
	struct x86_ioapic_state back;
	struct kvm_ioapic_state k, k2;

	busy_irqchip(&ic);
	kvm_snap_ioapic_to(&k, &ic.ioapic);
	CHECK_EQ(k.base_address, 0xfec00000ULL);
	CHECK_EQ(k.id, 2);
	CHECK_EQ(k.ioregsel, 0x13);
	CHECK_EQ(k.irr, (1u << 9) | (1u << 16));
	CHECK_EQ(k.redirtbl[2].fields.vector, 0x30);
	CHECK_EQ(k.redirtbl[2].fields.dest_id, 1);
	CHECK_EQ(k.redirtbl[2].fields.mask, 0);
	CHECK_EQ(k.redirtbl[4].fields.dest_mode, 1);
	CHECK_EQ(k.redirtbl[9].fields.trig_mode, 1);
	CHECK_EQ(k.redirtbl[9].fields.polarity, 1);
	CHECK_EQ(k.redirtbl[9].fields.remote_irr, 1);
	CHECK_EQ(k.redirtbl[16].fields.dest_id, 3);
	CHECK_EQ(k.redirtbl[5].fields.mask, 1);
	kvm_snap_ioapic_from(&back, &k);
	CHECK(ioapic_eq(&back, &ic.ioapic));
	kvm_snap_ioapic_to(&k2, &back);
	CHECK(!memcmp(&k2, &k, sizeof(k)));

	/* An edge pin held high after its edge was taken: KVM's irr stays clear,
	 * or KVM_SET_IRQCHIP would deliver the edge again. */
	ic.ioapic.lines |= 1u << 4;
	kvm_snap_ioapic_to(&k, &ic.ioapic);
	CHECK_EQ(k.irr, (1u << 9) | (1u << 16));
}

static void test_pit(void)
{
	struct x86_irqchip_state ic, back;
	struct kvm_pit_state2 k, k2;
	const struct kvm_pit_channel_state *c;

	busy_irqchip(&ic);
	CHECK_EQ(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), 0);
	c = &k.channels[0];
	CHECK_EQ(c->count, 11932);
	CHECK_EQ(c->mode, 2);
	CHECK_EQ(c->rw_mode, 3);
	CHECK_EQ(c->count_load_time, HOST_NS - 3000000);
	CHECK_EQ(c->read_state, 3); /* RW_STATE_WORD0: LSB next */
	CHECK_EQ(c->write_state, 3);
	CHECK_EQ(c->count_latched, 0);
	CHECK_EQ(c->gate, 1);
	c = &k.channels[1];
	CHECK_EQ(c->mode, 0xff); /* KVM's after reset */
	CHECK_EQ(c->count, 0x10000);
	CHECK_EQ(c->rw_mode, 0);
	c = &k.channels[2];
	CHECK_EQ(c->write_state, 4); /* RW_STATE_WORD1: the MSB next */
	CHECK_EQ(c->write_latch, 0x34);
	CHECK_EQ(c->count_latched, 3); /* the whole word latched */
	CHECK_EQ(c->latched_count, 0x0abc);
	CHECK_EQ(c->status_latched, 1);
	CHECK_EQ(c->status, 0x30);
	CHECK_EQ(k.flags, KVM_PIT_FLAGS_SPEAKER_DATA_ON);
	memset(&back, 0, sizeof(back));
	CHECK_EQ(kvm_snap_pit_from(&back, &k, HOST_NS, why, sizeof(why)), 0);
	for (unsigned i = 0; i < 3; i++)
		CHECK(pit_eq(&back.pit[i], &ic.pit[i]));
	CHECK_EQ(back.port61, ic.port61);

	/* Half the latch read: the MSB is next, in both forms. */
	ic.pit[2].latch_left = 1;
	ic.pit[2].read_msb = true;
	CHECK_EQ(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), 0);
	CHECK_EQ(k.channels[2].count_latched, 2); /* RW_STATE_MSB */
	CHECK_EQ(k.channels[2].read_state, 3);
	CHECK_EQ(kvm_snap_pit_from(&back, &k, HOST_NS, why, sizeof(why)), 0);
	for (unsigned i = 0; i < 3; i++)
		CHECK(pit_eq(&back.pit[i], &ic.pit[i]));

	/* KVM -> neutral -> KVM: live read half done, access mode LSB only. */
	memset(&k, 0, sizeof(k));
	k.channels[0] = (struct kvm_pit_channel_state){.count = 0x10000,
						       .read_state = 4,
						       .write_state = 3,
						       .rw_mode = 3,
						       .mode = 3,
						       .gate = 1,
						       .count_load_time = HOST_NS - 123456789};
	k.channels[1] = (struct kvm_pit_channel_state){.count = 18,
						       .latched_count = 7,
						       .count_latched = 1,
						       .read_state = 1,
						       .write_state = 1,
						       .rw_mode = 1,
						       .mode = 2,
						       .gate = 1,
						       .count_load_time = HOST_NS - 1000};
	k.channels[2] = (struct kvm_pit_channel_state){
	    .count = 0x10000, .mode = 0xff, .count_load_time = HOST_NS};
	CHECK_EQ(kvm_snap_pit_from(&back, &k, HOST_NS, why, sizeof(why)), 0);
	CHECK(back.pit[0].read_msb);
	CHECK_EQ(back.pit[0].run_ns, 123456789);
	CHECK_EQ(back.pit[1].latch_left, 1);
	CHECK_EQ(back.port61, 0);
	CHECK_EQ(kvm_snap_pit_to(&k2, &back, HOST_NS, why, sizeof(why)), 0);
	CHECK(!memcmp(&k2, &k, sizeof(k)));
	CHECK(back.pit[0].irq_armed); /* mode 3: every count */
	CHECK_EQ(back.pit[0].irq_tick % 65536, 0);

	/* The gate stopped channel 2 (mode 3) after 100 clocks: KVM counts on
	 * from them, as it does with its own gate. */
	busy_irqchip(&ic);
	ic.port61 = 0;
	ic.pit[2] = (struct x86_pit_channel_state){
	    .count = 1193, .mode = 3, .rw = 3, .armed = true, .base_ticks = 100};
	CHECK_EQ(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_pit_from(&back, &k, HOST_NS, why, sizeof(why)), 0);
	CHECK(back.pit[2].running);
	CHECK_EQ(x86_pit_ticks(&back.pit[2]), 100);

	busy_irqchip(&ic);
	ic.pit[2].bcd = true;
	REFUSED(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), "PIT channel 2 counts in BCD");
	busy_irqchip(&ic);
	ic.pit[0].armed = ic.pit[0].running = ic.pit[0].irq_armed = false;
	ic.pit[0].run_ns = 0;
	REFUSED(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), "no count yet");
	busy_irqchip(&ic);
	ic.port61 = 0x0b;
	REFUSED(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), "port 0x61 0x0b");
	CHECK_EQ(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), -EINVAL);
	busy_irqchip(&ic);
	CHECK_EQ(kvm_snap_pit_to(&k, &ic, HOST_NS, why, sizeof(why)), 0);
	k.flags |= KVM_PIT_FLAGS_HPET_LEGACY;
	REFUSED(kvm_snap_pit_from(&back, &k, HOST_NS, why, sizeof(why)), "HPET");
	k.flags = 0;
	k.channels[0].read_state = 4; /* a live read half done, then a latch */
	k.channels[0].count_latched = 3;
	REFUSED(kvm_snap_pit_from(&back, &k, HOST_NS, why, sizeof(why)), "amid a read");
}

static void test_irqchip_and_clock(void)
{
	struct x86_irqchip_state ic, back;
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;

	busy_irqchip(&ic);
	CHECK_EQ(kvm_snap_irqchip_to(chips, &pit, &ic, HOST_NS, why, sizeof(why)), 0);
	CHECK_EQ(chips[0].chip_id, KVM_IRQCHIP_PIC_MASTER);
	CHECK_EQ(chips[1].chip_id, KVM_IRQCHIP_PIC_SLAVE);
	CHECK_EQ(chips[2].chip_id, KVM_IRQCHIP_IOAPIC);
	CHECK_EQ(chips[1].chip.pic.irq_base, 0x38);
	CHECK_EQ(chips[2].chip.ioapic.id, 2);
	CHECK_EQ(kvm_snap_irqchip_from(&back, chips, &pit, HOST_NS, why, sizeof(why)), 0);
	CHECK(irqchip_eq(&back, &ic));
	/* What no PC's chips could be in is refused before any conversion. */
	ic.pic[0].base = 0x31;
	REFUSED(kvm_snap_irqchip_to(chips, &pit, &ic, HOST_NS, why, sizeof(why)),
		"vector base 0x31");

	kvm_snap_clock_to(&clock, 123456789012ULL);
	CHECK_EQ(clock.clock, 123456789012ULL);
	CHECK_EQ(clock.flags, 0);
	CHECK_EQ(kvm_snap_clock_from(&clock), 123456789012ULL);
}

/* The TSC rate a load may ask KVM for: any with the host's TSC scaling;
 * without it, only one within KVM's 250 ppm of the VM's, as KVM runs it
 * unscaled. */
static void test_tsc_rate(void)
{
	CHECK_EQ(kvm_snap_tsc_rate_check(2495000, 2495000, false, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_tsc_rate_check(1000000, 2495000, true, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_tsc_rate_check(3000000, 2495000, true, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_tsc_rate_check(2495623, 2495000, false, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_tsc_rate_check(2494377, 2495000, false, why, sizeof(why)), 0);
	REFUSED(kvm_snap_tsc_rate_check(2495624, 2495000, false, why, sizeof(why)),
		"the snapshot's TSC runs at 2495624 kHz; KVM's runs at 2495000 kHz");
	REFUSED(kvm_snap_tsc_rate_check(1000000, 2495000, false, why, sizeof(why)),
		"the snapshot's TSC runs at 1000000 kHz; KVM's runs at 2495000 kHz and this "
		"host cannot scale it (no KVM_CAP_TSC_CONTROL)");
	REFUSED(kvm_snap_tsc_rate_check(1000000, 0, false, why, sizeof(why)), "1000000 kHz");
	REFUSED(kvm_snap_tsc_rate_check(0, 2495000, true, why, sizeof(why)), "at 0 kHz");
}

/* ---- a state the soft engine saved ------------------------------------------ */

static void outb(struct vm *t, u16 port, u8 v)
{
	bus_write(&t->m.pio, port, 1, v);
}

/* Every piece of st through KVM's structures and back: nothing refused,
 * nothing changed. */
static void vcpu_through_kvm(const struct x86_vcpu_state *st)
{
	static struct x86_vcpu_state back;
	static struct kvm_xsave xs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[ARRAY_SIZE(snapshot_msrs)];
	} msrs;
	u64 v;

	memset(&back, 0, sizeof(back));
	why[0] = 0;
	kvm_snap_regs_to(&regs, &st->st.regs);
	CHECK_EQ(kvm_snap_sregs_to(&sregs, &st->st.sregs, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_xsave_to(&xs, st->fxsave, st->pkru, PKRU_OFF, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_xcrs_to(&xcrs, st->xcr0, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_debugregs_to(&dregs, st, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_events_to(&events, &st->ev, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_mp_to(&mp, st->ev.mp_state, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_lapic_to(&lapic, st->lapic, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_msrs_to(&msrs.h, ARRAY_SIZE(msrs.e), st, why, sizeof(why)), 0);
	if (why[0])
		printf("  refused: %s\n", why);

	kvm_snap_regs_from(&back.st.regs, &regs);
	kvm_snap_sregs_from(&back.st.sregs, &sregs);
	CHECK_EQ(kvm_snap_xsave_from(back.fxsave, &back.pkru, &xs, PKRU_OFF, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_xcrs_from(&back.xcr0, &xcrs, why, sizeof(why)), 0);
	kvm_snap_debugregs_from(&back, &dregs);
	CHECK_EQ(kvm_snap_mp_from(&back.ev.mp_state, &mp, why, sizeof(why)), 0);
	CHECK_EQ(kvm_snap_events_from(&back.ev, &events, why, sizeof(why)), 0);
	kvm_snap_lapic_from(back.lapic, &lapic);
	CHECK_EQ(kvm_snap_msrs_from(&back, &msrs.h, why, sizeof(why)), 0);

	CHECK(!memcmp(&back.st.regs, &st->st.regs, sizeof(st->st.regs)));
	CHECK(sregs_eq(&back.st.sregs, &st->st.sregs));
	CHECK(!memcmp(back.fxsave, st->fxsave, sizeof(st->fxsave)));
	CHECK_EQ(back.pkru, st->pkru);
	CHECK_EQ(back.xcr0, st->xcr0);
	CHECK(!memcmp(back.dr, st->dr, sizeof(st->dr)));
	CHECK_EQ(back.dr6, st->dr6);
	CHECK_EQ(back.dr7, st->dr7);
	CHECK(events_eq(&back.ev, &st->ev));
	CHECK(!memcmp(back.lapic, st->lapic, sizeof(st->lapic)));
	CHECK_EQ(back.nr_msrs, st->nr_msrs);
	for (u32 i = 0; i < st->nr_msrs; i++)
		CHECK(vcpu_state_msr(&back, st->msrs[i].index, &v) && v == st->msrs[i].value);
}

static void test_soft_state_through_kvm(void)
{
	static struct x86_vcpu_state st;
	struct vm *t = vm_new(CPU_VENDOR_INTEL);
	struct x86_irqchip_state ic, back;
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct x86_clock_state clock;

	/* What Linux does to the PICs and the PIT at boot. */
	static const u8 pic_init[][2] = {{0x20, 0x11}, {0x21, 0x30}, {0x21, 0x04}, {0x21, 0x01},
					 {0xa0, 0x11}, {0xa1, 0x38}, {0xa1, 0x02}, {0xa1, 0x01},
					 {0x21, 0xfa}, {0xa1, 0xff}, {0x20, 0x0b}};
	for (unsigned i = 0; i < ARRAY_SIZE(pic_init); i++)
		outb(t, pic_init[i][0], pic_init[i][1]);
	outb(t, 0x43, 0x34); /* channel 0: LSB/MSB, mode 2 */
	outb(t, 0x40, 0x9c);
	outb(t, 0x40, 0x2e);
	outb(t, 0x61, 0x01); /* channel 2's gate */
	outb(t, 0x43, 0xb0); /* channel 2: LSB/MSB, mode 0 */
	outb(t, 0x42, 0xff);
	outb(t, 0x42, 0xff);

	CHECK_EQ(soft_engine_ops.save_vm(t->evm, &ic, &clock), 0);
	/* KVM takes the soft engine's rate where the host can scale its TSC. */
	CHECK_EQ(clock.tsc_khz, 1000000);
	CHECK_EQ(kvm_snap_tsc_rate_check(clock.tsc_khz, 2495000, true, why, sizeof(why)), 0);
	why[0] = 0;
	CHECK_EQ(kvm_snap_irqchip_to(chips, &pit, &ic, HOST_NS, why, sizeof(why)), 0);
	if (why[0])
		printf("  refused: %s\n", why);
	CHECK_EQ(chips[0].chip.pic.irq_base, 0x30);
	CHECK_EQ(chips[0].chip.pic.read_reg_select, 1);
	CHECK_EQ(pit.channels[0].count, 11932);
	CHECK_EQ(kvm_snap_irqchip_from(&back, chips, &pit, HOST_NS, why, sizeof(why)), 0);
	CHECK(!memcmp(&back.pic, &ic.pic, sizeof(ic.pic)));
	CHECK(ioapic_eq(&back.ioapic, &ic.ioapic));
	CHECK_EQ(back.port61, ic.port61);
	/* Channel 0's next interrupt is derived again from its count. */
	for (unsigned i = 0; i < 3; i++) {
		struct x86_pit_channel_state a = back.pit[i], b = ic.pit[i];

		if (i == 0 && x86_pit_ticks(&b) < 11932) {
			CHECK(a.irq_armed && b.irq_armed);
			CHECK_EQ(a.irq_tick, b.irq_tick);
		}
		a.irq_armed = b.irq_armed = false;
		a.irq_tick = b.irq_tick = 0;
		CHECK(pit_eq(&a, &b));
	}

	/* vCPU 0 reset and then as a busy 64-bit kernel; vCPU 1 waiting for SIPI. */
	CHECK_EQ(soft_engine_ops.save_vcpu(t->v[0], &st), 0);
	vcpu_through_kvm(&st);
	busy_sregs(&st.st.sregs);
	st.st.sregs.apic_base = 0xfee00900;
	st.st.sregs.cr3 = 0x10000;
	memset(guest_mem_ptr(&t->m.mem, 0x10000, 4096), 0, 4096);
	st.st.sregs.seg[X86_SS].dpl = 0; /* CPL 0's stack */
	st.st.sregs.seg[X86_SS].selector = 0x18;
	busy_fxsave(st.fxsave);
	st.dr[1] = 0xffffffff81234567ULL;
	st.dr7 = 0x404;
	busy_lapic(st.lapic, 0);
	CHECK_EQ(vcpu_state_set_msr(&st, 0xc0000082, 0xffffffff81a00000ULL), 0);
	CHECK_EQ(vcpu_state_set_msr(&st, 0x277, 0x0007010600070106ULL), 0);
	st.ev = (struct x86_events){
	    .nmi_pending = 1, .nmi_masked = true, .intr_shadow = X86_SHADOW_STI};
	why[0] = 0;
	CHECK_EQ(soft_engine_ops.load_vcpu(t->v[0], &st, why, sizeof(why)), 0);
	if (why[0])
		printf("  soft load: %s\n", why);
	CHECK_EQ(soft_engine_ops.save_vcpu(t->v[0], &st), 0);
	CHECK_EQ(st.st.sregs.cr3, 0x10000);
	CHECK_EQ(st.ev.nmi_pending, 1);
	vcpu_through_kvm(&st);
	CHECK_EQ(soft_engine_ops.save_vcpu(t->v[1], &st), 0);
	CHECK_EQ(st.ev.mp_state, X86_MP_WAIT_SIPI);
	vcpu_through_kvm(&st);
	vm_free(t);
}

int main(void)
{
	TEST_RUN(test_regs);
	TEST_RUN(test_sregs);
	TEST_RUN(test_xsave);
	TEST_RUN(test_xcrs);
	TEST_RUN(test_debugregs);
	TEST_RUN(test_msrs);
	TEST_RUN(test_events);
	TEST_RUN(test_interrupt_unaccept);
	TEST_RUN(test_mp_state);
	TEST_RUN(test_lapic);
	TEST_RUN(test_pic);
	TEST_RUN(test_ioapic);
	TEST_RUN(test_pit);
	TEST_RUN(test_irqchip_and_clock);
	TEST_RUN(test_tsc_rate);
	TEST_RUN(test_soft_state_through_kvm);
	return test_done();
}
