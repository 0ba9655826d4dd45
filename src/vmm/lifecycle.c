/* Pause, resume and the vCPU kicks behind them and behind a stop (the hook
 * machine_request_stop() calls). */
#include <errno.h>
#include <time.h>

#include "cpu/engine.h"
#include "popek/clock.h"
#include "vmm/vmm.h"

void vmm_kick_vcpus(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (m->vcpus[i].ev)
			m->engine->kick(m->vcpus[i].ev);
}

void machine_pause_nowait(struct machine *m)
{
	pthread_mutex_lock(&m->pause_lock);
	if (!atomic_load(&m->pause_requested)) {
		atomic_store(&m->pause_requested, true);
		m->paused_since_ns = clock_now_ns();
	}
	pthread_mutex_unlock(&m->pause_lock);
	/* A kick is sticky on both engines: a vCPU between two runs returns
	 * from its next run at once, then parks. */
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		m->engine->kick(m->vcpus[i].ev);
}

int machine_pause(struct machine *m)
{
	struct timespec ts;

	machine_pause_nowait(m);
	pthread_mutex_lock(&m->pause_lock);
	while (m->nr_parked < m->nr_vcpu_threads && !machine_stopping(m)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->pause_cond, &m->pause_lock, &ts);
	}
	pthread_mutex_unlock(&m->pause_lock);
	return machine_stopping(m) ? -ESHUTDOWN : 0;
}

void machine_resume(struct machine *m)
{
	pthread_mutex_lock(&m->pause_lock);
	if (atomic_load(&m->pause_requested)) {
		atomic_store(&m->pause_requested, false);
		atomic_fetch_add(&m->paused_total_ns, clock_now_ns() - m->paused_since_ns);
		pthread_cond_broadcast(&m->pause_cond);
	}
	pthread_mutex_unlock(&m->pause_lock);
}

bool machine_paused(struct machine *m)
{
	return atomic_load(&m->pause_requested);
}

static bool vcpu_parks(struct machine_vcpu *v)
{
	return (atomic_load(&v->m->pause_requested) || atomic_load(&v->held)) &&
	       !machine_stopping(v->m);
}

/* On a vCPU thread between runs: waits while a pause is requested or a
 * debugger holds the vCPU (a held one counts as parked for machine_pause). */
void machine_vcpu_park(struct machine_vcpu *v)
{
	struct machine *m = v->m;

	if (!atomic_load(&m->pause_requested) && !atomic_load(&v->held))
		return;
	pthread_mutex_lock(&m->pause_lock);
	if (vcpu_parks(v)) {
		m->nr_parked++;
		pthread_cond_broadcast(&m->pause_cond);
		while (vcpu_parks(v))
			pthread_cond_wait(&m->pause_cond, &m->pause_lock);
		m->nr_parked--;
	}
	pthread_mutex_unlock(&m->pause_lock);
}

void machine_vcpu_hold(struct machine *m, unsigned id, bool hold)
{
	if (id >= m->nr_vcpus)
		return;
	pthread_mutex_lock(&m->pause_lock);
	atomic_store(&m->vcpus[id].held, hold);
	pthread_cond_broadcast(&m->pause_cond); /* a released one looks again */
	pthread_mutex_unlock(&m->pause_lock);
}
