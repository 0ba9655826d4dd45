/* Descriptor-table and privileged-state instructions: group 6 (SLDT STR LLDT
 * LTR VERR VERW), group 7 (SGDT SIDT LGDT LIDT SMSW LMSW INVLPG SWAPGS
 * RDTSCP XGETBV XSETBV CLAC STAC RDPKRU WRPKRU), LAR, LSL, ARPL (Intel SDM
 * Vol. 2, 3A), with UMIP's rule for the stores (SDM Vol. 3A 2.5, CR4.UMIP). */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/pv/pv.h"
#include "cpu/soft/sys/sys.h"

static bool real_or_vm86(const struct soft_cpu *cpu)
{
	return cpu->mode == SOFT_MODE_REAL || (cpu->rflags & RFLAGS_VM);
}

static void need_cpl0(struct soft_cpu *cpu)
{
	if (cpu->cpl != 0)
		soft_raise(cpu, EXC_GP, 0);
}

/* UMIP: SGDT, SIDT, SLDT, SMSW and STR raise #GP(0) at CPL > 0 (real mode
 * is CPL 0, virtual-8086 mode CPL 3) when CR4.UMIP = 1. */
static void umip_check(struct soft_cpu *cpu)
{
	if ((cpu->cr4 & X86_CR4_UMIP) && cpu->cpl > 0)
		soft_raise(cpu, EXC_GP, 0);
}

static void set_zf(struct soft_cpu *cpu, bool zf)
{
	u64 f = soft_flags_get(cpu) & ~X86_RFLAGS_ZF;

	soft_flags_set_arith(cpu, f | (zf ? X86_RFLAGS_ZF : 0));
}

/* Selector stores (SLDT, STR, SMSW): 16 bits to memory, the operand size
 * (zero-extended) to a register. */
static void store_sel(struct soft_cpu *cpu, const struct soft_insn *in, u64 v)
{
	if (in->mem)
		soft_mem_write(cpu, in->seg, soft_ea(cpu, in), 2, v & 0xffff);
	else
		soft_reg_set(cpu, in->rm, in->opsize, in->rex, v);
}

/* 0F 00: group 6 (protected mode only). */
void soft_op_grp6(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned op = (in->modrm >> 3) & 7;
	u16 sel;

	if (real_or_vm86(cpu))
		soft_insn_ud(cpu, in);
	switch (op) {
	case 0:
		umip_check(cpu);
		store_sel(cpu, in, cpu->ldt.selector);
		return;
	case 1:
		umip_check(cpu);
		store_sel(cpu, in, cpu->tr.selector);
		return;
	}
	sel = (u16)soft_rm_read(cpu, in, 2);
	switch (op) {
	case 2:
		need_cpl0(cpu);
		soft_lldt(cpu, sel);
		break;
	case 3:
		need_cpl0(cpu);
		soft_ltr(cpu, sel);
		break;
	default:
		set_zf(cpu, soft_verr(cpu, sel, op == 5));
		break;
	}
}

/* SGDT/SIDT: limit, then a 64-bit base in 64-bit mode, else 32 bits (the
 * top byte zeroed for a 16-bit operand, SDM Vol. 2B "SGDT"). */
static void store_dtable(struct soft_cpu *cpu, const struct soft_insn *in,
			 const struct x86_dtable *t)
{
	u64 ea = soft_ea(cpu, in), ea2 = ea + 2;
	unsigned bsize = cpu->mode == SOFT_MODE_LONG64 ? 8 : 4;
	u64 base = t->base;

	umip_check(cpu);
	if (in->addrsize == 4)
		ea2 = (u32)ea2;
	else if (in->addrsize == 2)
		ea2 = (u16)ea2;
	if (bsize == 4)
		base &= in->opsize == 2 ? 0xffffff : 0xffffffff;
	/* Both parts checked before either is written. */
	soft_read_for_write(cpu, in->seg, ea2, bsize);
	soft_mem_write(cpu, in->seg, ea, 2, t->limit);
	soft_mem_write(cpu, in->seg, ea2, bsize, base);
}

