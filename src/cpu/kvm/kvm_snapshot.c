/* KVM's vCPU state to and from the engine-neutral form (kvm_snapshot.h): pure conversions. */
#include "cpu/kvm/kvm_snapshot.h"

#include <errno.h>
#include <string.h>

#include "cpu/snapshot_msrs.h"

/* ---- registers and segments -------------------------------------------- */

/* KVM's kvm_regs names the registers; popek indexes them in encoding order. */
static __u64 *kvm_gpr(struct kvm_regs *k, enum x86_gpr i)
{
	__u64 *const gpr[16] = {&k->rax, &k->rcx, &k->rdx, &k->rbx, &k->rsp, &k->rbp,
				&k->rsi, &k->rdi, &k->r8,  &k->r9,  &k->r10, &k->r11,
				&k->r12, &k->r13, &k->r14, &k->r15};

	return gpr[i & 15];
}

void kvm_snap_regs_to(struct kvm_regs *k, const struct x86_regs *r)
{
	memset(k, 0, sizeof(*k));
	for (int i = X86_RAX; i <= X86_R15; i++)
		*kvm_gpr(k, i) = r->gpr[i];
	k->rip = r->rip;
	k->rflags = r->rflags;
}

void kvm_snap_regs_from(struct x86_regs *r, const struct kvm_regs *k)
{
	struct kvm_regs c = *k;

	memset(r, 0, sizeof(*r));
	for (int i = X86_RAX; i <= X86_R15; i++)
		r->gpr[i] = *kvm_gpr(&c, i);
	r->rip = k->rip;
	r->rflags = k->rflags;
}

void kvm_snap_seg_to(struct kvm_segment *k, const struct x86_seg *s)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->type & 0xf;
	k->s = s->s & 1;
	k->dpl = s->dpl & 3;
	k->present = s->present & 1;
	k->avl = s->avl & 1;
	k->l = s->l & 1;
	k->db = s->db & 1;
	k->g = s->g & 1;
	k->unusable = s->unusable & 1;
}

void kvm_snap_seg_from(struct x86_seg *s, const struct kvm_segment *k)
{
	memset(s, 0, sizeof(*s));
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->type = k->type;
	s->s = k->s;
	s->dpl = k->dpl;
	s->present = k->present;
	s->avl = k->avl;
	s->l = k->l;
	s->db = k->db;
	s->g = k->g;
	s->unusable = k->unusable;
}

static const char *const seg_name[8] = {"ES", "CS", "SS", "DS", "FS", "GS", "TR", "LDTR"};

/* The attribute fields are bit-fields in a descriptor (SDM Vol. 3A 3.4.5). */
static int seg_check(const struct x86_seg *s, unsigned i, char *why, size_t why_len)
{
	if (s->type > 15 || s->dpl > 3 ||
	    (s->s | s->present | s->avl | s->l | s->db | s->g | s->unusable) > 1)
		return snap_fail(why, why_len,
				 "%s attributes (type %u, DPL %u) do not fit a descriptor",
				 seg_name[i], s->type, s->dpl);
	return 0;
}

