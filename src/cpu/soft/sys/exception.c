/* Exceptions and interrupts: raising (longjmp out of the instruction) and
 * delivery through the real-mode IVT, the protected-mode IDT and the IA-32e
 * IDT, with double and triple fault (Intel SDM Vol. 3A ch. 6). */
#include <string.h>

#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "popek/log.h"

/* Internal kinds: soft_int_kind plus "exception". */
#define EV_EXCEPTION (-1)

struct soft_event {
	int vector;
	int kind; /* enum soft_int_kind or EV_EXCEPTION */
	u32 error;
	bool has_error;
};

static bool vector_has_error(int vector)
{
	/* SDM Vol. 3A Table 6-1: #DF #TS #NP #SS #GP #PF #AC (and #CP). */
	switch (vector) {
	case EXC_DF:
	case EXC_TS:
	case EXC_NP:
	case EXC_SS:
	case EXC_GP:
	case EXC_PF:
	case EXC_AC:
	case 21:
		return true;
	default:
		return false;
	}
}

_Noreturn void soft_raise(struct soft_cpu *cpu, int vector, u32 error_code)
{
	cpu->pending_vector = vector;
	cpu->pending_error = error_code;
	cpu->pending_has_error = vector_has_error(vector);
	/* Faults report the address of the faulting instruction. */
	cpu->rip = cpu->insn_rip;
	longjmp(cpu->fault_jmp, 1);
}

_Noreturn void soft_raise_noerr(struct soft_cpu *cpu, int vector)
{
	soft_raise(cpu, vector, 0);
}

/* EXT bit of error codes (SDM Vol. 3A 6.13): the event was not INT n/INT3/INTO. */
static u32 ev_ext(const struct soft_event *ev)
{
	return ev->kind == EV_EXCEPTION || ev->kind == SOFT_INT_HW || ev->kind == SOFT_INT_ICEBP;
}

static bool ev_software(const struct soft_event *ev)
{
	return ev->kind == SOFT_INT_SOFTWARE || ev->kind == SOFT_INT_INT3 ||
	       ev->kind == SOFT_INT_INTO;
}

/* RFLAGS as the event's frame holds it: RF set for a fault, but for an
 * instruction breakpoint's #DB, so that the instruction restarts without
 * hitting its breakpoint again (SDM Vol. 3B 18.3.1.1). */
static u64 frame_flags(struct soft_cpu *cpu, const struct soft_event *ev)
{
	/* #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC #XM #VE #CP */
	const u32 faults = 0x3b7ce1;
	u64 fl = soft_flags_get(cpu);

	if (ev->kind == EV_EXCEPTION && ev->vector < 32 &&
	    (((faults >> ev->vector) & 1) || (ev->vector == EXC_DB && cpu->db_fault_rf)))
		fl |= RFLAGS_RF;
	return fl;
}

static _Noreturn void raise_idt(struct soft_cpu *cpu, int vector, const struct soft_event *ev)
{
	soft_raise(cpu, vector, ((u32)ev->vector << 3) | 2 | ev_ext(ev));
}

u64 soft_push_frame(struct soft_cpu *cpu, const struct x86_seg *ss, u64 sp, u64 sp_mask,
		    const u64 *vals, unsigned n, unsigned size, unsigned priv, u32 ss_err)
{
	u8 buf[8 * 8];
	unsigned total = n * size;
	u64 nsp = (sp - total) & sp_mask, lin;

	for (unsigned i = 0; i < n; i++)
		memcpy(buf + total - (i + 1) * size, &vals[i], size);
	if (sp_mask == ~0ULL) {
		lin = nsp;
		if (!soft_canonical(lin))
			soft_raise(cpu, EXC_SS, ss_err);
	} else {
		if (!soft_seg_ok(ss, nsp, total, SOFT_ACC_WRITE, cpu->mode == SOFT_MODE_REAL))
			soft_raise(cpu, EXC_SS, ss_err);
		lin = (ss->base + nsp) & 0xffffffffULL;
	}
	soft_lin_write(cpu, lin, buf, total, priv);
	return nsp;
}

static u64 sp_mask_of(const struct x86_seg *ss)
{
	return ss->db ? 0xffffffffULL : 0xffffULL;
}

static void set_sp(struct soft_cpu *cpu, u64 nsp, u64 mask)
{
	cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~mask) | (nsp & mask);
}

