/* A two-vCPU soft engine VM built by hand (16 MiB of RAM, its own buses, no
 * devices), driven through engine_ops. Included by test_soft_snapshot.c,
 * test_kvm_snapshot.c, test_soft_pv.c and test_soft_dirty.c. */
#ifndef POPEK_TEST_SOFT_VM_FIXTURE_H
#define POPEK_TEST_SOFT_VM_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "cpu/engine.h"
#include "test.h"

struct vm {
	struct machine m;
	struct engine_vm *evm;
	struct engine_vcpu *v[2];
};

/* The VM of configuration cfg (its nr_cpus must be 2). */
static inline struct vm *vm_new_cfg(const struct vm_config *cfg)
{
	struct vm *t = calloc(1, sizeof(*t));

	CHECK_EQ(guest_mem_init(&t->m.mem, 16 * MiB), 0);
	pthread_mutex_init(&t->m.dev_lock, NULL);
	bus_init(&t->m.pio, "pio", &t->m.dev_lock);
	bus_init(&t->m.mmio, "mmio", &t->m.dev_lock);
	t->m.cfg = *cfg;
	t->m.engine = &soft_engine_ops;
	CHECK_EQ(soft_engine_ops.vm_create(&t->m, &t->evm), 0);
	CHECK_EQ(soft_engine_ops.map_ram(t->evm), 0);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(soft_engine_ops.vcpu_create(t->evm, i, &t->v[i]), 0);
	return t;
}

/* A VM modelling vendor's CPU, interpreting only. */
static inline struct vm *vm_new(enum cpu_vendor vendor)
{
	struct vm_config cfg = {.nr_cpus = 2, .cpu_vendor = vendor, .soft_jit_off = true};

	return vm_new_cfg(&cfg);
}

/* Puts vCPU i in real mode at rip (CS base 0), as after INIT; vCPU 0 is
 * the bootstrap processor. */
static inline void vm_real_mode(struct vm *t, unsigned i, u64 rip)
{
	struct x86_state st;

	memset(&st, 0, sizeof(st));
	st.regs.rip = rip;
	st.regs.rflags = 2;
	for (int s = 0; s < 6; s++)
		st.sregs.seg[s] = (struct x86_seg){
		    .limit = 0xffff, .type = s == X86_CS ? 0xb : 0x3, .s = 1, .present = 1};
	st.sregs.tr = (struct x86_seg){.type = 0xb, .present = 1, .limit = 0xffff};
	st.sregs.ldt = (struct x86_seg){.type = 0x2, .present = 1, .limit = 0xffff};
	st.sregs.cr0 = X86_CR0_ET;
	st.sregs.apic_base = 0xfee00800 | (i == 0 ? 0x100 : 0);
	CHECK_EQ(soft_engine_ops.set_state(t->v[i], &st), 0);
}

static inline void vm_free(struct vm *t)
{
	for (unsigned i = 0; i < 2; i++)
		soft_engine_ops.vcpu_destroy(t->v[i]);
	soft_engine_ops.vm_destroy(t->evm);
	guest_mem_destroy(&t->m.mem);
	pthread_mutex_destroy(&t->m.dev_lock);
	free(t);
}

#endif
