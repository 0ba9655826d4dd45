/* RDMSR/WRMSR for the MSRs a Linux guest touches (Intel SDM Vol. 4; AMD's
 * own in msr_amd.c); any other index raises #GP(0), as Linux's rdmsr_safe()
 * probes expect. */
#include <errno.h>

#include "cpu/msr_mods.h"
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/mmu/mmu.h"
#include "cpu/soft/pv/pv.h"
#include "cpu/soft/sys/sys.h"
#include "cpu/soft/vendor.h"
#include "popek/log.h"

#define MSR_TSC                 0x10
#define MSR_PLATFORM_ID         0x17
#define MSR_SPEC_CTRL           0x48
#define MSR_PRED_CMD            0x49
#define MSR_APIC_BASE           0x1b
#define MSR_FEATURE_CONTROL     0x3a
#define MSR_BIOS_SIGN_ID        0x8b
#define MSR_MTRRCAP             0xfe
#define MSR_MISC_PACKAGE_CTLS   0xbc
#define MSR_ARCH_CAPABILITIES   0x10a
#define MSR_TSX_CTRL            0x122
#define MSR_SYSENTER_CS         0x174
#define MSR_SYSENTER_ESP        0x175
#define MSR_SYSENTER_EIP        0x176
#define MSR_MISC_ENABLE         0x1a0
#define MSR_DEBUGCTL            0x1d9
#define MSR_MTRR_VAR_FIRST      0x200
#define MSR_MTRR_VAR_LAST       0x20f
#define MSR_PAT                 0x277
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_TSC_DEADLINE        0x6e0
#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SFMASK              0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103
#define MSR_KVM_WALL_CLOCK_NEW  0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

/* IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2) as KVM lets a guest write it
 * (arch/x86/kvm/x86.c, kvm_set_msr_common): BTS_UNAVAILABLE and
 * PEBS_UNAVAILABLE are read-only, a write changing them raises #GP; EMON
 * ("performance monitoring available": no PMU here) ignores writes; every
 * other bit keeps what the guest wrote and, as under KVM, changes nothing:
 * fast strings (0), thermal control (3), SpeedStep (16), MONITOR FSM (18,
 * CPUID has no MONITOR), limit CPUID (22), xTPR disable (23), XD disable (34). The masks:
 * cpu/msr_mods.h (a CPU template may change the bits a guest may). */

/* IA32_TSX_CTRL (Intel's TSX memory ordering update, SDM Vol. 4 Table 2-2):
 * RTM_DISABLE (0) and TSX_CPUID_CLEAR (1); kept, as CPUID shows neither RTM
 * nor HLE. IA32_MISC_PACKAGE_CTLS: ENERGY_FILTERING_ENABLE (0), kept (no
 * energy counters here). Each exists when IA32_ARCH_CAPABILITIES says so,
 * which only a CPU template does (msr_mods.h). */
#define TSX_CTRL_BITS 0x3ULL

/* The MTRRs: 8 variable ranges, fixed ranges, write combining (SDM Vol. 3A 11.11.1). */
#define SOFT_MTRRCAP (8u | (1u << 8) | (1u << 10))

/* Fixed-range MTRR MSR indexes in struct soft_msrs.mtrr_fixed order. */
static const u32 mtrr_fixed_idx[11] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
				       0x26b, 0x26c, 0x26d, 0x26e, 0x26f};

static int mtrr_fixed_slot(u32 index)
{
	for (unsigned i = 0; i < ARRAY_SIZE(mtrr_fixed_idx); i++)
		if (mtrr_fixed_idx[i] == index)
			return (int)i;
	return -1;
}

static _Noreturn void msr_fault(struct soft_cpu *cpu, const char *op, u32 index, u64 value)
{
	log_debug("soft: vCPU %u %s of MSR %#x (value %#llx): #GP", cpu->id, op, index,
		  (unsigned long long)value);
	soft_raise(cpu, EXC_GP, 0);
}

