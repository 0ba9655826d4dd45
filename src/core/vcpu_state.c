/* The engine-neutral vCPU form's encoding (vcpu_state.h).
 *
 * Order, all little-endian: the 16 GPRs, RIP, RFLAGS; ES CS SS DS FS GS TR
 * LDTR as segments (u64 base, u32 limit, u16 selector, u8 type, then s dpl
 * present avl l db g unusable as u8); GDTR and IDTR (u64 base, u16 limit);
 * CR0 CR2 CR3 CR4 CR8 EFER APIC_BASE XCR0 (u64), PKRU (u32); DR0-DR3 DR6
 * DR7 (u64); the 512-byte FXSAVE image; the MSR count (u32) and each MSR
 * (u32 index, u64 value); the events (exc_pending, exc_vector,
 * exc_has_error as u8, exc_error u32, nmi_pending nmi_masked intr_shadow
 * mp_state as u8); the 1024-byte LAPIC page. */
#include <errno.h>

#include "core/vcpu_state.h"

static void put_seg(struct snap_out *o, const struct x86_seg *s)
{
	snap_put_u64(o, s->base);
	snap_put_u32(o, s->limit);
	snap_put_u16(o, s->selector);
	snap_put_u8(o, s->type);
	snap_put_u8(o, s->s);
	snap_put_u8(o, s->dpl);
	snap_put_u8(o, s->present);
	snap_put_u8(o, s->avl);
	snap_put_u8(o, s->l);
	snap_put_u8(o, s->db);
	snap_put_u8(o, s->g);
	snap_put_u8(o, s->unusable);
}

static void get_seg(struct snap_in *in, struct x86_seg *s, const char *name)
{
	s->base = snap_get_u64(in);
	s->limit = snap_get_u32(in);
	s->selector = snap_get_u16(in);
	s->type = snap_get_u8(in);
	s->s = snap_get_bool(in);
	s->dpl = snap_get_u8(in);
	s->present = snap_get_bool(in);
	s->avl = snap_get_bool(in);
	s->l = snap_get_bool(in);
	s->db = snap_get_bool(in);
	s->g = snap_get_bool(in);
	s->unusable = snap_get_bool(in);
	if (s->type > 15 || s->dpl > 3)
		snap_reject(in, "segment %s: type %u or DPL %u out of range", name, s->type, s->dpl);
}

static const char *const seg_names[6] = {"ES", "CS", "SS", "DS", "FS", "GS"};

void vcpu_state_encode(const struct x86_vcpu_state *st, struct snap_out *o)
{
	const struct x86_sregs *sr = &st->st.sregs;

	for (unsigned i = 0; i < 16; i++)
		snap_put_u64(o, st->st.regs.gpr[i]);
	snap_put_u64(o, st->st.regs.rip);
	snap_put_u64(o, st->st.regs.rflags);
	for (unsigned i = 0; i < 6; i++)
		put_seg(o, &sr->seg[i]);
	put_seg(o, &sr->tr);
	put_seg(o, &sr->ldt);
	snap_put_u64(o, sr->gdt.base);
	snap_put_u16(o, sr->gdt.limit);
	snap_put_u64(o, sr->idt.base);
	snap_put_u16(o, sr->idt.limit);
	snap_put_u64(o, sr->cr0);
	snap_put_u64(o, sr->cr2);
	snap_put_u64(o, sr->cr3);
	snap_put_u64(o, sr->cr4);
	snap_put_u64(o, sr->cr8);
	snap_put_u64(o, sr->efer);
	snap_put_u64(o, sr->apic_base);
	snap_put_u64(o, st->xcr0);
	snap_put_u32(o, st->pkru);
	for (unsigned i = 0; i < 4; i++)
		snap_put_u64(o, st->dr[i]);
	snap_put_u64(o, st->dr6);
	snap_put_u64(o, st->dr7);
	snap_put_bytes(o, st->fxsave, sizeof(st->fxsave));
	snap_put_u32(o, st->nr_msrs);
	for (u32 i = 0; i < st->nr_msrs && i < X86_MAX_SAVED_MSRS; i++) {
		snap_put_u32(o, st->msrs[i].index);
		snap_put_u64(o, st->msrs[i].value);
	}
	snap_put_bool(o, st->ev.exc_pending);
	snap_put_u8(o, st->ev.exc_vector);
	snap_put_bool(o, st->ev.exc_has_error);
	snap_put_u32(o, st->ev.exc_error);
	snap_put_u8(o, st->ev.nmi_pending);
	snap_put_bool(o, st->ev.nmi_masked);
	snap_put_u8(o, st->ev.intr_shadow);
	snap_put_u8(o, st->ev.mp_state);
	snap_put_bytes(o, st->lapic, sizeof(st->lapic));
}

