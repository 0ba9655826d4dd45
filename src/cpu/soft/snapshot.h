/* The soft engine's state to and from popek's engine-neutral forms
 * (core/vcpu_state.h, core/irqchip_state.h), for snapshots (issue 12). */
#ifndef POPEK_SOFT_SNAPSHOT_H
#define POPEK_SOFT_SNAPSHOT_H

#include "core/irqchip_state.h"
#include "core/vcpu_state.h"
#include "cpu/soft/vm.h"

/* The vCPU must be outside run(); its INIT/SIPI requests already applied. */
void soft_vcpu_save(struct soft_vcpu *v, struct x86_vcpu_state *st);
/* Call after soft_vm_load. 0, or -EINVAL with a one-line reason in why. */
int soft_vcpu_load(struct soft_vcpu *v, const struct x86_vcpu_state *st, char *why,
		   size_t why_len);
/* save reports the TSC rate, SOFT_TSC_KHZ; load refuses any other. */
void soft_vm_save(struct soft_vm *vm, struct x86_irqchip_state *ic, struct x86_clock_state *clock);
int soft_vm_load(struct soft_vm *vm, const struct x86_irqchip_state *ic,
		 const struct x86_clock_state *clock, char *why, size_t why_len);

#endif
