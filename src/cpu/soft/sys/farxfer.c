/* Far control transfers: JMP/CALL/RET far through code segments and call
 * gates, and IRET, in real, protected and IA-32e mode (Intel SDM Vol. 2A
 * CALL/JMP/RET/IRET, Vol. 3A 5.8). Task switches are refused with #GP. */
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "popek/log.h"

static u64 opmask(unsigned opsize)
{
	return opsize >= 8 ? ~0ULL : (1ULL << (opsize * 8)) - 1;
}

/* ---- the current stack ---- */

static u64 stk_mask(const struct soft_cpu *cpu)
{
	if (cpu->mode == SOFT_MODE_LONG64)
		return ~0ULL;
	return cpu->seg[X86_SS].db ? 0xffffffffULL : 0xffffULL;
}

/* Reads size bytes at RSP + delta (wrapped to the stack size). */
static u64 stk_read(struct soft_cpu *cpu, u64 delta, unsigned size)
{
	u64 sp = (cpu->gpr[X86_RSP] + delta) & stk_mask(cpu), lin;

	if (cpu->mode == SOFT_MODE_LONG64) {
		if (!soft_canonical(sp))
			soft_raise(cpu, EXC_SS, 0);
		lin = sp;
	} else {
		lin = soft_seg_linear(cpu, X86_SS, sp, size, SOFT_ACC_READ);
	}
	return soft_lin_load(cpu, lin, size, cpu->dpriv);
}

static void stk_set(struct soft_cpu *cpu, u64 sp, u64 mask)
{
	cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~mask) | (sp & mask);
}

/* ---- code-segment targets ---- */

static bool legacy(const struct soft_cpu *cpu)
{
	return cpu->mode == SOFT_MODE_REAL || (cpu->rflags & RFLAGS_VM);
}

/* Checks a code-segment descriptor as the target of a direct far JMP/CALL
 * (SDM Vol. 3A 5.8.1) and of a call gate (5.8.6, privilege 'call'). */
static void check_code(struct soft_cpu *cpu, u16 sel, const struct x86_seg *d, bool gate_call)
{
	u16 idx = sel & 0xfffc;

	if (!d->s || !(d->type & SEG_TYPE_CODE))
		soft_raise(cpu, EXC_GP, idx);
	if (d->type & SEG_TYPE_CONFORM) {
		if (d->dpl > cpu->cpl)
			soft_raise(cpu, EXC_GP, idx);
	} else if (gate_call) {
		if (d->dpl > cpu->cpl)
			soft_raise(cpu, EXC_GP, idx);
	} else if ((sel & 3) > cpu->cpl || d->dpl != cpu->cpl) {
		soft_raise(cpu, EXC_GP, idx);
	}
	if ((cpu->efer & X86_EFER_LMA) && d->l && d->db)
		soft_raise(cpu, EXC_GP, idx);
	if (!d->present)
		soft_raise(cpu, EXC_NP, idx);
}

/* The new RIP for target segment d: canonical (64-bit) or within the limit. */
static u64 check_target_ip(struct soft_cpu *cpu, const struct x86_seg *d, u64 ip)
{
	if ((cpu->efer & X86_EFER_LMA) && d->l) {
		if (!soft_canonical(ip))
			soft_raise(cpu, EXC_GP, 0);
	} else if (ip > d->limit) {
		soft_raise(cpu, EXC_GP, 0);
	}
	return ip;
}

struct gate {
	u16 sel; /* target code segment */
	u64 offset;
	unsigned size; /* 2, 4 or 8: the gate's operand size */
	unsigned params;
	u64 desc; /* target code-segment descriptor */
	struct x86_seg cs;
};