int kvm_snap_sregs_to(struct kvm_sregs *k, const struct x86_sregs *s, char *why, size_t why_len)
{
	const struct x86_seg *segs[8] = {&s->seg[X86_ES], &s->seg[X86_CS], &s->seg[X86_SS],
					 &s->seg[X86_DS], &s->seg[X86_FS], &s->seg[X86_GS],
					 &s->tr,          &s->ldt};
	struct kvm_segment *ksegs[8] = {&k->es, &k->cs, &k->ss, &k->ds,
					&k->fs, &k->gs, &k->tr, &k->ldt};
	bool long_mode = (s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG);

	memset(k, 0, sizeof(*k));
	for (unsigned i = 0; i < 8; i++) {
		if (seg_check(segs[i], i, why, why_len))
			return -EINVAL;
		kvm_snap_seg_to(ksegs[i], segs[i]);
	}
	/* What KVM_SET_SREGS refuses (x86.c kvm_is_valid_sregs): SDM Vol. 3A
	 * 9.8.5 ties LMA to LME and paging, which needs protection. */
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return snap_fail(why, why_len, "CR0 0x%llx enables paging without protection",
				 (unsigned long long)s->cr0);
	if (!!(s->efer & X86_EFER_LMA) != long_mode || (long_mode && !(s->cr4 & X86_CR4_PAE)))
		return snap_fail(why, why_len,
				 "EFER 0x%llx with CR0 0x%llx and CR4 0x%llx is not a "
				 "consistent long mode",
				 (unsigned long long)s->efer, (unsigned long long)s->cr0,
				 (unsigned long long)s->cr4);
	k->gdt = (struct kvm_dtable){.base = s->gdt.base, .limit = s->gdt.limit};
	k->idt = (struct kvm_dtable){.base = s->idt.base, .limit = s->idt.limit};
	k->cr0 = s->cr0;
	k->cr2 = s->cr2;
	k->cr3 = s->cr3;
	k->cr4 = s->cr4;
	k->cr8 = s->cr8;
	k->efer = s->efer;
	k->apic_base = s->apic_base;
	return 0;
}

void kvm_snap_sregs_from(struct x86_sregs *s, const struct kvm_sregs *k)
{
	memset(s, 0, sizeof(*s));
	kvm_snap_seg_from(&s->seg[X86_ES], &k->es);
	kvm_snap_seg_from(&s->seg[X86_CS], &k->cs);
	kvm_snap_seg_from(&s->seg[X86_SS], &k->ss);
	kvm_snap_seg_from(&s->seg[X86_DS], &k->ds);
	kvm_snap_seg_from(&s->seg[X86_FS], &k->fs);
	kvm_snap_seg_from(&s->seg[X86_GS], &k->gs);
	kvm_snap_seg_from(&s->tr, &k->tr);
	kvm_snap_seg_from(&s->ldt, &k->ldt);
	s->gdt = (struct x86_dtable){k->gdt.base, k->gdt.limit};
	s->idt = (struct x86_dtable){k->idt.base, k->idt.limit};
	s->cr0 = k->cr0;
	s->cr2 = k->cr2;
	s->cr3 = k->cr3;
	s->cr4 = k->cr4;
	s->cr8 = k->cr8;
	s->efer = k->efer;
	s->apic_base = k->apic_base;
}

/* ---- x87, SSE, XCR0 ------------------------------------------------------ */

/* The XSAVE area (SDM Vol. 1 13.4): the legacy region, then the header with
 * XSTATE_BV (components not in their initial configuration) and XCOMP_BV
 * (bit 63: compacted format, which KVM_GET_XSAVE never uses). */
#define XSAVE_HDR_BV    512
#define XSAVE_HDR_COMP  520
#define XSAVE_EXT_START 576
#define XFEATURE_X87    (1ULL << 0)
#define XFEATURE_SSE    (1ULL << 1)
#define XFEATURE_PKRU   (1ULL << 9)
#define FX_MXCSR        24 /* FXSAVE image offsets (SDM Vol. 1 10.5.1, Table 10-2) */
#define FX_ST0          32
#define FX_XMM0         160
#define FX_XMM_END      416

static const char *xfeature_name(unsigned bit)
{
	switch (bit) {
	case 2:
		return "AVX";
	case 3:
	case 4:
		return "MPX";
	case 5:
	case 6:
	case 7:
		return "AVX-512";
	case 8:
		return "processor trace";
	case 11:
	case 12:
		return "CET";
	case 17:
	case 18:
		return "AMX";
	default:
		return "an XSAVE component";
	}
}

static bool pkru_off_ok(u32 off)
{
	return off >= XSAVE_EXT_START && off <= sizeof(struct kvm_xsave) - 4;
}

