/* Power-on, INIT and startup-IPI state of a vCPU (Intel SDM Vol. 3A 9.1.1,
 * Table 9-1; 10.4.4 and 8.4.4 for the MP start-up). */
#include <string.h>

#include "core/machine.h"
#include "cpu/msr_mods.h"
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

/* IA32_ARCH_CAPABILITIES (advertised by CPUID.7.0:EDX[29], cpuid.c): this
 * CPU does not speculate, so it has none of the problems the bits deny and
 * a guest needs no page-table isolation, buffer clearing, retpolines or
 * return thunks (each costs interpreted instructions). RDCL_NO(0),
 * IBRS_ALL(1: "enhanced IBRS", SPEC_CTRL in msr.c), SKIP_L1DFL_VMENTRY(3),
 * SSB_NO(4), MDS_NO(5), PSCHANGE_MC_NO(6), TAA_NO(8), SBDR_SSDP_NO(13),
 * FBSDP_NO(14), PSDP_NO(15), BHI_NO(20), PBRSB_NO(24), GDS_NO(26),
 * RFDS_NO(27), ITS_NO(62). */
#define SOFT_ARCH_CAPS                                                                             \
	((1ULL << 0) | (1ULL << 1) | (1ULL << 3) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) |       \
	 (1ULL << 8) | (1ULL << 13) | (1ULL << 14) | (1ULL << 15) | (1ULL << 20) | (1ULL << 24) |  \
	 (1ULL << 26) | (1ULL << 27) | (1ULL << 62))

/* A CPU template's MSR modifiers (PUT /cpu-config), over the reset values:
 * msr_mods_check() let through only these MSRs, and only bits this engine
 * honours; the vendor was checked at start (vmm/build.c). */
static void reset_msr_template(struct soft_cpu *cpu)
{
	const struct vm_config *cfg = &cpu->m->cfg;
	struct soft_msrs *msr = &cpu->msr;

	for (unsigned i = 0; i < cfg->nr_msr_mods; i++) {
		const struct msr_mod *mod = &cfg->msr_mods[i];
		switch (mod->addr) {
		case MSR_MODS_ARCH_CAPABILITIES:
			msr->arch_caps = msr_mods_apply(mod, msr->arch_caps);
			break;
		case MSR_MODS_MISC_ENABLE:
			msr->misc_enable = msr_mods_apply(mod, msr->misc_enable);
			break;
		case MSR_MODS_PAT:
			msr->pat = msr_mods_apply(mod, msr->pat);
			break;
		}
	}
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
	msr->arch_caps = SOFT_ARCH_CAPS;
	if (cpu->m) /* unit tests' bare vCPUs have no machine */
		reset_msr_template(cpu);
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
