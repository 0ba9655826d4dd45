/* Control registers (MOV CRn, CLTS, LMSW, XSETBV, INVLPG), IA-32e mode
 * activation and the derived CPU mode (Intel SDM Vol. 3A 2.5, 9.8.5). */
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/sys/sys.h"
#include "popek/log.h"

/* CR4 bits this CPU accepts (everything else is #GP): the features CPUID
 * advertises (cpuid.c). VME/PVI are not (no virtual-8086 mode). */
#define CR4_DE      (1ULL << 3)
#define CR4_TSD     (1ULL << 2)
#define CR4_MCE     (1ULL << 6)
#define CR4_PCE     (1ULL << 8)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_SUPPORTED                                                                              \
	(CR4_TSD | CR4_DE | X86_CR4_PSE | X86_CR4_PAE | CR4_MCE | X86_CR4_PGE | CR4_PCE |          \
	 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_UMIP | X86_CR4_PCIDE | X86_CR4_SMEP |      \
	 X86_CR4_SMAP | X86_CR4_PKE)
u64 soft_cr4_supported(void)
{
	return CR4_SUPPORTED;
}

/* CR4 bits whose change flushes the TLB: the paging mode and PCIDE (SDM
 * Vol. 3A 4.10.4.1), and the rights its entries cache (SMEP, SMAP, PKE:
 * tlb.h). */
#define CR4_TLB_BITS                                                                               \
	(X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP |   \
	 X86_CR4_PKE)

/* CR0 bits that exist; writes to the other bits of CR0[31:0] are ignored. */
#define CR0_DEFINED                                                                                \
	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET | X86_CR0_NE |             \
	 X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)

void soft_mode_update(struct soft_cpu *cpu)
{
	const struct x86_seg *cs = &cpu->seg[X86_CS], *ss = &cpu->seg[X86_SS];
	const unsigned old_mode = cpu->mode, old_cpl = cpu->cpl, old_size = cpu->code_size;

	if (!(cpu->cr0 & X86_CR0_PE))
		cpu->mode = SOFT_MODE_REAL;
	else if (!(cpu->efer & X86_EFER_LMA))
		cpu->mode = SOFT_MODE_PROT;
	else
		cpu->mode = cs->l ? SOFT_MODE_LONG64 : SOFT_MODE_COMPAT;
	/* CPL is SS.DPL (SDM Vol. 3A 5.5; how VMX saves it too); 3 in VM86. */
	if (cpu->mode == SOFT_MODE_REAL)
		cpu->cpl = 0;
	else if (cpu->rflags & RFLAGS_VM)
		cpu->cpl = 3;
	else
		cpu->cpl = ss->dpl;
	if (cpu->mode == SOFT_MODE_LONG64) {
		cpu->code_size = 8;
		cpu->stack_size = 8;
	} else {
		cpu->code_size = (cs->db && !(cpu->rflags & RFLAGS_VM)) ? 4 : 2;
		cpu->stack_size = ss->db ? 4 : 2;
	}
	/* Chained and linked blocks (exec/interp.c, jit/) depend on CPL (the
	 * fetch's TLB bank), mode and code size; outside 64-bit mode also on
	 * CS's base and limit, which such blocks are never used under. (Not
	 * tlb.read_key: no TLB entry changed; its bank bits follow the CPL.) */
	if (cpu->mode != old_mode || cpu->code_size != old_size || cpu->mode != SOFT_MODE_LONG64) {
		cpu->tlb.gen++;
		soft_tlb_links_void(&cpu->tlb);
	} else if (cpu->cpl != old_cpl) {
		cpu->tlb.gen++;
	}
	cpu->tlb.link_gen = (cpu->tlb.link_gen & ~3ULL) | cpu->cpl;
	cpu->tlb.link_gen_g = (cpu->tlb.link_gen_g & ~3ULL) | cpu->cpl;
	cpu->tlb.link_gen_p = (cpu->tlb.link_gen_p & ~3ULL) | cpu->cpl;
	cpu->tlb.link_gen_p_clean = (cpu->tlb.link_gen_p_clean & ~3ULL) | cpu->cpl;
	soft_priv_update(cpu);
}