int kvm_snap_xsave_to(struct kvm_xsave *k, const u8 fxsave[X86_FXSAVE_LEN], u32 pkru, u32 pkru_off,
		      char *why, size_t why_len)
{
	u8 *area = (u8 *)k->region;
	u64 bv = XFEATURE_X87 | XFEATURE_SSE;
	u32 mxcsr;

	memset(k, 0, sizeof(*k));
	memcpy(&mxcsr, fxsave + FX_MXCSR, 4);
	/* Bits 31:16 are reserved on every CPU; XRSTOR faults on them. */
	if (mxcsr >> 16)
		return snap_fail(why, why_len, "MXCSR 0x%x sets reserved bits 31:16", mxcsr);
	if (pkru) {
		if (!pkru_off_ok(pkru_off))
			return snap_fail(why, why_len, "PKRU 0x%x, and KVM's CPU has no PKRU state",
					 pkru);
		memcpy(area + pkru_off, &pkru, 4);
		bv |= XFEATURE_PKRU;
	}
	memcpy(area, fxsave, X86_FXSAVE_LEN);
	memcpy(area + XSAVE_HDR_BV, &bv, 8);
	return 0;
}

int kvm_snap_xsave_from(u8 fxsave[X86_FXSAVE_LEN], u32 *pkru, const struct kvm_xsave *k,
			u32 pkru_off, char *why, size_t why_len)
{
	const u8 *area = (const u8 *)k->region;
	u64 bv, comp, extra;

	memcpy(&bv, area + XSAVE_HDR_BV, 8);
	memcpy(&comp, area + XSAVE_HDR_COMP, 8);
	if (comp >> 63)
		return snap_fail(why, why_len, "XSAVE area in compacted format (XCOMP_BV 0x%llx)",
				 (unsigned long long)comp);
	/* Only x87/SSE (and PKRU) have a place in the neutral form; any other
	 * component may be enabled in XCR0 but must be in its initial state. */
	extra = bv & ~(XFEATURE_X87 | XFEATURE_SSE | XFEATURE_PKRU);
	if (extra) {
		unsigned bit = (unsigned)__builtin_ctzll(extra);

		return snap_fail(why, why_len,
				 "%s state in use (XSTATE_BV 0x%llx, component %u): "
				 "the snapshot carries x87 and SSE state only",
				 xfeature_name(bit), (unsigned long long)bv, bit);
	}
	*pkru = 0;
	if (bv & XFEATURE_PKRU) {
		if (!pkru_off_ok(pkru_off))
			return snap_fail(why, why_len, "PKRU state at an unknown offset");
		memcpy(pkru, area + pkru_off, 4);
	}
	memcpy(fxsave, area, X86_FXSAVE_LEN);
	/* A component in its initial configuration may hold anything in the
	 * area (SDM Vol. 1 13.6): write the initial values (13.2). */
	if (!(bv & XFEATURE_X87)) {
		memset(fxsave, 0, FX_MXCSR);
		memset(fxsave + FX_ST0, 0, FX_XMM0 - FX_ST0);
		fxsave[0] = 0x7f; /* FCW 0x037f */
		fxsave[1] = 0x03;
	}
	if (!(bv & XFEATURE_SSE))
		memset(fxsave + FX_XMM0, 0, FX_XMM_END - FX_XMM0);
	return 0;
}

/* XCR0 is XCR 0 (SDM Vol. 1 13.3): x87 always on, AVX only with SSE. */
int kvm_snap_xcrs_to(struct kvm_xcrs *k, u64 xcr0, char *why, size_t why_len)
{
	memset(k, 0, sizeof(*k));
	if (!(xcr0 & XFEATURE_X87) || ((xcr0 & 4) && !(xcr0 & XFEATURE_SSE)))
		return snap_fail(why, why_len, "XCR0 0x%llx is not a value XSETBV accepts",
				 (unsigned long long)xcr0);
	k->nr_xcrs = 1;
	k->xcrs[0].xcr = 0;
	k->xcrs[0].value = xcr0;
	return 0;
}