static void deliver_real(struct soft_cpu *cpu, const struct soft_event *ev)
{
	u64 ent = (u64)ev->vector * 4;
	u64 vals[3];
	u32 ivt;

	if (ent + 3 > cpu->idt.limit)
		raise_idt(cpu, EXC_GP, ev);
	ivt = (u32)soft_read_sys(cpu, cpu->idt.base + ent, 4);
	vals[0] = soft_flags_get(cpu) & 0xffff;
	vals[1] = cpu->seg[X86_CS].selector;
	vals[2] = cpu->rip & 0xffff;
	u64 mask = sp_mask_of(&cpu->seg[X86_SS]);
	u64 nsp = soft_push_frame(cpu, &cpu->seg[X86_SS], cpu->gpr[X86_RSP], mask, vals, 3, 2,
				  SOFT_PRIV_SUP, 0);
	set_sp(cpu, nsp, mask);
	cpu->rflags &= ~(X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_AC | RFLAGS_RF);
	soft_priv_update(cpu);
	soft_seg_load_real(cpu, X86_CS, (u16)(ivt >> 16));
	cpu->rip = ivt & 0xffff;
}

/* Reads and checks the target code segment of a gate (SDM Vol. 3A 6.12.1). */
static void gate_target_cs(struct soft_cpu *cpu, const struct soft_event *ev, u16 sel,
			   bool long_mode, u64 *desc)
{
	u32 ext = ev_ext(ev);
	struct x86_seg cs;

	if (!(sel & 0xfffc))
		soft_raise(cpu, EXC_GP, ext);
	if (!soft_desc_read(cpu, sel, desc))
		soft_raise(cpu, EXC_GP, (sel & 0xfffc) | ext);
	soft_desc_decode(*desc, sel, &cs);
	if (!cs.s || !(cs.type & SEG_TYPE_CODE) || cs.dpl > cpu->cpl ||
	    (long_mode && (!cs.l || cs.db)))
		soft_raise(cpu, EXC_GP, (sel & 0xfffc) | ext);
	if (!cs.present)
		soft_raise(cpu, EXC_NP, (sel & 0xfffc) | ext);
}

static void clear_flags_on_entry(struct soft_cpu *cpu, bool intgate)
{
	cpu->rflags &= ~(X86_RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
	if (intgate)
		cpu->rflags &= ~X86_RFLAGS_IF;
}

static void deliver_long(struct soft_cpu *cpu, const struct soft_event *ev)
{
	u64 ent = (u64)ev->vector * 16, lo, hi, desc, rsp, vals[6];
	unsigned type, ist, dpl, newcpl, n = 0;
	u32 ext = ev_ext(ev);
	u16 sel;

	if (ent + 15 > cpu->idt.limit)
		raise_idt(cpu, EXC_GP, ev);
	lo = soft_read_sys(cpu, cpu->idt.base + ent, 8);
	hi = soft_read_sys(cpu, cpu->idt.base + ent + 8, 8);
	type = (lo >> 40) & 0x1f; /* S bit included: must be 0 */
	dpl = (lo >> 45) & 3;
	if (type != SYS_INTGATE && type != SYS_TRAPGATE)
		raise_idt(cpu, EXC_GP, ev);
	if (ev_software(ev) && cpu->cpl > dpl)
		raise_idt(cpu, EXC_GP, ev);
	if (!(lo & (1ULL << 47)))
		raise_idt(cpu, EXC_NP, ev);
	sel = (u16)(lo >> 16);
	gate_target_cs(cpu, ev, sel, true, &desc);
	u64 target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL) | ((hi & 0xffffffffULL) << 32);
	if (!soft_canonical(target))
		soft_raise(cpu, EXC_GP, ext);
	ist = (lo >> 32) & 7;
	newcpl = (desc >> 42) & 1 ? cpu->cpl : ((desc >> 45) & 3); /* conforming keeps CPL */

	/* SDM Vol. 3A 6.14.4/6.14.5: RSP from the TSS on a privilege change,
	 * from the IST when the gate names one; aligned to 16 bytes. */
	rsp = cpu->gpr[X86_RSP];
	if (newcpl < cpu->cpl)
		rsp = soft_tss_read(cpu, 4 + 8 * newcpl, 8);
	if (ist)
		rsp = soft_tss_read(cpu, 0x24 + 8 * (ist - 1), 8);
	rsp &= ~0xfULL;
	vals[n++] = cpu->seg[X86_SS].selector;
	vals[n++] = cpu->gpr[X86_RSP];
	vals[n++] = frame_flags(cpu, ev);
	vals[n++] = cpu->seg[X86_CS].selector;
	vals[n++] = cpu->rip;
	if (ev->kind == EV_EXCEPTION && ev->has_error)
		vals[n++] = ev->error;
	rsp = soft_push_frame(cpu, NULL, rsp, ~0ULL, vals, n, 8, soft_data_priv(cpu, newcpl), ext);

	/* Commit (the accessed-bit write can still fault: first). */
	soft_desc_set_accessed(cpu, sel, desc);
	if (newcpl < cpu->cpl)
		soft_seg_set_null(&cpu->seg[X86_SS], (u16)newcpl);
	cpu->gpr[X86_RSP] = rsp;
	soft_set_cs(cpu, sel, desc, newcpl);
	cpu->rip = target;
	clear_flags_on_entry(cpu, type == SYS_INTGATE);
	soft_mode_update(cpu);
}