static bool pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & X86_EFER_LMA);
}

u64 soft_tpr_get(struct soft_cpu *cpu)
{
	return cpu->lapic ? soft_lapic_get_cr8(cpu->lapic) : 0;
}

void soft_tpr_set(struct soft_cpu *cpu, u64 cr8)
{
	if (cpu->lapic)
		soft_lapic_set_cr8(cpu->lapic, cr8);
}

u64 soft_read_cr(struct soft_cpu *cpu, int n)
{
	if (cpu->mode != SOFT_MODE_REAL && cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
	switch (n) {
	case 0:
		return cpu->cr0;
	case 2:
		return cpu->cr2;
	case 3:
		return cpu->cr3;
	case 4:
		return cpu->cr4;
	case 8:
		return soft_tpr_get(cpu);
	default:
		soft_raise_noerr(cpu, EXC_UD);
	}
}

static void write_cr0(struct soft_cpu *cpu, u64 v)
{
	u64 old = cpu->cr0, efer = cpu->efer;

	if (v >> 32)
		soft_raise(cpu, EXC_GP, 0);
	v = (v & CR0_DEFINED) | X86_CR0_ET; /* ET is fixed to 1 */
	if (((v & X86_CR0_PG) && !(v & X86_CR0_PE)) || ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
		soft_raise(cpu, EXC_GP, 0);
	if ((v & X86_CR0_PG) && !(old & X86_CR0_PG) && (efer & X86_EFER_LME)) {
		/* IA-32e activation (SDM Vol. 3A 9.8.5): needs PAE, not from CS.L=1. */
		if (!(cpu->cr4 & X86_CR4_PAE) || cpu->seg[X86_CS].l)
			soft_raise(cpu, EXC_GP, 0);
		efer |= X86_EFER_LMA;
	}
	if (!(v & X86_CR0_PG) && (old & X86_CR0_PG) && (efer & X86_EFER_LMA)) {
		/* Leave 64-bit mode first; PCIDs stay on only with paging (SDM
		 * Vol. 2A "MOV-Move to/from Control Registers"). */
		if (cpu->mode == SOFT_MODE_LONG64 || (cpu->cr4 & X86_CR4_PCIDE))
			soft_raise(cpu, EXC_GP, 0);
		efer &= ~X86_EFER_LMA;
	}
	if (pae_paging(v, cpu->cr4, efer) && (v ^ old) & (X86_CR0_PG | X86_CR0_CD | X86_CR0_NW))
		if (!soft_mmu_load_pdptes(cpu, cpu->cr3))
			soft_raise(cpu, EXC_GP, 0);
	cpu->cr0 = v;
	cpu->efer = efer;
	if ((v ^ old) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
		soft_tlb_flush(cpu, false);
	soft_mode_update(cpu);
}

static void write_cr3(struct soft_cpu *cpu, u64 v)
{
	const bool pcide = cpu->cr4 & X86_CR4_PCIDE; /* (only in IA-32e mode) */
	/* With PCIDs, bit 63 of the source keeps the new PCID's translations
	 * and is not written (SDM Vol. 3A 4.10.4.1). */
	const bool keep = pcide && (v >> 63);
	unsigned old = pcide ? (unsigned)(cpu->cr3 & 0xfff) : 0;

	if (pcide)
		v &= ~(1ULL << 63);
	if (cpu->efer & X86_EFER_LMA) {
		if (v >> SOFT_MAXPHYADDR)
			soft_raise(cpu, EXC_GP, 0);
	} else {
		v &= 0xffffffffULL;
	}
	if (pae_paging(cpu->cr0, cpu->cr4, cpu->efer) && !soft_mmu_load_pdptes(cpu, v))
		soft_raise(cpu, EXC_GP, 0);
	cpu->cr3 = v;
	soft_tlb_cr3_written(cpu, old, pcide ? (unsigned)(v & 0xfff) : 0, keep);
}

static void write_cr4(struct soft_cpu *cpu, u64 v)
{
	u64 old = cpu->cr4;

	if (v & ~CR4_SUPPORTED)
		soft_raise(cpu, EXC_GP, 0);
	if ((cpu->efer & X86_EFER_LMA) && !(v & X86_CR4_PAE))
		soft_raise(cpu, EXC_GP, 0);
	/* PCIDs go on only in IA-32e mode, with PCID 0 (SDM Vol. 3A 4.10.1). */
	if ((v & ~old & X86_CR4_PCIDE) && (!(cpu->efer & X86_EFER_LMA) || (cpu->cr3 & 0xfff)))
		soft_raise(cpu, EXC_GP, 0);
	/* SDM Vol. 3A 4.4.1: these changes reload the PAE PDPTEs. */
	if (pae_paging(cpu->cr0, v, cpu->efer) &&
	    ((v ^ old) & (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_SMEP)))
		if (!soft_mmu_load_pdptes(cpu, cpu->cr3))
			soft_raise(cpu, EXC_GP, 0);
	cpu->cr4 = v;
	if ((v ^ old) & CR4_TLB_BITS)
		soft_tlb_flush(cpu, false);
	soft_priv_update(cpu); /* SMAP */
}

void soft_write_cr(struct soft_cpu *cpu, int n, u64 value)
{
	if (cpu->mode != SOFT_MODE_REAL && cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
	switch (n) {
	case 0:
		write_cr0(cpu, value);
		break;
	case 2:
		cpu->cr2 = value;
		break;
	case 3:
		write_cr3(cpu, value);
		break;
	case 4:
		write_cr4(cpu, value);
		break;
	case 8:
		if (value >> 4)
			soft_raise(cpu, EXC_GP, 0);
		soft_tpr_set(cpu, value);
		break;
	default:
		soft_raise_noerr(cpu, EXC_UD);
	}
}

void soft_write_xcr(struct soft_cpu *cpu, u32 index, u64 value)
{
	/* XSETBV (SDM Vol. 2C): only x87|SSE state exists here (no AVX). */
	if (!(cpu->cr4 & CR4_OSXSAVE))
		soft_raise_noerr(cpu, EXC_UD);
	if ((cpu->mode != SOFT_MODE_REAL && cpu->cpl) || index != 0 || !(value & 1) ||
	    (value & ~3ULL))
		soft_raise(cpu, EXC_GP, 0);
	cpu->xcr0 = value;
}

void soft_pkru_write(struct soft_cpu *cpu, u32 v)
{
	u32 diff = cpu->pkru ^ v;
	unsigned keys = 0;

	for (unsigned k = 0; k < 16; k++)
		if ((diff >> (2 * k)) & 3)
			keys |= 1u << k;
	cpu->pkru = v;
	if (keys)
		soft_tlb_flush_pkeys(cpu, keys);
}

void soft_clts(struct soft_cpu *cpu)
{
	if (cpu->mode != SOFT_MODE_REAL && cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
	cpu->cr0 &= ~X86_CR0_TS;
}

void soft_lmsw(struct soft_cpu *cpu, u16 value)
{
	/* LMSW sets PE but never clears it, and writes MP, EM, TS. */
	u64 v = (cpu->cr0 & ~0xeULL) | (value & 0xf) | (cpu->cr0 & X86_CR0_PE);

	soft_write_cr(cpu, 0, v);
}

void soft_invlpg(struct soft_cpu *cpu, u64 lin)
{
	if (cpu->mode != SOFT_MODE_REAL && cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
	soft_tlb_flush_page(cpu, lin);
}
