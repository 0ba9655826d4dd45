/* KVM vCPUs: creation, the KVM_RUN loop with its exit handlers, kick and stats. */
#include "cpu/kvm/kvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/log.h"

static const char *const kvm_stat_names[KVM_STAT_NR] = {
    [KVM_STAT_EXITS] = "exits",
    [KVM_STAT_IO] = "exits_io",
    [KVM_STAT_MMIO] = "exits_mmio",
    [KVM_STAT_HLT] = "exits_hlt",
    [KVM_STAT_INTR] = "exits_intr",
    [KVM_STAT_SHUTDOWN] = "exits_shutdown",
    [KVM_STAT_SYSTEM_EVENT] = "exits_system_event",
    [KVM_STAT_OTHER] = "exits_other",
};

int kvm_vcpu_create(struct engine_vm *vm, unsigned id, struct engine_vcpu **out)
{
	struct machine *m = vm->m;
	unsigned nr_cpus = m->cfg.nr_cpus ? m->cfg.nr_cpus : 1;
	struct engine_vcpu *vcpu;
	void *run;
	int rc;

	*out = NULL;
	if (id >= CONFIG_MAX_CPUS || id >= nr_cpus) {
		log_error("kvm: vCPU id %u out of range (%u CPUs configured)", id, nr_cpus);
		return -EINVAL;
	}
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		rc = -errno;
		log_error("kvm: KVM_CREATE_VCPU %u: %s", id, strerror(-rc));
		free(vcpu);
		return rc;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED) {
		rc = -errno;
		log_error("kvm: mmap of vCPU %u run area: %s", id, strerror(-rc));
		close(vcpu->fd);
		free(vcpu);
		return rc;
	}
	vcpu->run = run;
	pthread_mutex_init(&vcpu->kick_lock, NULL);

	/* The TSC rate on the vCPU fd: it works on every kernel, the VM fd only
	 * with KVM_CAP_VM_TSC_CONTROL. CPUID (0x15, 0x16, 0x40000010) needs it. */
	if (!vm->tsc_khz) {
		int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
		if (khz > 0)
			vm->tsc_khz = (u32)khz;
	}
	rc = kvm_cpuid_setup(vcpu, nr_cpus);
	if (rc < 0)
		goto fail;
	rc = kvm_msrs_reset(vcpu);
	if (rc < 0)
		goto fail;
	rc = kvm_state_fpu_reset(vcpu);
	if (rc < 0) {
		log_error("kvm: KVM_SET_FPU on vCPU %u: %s", id, strerror(-rc));
		goto fail;
	}
	/* With the in-kernel LAPIC, KVM already leaves every vCPU but the BSP
	 * (id 0) waiting for INIT/SIPI; say so explicitly rather than rely on
	 * it. Without a LAPIC only RUNNABLE is accepted (api.rst 4.38). */
	if (vm->irqchip && id != 0) {
		struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_UNINITIALIZED};

		if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0) {
			rc = -errno;
			log_error("kvm: KVM_SET_MP_STATE on vCPU %u: %s", id, strerror(-rc));
			goto fail;
		}
	}
	*out = vcpu;
	return 0;
fail:
	kvm_vcpu_destroy(vcpu);
	return rc;
}

void kvm_vcpu_destroy(struct engine_vcpu *vcpu)
{
	if (!vcpu)
		return;
	munmap(vcpu->run, vcpu->vm->run_size);
	close(vcpu->fd);
	pthread_mutex_destroy(&vcpu->kick_lock);
	free(vcpu);
}

/* KVM_EXIT_IO (api.rst 5 "struct kvm_run"): count accesses of size bytes to
 * one port; the data lives in the run area at data_offset, which we check
 * before touching. String I/O (rep ins/outs) arrives with count > 1. */
int kvm_exit_io(struct machine *m, struct kvm_run *run, size_t run_size, char *msg, size_t msglen)
{
	unsigned size = run->io.size, port = run->io.port;
	u64 count = run->io.count, off = run->io.data_offset;
	u8 *data = (u8 *)run;

	if ((size != 1 && size != 2 && size != 4) || count == 0 || off > run_size ||
	    count * size > run_size - off) {
		snprintf(msg, msglen,
			 "KVM reported a bad port access: port 0x%x size %u count %llu "
			 "data_offset 0x%llx (run area 0x%zx)",
			 port, size, (unsigned long long)count, (unsigned long long)off, run_size);
		return -EIO;
	}
	for (u64 i = 0; i < count; i++) {
		u8 *p = data + off + i * size;
		u64 v = 0;

		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&v, p, size); /* x86 is little-endian: low bytes first */
			bus_write(&m->pio, port, size, v);
		} else {
			bus_read(&m->pio, port, size, &v);
			memcpy(p, &v, size);
		}
	}
	return 0;
}

