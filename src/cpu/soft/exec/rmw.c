/* Read-modify-write memory operands: the slow path of soft_rmw_begin(), and
 * LOCK-prefixed updates with host atomics on guest RAM so that SMP guests
 * keep x86's memory model (Intel SDM Vol. 3A 8.1.2.2). */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vm.h"

u64 soft_rmw_slow_begin(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
			struct soft_rmw *r)
{
	r->host = NULL;
	return soft_read_for_write(cpu, in->seg, r->ea, size);
}

static bool cas(u8 *p, unsigned size, u64 *old, u64 new)
{
	switch (size) {
	case 1: {
		u8 o = (u8)*old;
		bool ok = __atomic_compare_exchange_n(p, &o, (u8) new, false, __ATOMIC_SEQ_CST,
						      __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 2: {
		u16 o = (u16)*old;
		bool ok = __atomic_compare_exchange_n((u16 *)(void *)p, &o, (u16) new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 4: {
		u32 o = (u32)*old;
		bool ok = __atomic_compare_exchange_n((u32 *)(void *)p, &o, (u32) new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	default:
		return __atomic_compare_exchange_n((u64 *)(void *)p, old, new, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

/* A host atomic is usable when the operand stays inside one cache line
 * (a split lock would be slow, and fatal under split_lock_detect=fatal). */
static bool atomic_ok(const u8 *p, unsigned size)
{
	return ((uintptr_t)p & 63) + size <= 64;
}

u64 soft_locked_rmw(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size,
		    soft_rmw_fn *fn, u64 arg, unsigned op)
{
	struct soft_vm *vm = cpu->vm;
	u64 ea = soft_ea(cpu, in), old, new;
	u8 *p = soft_rmw_ptr(cpu, in->seg, ea, size);

	if (p && atomic_ok(p, size)) {
		old = soft_host_load(p, size);
		do {
			new = fn(cpu, old, arg, size, op);
		} while (!cas(p, size, &old, new));
		return old;
	}
	/* Fault checks first, outside the lock: a fault longjmps. */
	soft_read_for_write(cpu, in->seg, ea, size);
	if (!vm) {
		old = soft_read_for_write(cpu, in->seg, ea, size);
		soft_write(cpu, in->seg, ea, size, fn(cpu, old, arg, size, op));
		return old;
	}
	pthread_mutex_lock(&vm->atomic_lock);
	cpu->held_lock = &vm->atomic_lock; /* released by soft_exec if we fault anyway */
	old = soft_read_for_write(cpu, in->seg, ea, size);
	soft_write(cpu, in->seg, ea, size, fn(cpu, old, arg, size, op));
	cpu->held_lock = NULL;
	pthread_mutex_unlock(&vm->atomic_lock);
	return old;
}
