/* Power-on, INIT and startup-IPI state of a vCPU (Intel SDM Vol. 3A 9.1.1,
 * Table 9-1; 10.4.4 and 8.4.4 for the MP start-up). */
#include <string.h>

#include "core/machine.h"
#include "cpu/reset_msrs.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vendor.h"

static void reset_seg(struct x86_seg *s, u16 sel, u64 base, u8 type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->s = 1;
	s->present = 1;
}

/* The register state shared by power-on and INIT (Table 9-1). */
static void reset_regs(struct soft_cpu *cpu)
{
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->gpr[X86_RDX] = soft_vendor_id(cpu)->signature; /* CPUID.1:EAX */
	cpu->rip = 0xfff0;
	cpu->rflags = X86_RFLAGS_FIXED;
	memset(&cpu->lazy, 0, sizeof(cpu->lazy));
	reset_seg(&cpu->seg[X86_CS], 0xf000, 0xffff0000ULL, 0xb);
	for (int i = 0; i < 6; i++)
		if (i != X86_CS)
			reset_seg(&cpu->seg[i], 0, 0, 0x3);
	reset_seg(&cpu->ldt, 0, 0, SYS_LDT);
	cpu->ldt.s = 0;
	reset_seg(&cpu->tr, 0, 0, SYS_TSS16_BUSY);
	cpu->tr.s = 0;
	cpu->gdt = (struct x86_dtable){0, 0xffff};
	cpu->idt = (struct x86_dtable){0, 0xffff};
	/* CR0 = 60000010H: CD, NW and ET. */
	cpu->cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
	cpu->efer = 0;
	cpu->xcr0 = 1;
	memset(cpu->tlb.pdpte, 0, sizeof(cpu->tlb.pdpte));
	soft_tlb_flush(cpu, false);
	/* DR0-DR3 = 0, DR6 = FFFF0FF0H, DR7 = 400H (SDM Vol. 3A Table 10-1). */
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr[4] = cpu->dr[6] = 0xffff0ff0;
	cpu->dr[5] = cpu->dr[7] = 0x400;
	soft_debug_update(cpu);
	cpu->db_hits = 0;
	cpu->db_ss_shadow = cpu->db_fault_rf = false;
	cpu->intr_shadow = 0;
	cpu->nmi_blocked = false;
	cpu->pending_vector = -1;
	cpu->pending_error = 0;
	cpu->pending_has_error = false;
	cpu->halted = false;
	cpu->shutdown = false;
	soft_mode_update(cpu);
}

void soft_reset(struct soft_cpu *cpu)
{
	struct soft_msrs *msr = &cpu->msr;
	u64 tsc_offset = msr->tsc_offset; /* one clock for all vCPUs: kept */

	soft_vendor_set(cpu, cpu->m ? cpu->m->cfg.cpu_vendor : CPU_VENDOR_HOST);
	reset_regs(cpu);
	cpu->pkru = 0; /* INIT keeps it, as the x87/SSE state (SDM Vol. 3A 9.1) */
	memset(msr, 0, sizeof(*msr));
	msr->tsc_offset = tsc_offset;
	/* As firmware leaves them, the same on KVM (src/cpu/reset_msrs.h). */
	msr->pat = RESET_PAT;
	msr->misc_enable = RESET_MISC_ENABLE;
	msr->mtrr_def_type = RESET_MTRR_DEF_TYPE;
	for (unsigned i = 0; i < ARRAY_SIZE(msr->mtrr_fixed); i++)
		msr->mtrr_fixed[i] = RESET_MTRR_FIXED;
	msr->mtrr_var[0] = reset_mtrr_var0_base();
	msr->mtrr_var[1] = reset_mtrr_var0_mask(SOFT_MAXPHYADDR);
	soft_fpu_reset(cpu);
}

/* INIT (SDM Vol. 3A 9.1, Table 9-1 "INIT" column): registers as at
 * power-on; MSRs, MTRRs, x87/SSE state and the TSC are kept. Then the
 * processor waits for a startup IPI unless it is the BSP. */
void soft_init(struct soft_cpu *cpu)
{
	reset_regs(cpu);
}

/* Startup IPI (SDM Vol. 3A 8.4.4.1): real mode at vector:0000. */
void soft_sipi(struct soft_cpu *cpu, u8 vector)
{
	cpu->seg[X86_CS].selector = (u16)(vector << 8);
	cpu->seg[X86_CS].base = (u64)vector << 12;
	cpu->rip = 0;
	cpu->wait_for_sipi = false;
	cpu->halted = false;
}