static void check_cpl0(struct soft_cpu *cpu)
{
	if (cpu->mode != SOFT_MODE_REAL && cpu->cpl)
		soft_raise(cpu, EXC_GP, 0);
}

void soft_rdmsr(struct soft_cpu *cpu, u32 index, u64 *value)
{
	struct soft_msrs *m = &cpu->msr;
	int slot;

	check_cpl0(cpu);
	if (soft_msr_vendor_lacks(cpu, index))
		msr_fault(cpu, "read", index, 0);
	if (cpu->vendor == CPU_VENDOR_AMD && soft_msr_amd_read(cpu, index, value))
		return;
	switch (index) {
	case MSR_TSC:
		*value = soft_now_ns(cpu) + m->tsc_offset;
		return;
	case MSR_PLATFORM_ID:
	case MSR_DEBUGCTL:
		*value = 0;
		return;
	case MSR_SPEC_CTRL:
		*value = m->spec_ctrl;
		return;
	case MSR_FEATURE_CONTROL:
		*value = 1; /* locked, VMX off */
		return;
	case MSR_BIOS_SIGN_ID:
		*value = 1ULL << 32; /* microcode revision 1 */
		return;
	case MSR_MTRRCAP:
		*value = SOFT_MTRRCAP;
		return;
	case MSR_ARCH_CAPABILITIES:
		*value = m->arch_caps;
		return;
	case MSR_TSX_CTRL:
		if (!(m->arch_caps & MSR_ARCH_CAP_TSX_CTRL))
			msr_fault(cpu, "read", index, 0);
		*value = m->tsx_ctrl;
		return;
	case MSR_MISC_PACKAGE_CTLS:
		if (!(m->arch_caps & MSR_ARCH_CAP_MISC_PKG_CTRLS))
			msr_fault(cpu, "read", index, 0);
		*value = m->misc_package_ctls;
		return;
	case MSR_SYSENTER_CS:
		*value = m->sysenter_cs;
		return;
	case MSR_SYSENTER_ESP:
		*value = m->sysenter_esp;
		return;
	case MSR_SYSENTER_EIP:
		*value = m->sysenter_eip;
		return;
	case MSR_MISC_ENABLE:
		*value = m->misc_enable;
		return;
	case MSR_PAT:
		*value = m->pat;
		return;
	case MSR_MTRR_DEF_TYPE:
		*value = m->mtrr_def_type;
		return;
	case MSR_EFER:
		*value = cpu->efer;
		return;
	case MSR_STAR:
		*value = m->star;
		return;
	case MSR_LSTAR:
		*value = m->lstar;
		return;
	case MSR_CSTAR:
		*value = m->cstar;
		return;
	case MSR_SFMASK:
		*value = m->sfmask;
		return;
	case MSR_FS_BASE:
		*value = cpu->seg[X86_FS].base;
		return;
	case MSR_GS_BASE:
		*value = cpu->seg[X86_GS].base;
		return;
	case MSR_KERNEL_GS_BASE:
		*value = m->kernel_gs_base;
		return;
	case MSR_TSC_AUX:
		*value = m->tsc_aux;
		return;
	case MSR_KVM_SYSTEM_TIME_NEW:
		*value = m->kvm_system_time;
		return;
	case MSR_KVM_WALL_CLOCK_NEW:
		*value = m->kvm_wall_clock;
		return;
	}
	if (index >= MSR_MTRR_VAR_FIRST && index <= MSR_MTRR_VAR_LAST) {
		*value = m->mtrr_var[index - MSR_MTRR_VAR_FIRST];
		return;
	}
	if ((slot = mtrr_fixed_slot(index)) >= 0) {
		*value = m->mtrr_fixed[slot];
		return;
	}
	if (index == MSR_APIC_BASE || index == MSR_TSC_DEADLINE ||
	    (index >= SOFT_MSR_X2APIC_FIRST && index <= SOFT_MSR_X2APIC_LAST)) {
		if (cpu->lapic &&
		    soft_lapic_msr_read(cpu->lapic, index, soft_now_ns(cpu), value) == 0)
			return;
	}
	if (soft_pv_rdmsr(cpu, index, value) == 0) /* KVM's PV MSRs, pv.c */
		return;
	msr_fault(cpu, "read", index, 0);
}