static void load_dtable(struct soft_cpu *cpu, const struct soft_insn *in, bool idt)
{
	u64 ea = soft_ea(cpu, in), ea2 = ea + 2, base;
	unsigned bsize = cpu->mode == SOFT_MODE_LONG64 ? 8 : 4;
	u16 limit;

	need_cpl0(cpu);
	if (in->addrsize == 4)
		ea2 = (u32)ea2;
	else if (in->addrsize == 2)
		ea2 = (u16)ea2;
	limit = (u16)soft_mem_read(cpu, in->seg, ea, 2);
	base = soft_mem_read(cpu, in->seg, ea2, bsize);
	if (bsize == 4 && in->opsize == 2)
		base &= 0xffffff;
	soft_load_dtable(cpu, idt, base, limit);
}

/* Register forms of group 7, by the whole ModRM byte. */
static void grp7_reg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 v;

	switch (in->modrm) {
	case 0xc1: /* VMCALL */
	case 0xd9: /* VMMCALL: KVM's hypercalls, either on either vendor */
		soft_hypercall(cpu, in->modrm == 0xd9);
		return;
	case 0xca: /* CLAC */
	case 0xcb: /* STAC (SDM Vol. 2A CLAC, Vol. 2B STAC): CPL 0 only, #UD else */
		if (in->p66 || in->rep || cpu->cpl > 0)
			soft_insn_ud_defined(cpu); /* architectural: not logged */
		if (in->modrm == 0xcb)
			cpu->rflags |= X86_RFLAGS_AC;
		else
			cpu->rflags &= ~X86_RFLAGS_AC;
		soft_priv_update(cpu);
		return;
	case 0xee: /* RDPKRU (SDM Vol. 2B): any CPL, #UD unless CR4.PKE */
		if (in->p66 || in->rep || !(cpu->cr4 & X86_CR4_PKE))
			soft_insn_ud_defined(cpu);
		if ((u32)cpu->gpr[X86_RCX] != 0)
			soft_raise(cpu, EXC_GP, 0);
		cpu->gpr[X86_RAX] = cpu->pkru;
		cpu->gpr[X86_RDX] = 0;
		return;
	case 0xef: /* WRPKRU (SDM Vol. 2D) */
		if (in->p66 || in->rep || !(cpu->cr4 & X86_CR4_PKE))
			soft_insn_ud_defined(cpu);
		if ((u32)cpu->gpr[X86_RCX] != 0 || (u32)cpu->gpr[X86_RDX] != 0)
			soft_raise(cpu, EXC_GP, 0);
		soft_pkru_write(cpu, (u32)cpu->gpr[X86_RAX]);
		return;
	case 0xd0: /* XGETBV */
		if (!(cpu->cr4 & (1ULL << 18)))
			soft_insn_ud(cpu, in);
		if ((u32)cpu->gpr[X86_RCX] != 0)
			soft_raise(cpu, EXC_GP, 0);
		cpu->gpr[X86_RAX] = (u32)cpu->xcr0;
		cpu->gpr[X86_RDX] = cpu->xcr0 >> 32;
		return;
	case 0xd1: /* XSETBV */
		if (!(cpu->cr4 & (1ULL << 18)))
			soft_insn_ud(cpu, in);
		need_cpl0(cpu);
		soft_write_xcr(cpu, (u32)cpu->gpr[X86_RCX],
			       (cpu->gpr[X86_RDX] << 32) | (u32)cpu->gpr[X86_RAX]);
		return;
	case 0xf8: /* SWAPGS */
		if (cpu->mode != SOFT_MODE_LONG64)
			soft_insn_ud(cpu, in);
		need_cpl0(cpu);
		v = cpu->seg[X86_GS].base;
		cpu->seg[X86_GS].base = cpu->msr.kernel_gs_base;
		cpu->msr.kernel_gs_base = v;
		return;
	case 0xf9: /* RDTSCP */
		v = soft_rdtsc(cpu);
		cpu->gpr[X86_RAX] = (u32)v;
		cpu->gpr[X86_RDX] = v >> 32;
		cpu->gpr[X86_RCX] = (u32)cpu->msr.tsc_aux;
		return;
	}
	switch ((in->modrm >> 3) & 7) {
	case 4: /* SMSW r */
		umip_check(cpu);
		store_sel(cpu, in, in->opsize == 2 ? cpu->cr0 & 0xffff : cpu->cr0);
		return;
	case 6: /* LMSW r */
		need_cpl0(cpu);
		soft_lmsw(cpu, (u16)soft_reg_get(cpu, in->rm, 2, true));
		cpu->exec_stop = true;
		return;
	}
	/* MONITOR/MWAIT, VMX/SVM, XEND/XTEST..., not offered. */
	soft_insn_ud(cpu, in);
}