int kvm_snap_xcrs_from(u64 *xcr0, const struct kvm_xcrs *k, char *why, size_t why_len)
{
	*xcr0 = XFEATURE_X87; /* no XSAVE in the guest's CPUID: XCR0's reset value */
	if (k->nr_xcrs > KVM_MAX_XCRS)
		return snap_fail(why, why_len, "%u XCRs", k->nr_xcrs);
	for (u32 i = 0; i < k->nr_xcrs; i++) {
		if (k->xcrs[i].xcr != 0)
			return snap_fail(why, why_len, "XCR%u has no place in the snapshot",
					 k->xcrs[i].xcr);
		*xcr0 = k->xcrs[i].value;
	}
	return 0;
}

/* ---- debug registers --------------------------------------------------- */

int kvm_snap_debugregs_to(struct kvm_debugregs *k, const struct x86_vcpu_state *st, char *why,
			  size_t why_len)
{
	memset(k, 0, sizeof(*k));
	/* DR6 and DR7 bits 63:32 are reserved (SDM Vol. 3B 17.2.3, 17.2.4);
	 * KVM_SET_DEBUGREGS refuses them. */
	if ((st->dr6 | st->dr7) >> 32)
		return snap_fail(why, why_len, "DR6 0x%llx or DR7 0x%llx sets bits 63:32",
				 (unsigned long long)st->dr6, (unsigned long long)st->dr7);
	memcpy(k->db, st->dr, sizeof(k->db));
	k->dr6 = st->dr6;
	k->dr7 = st->dr7;
	return 0;
}

void kvm_snap_debugregs_from(struct x86_vcpu_state *st, const struct kvm_debugregs *k)
{
	memcpy(st->dr, k->db, sizeof(st->dr));
	st->dr6 = k->dr6;
	st->dr7 = k->dr7;
}

/* ---- MSRs ---------------------------------------------------------------- */

int kvm_snap_msrs_to(struct kvm_msrs *k, u32 max, const struct x86_vcpu_state *st, char *why,
		     size_t why_len)
{
	u64 value;

	k->nmsrs = 0;
	k->pad = 0;
	for (u32 i = 0; i < st->nr_msrs; i++)
		if (!snapshot_msr_known(st->msrs[i].index))
			return snap_fail(why, why_len,
					 "MSR 0x%x has no counterpart in the KVM engine",
					 st->msrs[i].index);
	for (unsigned i = 0; i < ARRAY_SIZE(snapshot_msrs); i++) {
		if (!vcpu_state_msr(st, snapshot_msrs[i], &value))
			continue;
		if (k->nmsrs == max)
			return snap_fail(why, why_len, "more than %u MSRs", max);
		k->entries[k->nmsrs++] =
		    (struct kvm_msr_entry){.index = snapshot_msrs[i], .data = value};
	}
	return 0;
}

int kvm_snap_msrs_from(struct x86_vcpu_state *st, const struct kvm_msrs *k, char *why,
		       size_t why_len)
{
	for (u32 i = 0; i < k->nmsrs; i++) {
		u32 index = k->entries[i].index;

		if (!snapshot_msr_known(index))
			return snap_fail(why, why_len, "MSR 0x%x has no place in the snapshot",
					 index);
		if (vcpu_state_set_msr(st, index, k->entries[i].data) < 0)
			return snap_fail(why, why_len, "more than %u MSRs", X86_MAX_SAVED_MSRS);
	}
	return 0;
}

u64 kvm_snap_tsc_shift(u64 tsc, u64 from_ns, u64 to_ns, u32 tsc_khz)
{
	__int128 d = ((__int128)to_ns - (__int128)from_ns) * tsc_khz / 1000000;

	return (u64)((__int128)tsc + d);
}

/* ---- events and MP state ----------------------------------------------- */

/*
 * KVM's exception is "injected" (its delivery through the IDT started, or
 * without KVM_CAP_EXCEPTION_PAYLOAD, which popek does not enable, raised at
 * all) or "pending" (raised, its payload (CR2, DR6) not yet written). The
 * neutral exc_pending is an exception raised and not delivered, with CR2 or
 * DR6 already written: KVM's injected without payload. Its NMI "injected"
 * is one KVM is delivering; NMIs were unmasked for that to start, so it
 * counts as one more pending with NMIs unmasked. An external interrupt
 * being injected has no neutral form (kvm_snap_interrupt_unaccept puts one
 * from the LAPIC back first): refused, as SMM and a pending triple fault are.
 */