/* EFER.AIBRSE (bit 21): AMD's automatic IBRS, CPUID 8000_0021:EAX[8]. */
#define EFER_AIBRSE (1ULL << 21)

static void write_efer(struct soft_cpu *cpu, u64 v)
{
	const u64 writable = X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE |
			     (cpu->vendor == CPU_VENDOR_AMD ? EFER_AIBRSE : 0);

	/* LMA is read-only: a write may repeat it but not change it. */
	if (v & ~(writable | X86_EFER_LMA))
		msr_fault(cpu, "write", MSR_EFER, v);
	if (((v ^ cpu->efer) & X86_EFER_LME) && (cpu->cr0 & X86_CR0_PG))
		msr_fault(cpu, "write", MSR_EFER, v); /* SDM Vol. 3A 9.8.5 */
	v = (v & writable) | (cpu->efer & X86_EFER_LMA);
	if ((v ^ cpu->efer) & X86_EFER_NXE)
		soft_tlb_flush(cpu, false); /* cached rights depend on NXE */
	cpu->efer = v;
	soft_mode_update(cpu);
}

static void check_canonical(struct soft_cpu *cpu, u32 index, u64 v)
{
	if (!soft_canonical(v))
		msr_fault(cpu, "write", index, v);
}

void soft_wrmsr(struct soft_cpu *cpu, u32 index, u64 v)
{
	struct soft_msrs *m = &cpu->msr;
	int slot;

	check_cpl0(cpu);
	cpu->stat_side++;
	if (soft_msr_vendor_lacks(cpu, index))
		msr_fault(cpu, "write", index, v);
	if (cpu->vendor == CPU_VENDOR_AMD) {
		int r = soft_msr_amd_write(cpu, index, v);
		if (r == 0)
			return;
		if (r != -ENOENT)
			msr_fault(cpu, "write", index, v);
	}
	switch (index) {
	case MSR_TSC:
		soft_tsc_write(cpu, v);
		return;
	case MSR_BIOS_SIGN_ID:
		return; /* Linux writes 0 before reading the revision */
	case MSR_SPEC_CTRL:
		/* Intel: IBRS (bit 0, CPUID.7.0:EDX[26]) and BHI_DIS_S (bit 10,
		 * CPUID.7.2:EDX[4]); AMD: IBRS and STIBP (bit 1, CPUID
		 * 8000_0008:EBX[14, 15]). None has an effect here. */
		if (v & ~(cpu->vendor == CPU_VENDOR_AMD ? 0x3ULL : 0x401ULL))
			msr_fault(cpu, "write", index, v);
		m->spec_ctrl = v;
		return;
	case MSR_TSX_CTRL:
		if (!(m->arch_caps & MSR_ARCH_CAP_TSX_CTRL) || (v & ~TSX_CTRL_BITS))
			msr_fault(cpu, "write", index, v);
		m->tsx_ctrl = v;
		return;
	case MSR_MISC_PACKAGE_CTLS:
		if (!(m->arch_caps & MSR_ARCH_CAP_MISC_PKG_CTRLS) ||
		    (v & ~(m->arch_caps & MSR_ARCH_CAP_ENERGY_FILTER ? 1ULL : 0ULL)))
			msr_fault(cpu, "write", index, v);
		m->misc_package_ctls = v;
		return;
	case MSR_PRED_CMD:
		if (v & ~1ULL) /* IBPB: a barrier with nothing to flush */
			msr_fault(cpu, "write", index, v);
		return;
	case MSR_DEBUGCTL:
		if (v)
			msr_fault(cpu, "write", index, v);
		return;
	case MSR_SYSENTER_CS:
		m->sysenter_cs = v & 0xffff;
		return;
	case MSR_SYSENTER_ESP:
		check_canonical(cpu, index, v);
		m->sysenter_esp = v;
		return;
	case MSR_SYSENTER_EIP:
		check_canonical(cpu, index, v);
		m->sysenter_eip = v;
		return;
	case MSR_MISC_ENABLE:
		if ((v ^ m->misc_enable) & MSR_MISC_ENABLE_READONLY)
			msr_fault(cpu, "write", index, v);
		m->misc_enable =
		    (v & ~MSR_MISC_ENABLE_EMON) | (m->misc_enable & MSR_MISC_ENABLE_EMON);
		return;
	case MSR_PAT:
		if (!msr_mem_types_ok(v, true))
			msr_fault(cpu, "write", index, v);
		m->pat = v;
		return;
	case MSR_MTRR_DEF_TYPE:
		if ((v & ~0xcffULL) || !msr_mem_types_ok((u8)v, false) /* a byte: the rest UC */)
			msr_fault(cpu, "write", index, v);
		m->mtrr_def_type = v;
		return;
	case MSR_EFER:
		write_efer(cpu, v);
		return;
	case MSR_STAR:
		m->star = v;
		return;
	case MSR_LSTAR:
		check_canonical(cpu, index, v);
		m->lstar = v;
		return;
	case MSR_CSTAR:
		check_canonical(cpu, index, v);
		m->cstar = v;
		return;
	case MSR_SFMASK:
		m->sfmask = v & 0xffffffffULL;
		return;
	case MSR_FS_BASE:
		check_canonical(cpu, index, v);
		cpu->seg[X86_FS].base = v;
		return;
	case MSR_GS_BASE:
		check_canonical(cpu, index, v);
		cpu->seg[X86_GS].base = v;
		return;
	case MSR_KERNEL_GS_BASE:
		check_canonical(cpu, index, v);
		m->kernel_gs_base = v;
		return;
	case MSR_TSC_AUX:
		if (v >> 32)
			msr_fault(cpu, "write", index, v);
		m->tsc_aux = v;
		return;
	case MSR_KVM_SYSTEM_TIME_NEW:
		if (!soft_kvmclock_enable(cpu, v))
			log_warn("soft: vCPU %u kvmclock page %#llx is not in RAM", cpu->id,
				 (unsigned long long)v);
		return;
	case MSR_KVM_WALL_CLOCK_NEW:
		if (!soft_kvm_wall_clock(cpu, v))
			log_warn("soft: vCPU %u kvm wall clock %#llx is not in RAM", cpu->id,
				 (unsigned long long)v);
		return;
	}
	if (index >= MSR_MTRR_VAR_FIRST && index <= MSR_MTRR_VAR_LAST) {
		/* PhysBase: type in 7:0, bits 11:8 reserved; PhysMask: bits 10:0 reserved. */
		u64 rsvd = (~0ULL << SOFT_MAXPHYADDR) | ((index & 1) ? 0x7ffULL : 0xf00ULL);
		if ((v & rsvd) || (!(index & 1) && !msr_mem_types_ok((u8)v, false)))
			msr_fault(cpu, "write", index, v);
		m->mtrr_var[index - MSR_MTRR_VAR_FIRST] = v;
		return;
	}
	if ((slot = mtrr_fixed_slot(index)) >= 0) {
		if (!msr_mem_types_ok(v, false))
			msr_fault(cpu, "write", index, v);
		m->mtrr_fixed[slot] = v;
		return;
	}
	if (index == MSR_APIC_BASE || index == MSR_TSC_DEADLINE ||
	    (index >= SOFT_MSR_X2APIC_FIRST && index <= SOFT_MSR_X2APIC_LAST)) {
		if (cpu->lapic && soft_lapic_msr_write(cpu->lapic, index, v, soft_now_ns(cpu)) == 0)
			return;
	}
	if (soft_pv_wrmsr(cpu, index, v) == 0) /* KVM's PV MSRs, pv.c */
		return;
	msr_fault(cpu, "write", index, v);
}