int vcpu_state_decode(struct snap_in *in, struct x86_vcpu_state *st)
{
	struct x86_sregs *sr = &st->st.sregs;

	*st = (struct x86_vcpu_state){0};
	for (unsigned i = 0; i < 16; i++)
		st->st.regs.gpr[i] = snap_get_u64(in);
	st->st.regs.rip = snap_get_u64(in);
	st->st.regs.rflags = snap_get_u64(in);
	for (unsigned i = 0; i < 6; i++)
		get_seg(in, &sr->seg[i], seg_names[i]);
	get_seg(in, &sr->tr, "TR");
	get_seg(in, &sr->ldt, "LDTR");
	sr->gdt.base = snap_get_u64(in);
	sr->gdt.limit = snap_get_u16(in);
	sr->idt.base = snap_get_u64(in);
	sr->idt.limit = snap_get_u16(in);
	sr->cr0 = snap_get_u64(in);
	sr->cr2 = snap_get_u64(in);
	sr->cr3 = snap_get_u64(in);
	sr->cr4 = snap_get_u64(in);
	sr->cr8 = snap_get_u64(in);
	sr->efer = snap_get_u64(in);
	sr->apic_base = snap_get_u64(in);
	st->xcr0 = snap_get_u64(in);
	st->pkru = snap_get_u32(in);
	for (unsigned i = 0; i < 4; i++)
		st->dr[i] = snap_get_u64(in);
	st->dr6 = snap_get_u64(in);
	st->dr7 = snap_get_u64(in);
	snap_get_bytes(in, st->fxsave, sizeof(st->fxsave));
	st->nr_msrs = snap_get_u32(in);
	if (st->nr_msrs > X86_MAX_SAVED_MSRS) {
		snap_reject(in, "%u MSRs, at most %u are saved", st->nr_msrs, X86_MAX_SAVED_MSRS);
		st->nr_msrs = 0;
	}
	for (u32 i = 0; i < st->nr_msrs; i++) {
		st->msrs[i].index = snap_get_u32(in);
		st->msrs[i].value = snap_get_u64(in);
		for (u32 j = 0; j < i; j++)
			if (st->msrs[j].index == st->msrs[i].index)
				snap_reject(in, "MSR 0x%x saved twice", st->msrs[i].index);
	}
	st->ev.exc_pending = snap_get_bool(in);
	st->ev.exc_vector = snap_get_u8(in);
	st->ev.exc_has_error = snap_get_bool(in);
	st->ev.exc_error = snap_get_u32(in);
	st->ev.nmi_pending = snap_get_u8(in);
	st->ev.nmi_masked = snap_get_bool(in);
	st->ev.intr_shadow = snap_get_u8(in);
	st->ev.mp_state = snap_get_u8(in);
	snap_get_bytes(in, st->lapic, sizeof(st->lapic));
	if (in->bad)
		return snap_in_end(in);
	if (st->ev.exc_pending && st->ev.exc_vector > 31)
		snap_reject(in, "pending exception vector %u is not an exception", st->ev.exc_vector);
	if (st->ev.nmi_pending > 2)
		snap_reject(in, "%u NMIs pending, at most 2 can be", st->ev.nmi_pending);
	if (st->ev.intr_shadow & ~(X86_SHADOW_STI | X86_SHADOW_MOVSS))
		snap_reject(in, "interrupt shadow 0x%x has unknown bits", st->ev.intr_shadow);
	if (st->ev.mp_state > X86_MP_WAIT_SIPI)
		snap_reject(in, "run state %u is unknown", st->ev.mp_state);
	if (!(sr->efer & X86_EFER_LMA) != !((sr->cr0 & X86_CR0_PG) && (sr->efer & X86_EFER_LME)))
		snap_reject(in, "EFER.LMA 0x%llx disagrees with CR0.PG and EFER.LME",
			    (unsigned long long)sr->efer);
	return snap_in_end(in);
}

bool vcpu_state_msr(const struct x86_vcpu_state *st, u32 index, u64 *value)
{
	for (u32 i = 0; i < st->nr_msrs; i++)
		if (st->msrs[i].index == index) {
			*value = st->msrs[i].value;
			return true;
		}
	return false;
}

int vcpu_state_set_msr(struct x86_vcpu_state *st, u32 index, u64 value)
{
	for (u32 i = 0; i < st->nr_msrs; i++)
		if (st->msrs[i].index == index) {
			st->msrs[i].value = value;
			return 0;
		}
	if (st->nr_msrs >= X86_MAX_SAVED_MSRS)
		return -ENOSPC;
	st->msrs[st->nr_msrs++] = (struct x86_msr_value){index, value};
	return 0;
}