void soft_tss_stack(struct soft_cpu *cpu, unsigned dpl, u32 ext, struct x86_seg *ss, u64 *sp,
		    u64 *ssdesc)
{
	bool tss32 = cpu->tr.type & 8; /* types 9/11; 1/3 are 16-bit TSSs */
	u16 sel;

	if (tss32) {
		*sp = soft_tss_read(cpu, 4 + 8 * dpl, 4);
		sel = (u16)soft_tss_read(cpu, 8 + 8 * dpl, 2);
	} else {
		*sp = soft_tss_read(cpu, 2 + 4 * dpl, 2);
		sel = (u16)soft_tss_read(cpu, 4 + 4 * dpl, 2);
	}
	if (!(sel & 0xfffc))
		soft_raise(cpu, EXC_TS, ext);
	if (!soft_desc_read(cpu, sel, ssdesc))
		soft_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	soft_desc_decode(*ssdesc, sel, ss);
	if ((sel & 3) != dpl || ss->dpl != dpl || !ss->s || (ss->type & SEG_TYPE_CODE) ||
	    !(ss->type & SEG_TYPE_WRITABLE))
		soft_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	if (!ss->present)
		soft_raise(cpu, EXC_SS, (sel & 0xfffc) | ext);
}

static void deliver_prot(struct soft_cpu *cpu, const struct soft_event *ev)
{
	u64 ent = (u64)ev->vector * 8, gate, desc, ssdesc = 0, vals[6], sp;
	unsigned type, dpl, newcpl, n = 0, size;
	u32 ext = ev_ext(ev);
	struct x86_seg newss;
	u16 sel;

	if (cpu->rflags & RFLAGS_VM) {
		log_warn("soft: interrupt %d in virtual-8086 mode is not supported", ev->vector);
		soft_raise(cpu, EXC_GP, ext);
	}
	if (ent + 7 > cpu->idt.limit)
		raise_idt(cpu, EXC_GP, ev);
	gate = soft_read_sys(cpu, cpu->idt.base + ent, 8);
	type = (gate >> 40) & 0x1f;
	dpl = (gate >> 45) & 3;
	if (type == SYS_TASKGATE) {
		log_warn("soft: task gate for vector %d is not supported", ev->vector);
		raise_idt(cpu, EXC_GP, ev);
	}
	if (type != SYS_INTGATE && type != SYS_TRAPGATE && type != SYS_INTGATE16 &&
	    type != SYS_TRAPGATE16)
		raise_idt(cpu, EXC_GP, ev);
	if (ev_software(ev) && cpu->cpl > dpl)
		raise_idt(cpu, EXC_GP, ev);
	if (!(gate & (1ULL << 47)))
		raise_idt(cpu, EXC_NP, ev);
	size = type & 8 ? 4 : 2;
	sel = (u16)(gate >> 16);
	gate_target_cs(cpu, ev, sel, false, &desc);
	u64 target = (gate & 0xffff) | (size == 4 ? (gate >> 32) & 0xffff0000ULL : 0);
	struct x86_seg cs;
	soft_desc_decode(desc, sel, &cs);
	newcpl = (cs.type & SEG_TYPE_CONFORM) ? cpu->cpl : cs.dpl;
	if (target > cs.limit)
		soft_raise(cpu, EXC_GP, ext);

	if (newcpl < cpu->cpl) {
		soft_tss_stack(cpu, newcpl, ext, &newss, &sp, &ssdesc);
		vals[n++] = cpu->seg[X86_SS].selector;
		vals[n++] = cpu->gpr[X86_RSP];
	} else {
		newss = cpu->seg[X86_SS];
		sp = cpu->gpr[X86_RSP];
	}
	vals[n++] = frame_flags(cpu, ev);
	vals[n++] = cpu->seg[X86_CS].selector;
	vals[n++] = cpu->rip;
	if (ev->kind == EV_EXCEPTION && ev->has_error)
		vals[n++] = ev->error;
	u64 mask = sp_mask_of(&newss);
	u32 ss_err = newcpl < cpu->cpl ? ((newss.selector & 0xfffc) | ext) : ext;
	sp = soft_push_frame(cpu, &newss, sp, mask, vals, n, size, soft_data_priv(cpu, newcpl),
			     ss_err);

	/* Commit (the accessed-bit writes can still fault: first). */
	soft_desc_set_accessed(cpu, sel, desc);
	if (newcpl < cpu->cpl) {
		soft_desc_set_accessed(cpu, newss.selector, ssdesc);
		newss.type |= SEG_TYPE_ACCESSED;
		cpu->seg[X86_SS] = newss;
	}
	set_sp(cpu, sp, mask);
	soft_set_cs(cpu, sel, desc, newcpl);
	cpu->rip = target;
	clear_flags_on_entry(cpu, (type & 7) == 6);
	soft_mode_update(cpu);
}

