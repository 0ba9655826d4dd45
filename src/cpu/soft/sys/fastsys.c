/* Fast system calls: SYSCALL/SYSRET and SYSENTER/SYSEXIT (Intel SDM Vol. 2B;
 * AMD APM Vol. 3). Where the vendors differ (SQ_SYSCALL_ANY_MODE,
 * SQ_SYSENTER_LONG_UD, SQ_SYSRET_NONCANON_OK in vendor.c) the modelled
 * vendor decides. The caller has already advanced cpu->rip past the
 * instruction. */
#include <string.h>

#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vendor.h"

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
	bool lma = cpu->efer & X86_EFER_LMA;
	u64 fl;

	if (!(cpu->efer & X86_EFER_SCE))
		soft_raise_noerr(cpu, EXC_UD);
	/* Intel: 64-bit mode only. AMD: compatibility mode enters through
	 * CSTAR, legacy protected mode through STAR[31:0]. */
	if (cpu->mode != SOFT_MODE_LONG64 &&
	    (!soft_quirk(cpu, SQ_SYSCALL_ANY_MODE) || cpu->mode == SOFT_MODE_REAL))
		soft_raise_noerr(cpu, EXC_UD);
	fl = soft_flags_get(cpu);
	if (lma) {
		cpu->gpr[X86_RCX] = cpu->rip;
		cpu->gpr[X86_R11] = fl & ~RFLAGS_RF;
		cpu->rip = cpu->mode == SOFT_MODE_LONG64 ? cpu->msr.lstar : cpu->msr.cstar;
		fl &= ~(cpu->msr.sfmask | RFLAGS_RF);
	} else {
		cpu->gpr[X86_RCX] = (u32)cpu->rip;
		cpu->rip = (u32)cpu->msr.star;
		fl &= ~(RFLAGS_VM | X86_RFLAGS_IF | RFLAGS_RF);
	}
	flat_seg(&cpu->seg[X86_CS], sel & 0xfffc, true, 0, lma, !lma);
	flat_seg(&cpu->seg[X86_SS], (u16)(sel + 8), false, 0, false, true);
	soft_flags_set(cpu, fl, ~0ULL);
	soft_mode_update(cpu);
}

void soft_sysret(struct soft_cpu *cpu, unsigned opsize)
{
	u16 sel = (u16)(cpu->msr.star >> 48);
	bool any_mode = soft_quirk(cpu, SQ_SYSCALL_ANY_MODE);

	if (!(cpu->efer & X86_EFER_SCE))
		soft_raise_noerr(cpu, EXC_UD);
	if (cpu->mode != SOFT_MODE_LONG64 && !any_mode)
		soft_raise_noerr(cpu, EXC_UD);
	if (cpu->cpl != 0 || cpu->mode == SOFT_MODE_REAL)
		soft_raise(cpu, EXC_GP, 0);
	if (!(cpu->efer & X86_EFER_LMA)) {
		/* AMD legacy mode: a 32-bit return with IF set. */
		flat_seg(&cpu->seg[X86_CS], sel | 3, true, 3, false, true);
		flat_seg(&cpu->seg[X86_SS], (u16)((sel + 8) | 3), false, 3, false, true);
		cpu->rip = (u32)cpu->gpr[X86_RCX];
		soft_flags_set(cpu, soft_flags_get(cpu) | X86_RFLAGS_IF, ~0ULL);
		soft_mode_update(cpu);
		return;
	}
	if (opsize == 8) {
		/* Intel raises #GP(0) at CPL 0 for a non-canonical RCX; AMD
		 * returns and the fetch faults at CPL 3. */
		if (!soft_canonical(cpu->gpr[X86_RCX]) && !soft_quirk(cpu, SQ_SYSRET_NONCANON_OK))
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

	if (lma && soft_quirk(cpu, SQ_SYSENTER_LONG_UD))
		soft_raise_noerr(cpu, EXC_UD);
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

	if ((cpu->efer & X86_EFER_LMA) && soft_quirk(cpu, SQ_SYSENTER_LONG_UD))
		soft_raise_noerr(cpu, EXC_UD);
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