/* Reads and checks a call gate and its target (SDM Vol. 3A 5.8.3-5.8.6). */
static void read_call_gate(struct soft_cpu *cpu, u16 sel, u64 desc, bool call, struct gate *g)
{
	u16 idx = sel & 0xfffc;
	unsigned type = (desc >> 40) & 0x1f, dpl = (desc >> 45) & 3;
	bool lma = cpu->efer & X86_EFER_LMA;
	u64 hi;

	if (type == SYS_TASKGATE || type == SYS_TSS_AVAIL || type == SYS_TSS16_AVAIL) {
		log_warn("soft: far transfer to task (selector %#x) is not supported", sel);
		soft_raise(cpu, EXC_GP, idx);
	}
	if (type != SYS_CALLGATE && (lma || type != SYS_CALLGATE16))
		soft_raise(cpu, EXC_GP, idx);
	if (dpl < cpu->cpl || dpl < (sel & 3))
		soft_raise(cpu, EXC_GP, idx);
	if (!(desc & (1ULL << 47)))
		soft_raise(cpu, EXC_NP, idx);
	g->sel = (u16)(desc >> 16);
	g->offset = desc & 0xffff;
	g->size = type == SYS_CALLGATE16 ? 2 : 4;
	g->params = (desc >> 32) & 0x1f;
	if (g->size == 4)
		g->offset |= (desc >> 32) & 0xffff0000ULL;
	if (lma) {
		/* 64-bit call gate: 16 bytes, the upper type field must be 0. */
		if (!soft_desc_read_hi(cpu, sel, &hi) || ((hi >> 40) & 0x1f))
			soft_raise(cpu, EXC_GP, idx);
		g->offset |= (hi & 0xffffffffULL) << 32;
		g->size = 8;
		g->params = 0;
	}
	if (!(g->sel & 0xfffc))
		soft_raise(cpu, EXC_GP, 0);
	if (!soft_desc_read(cpu, g->sel, &g->desc))
		soft_raise(cpu, EXC_GP, g->sel & 0xfffc);
	soft_desc_decode(g->desc, g->sel, &g->cs);
	check_code(cpu, g->sel, &g->cs, call);
	if (!call && !(g->cs.type & SEG_TYPE_CONFORM) && g->cs.dpl != cpu->cpl)
		soft_raise(cpu, EXC_GP, g->sel & 0xfffc);
	if (lma && (!g->cs.l || g->cs.db))
		soft_raise(cpu, EXC_GP, g->sel & 0xfffc);
	check_target_ip(cpu, &g->cs, g->offset);
}

static void far_desc(struct soft_cpu *cpu, u16 sel, u64 *desc, struct x86_seg *d)
{
	if (!(sel & 0xfffc))
		soft_raise(cpu, EXC_GP, 0);
	if (!soft_desc_read(cpu, sel, desc))
		soft_raise(cpu, EXC_GP, sel & 0xfffc);
	soft_desc_decode(*desc, sel, d);
}

void soft_far_jump(struct soft_cpu *cpu, u16 sel, u64 offset, unsigned opsize)
{
	struct x86_seg d;
	struct gate g;
	u64 desc;

	if (legacy(cpu)) {
		soft_seg_load_real(cpu, X86_CS, sel);
		cpu->rip = offset & opmask(opsize);
		return;
	}
	far_desc(cpu, sel, &desc, &d);
	if (d.s) {
		check_code(cpu, sel, &d, false);
		u64 ip = check_target_ip(cpu, &d, offset & opmask(opsize));
		soft_desc_set_accessed(cpu, sel, desc);
		soft_set_cs(cpu, sel, desc, cpu->cpl);
		cpu->rip = ip;
		return;
	}
	read_call_gate(cpu, sel, desc, false, &g);
	soft_desc_set_accessed(cpu, g.sel, g.desc);
	soft_set_cs(cpu, g.sel, g.desc, cpu->cpl);
	cpu->rip = g.offset;
}

/* CALL through a gate to a more privileged level: new stack from the TSS,
 * old SS:SP and (16/32-bit gates) parameters copied (SDM Vol. 3A 5.8.5). */