static void deliver_one(struct soft_cpu *cpu, const struct soft_event *ev)
{
	if (cpu->mode == SOFT_MODE_REAL)
		deliver_real(cpu, ev);
	else if (cpu->efer & X86_EFER_LMA)
		deliver_long(cpu, ev);
	else
		deliver_prot(cpu, ev);
	if (ev->vector == EXC_NMI && ev->kind == SOFT_INT_HW)
		cpu->nmi_blocked = true; /* until the next IRET (SDM Vol. 3A 6.7.1) */
	cpu->halted = false;
	cpu->intr_shadow = 0;
	cpu->db_delivered = true;
}

/* Runs one delivery attempt; false with the new fault pending when it faulted. */
static bool deliver_try(struct soft_cpu *cpu, const struct soft_event *ev)
{
	if (setjmp(cpu->fault_jmp))
		return false;
	deliver_one(cpu, ev);
	return true;
}

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGEFAULT };

static enum exc_class ev_class(const struct soft_event *ev)
{
	if (ev->kind != EV_EXCEPTION)
		return EXC_BENIGN;
	switch (ev->vector) {
	case EXC_DE:
	case EXC_TS:
	case EXC_NP:
	case EXC_SS:
	case EXC_GP:
		return EXC_CONTRIBUTORY;
	case EXC_PF:
		return EXC_PAGEFAULT;
	default:
		return EXC_BENIGN;
	}
}

/* Delivers ev; a fault while doing so becomes the next event, or #DF per
 * SDM Vol. 3A Table 6-5, or shutdown when #DF delivery itself faults. */
static void deliver(struct soft_cpu *cpu, struct soft_event ev)
{
	jmp_buf saved;

	memcpy(saved, cpu->fault_jmp, sizeof(saved));
	if (ev.kind == SOFT_INT_HW)
		cpu->insn_rip = cpu->rip; /* a fault during delivery returns here */
	while (!deliver_try(cpu, &ev)) {
		struct soft_event next = {cpu->pending_vector, EV_EXCEPTION, cpu->pending_error,
					  cpu->pending_has_error};
		enum exc_class first = ev_class(&ev), second = ev_class(&next);

		if (ev.kind == EV_EXCEPTION && ev.vector == EXC_DF) {
			log_warn("soft: vCPU %u triple fault (vector %d during #DF delivery)",
				 cpu->id, next.vector);
			cpu->shutdown = true;
			break;
		}
		if ((first == EXC_CONTRIBUTORY && second == EXC_CONTRIBUTORY) ||
		    (first == EXC_PAGEFAULT && second != EXC_BENIGN))
			next = (struct soft_event){EXC_DF, EV_EXCEPTION, 0, true};
		ev = next;
	}
	memcpy(cpu->fault_jmp, saved, sizeof(saved));
	cpu->pending_vector = -1;
}

void soft_deliver_exception(struct soft_cpu *cpu)
{
	struct soft_event ev = {cpu->pending_vector, EV_EXCEPTION, cpu->pending_error,
				cpu->pending_has_error};

	if (ev.vector < 0)
		return;
	cpu->pending_vector = -1;
	deliver(cpu, ev);
	cpu->db_fault_rf = false;
}

void soft_deliver_interrupt(struct soft_cpu *cpu, int vector, enum soft_int_kind kind)
{
	deliver(cpu, (struct soft_event){vector & 0xff, (int)kind, 0, false});
}
