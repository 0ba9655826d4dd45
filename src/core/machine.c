/* Stopping a machine: the one request every part of popek may make of it
 * (devices, engines, signal handling). The VMM (src/vmm) assembles and runs
 * the machine; it sets the hook that kicks the vCPUs. */
#include "core/machine.h"

void machine_request_stop(struct machine *m, enum machine_stop_reason why, int status)
{
	int expected = MACHINE_RUNNING;

	if (!atomic_compare_exchange_strong(&m->stop_reason, &expected, (int)why))
		return;
	m->exit_status = status;
	event_loop_quit(&m->loop);
	if (m->kick_vcpus)
		m->kick_vcpus(m);
	/* Parked vCPUs and a waiting machine_pause() must see the stop. */
	pthread_mutex_lock(&m->pause_lock);
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->pause_lock);
}

bool machine_stopping(const struct machine *m)
{
	return atomic_load(&m->stop_reason) != MACHINE_RUNNING;
}