int kvm_snap_events_to(struct kvm_vcpu_events *k, const struct x86_events *ev, char *why,
		       size_t why_len)
{
	memset(k, 0, sizeof(*k));
	if (ev->exc_pending) {
		/* Vectors 32-255 are interrupts; 2 is the NMI (SDM Vol. 3A 6.3). */
		if (ev->exc_vector > 31 || ev->exc_vector == 2)
			return snap_fail(why, why_len,
					 "pending exception vector %u is not an "
					 "exception KVM can inject",
					 ev->exc_vector);
		k->exception.injected = 1;
		k->exception.nr = ev->exc_vector;
		k->exception.has_error_code = ev->exc_has_error;
		k->exception.error_code = ev->exc_error;
	}
	if (ev->nmi_pending > 2)
		return snap_fail(why, why_len, "%u NMIs pending (at most 2)", ev->nmi_pending);
	k->nmi.pending = ev->nmi_pending;
	k->nmi.masked = ev->nmi_masked;
	if (ev->intr_shadow & ~(X86_SHADOW_STI | X86_SHADOW_MOVSS))
		return snap_fail(why, why_len, "interrupt shadow 0x%x", ev->intr_shadow);
	k->interrupt.shadow = (ev->intr_shadow & X86_SHADOW_STI ? KVM_X86_SHADOW_INT_STI : 0) |
			      (ev->intr_shadow & X86_SHADOW_MOVSS ? KVM_X86_SHADOW_INT_MOV_SS : 0);
	/* SMM and the SIPI vector stay as the vCPU has them (not in SMM). */
	k->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	return 0;
}

int kvm_snap_events_from(struct x86_events *ev, const struct kvm_vcpu_events *k, char *why,
			 size_t why_len)
{
	u8 mp = ev->mp_state;

	memset(ev, 0, sizeof(*ev));
	ev->mp_state = mp;
	if (k->exception.injected || k->exception.pending) {
		if (k->exception.nr > 31)
			return snap_fail(why, why_len, "exception vector %u", k->exception.nr);
		if (k->exception_has_payload)
			return snap_fail(why, why_len,
					 "exception %u with its payload (CR2 or "
					 "DR6) not yet written",
					 k->exception.nr);
		ev->exc_pending = true;
		ev->exc_vector = k->exception.nr;
		ev->exc_has_error = k->exception.has_error_code;
		ev->exc_error = k->exception.has_error_code ? k->exception.error_code : 0;
	}
	if (k->interrupt.injected)
		return snap_fail(why, why_len, "%s interrupt vector %u is being delivered",
				 k->interrupt.soft ? "software" : "external", k->interrupt.nr);
	if (k->smi.smm || k->smi.pending || k->smi.latched_init)
		return snap_fail(why, why_len, "the vCPU is in SMM or has an SMI or INIT held");
	if ((k->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) && k->triple_fault.pending)
		return snap_fail(why, why_len, "a triple fault is pending");
	ev->nmi_pending = MIN(k->nmi.pending + (k->nmi.injected ? 1 : 0), 2);
	ev->nmi_masked = k->nmi.masked && !k->nmi.injected;
	ev->intr_shadow = (k->interrupt.shadow & KVM_X86_SHADOW_INT_STI ? X86_SHADOW_STI : 0) |
			  (k->interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS ? X86_SHADOW_MOVSS : 0);
	return 0;
}

/* An external interrupt KVM was injecting when the vCPU stopped (its entry
 * cancelled by a kick, or an exit during delivery: vmx.c
 * __vmx_complete_interrupts requeues it) was already accepted by the LAPIC
 * (IRR to ISR, lapic.c kvm_get_apic_interrupt) but not delivered. The
 * neutral form has no such state; the LAPIC before the acceptance has the
 * same future (SDM Vol. 3A 10.8.4): the vector goes back from ISR to IRR
 * and is accepted again on resume. It must be the highest vector in ISR,
 * else it did not come from the LAPIC: from the 8259A (ExtINT), or a
 * software interrupt, it cannot be put back and is refused. */