static void call_gate_inner(struct soft_cpu *cpu, const struct gate *g)
{
	unsigned newcpl = g->cs.dpl, n = 0;
	u64 vals[2 + 31 + 2], sp, mask, ssdesc = 0;
	struct x86_seg ss;

	if (g->size == 8) {
		sp = soft_tss_read(cpu, 4 + 8 * newcpl, 8);
		mask = ~0ULL;
		soft_seg_set_null(&ss, (u16)newcpl);
	} else {
		soft_tss_stack(cpu, newcpl, 0, &ss, &sp, &ssdesc);
		mask = ss.db ? 0xffffffffULL : 0xffffULL;
	}
	vals[n++] = cpu->seg[X86_SS].selector;
	vals[n++] = cpu->gpr[X86_RSP];
	for (unsigned i = g->params; i > 0; i--)
		vals[n++] = stk_read(cpu, (u64)(i - 1) * g->size, g->size);
	vals[n++] = cpu->seg[X86_CS].selector;
	vals[n++] = cpu->rip;
	/* The frame is at most 35 * 4 bytes for 32-bit gates. */
	u64 nsp = sp;
	for (unsigned done = 0; done < n;) {
		unsigned chunk = MIN(n - done, 8u);
		nsp = soft_push_frame(cpu, &ss, nsp, mask, vals + done, chunk, g->size,
				      soft_data_priv(cpu, newcpl), ss.selector & 0xfffc);
		done += chunk;
	}
	soft_desc_set_accessed(cpu, g->sel, g->desc);
	if (g->size != 8)
		soft_desc_set_accessed(cpu, ss.selector, ssdesc);
	cpu->seg[X86_SS] = ss;
	stk_set(cpu, nsp, mask);
	soft_set_cs(cpu, g->sel, g->desc, newcpl);
	cpu->rip = g->offset;
	soft_mode_update(cpu);
}

void soft_far_call(struct soft_cpu *cpu, u16 sel, u64 offset, unsigned opsize)
{
	u64 desc, vals[2], mask = stk_mask(cpu), nsp;
	struct x86_seg d;
	struct gate g;

	vals[0] = cpu->seg[X86_CS].selector;
	vals[1] = cpu->rip;
	if (legacy(cpu)) {
		nsp = soft_push_frame(cpu, &cpu->seg[X86_SS], cpu->gpr[X86_RSP], mask, vals, 2,
				      opsize, cpu->dpriv, 0);
		stk_set(cpu, nsp, mask);
		soft_seg_load_real(cpu, X86_CS, sel);
		cpu->rip = offset & opmask(opsize);
		return;
	}
	far_desc(cpu, sel, &desc, &d);
	if (d.s) {
		check_code(cpu, sel, &d, false);
		u64 ip = check_target_ip(cpu, &d, offset & opmask(opsize));
		nsp = soft_push_frame(cpu, &cpu->seg[X86_SS], cpu->gpr[X86_RSP], mask, vals, 2,
				      opsize, cpu->dpriv, 0);
		soft_desc_set_accessed(cpu, sel, desc);
		stk_set(cpu, nsp, mask);
		soft_set_cs(cpu, sel, desc, cpu->cpl);
		cpu->rip = ip;
		return;
	}
	read_call_gate(cpu, sel, desc, true, &g);
	if (!(g.cs.type & SEG_TYPE_CONFORM) && g.cs.dpl < cpu->cpl) {
		call_gate_inner(cpu, &g);
		return;
	}
	nsp = soft_push_frame(cpu, &cpu->seg[X86_SS], cpu->gpr[X86_RSP], mask, vals, 2, g.size,
			      cpu->dpriv, 0);
	soft_desc_set_accessed(cpu, g.sel, g.desc);
	stk_set(cpu, nsp, mask);
	soft_set_cs(cpu, g.sel, g.desc, cpu->cpl);
	cpu->rip = g.offset;
}

/* Checks the CS popped by RET/IRET (SDM Vol. 2A RET, IRET). */
static void check_return_cs(struct soft_cpu *cpu, u16 sel, u64 *desc, struct x86_seg *d)
{
	u16 idx = sel & 0xfffc, rpl = sel & 3;

	far_desc(cpu, sel, desc, d);
	if (rpl < cpu->cpl || !d->s || !(d->type & SEG_TYPE_CODE))
		soft_raise(cpu, EXC_GP, idx);
	if ((d->type & SEG_TYPE_CONFORM) ? d->dpl > rpl : d->dpl != rpl)
		soft_raise(cpu, EXC_GP, idx);
	if ((cpu->efer & X86_EFER_LMA) && d->l && d->db)
		soft_raise(cpu, EXC_GP, idx);
	if (!d->present)
		soft_raise(cpu, EXC_NP, idx);
}

