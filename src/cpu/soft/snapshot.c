/* The soft engine's state to and from the engine-neutral forms (snapshot.h).
 * MSRs (cpu/snapshot_msrs.h; those a vendor's model lacks are skipped on
 * save) go through RDMSR and WRMSR themselves, so a loaded value passes the
 * checks a guest's WRMSR would, and writes with side effects (kvmclock,
 * steal time, the TSC) take them again in the new process. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cpu/engine.h"
#include "cpu/snapshot_msrs.h"
#include "cpu/soft/snapshot.h"
#include "cpu/soft/sys/sys.h"

/* RDMSR or WRMSR as CPL 0 would run it; false where it would raise #GP. */
static bool msr_access(struct soft_cpu *cpu, bool write, u32 index, u64 *value)
{
	u64 rip = cpu->rip, insn_rip = cpu->insn_rip;
	u8 cpl = cpu->cpl;
	jmp_buf saved;
	volatile bool ok = false;

	memcpy(saved, cpu->fault_jmp, sizeof(saved));
	cpu->cpl = 0;
	cpu->insn_rip = rip;
	if (!setjmp(cpu->fault_jmp)) {
		if (write)
			soft_wrmsr(cpu, index, *value);
		else
			soft_rdmsr(cpu, index, value);
		ok = true;
	}
	memcpy(cpu->fault_jmp, saved, sizeof(saved));
	cpu->cpl = cpl;
	cpu->rip = rip;
	cpu->insn_rip = insn_rip;
	cpu->pending_vector = -1;
	return ok;
}

void soft_vcpu_save(struct soft_vcpu *v, struct x86_vcpu_state *st)
{
	struct soft_cpu *cpu = &v->cpu;
	u64 now = soft_vm_now(v->vm), value;
	unsigned nmis;

	memset(st, 0, sizeof(*st));
	soft_engine_ops.get_state((struct engine_vcpu *)v, &st->st);
	st->xcr0 = cpu->xcr0;
	st->pkru = cpu->pkru;
	memcpy(st->dr, cpu->dr, sizeof(st->dr));
	st->dr6 = cpu->dr[6];
	st->dr7 = cpu->dr[7];
	memcpy(st->fxsave, &cpu->fx, sizeof(st->fxsave));
	soft_pv_settle(v);
	/* The page first: a timer due now goes into IRR there, and a TSC
	 * deadline that just fired must not be saved armed as well. */
	soft_lapic_save(&v->lapic, st->lapic, now);
	for (unsigned i = 0; i < ARRAY_SIZE(snapshot_msrs); i++)
		if (msr_access(cpu, false, snapshot_msrs[i], &value))
			vcpu_state_set_msr(st, snapshot_msrs[i], value);
	/* The TSC as of the snapshot's instant, not of this read: every vCPU's
	 * then has the offset it had, and their TSCs stay in step. */
	vcpu_state_set_msr(st, SNAP_MSR_TSC, v->vm->snap_ns + cpu->msr.tsc_offset);
	st->ev.exc_pending = cpu->pending_vector >= 0;
	if (st->ev.exc_pending) {
		st->ev.exc_vector = (u8)cpu->pending_vector;
		st->ev.exc_has_error = cpu->pending_has_error;
		st->ev.exc_error = cpu->pending_error;
	}
	nmis = soft_lapic_take_nmis(&v->lapic);
	v->nmi_held = MIN(v->nmi_held + nmis, cpu->nmi_blocked ? 1u : 2u);
	st->ev.nmi_pending = (u8)v->nmi_held;
	st->ev.nmi_masked = cpu->nmi_blocked;
	st->ev.intr_shadow = cpu->intr_shadow ? X86_SHADOW_STI : 0;
	st->ev.mp_state = cpu->wait_for_sipi ? X86_MP_WAIT_SIPI
			  : cpu->halted      ? X86_MP_HALTED
					     : X86_MP_RUNNABLE;
}

/* What no MOV to a control register or WRMSR EFER could have left (SDM
 * Vol. 3A 2.5, 9.8.5): the soft engine runs only states a guest can reach. */
static int check_modes(const struct x86_sregs *sr, char *why, size_t why_len)
{
	const u64 efer_ok = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE |
			    (1ULL << 21) /* AMD's AIBRSE */;
	const struct x86_seg *cs = &sr->seg[X86_CS];

	if (sr->cr0 >> 32 || ((sr->cr0 & X86_CR0_PG) && !(sr->cr0 & X86_CR0_PE)) ||
	    ((sr->cr0 & X86_CR0_NW) && !(sr->cr0 & X86_CR0_CD)))
		return snap_fail(why, why_len, "CR0 0x%llx is not a value MOV CR0 accepts",
				 (unsigned long long)sr->cr0);
	if (sr->cr4 & ~soft_cr4_supported())
		return snap_fail(why, why_len, "CR4 0x%llx sets bits the soft engine lacks",
				 (unsigned long long)sr->cr4);
	if (sr->efer & ~efer_ok)
		return snap_fail(why, why_len, "EFER 0x%llx sets reserved bits",
				 (unsigned long long)sr->efer);
	if ((sr->efer & X86_EFER_LMA) && !(sr->cr4 & X86_CR4_PAE))
		return snap_fail(why, why_len, "long mode without CR4.PAE");
	if ((sr->efer & X86_EFER_LMA) && cs->l && cs->db)
		return snap_fail(why, why_len, "CS has both L and D set in long mode");
	return 0;
}