/* KVM_EXIT_MMIO: one access of len (1..8) bytes at phys_addr. The bus takes
 * 1, 2, 4 or 8 bytes; any other length is split into byte accesses. */
int kvm_exit_mmio(struct machine *m, struct kvm_run *run, char *msg, size_t msglen)
{
	u64 addr = run->mmio.phys_addr, v = 0;
	unsigned len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data)) {
		snprintf(msg, msglen, "KVM reported a bad MMIO access: gpa 0x%llx len %u",
			 (unsigned long long)addr, len);
		return -EIO;
	}
	if (len == 1 || len == 2 || len == 4 || len == 8) {
		if (run->mmio.is_write) {
			memcpy(&v, run->mmio.data, len);
			bus_write(&m->mmio, addr, len, v);
		} else {
			bus_read(&m->mmio, addr, len, &v);
			memcpy(run->mmio.data, &v, len);
		}
		return 0;
	}
	for (unsigned i = 0; i < len; i++) {
		if (run->mmio.is_write) {
			bus_write(&m->mmio, addr + i, 1, run->mmio.data[i]);
		} else {
			bus_read(&m->mmio, addr + i, 1, &v);
			run->mmio.data[i] = (u8)v;
		}
	}
	return 0;
}

static void kvm_stat_inc(struct engine_vcpu *vcpu, enum kvm_stat s)
{
	atomic_fetch_add_explicit(&vcpu->stats[s], 1, memory_order_relaxed);
}

static int kvm_exit_error(struct vcpu_exit *exit, enum kvm_stat s, struct engine_vcpu *vcpu)
{
	kvm_stat_inc(vcpu, s);
	exit->reason = VCPU_EXIT_ERROR;
	return 0;
}

/* KVM_EXIT_INTERNAL_ERROR: the suberror, where the guest was, and for an
 * emulation failure the instruction bytes KVM could not emulate (api.rst 5,
 * "struct emulation_failure"). */
static void kvm_internal_error_msg(struct engine_vcpu *vcpu, char *msg, size_t msglen)
{
	const struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	unsigned long long rip = ~0ULL;
	size_t n;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	n = (size_t)snprintf(msg, msglen, "KVM internal error %u at rip 0x%llx",
			     run->internal.suberror, rip);
	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION) {
		if (n < msglen && run->internal.ndata)
			snprintf(msg + n, msglen - n, " (data[0] 0x%llx)",
				 (unsigned long long)run->internal.data[0]);
		return;
	}
	if (n < msglen)
		n += (size_t)snprintf(msg + n, msglen - n, ": instruction emulation failed");
	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned len = MIN(run->emulation_failure.insn_size, 15U);

		for (unsigned i = 0; i < len && n < msglen; i++)
			n += (size_t)snprintf(msg + n, msglen - n, "%s%02x", i ? " " : ", bytes ",
					      run->emulation_failure.insn_bytes[i]);
	}
}

/* KVM_EXIT_SYSTEM_EVENT: the guest asked for a power transition. */
static void kvm_exit_system_event(struct engine_vcpu *vcpu)
{
	struct machine *m = vcpu->vm->m;

	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_RESET:
		machine_request_stop(m, MACHINE_STOP_RESET, 0);
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		machine_request_stop(m, MACHINE_STOP_CRASH, 2);
		break;
	default: /* KVM_SYSTEM_EVENT_SHUTDOWN and anything newer */
		machine_request_stop(m, MACHINE_STOP_POWEROFF, 0);
		break;
	}
}

/* Serves the exit KVM_RUN returned. Returns 1 to run on, 0 when *exit is
 * filled for the caller, 2 when the run must stop for a kick. */