int kvm_snap_interrupt_unaccept(u8 page[X86_LAPIC_PAGE], struct kvm_vcpu_events *k, char *why,
				size_t why_len)
{
	unsigned v = k->interrupt.nr, reg = 0x100 + v / 32 * 0x10;
	u32 bit = 1u << (v % 32), isr = x86_lapic_reg(page, reg);
	bool highest = isr & bit && !(isr & ~(bit | (bit - 1)));

	if (!k->interrupt.injected)
		return 0;
	for (unsigned r = reg + 0x10; r < 0x180; r += 0x10)
		highest &= !x86_lapic_reg(page, r);
	if (k->interrupt.soft || !highest)
		return snap_fail(why, why_len,
				 "%s interrupt vector %u is being delivered, and the "
				 "LAPIC did not send it",
				 k->interrupt.soft ? "software" : "external", v);
	x86_lapic_set_reg(page, reg, isr & ~bit);
	x86_lapic_set_reg(page, reg + 0x100, x86_lapic_reg(page, reg + 0x100) | bit);
	k->interrupt.injected = 0;
	k->interrupt.nr = 0;
	return 0;
}

/* An AP waiting for its SIPI is KVM's INIT_RECEIVED: KVM takes a SIPI only
 * there (lapic.c kvm_apic_accept_events); a never-started AP's
 * UNINITIALIZED also waits (for INIT, then SIPI), which INIT_RECEIVED
 * covers. SIPI_RECEIVED would need the vector, which the neutral form does
 * not keep (and KVM_GET_MP_STATE never reports it: it takes the SIPI first). */
int kvm_snap_mp_to(struct kvm_mp_state *k, u8 mp_state, char *why, size_t why_len)
{
	switch (mp_state) {
	case X86_MP_RUNNABLE:
		k->mp_state = KVM_MP_STATE_RUNNABLE;
		return 0;
	case X86_MP_HALTED:
		k->mp_state = KVM_MP_STATE_HALTED;
		return 0;
	case X86_MP_WAIT_SIPI:
		k->mp_state = KVM_MP_STATE_INIT_RECEIVED;
		return 0;
	}
	return snap_fail(why, why_len, "MP state %u", mp_state);
}

int kvm_snap_mp_from(u8 *mp_state, const struct kvm_mp_state *k, char *why, size_t why_len)
{
	switch (k->mp_state) {
	case KVM_MP_STATE_RUNNABLE:
		*mp_state = X86_MP_RUNNABLE;
		return 0;
	case KVM_MP_STATE_HALTED:
		*mp_state = X86_MP_HALTED;
		return 0;
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
		*mp_state = X86_MP_WAIT_SIPI;
		return 0;
	case KVM_MP_STATE_SIPI_RECEIVED:
		return snap_fail(why, why_len, "KVM MP state SIPI_RECEIVED (a SIPI not yet taken)");
	}
	return snap_fail(why, why_len, "KVM MP state %u has no counterpart", k->mp_state);
}

/* ---- LAPIC --------------------------------------------------------------- */

/* TMCCT: KVM_GET_LAPIC fills in the current count (Linux 5.x, lapic.c
 * kvm_apic_get_state), like the neutral page; KVM_SET_LAPIC restarts the
 * timer from TMICT whatever TMCCT says. */
int kvm_snap_lapic_to(struct kvm_lapic_state *k, const u8 page[X86_LAPIC_PAGE], char *why,
		      size_t why_len)
{
	u32 id = x86_lapic_reg(page, 0x20);

	if (id & 0xffffff)
		return snap_fail(why, why_len, "LAPIC ID register 0x%x sets bits 23:0", id);
	memcpy(k->regs, page, sizeof(k->regs));
	return 0;
}

void kvm_snap_lapic_from(u8 page[X86_LAPIC_PAGE], const struct kvm_lapic_state *k)
{
	memcpy(page, k->regs, X86_LAPIC_PAGE);
}