int soft_vcpu_load(struct soft_vcpu *v, const struct x86_vcpu_state *st, char *why,
		   size_t why_len)
{
	struct soft_cpu *cpu = &v->cpu;
	u64 now = soft_vm_now(v->vm);
	u32 mask = cpu->fx.mxcsr_mask; /* the model's, set at reset */
	int err;

	if (st->xcr0 & ~3ULL || !(st->xcr0 & 1))
		return snap_fail(why, why_len, "XCR0 0x%llx: the soft engine has x87 and SSE state only",
			      (unsigned long long)st->xcr0);
	if (st->ev.exc_pending && st->ev.exc_vector > 31)
		return snap_fail(why, why_len, "pending exception vector %u", st->ev.exc_vector);
	err = check_modes(&st->st.sregs, why, why_len);
	if (err < 0)
		return err;
	err = soft_engine_ops.set_state((struct engine_vcpu *)v, &st->st);
	if (err < 0)
		return snap_fail(why, why_len, "the registers cannot be loaded (PAE page tables at "
			      "CR3 0x%llx unreadable)", (unsigned long long)st->st.sregs.cr3);
	if (soft_lapic_get_base(&v->lapic) != st->st.sregs.apic_base)
		return snap_fail(why, why_len, "APIC base 0x%llx is not one WRMSR could set",
				 (unsigned long long)st->st.sregs.apic_base);
	cpu->xcr0 = st->xcr0;
	cpu->pkru = st->pkru;
	memcpy(cpu->dr, st->dr, sizeof(st->dr));
	cpu->dr[4] = cpu->dr[6] = st->dr6;
	cpu->dr[5] = cpu->dr[7] = st->dr7;
	soft_debug_update(cpu);
	memcpy(&cpu->fx, st->fxsave, sizeof(cpu->fx));
	/* The host's SSE unit loads MXCSR: a reserved bit would fault popek. */
	cpu->fx.mxcsr_mask = mask;
	if (cpu->fx.mxcsr & ~mask)
		return snap_fail(why, why_len, "MXCSR 0x%x sets bits this CPU model lacks (mask 0x%x)",
				 cpu->fx.mxcsr, mask);
	err = soft_lapic_load(&v->lapic, st->lapic, now, why, why_len);
	if (err < 0)
		return err;
	/* After the LAPIC page: its CR8 is the page's TPR, set_state's too. */
	for (unsigned i = 0; i < ARRAY_SIZE(snapshot_msrs); i++) {
		u64 value;

		if (!vcpu_state_msr(st, snapshot_msrs[i], &value))
			continue;
		if (snapshot_msrs[i] == SNAP_MSR_TSC) {
			soft_tsc_set_offset(cpu, value - v->vm->snap_ns);
			continue;
		}
		if (!msr_access(cpu, true, snapshot_msrs[i], &value))
			return snap_fail(why, why_len, "MSR 0x%x = 0x%llx is refused by the soft "
				      "engine's %s model", snapshot_msrs[i], (unsigned long long)value,
				      cpu->vendor == CPU_VENDOR_AMD ? "AMD" : "Intel");
	}
	for (u32 i = 0; i < st->nr_msrs; i++) {
		if (!snapshot_msr_known(st->msrs[i].index))
			return snap_fail(why, why_len, "MSR 0x%x has no counterpart in the soft engine",
				      st->msrs[i].index);
	}
	if (st->ev.exc_pending) {
		cpu->pending_vector = st->ev.exc_vector;
		cpu->pending_has_error = st->ev.exc_has_error;
		cpu->pending_error = st->ev.exc_error;
	}
	v->nmi_held = st->ev.nmi_pending;
	cpu->nmi_blocked = st->ev.nmi_masked;
	cpu->intr_shadow = st->ev.intr_shadow ? 1 : 0;
	cpu->halted = st->ev.mp_state == X86_MP_HALTED;
	cpu->wait_for_sipi = st->ev.mp_state == X86_MP_WAIT_SIPI;
	return 0;
}

void soft_vm_save(struct soft_vm *vm, struct x86_irqchip_state *ic, struct x86_clock_state *clock)
{
	clock->guest_ns = soft_vm_now(vm);
	clock->tsc_khz = SOFT_TSC_KHZ;
	vm->snap_ns = clock->guest_ns;
	soft_irqchip_save(&vm->irq, ic, clock->guest_ns);
}

int soft_vm_load(struct soft_vm *vm, const struct x86_irqchip_state *ic,
		 const struct x86_clock_state *clock, char *why, size_t why_len)
{
	/* The TSC is guest ns plus an offset (sys/tsc.c): no other rate. */
	if (clock->tsc_khz != SOFT_TSC_KHZ)
		return snap_fail(
		    why, why_len,
		    "the snapshot's TSC runs at %u kHz; the soft engine's runs at %u kHz",
		    clock->tsc_khz, SOFT_TSC_KHZ);
	/* The guest's clock continues from the snapshot's moment: every timer
	 * and the TSC are then where they were. */
	vm->clock_base = soft_clock_ns() - clock->guest_ns;
	vm->snap_ns = clock->guest_ns;
	return soft_irqchip_load(&vm->irq, ic, clock->guest_ns, why, why_len);
}