static int kvm_vcpu_exit_dispatch(struct engine_vcpu *vcpu, struct vcpu_exit *exit)
{
	struct machine *m = vcpu->vm->m;
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		kvm_stat_inc(vcpu, KVM_STAT_IO);
		if (kvm_exit_io(m, run, vcpu->vm->run_size, exit->msg, sizeof(exit->msg)) < 0)
			return kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
		vcpu->io_incomplete = true;
		return 1;
	case KVM_EXIT_MMIO:
		kvm_stat_inc(vcpu, KVM_STAT_MMIO);
		if (kvm_exit_mmio(m, run, exit->msg, sizeof(exit->msg)) < 0)
			return kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
		vcpu->io_incomplete = true;
		return 1;
	case KVM_EXIT_HLT:
		/* Only without the in-kernel LAPIC, where nothing can wake it. */
		kvm_stat_inc(vcpu, KVM_STAT_HLT);
		exit->reason = VCPU_EXIT_HLT;
		return 0;
	case KVM_EXIT_SHUTDOWN:
		kvm_stat_inc(vcpu, KVM_STAT_SHUTDOWN);
		snprintf(exit->msg, sizeof(exit->msg), "triple fault or shutdown");
		exit->reason = VCPU_EXIT_SHUTDOWN;
		return 0;
	case KVM_EXIT_INTR:
		kvm_stat_inc(vcpu, KVM_STAT_INTR);
		return 2;
	case KVM_EXIT_DEBUG:
		kvm_vcpu_debug_exit(vcpu, exit);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		kvm_stat_inc(vcpu, KVM_STAT_SYSTEM_EVENT);
		kvm_exit_system_event(vcpu);
		return 2;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(exit->msg, sizeof(exit->msg),
			 "KVM entry failed: hardware reason 0x%llx on host CPU %u",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		return kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
	case KVM_EXIT_INTERNAL_ERROR:
		kvm_internal_error_msg(vcpu, exit->msg, sizeof(exit->msg));
		return kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
	case KVM_EXIT_UNKNOWN:
		snprintf(exit->msg, sizeof(exit->msg), "KVM unknown exit: hardware reason 0x%llx",
			 (unsigned long long)run->hw.hardware_exit_reason);
		return kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
	default:
		snprintf(exit->msg, sizeof(exit->msg), "unexpected KVM exit reason %u",
			 run->exit_reason);
		return kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
	}
}

/* KVM_RUN, with kick signals allowed only while inside it: a signal landing
 * in device code would end its poll(), epoll_wait() or nanosleep() early
 * (SA_RESTART does not restart them). kvm_vcpu_kick() signals only while
 * in_kvm_run is set, under kick_lock. */
static int kvm_run_ioctl(struct engine_vcpu *vcpu, int *err)
{
	int rc;

	pthread_mutex_lock(&vcpu->kick_lock);
	vcpu->in_kvm_run = true;
	pthread_mutex_unlock(&vcpu->kick_lock);
	rc = ioctl(vcpu->fd, KVM_RUN, 0);
	*err = errno;
	pthread_mutex_lock(&vcpu->kick_lock);
	vcpu->in_kvm_run = false;
	pthread_mutex_unlock(&vcpu->kick_lock);
	return rc;
}

/* With the in-kernel LAPIC a halted vCPU waits inside KVM_RUN; a kick tells
 * whether it is stuck there for good: halted with interrupts disabled, or
 * an AP still waiting for INIT/SIPI (machine_halt.c decides for the VM). */
