/* Fast system calls: SYSCALL/SYSRET and SYSENTER/SYSEXIT (Intel SDM Vol. 2B).
 * The caller has already advanced cpu->rip past the instruction. */
#include <string.h>

#include "cpu/soft/mem.h"
#include "cpu/soft/sys.h"

/* A flat segment as these instructions load it: base 0, limit 4 GiB. */
static void flat_seg(struct x86_seg *s, u16 sel, bool code, unsigned dpl, bool l, bool db)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3; /* execute/read or read/write, accessed */
	s->s = 1;
	s->dpl = (u8)dpl;
	s->present = 1;
	s->l = l;
	s->db = db;
	s->g = 1;
}

void soft_syscall(struct soft_cpu *cpu)
{
	u16 sel = (u16)(cpu->msr.star >> 32);
	u64 fl;

	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != SOFT_MODE_LONG64)
		soft_raise_noerr(cpu, EXC_UD);
	fl = soft_flags_get(cpu);
	cpu->gpr[X86_RCX] = cpu->rip;
	cpu->gpr[X86_R11] = fl & ~RFLAGS_RF;
	flat_seg(&cpu->seg[X86_CS], sel & 0xfffc, true, 0, true, false);
	flat_seg(&cpu->seg[X86_SS], (u16)(sel + 8), false, 0, false, true);
	cpu->rip = cpu->msr.lstar;
	soft_flags_set(cpu, fl & ~(cpu->msr.sfmask | RFLAGS_RF), ~0ULL);
	soft_mode_update(cpu);
}

void soft_sysret(struct soft_cpu *cpu, unsigned opsize)
{
	u16 sel = (u16)(cpu->msr.star >> 48);

	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != SOFT_MODE_LONG64)
		soft_raise_noerr(cpu, EXC_UD);
	if (cpu->cpl != 0)
		soft_raise(cpu, EXC_GP, 0);
	if (opsize == 8) {
		/* Intel raises #GP(0) at CPL 0 for a non-canonical RCX. */
		if (!soft_canonical(cpu->gpr[X86_RCX]))
			soft_raise(cpu, EXC_GP, 0);
		flat_seg(&cpu->seg[X86_CS], (u16)((sel + 16) | 3), true, 3, true, false);
		cpu->rip = cpu->gpr[X86_RCX];
	} else {
		flat_seg(&cpu->seg[X86_CS], sel | 3, true, 3, false, true);
		cpu->rip = (u32)cpu->gpr[X86_RCX];
	}
	/* SS keeps its descriptor cache mostly; the selector and DPL change. */
	flat_seg(&cpu->seg[X86_SS], (u16)((sel + 8) | 3), false, 3, false, true);
	soft_flags_set(cpu, (cpu->gpr[X86_R11] & 0x3c7fd7ULL) | X86_RFLAGS_FIXED, ~0ULL);
	soft_mode_update(cpu);
}

void soft_sysenter(struct soft_cpu *cpu)
{
	u16 sel = (u16)cpu->msr.sysenter_cs;
	bool lma = cpu->efer & X86_EFER_LMA;

	if (cpu->mode == SOFT_MODE_REAL || !(sel & 0xfffc))
		soft_raise(cpu, EXC_GP, 0);
	cpu->rflags &= ~(RFLAGS_VM | X86_RFLAGS_IF | RFLAGS_RF);
	flat_seg(&cpu->seg[X86_CS], sel & 0xfffc, true, 0, lma, !lma);
	flat_seg(&cpu->seg[X86_SS], (u16)((sel + 8) & 0xfffc), false, 0, false, true);
	cpu->rip = lma ? cpu->msr.sysenter_eip : (u32)cpu->msr.sysenter_eip;
	cpu->gpr[X86_RSP] = lma ? cpu->msr.sysenter_esp : (u32)cpu->msr.sysenter_esp;
	soft_mode_update(cpu);
}

void soft_sysexit(struct soft_cpu *cpu, unsigned opsize)
{
	u16 sel = (u16)cpu->msr.sysenter_cs;

	if (cpu->mode == SOFT_MODE_REAL || !(sel & 0xfffc) || cpu->cpl != 0)
		soft_raise(cpu, EXC_GP, 0);
	if (opsize == 8) {
		if (!soft_canonical(cpu->gpr[X86_RDX]) || !soft_canonical(cpu->gpr[X86_RCX]))
			soft_raise(cpu, EXC_GP, 0);
		flat_seg(&cpu->seg[X86_CS], (u16)((sel + 32) | 3), true, 3, true, false);
		flat_seg(&cpu->seg[X86_SS], (u16)((sel + 40) | 3), false, 3, false, true);
		cpu->rip = cpu->gpr[X86_RDX];
		cpu->gpr[X86_RSP] = cpu->gpr[X86_RCX];
	} else {
		flat_seg(&cpu->seg[X86_CS], (u16)((sel + 16) | 3), true, 3, false, true);
		flat_seg(&cpu->seg[X86_SS], (u16)((sel + 24) | 3), false, 3, false, true);
		cpu->rip = (u32)cpu->gpr[X86_RDX];
		cpu->gpr[X86_RSP] = (u32)cpu->gpr[X86_RCX];
	}
	soft_mode_update(cpu);
}
