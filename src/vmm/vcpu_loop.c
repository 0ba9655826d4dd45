/* Running a machine: one thread per vCPU around the engine's run(), the
 * main thread's event loop, termination signals. */
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/crash_dump.h"
#include "cpu/engine.h"
#include "host/seccomp.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "vmm/vmm.h"

static void machine_vcpu_crashed(struct machine *m, struct machine_vcpu *v)
{
	struct x86_state st;

	log_error("guest crashed: vCPU %u shut down (triple fault)", v->id);
	if (m->engine->get_state(v->ev, &st) == 0)
		crash_dump(stderr, &m->mem, v->id, &st);
	machine_request_stop(m, MACHINE_STOP_CRASH, 2);
}

static void *machine_vcpu_thread(void *arg)
{
	struct machine_vcpu *v = arg;
	struct machine *m = v->m;
	struct vcpu_exit exit;

	pthread_mutex_lock(&m->pause_lock);
	m->nr_vcpu_threads++;
	pthread_mutex_unlock(&m->pause_lock);
	if (m->engine->thread_start)
		m->engine->thread_start(v->ev);
	if (m->cfg.seccomp && seccomp_apply(SECCOMP_ROLE_VCPU, false) < 0)
		machine_request_stop(m, MACHINE_STOP_ERROR, 1);
	while (!machine_stopping(m)) {
		machine_vcpu_park(v);
		if (machine_stopping(m))
			break;
		int err = m->engine->run(v->ev, &exit);
		if (err < 0) {
			log_error("vCPU %u: %s engine failed: %s", v->id, m->engine->name,
				  strerror(-err));
			machine_request_stop(m, MACHINE_STOP_ERROR, 1);
			break;
		}
		if ((unsigned)exit.reason < ARRAY_SIZE(v->exits))
			atomic_fetch_add_explicit(&v->exits[exit.reason], 1, memory_order_relaxed);
		if (exit.reason != VCPU_EXIT_HLT)
			machine_vcpu_running(v);
		switch (exit.reason) {
		case VCPU_EXIT_KICKED:
			break;
		case VCPU_EXIT_HLT:
			machine_vcpu_halted(m, v);
			break;
		case VCPU_EXIT_SHUTDOWN:
			machine_vcpu_crashed(m, v);
			break;
		case VCPU_EXIT_ERROR:
			log_error("vCPU %u: %s", v->id, exit.msg);
			machine_request_stop(m, MACHINE_STOP_ERROR, 1);
			break;
		case VCPU_EXIT_DEBUG:
			if (m->debug_stopped)
				m->debug_stopped(m->debug_opaque, v->id, (int)exit.debug.kind,
						 exit.debug.addr);
			break;
		}
	}
	pthread_mutex_lock(&m->pause_lock);
	m->nr_vcpu_threads--;
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->pause_lock);
	return NULL;
}

/* Termination signals arrive through a signalfd on the event loop, so no
 * signal handler and no global state is needed. */
static void machine_on_signal(void *opaque, int fd, u32 events)
{
	struct machine *m = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_warn("received signal %u: stopping the VM", si.ssi_signo);
	machine_request_stop(m, MACHINE_STOP_USER, 128 + (int)si.ssi_signo);
}

int machine_run(struct machine *m)
{
	sigset_t sigs;
	int sfd;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by the vCPU threads */
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd >= 0)
		event_loop_add(&m->loop, sfd, machine_on_signal, m);
	m->started_ns = clock_now_ns();

	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct machine_vcpu *v = &m->vcpus[i];
		if (pthread_create(&v->thread, NULL, machine_vcpu_thread, v) != 0) {
			log_error("cannot start the thread of vCPU %u", i);
			machine_request_stop(m, MACHINE_STOP_ERROR, 1);
			break;
		}
		v->thread_started = true;
	}
	machine_halt_probe_start(m);
	if (!machine_stopping(m))
		event_loop_run(&m->loop);
	machine_halt_probe_stop(m);
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct machine_vcpu *v = &m->vcpus[i];
		if (!v->thread_started)
			continue;
		m->engine->kick(v->ev);
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
	if (sfd >= 0) {
		event_loop_remove(&m->loop, sfd);
		close(sfd);
	}
	return m->exit_status;
}