static bool kvm_vcpu_stuck(struct engine_vcpu *vcpu)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;

	if (!vcpu->vm->irqchip || ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
		return false;
	if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED || mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		return true;
	if (mp.mp_state != KVM_MP_STATE_HALTED || ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	return !(regs.rflags & X86_RFLAGS_IF);
}

/* Ends a run() that stops for a kick. An I/O exit is only finished (RIP
 * advanced, IN data stored) by the next KVM_RUN, so KVM_RUN runs again with
 * immediate_exit set, which completes it without running guest code (api.rst
 * 5, the note after KVM_EXIT_IO); get_state() then sees consistent registers.
 * Completing may take another trip to user space (the next piece of an MMIO
 * access over 8 bytes or across a page, the write half of a read-modify-write
 * on MMIO): KVM_RUN then returns 0 with that exit, which is served like any
 * other; only -EINTR says all is done. Fills *exit: KICKED, or an exit that
 * came up meanwhile and must reach the caller. */
static int kvm_vcpu_stop_for_kick(struct engine_vcpu *vcpu, struct vcpu_exit *exit)
{
	int rc, err, r;

	atomic_store(&vcpu->kick_pending, false);
	while (vcpu->io_incomplete) {
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		rc = ioctl(vcpu->fd, KVM_RUN, 0);
		err = errno;
		vcpu->io_incomplete = false;
		if (rc < 0) {
			if (err != EINTR && err != EAGAIN) {
				snprintf(exit->msg, sizeof(exit->msg), "KVM_RUN: %s", strerror(err));
				kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
				break;
			}
			exit->reason = VCPU_EXIT_KICKED;
			break;
		}
		kvm_stat_inc(vcpu, KVM_STAT_EXITS);
		r = kvm_vcpu_exit_dispatch(vcpu, exit);
		if (r == 0)
			break; /* an exit the caller must see; io_incomplete is false */
		exit->reason = VCPU_EXIT_KICKED;
	}
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if (exit->reason == VCPU_EXIT_KICKED && kvm_vcpu_stuck(vcpu))
		exit->reason = VCPU_EXIT_HLT;
	return 0;
}

/* One KVM_RUN and its exit. Returns 1 to keep running, 0 when exit is filled. */
static int kvm_vcpu_run_once(struct engine_vcpu *vcpu, struct vcpu_exit *exit)
{
	int rc, err, r;

	if (atomic_load(&vcpu->kick_pending) || machine_stopping(vcpu->vm->m)) {
		exit->reason = VCPU_EXIT_KICKED;
		return kvm_vcpu_stop_for_kick(vcpu, exit);
	}
	rc = kvm_run_ioctl(vcpu, &err);
	vcpu->io_incomplete = false;
	kvm_stat_inc(vcpu, KVM_STAT_EXITS);
	if (rc < 0) {
		if (err == EINTR || err == EAGAIN) {
			kvm_stat_inc(vcpu, KVM_STAT_INTR);
			exit->reason = VCPU_EXIT_KICKED;
			return kvm_vcpu_stop_for_kick(vcpu, exit);
		}
		snprintf(exit->msg, sizeof(exit->msg), "KVM_RUN: %s", strerror(err));
		return kvm_exit_error(exit, KVM_STAT_OTHER, vcpu);
	}
	r = kvm_vcpu_exit_dispatch(vcpu, exit);
	if (r == 2) {
		exit->reason = VCPU_EXIT_KICKED;
		return kvm_vcpu_stop_for_kick(vcpu, exit);
	}
	return r;
}

int kvm_vcpu_run(struct engine_vcpu *vcpu, struct vcpu_exit *exit)
{
	sigset_t kick;
	int rc;

	memset(exit, 0, sizeof(*exit));
	/* A blocked kick signal would stay pending instead of ending KVM_RUN. */
	sigemptyset(&kick);
	sigaddset(&kick, KVM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	pthread_mutex_lock(&vcpu->kick_lock);
	vcpu->thread = pthread_self();
	pthread_mutex_unlock(&vcpu->kick_lock);

	do
		rc = kvm_vcpu_run_once(vcpu, exit);
	while (rc > 0);
	return 0;
}

/* From any thread. kick_pending is seen by run() before its next KVM_RUN;
 * immediate_exit ends a KVM_RUN that started before the signal could reach
 * it; the signal ends one already inside the guest. A kick can thus cause at
 * most one extra, harmless VCPU_EXIT_KICKED. */
void kvm_vcpu_kick(struct engine_vcpu *vcpu)
{
	atomic_store(&vcpu->kick_pending, true);
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&vcpu->kick_lock);
	if (vcpu->in_kvm_run && !pthread_equal(vcpu->thread, pthread_self()))
		pthread_kill(vcpu->thread, KVM_KICK_SIGNAL);
	pthread_mutex_unlock(&vcpu->kick_lock);
}

u64 kvm_vcpu_stat(struct engine_vcpu *vcpu, const char *name)
{
	for (unsigned i = 0; i < KVM_STAT_NR; i++)
		if (!strcmp(name, kvm_stat_names[i]))
			return atomic_load_explicit(&vcpu->stats[i], memory_order_relaxed);
	return 0;
}
