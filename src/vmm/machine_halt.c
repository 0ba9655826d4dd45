/* When a guest has stopped for good: every vCPU halted with interrupts
 * disabled or waiting for a SIPI, so only another vCPU could wake it and none
 * will. That is how Linux ends without ACPI ("System halted"), so popek then
 * ends as for a power-off. Engines that wait in a halt themselves (soft)
 * report it once, as it happens. Engines that cannot (KVM keeps a halted vCPU
 * inside KVM_RUN) set needs_halt_probe: every HALT_PROBE_MS the machine kicks
 * every vCPU, and each reports VCPU_EXIT_HLT if it is so stuck, else
 * VCPU_EXIT_KICKED; the guest has stopped once every vCPU was stuck in two
 * consecutive rounds (one round could pair a stale report with a fresh one). */
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cpu/engine.h"
#include "popek/log.h"
#include "vmm/vmm.h"

#define HALT_PROBE_MS 250

static bool all_stopped(struct machine *m, u64 round)
{
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		const struct machine_vcpu *v = &m->vcpus[i];
		if (!atomic_load(&v->dead_halt))
			return false;
		if (m->engine->needs_halt_probe &&
		    (atomic_load(&v->dead_round) != round || atomic_load(&v->dead_since) + 1 > round))
			return false;
	}
	return true;
}

void machine_vcpu_halted(struct machine *m, struct machine_vcpu *v)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	u64 round = atomic_load(&m->halt_round);

	atomic_store(&v->dead_round, round);
	if (atomic_exchange(&v->dead_halt, true)) {
		if (!m->engine->needs_halt_probe) {
			nanosleep(&ts, NULL); /* an engine that cannot wait by itself */
			return;
		}
	} else {
		atomic_store(&v->dead_since, round);
		log_debug("vCPU %u stopped: halted with interrupts disabled or waiting for a SIPI",
			  v->id);
	}
	if (all_stopped(m, round)) {
		log_info("all vCPUs halted with interrupts disabled: the guest has stopped");
		machine_request_stop(m, MACHINE_STOP_POWEROFF, 0);
	}
}

void machine_vcpu_running(struct machine_vcpu *v)
{
	atomic_store(&v->dead_halt, false);
}

static void halt_probe_tick(void *opaque, int fd, u32 events)
{
	struct machine *m = opaque;
	u64 n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	atomic_fetch_add(&m->halt_round, 1);
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		m->engine->kick(m->vcpus[i].ev);
}

int machine_halt_probe_start(struct machine *m)
{
	struct itimerspec its = {{0, HALT_PROBE_MS * 1000000L}, {0, HALT_PROBE_MS * 1000000L}};

	m->halt_timer_fd = -1;
	if (!m->engine->needs_halt_probe)
		return 0;
	m->halt_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->halt_timer_fd < 0 || timerfd_settime(m->halt_timer_fd, 0, &its, NULL) < 0 ||
	    event_loop_add(&m->loop, m->halt_timer_fd, halt_probe_tick, m) < 0) {
		log_warn("cannot watch for a guest halted for good: a guest without ACPI will "
			 "not end popek when it halts");
		machine_halt_probe_stop(m);
	}
	return 0;
}

void machine_halt_probe_stop(struct machine *m)
{
	if (m->halt_timer_fd < 0)
		return;
	event_loop_remove(&m->loop, m->halt_timer_fd);
	close(m->halt_timer_fd);
	m->halt_timer_fd = -1;
}
