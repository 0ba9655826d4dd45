/* The soft engine's part of the dirty log (core/guest_mem.h): the guest's
 * writes are marked in the TLB's slow path (mmu.c), so taking the log needs
 * only every write tag dropped, and the pages the engine itself writes
 * (kvmclock, wall clock, steal time, PV EOI) marked. */
#include "cpu/soft/dirty_log.h"

#include "core/machine.h"

/* The paravirtual areas the engine writes on the guest's behalf, whenever
 * it likes: marked at each take, so the last one holds them. */
static void mark_pv_areas(struct soft_vm *vm)
{
	const struct guest_mem *mem = &vm->m->mem;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct soft_vcpu *v = vm->vcpus[i];

		if (!v)
			continue;
		if (v->cpu.msr.kvm_system_time & 1)
			guest_mem_dirty_mark(mem, v->cpu.msr.kvm_system_time & ~1ULL, 32);
		if (v->cpu.msr.kvm_wall_clock)
			guest_mem_dirty_mark(mem, v->cpu.msr.kvm_wall_clock, 12);
		if (v->pv.steal)
			guest_mem_dirty_mark_host(mem, v->pv.steal, KVM_STEAL_SIZE);
		if (v->pv.eoi)
			guest_mem_dirty_mark_host(mem, v->pv.eoi, 1);
	}
}

/* Every vCPU's next write to a page walks again (and marks it). */
static void drop_write_tags(struct soft_vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			soft_tlb_drop_write_tags(&vm->vcpus[i]->cpu.tlb);
}

int soft_dirty_log_rearm(struct engine_vm *evm)
{
	struct soft_vm *vm = (struct soft_vm *)evm;

	drop_write_tags(vm);
	mark_pv_areas(vm);
	return 0;
}