/* Checks the SS popped on a return to an outer level; fills *ss. */
static void check_return_ss(struct soft_cpu *cpu, u16 sel, unsigned rpl, const struct x86_seg *cs,
			    u64 *desc, struct x86_seg *ss)
{
	u16 idx = sel & 0xfffc;

	if (!idx) {
		/* Null SS only for a 64-bit target below CPL 3. */
		if (!((cpu->efer & X86_EFER_LMA) && cs->l && rpl != 3))
			soft_raise(cpu, EXC_GP, 0);
		soft_seg_set_null(ss, sel);
		*desc = 0;
		return;
	}
	if (!soft_desc_read(cpu, sel, desc))
		soft_raise(cpu, EXC_GP, idx);
	soft_desc_decode(*desc, sel, ss);
	if ((sel & 3) != rpl || ss->dpl != rpl || !ss->s || (ss->type & SEG_TYPE_CODE) ||
	    !(ss->type & SEG_TYPE_WRITABLE))
		soft_raise(cpu, EXC_GP, idx);
	if (!ss->present)
		soft_raise(cpu, EXC_SS, idx);
}

/* After a return to an outer level: data segment registers the new CPL
 * may not use become null (SDM Vol. 2A RET, "FOR each SegReg"). */
static void null_inaccessible_segs(struct soft_cpu *cpu)
{
	static const int regs[] = {X86_ES, X86_DS, X86_FS, X86_GS};

	for (unsigned i = 0; i < ARRAY_SIZE(regs); i++) {
		struct x86_seg *s = &cpu->seg[regs[i]];
		bool conforming_code = (s->type & SEG_TYPE_CODE) && (s->type & SEG_TYPE_CONFORM);
		if (!s->unusable && !conforming_code && s->dpl < cpu->cpl)
			soft_seg_set_null(s, 0);
	}
}

/* Loads CS:RIP and, to an outer level, SS:RSP for RET/IRET (all checked). */
static void return_commit(struct soft_cpu *cpu, u16 cs_sel, u64 cs_desc, u64 ip, bool outer,
			  const struct x86_seg *ss, u64 ss_desc, u64 sp, u64 sp_add)
{
	unsigned newcpl = cs_sel & 3;

	soft_desc_set_accessed(cpu, cs_sel, cs_desc);
	if (outer && ss_desc)
		soft_desc_set_accessed(cpu, ss->selector, ss_desc);
	if (outer) {
		struct x86_seg nss = *ss;
		u64 mask;
		if (ss_desc)
			nss.type |= SEG_TYPE_ACCESSED;
		cpu->seg[X86_SS] = nss;
		soft_set_cs(cpu, cs_sel, cs_desc, newcpl);
		mask = stk_mask(cpu);
		cpu->gpr[X86_RSP] =
		    mask == 0xffffULL ? (cpu->gpr[X86_RSP] & ~mask) | (sp & mask) : sp & mask;
	} else {
		u64 mask = stk_mask(cpu);
		stk_set(cpu, cpu->gpr[X86_RSP] + sp_add, mask);
		soft_set_cs(cpu, cs_sel, cs_desc, newcpl);
	}
	cpu->rip = ip;
	if (outer)
		null_inaccessible_segs(cpu);
	soft_mode_update(cpu);
}

void soft_far_ret(struct soft_cpu *cpu, unsigned opsize, u16 pop_bytes)
{
	u64 ip = stk_read(cpu, 0, opsize) & opmask(opsize);
	u16 sel = (u16)stk_read(cpu, opsize, 2);
	u64 desc, ss_desc = 0, sp = 0;
	struct x86_seg d, ss;
	bool outer;

	if (legacy(cpu)) {
		stk_set(cpu, cpu->gpr[X86_RSP] + 2 * opsize + pop_bytes, stk_mask(cpu));
		soft_seg_load_real(cpu, X86_CS, sel);
		cpu->rip = ip;
		return;
	}
	check_return_cs(cpu, sel, &desc, &d);
	outer = (sel & 3) > cpu->cpl;
	check_target_ip(cpu, &d, ip);
	if (outer) {
		sp = stk_read(cpu, 2 * opsize + pop_bytes, opsize);
		u16 ss_sel = (u16)stk_read(cpu, 3 * opsize + pop_bytes, 2);
		check_return_ss(cpu, ss_sel, sel & 3, &d, &ss_desc, &ss);
		sp += pop_bytes;
	}
	return_commit(cpu, sel, desc, ip, outer, &ss, ss_desc, sp, 2 * opsize + pop_bytes);
}