/* 0F 01: group 7. */
void soft_op_grp7(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 lin;

	if (!in->mem) {
		grp7_reg(cpu, in);
		return;
	}
	switch ((in->modrm >> 3) & 7) {
	case 0:
		store_dtable(cpu, in, &cpu->gdt);
		break;
	case 1:
		store_dtable(cpu, in, &cpu->idt);
		break;
	case 2:
		load_dtable(cpu, in, false);
		break;
	case 3:
		load_dtable(cpu, in, true);
		break;
	case 4: /* SMSW m16 */
		umip_check(cpu);
		soft_mem_write(cpu, in->seg, soft_ea(cpu, in), 2, cpu->cr0 & 0xffff);
		break;
	case 6: /* LMSW m16 */
		need_cpl0(cpu);
		soft_lmsw(cpu, (u16)soft_mem_read(cpu, in->seg, soft_ea(cpu, in), 2));
		cpu->exec_stop = true;
		break;
	case 7: /* INVLPG: never faults on the address (SDM Vol. 2A "INVLPG") */
		need_cpl0(cpu);
		lin = soft_ea(cpu, in);
		if (cpu->mode != SOFT_MODE_LONG64 || in->seg >= X86_FS)
			lin += cpu->seg[in->seg].base;
		if (cpu->mode != SOFT_MODE_LONG64)
			lin = (u32)lin;
		soft_invlpg(cpu, lin);
		cpu->exec_stop = cpu->block_end = true;
		break;
	default:
		soft_insn_ud(cpu, in);
	}
}

/* 0F 02: LAR, 0F 03: LSL (protected mode only; ZF=1 and the destination
 * written only when the selector passes the checks). */
void soft_op_lar_lsl(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u16 sel;
	u32 v;
	bool ok;

	if (real_or_vm86(cpu))
		soft_insn_ud(cpu, in);
	sel = (u16)soft_rm_read(cpu, in, 2);
	ok = in->opcode == 0x02 ? soft_lar(cpu, sel, &v) : soft_lsl(cpu, sel, &v);
	set_zf(cpu, ok);
	if (!ok)
		return;
	if (in->opcode == 0x02 && in->opsize == 2)
		v &= 0xff00;
	soft_greg_write(cpu, in, in->opsize, v);
}

/* 63 outside 64-bit mode: ARPL r/m16, r16. */
void soft_op_arpl(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_rmw r;
	u16 dst, src;

	if (real_or_vm86(cpu))
		soft_insn_ud(cpu, in);
	src = (u16)soft_greg_read(cpu, in, 2);
	dst = (u16)soft_rmw_begin(cpu, in, 2, &r);
	if ((dst & 3) < (src & 3)) {
		soft_rmw_end(cpu, in, 2, &r, (dst & ~3) | (src & 3));
		set_zf(cpu, true);
	} else {
		set_zf(cpu, false);
	}
}