/* RFLAGS bits IRET may change (SDM Vol. 2A IRET): CF PF AF ZF SF TF DF OF
 * NT RF AC ID always; IF when CPL <= IOPL; IOPL, VIF, VIP at CPL 0. */
#define IRET_FLAGS 0x254dd5ULL

static void iret_real(struct soft_cpu *cpu, unsigned opsize)
{
	u64 ip = stk_read(cpu, 0, opsize) & opmask(opsize);
	u16 sel = (u16)stk_read(cpu, opsize, 2);
	u64 fl = stk_read(cpu, 2 * opsize, opsize);
	u64 mask = IRET_FLAGS | X86_RFLAGS_IF | RFLAGS_IOPL;

	if (opsize == 2)
		mask &= 0xffff;
	stk_set(cpu, cpu->gpr[X86_RSP] + 3 * opsize, stk_mask(cpu));
	soft_seg_load_real(cpu, X86_CS, sel);
	cpu->rip = ip;
	soft_flags_set(cpu, fl, mask);
}

void soft_iret(struct soft_cpu *cpu, unsigned opsize)
{
	bool lma = cpu->efer & X86_EFER_LMA, outer;
	u64 desc, ss_desc = 0, sp = 0, ip, fl, mask;
	unsigned iopl = (cpu->rflags >> 12) & 3;
	struct x86_seg d, ss;
	u16 sel;

	cpu->nmi_blocked = false; /* SDM Vol. 3A 6.7.1 */
	if (cpu->mode == SOFT_MODE_REAL) {
		iret_real(cpu, opsize);
		return;
	}
	if (cpu->rflags & RFLAGS_VM) {
		log_warn("soft: IRET in virtual-8086 mode is not supported");
		soft_raise(cpu, EXC_GP, 0);
	}
	if (cpu->rflags & RFLAGS_NT) {
		if (!lma)
			log_warn("soft: IRET task return is not supported");
		soft_raise(cpu, EXC_GP, 0);
	}
	ip = stk_read(cpu, 0, opsize) & opmask(opsize);
	sel = (u16)stk_read(cpu, opsize, 2);
	fl = stk_read(cpu, 2 * opsize, opsize);
	if (!lma && (fl & RFLAGS_VM) && cpu->cpl == 0) {
		log_warn("soft: IRET to virtual-8086 mode is not supported");
		soft_raise(cpu, EXC_GP, 0);
	}
	check_return_cs(cpu, sel, &desc, &d);
	check_target_ip(cpu, &d, ip);
	outer = (sel & 3) > cpu->cpl;
	/* In 64-bit mode IRET always pops SS:RSP (SDM Vol. 3A 6.14.3). */
	if (outer || cpu->mode == SOFT_MODE_LONG64) {
		sp = stk_read(cpu, 3 * opsize, opsize);
		u16 ss_sel = (u16)stk_read(cpu, 4 * opsize, 2);
		check_return_ss(cpu, ss_sel, sel & 3, &d, &ss_desc, &ss);
		outer = true;
	}
	mask = IRET_FLAGS;
	if (cpu->cpl <= iopl)
		mask |= X86_RFLAGS_IF;
	if (cpu->cpl == 0)
		mask |= RFLAGS_IOPL | RFLAGS_VIF | RFLAGS_VIP;
	if (opsize == 2)
		mask &= 0xffff;
	return_commit(cpu, sel, desc, ip, outer, &ss, ss_desc, sp, 3 * opsize);
	soft_flags_set(cpu, fl, mask);
}
