/* Machine assembly (memory, buses, devices, ACPI, engine, kernel) and the
 * vCPU threads' run loop. This is the composition root: the only core file
 * that knows devices, loaders and engines by name. */
#include "core/machine.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "boot/boot.h"
#include "boot/mptable.h"
#include "core/crash_dump.h"
#include "core/metrics.h"
#include "cpu/engine.h"
#include "cpu/kvm/kvm.h"
#include "dev/devices.h"
#include "host/host_cpu.h"
#include "host/seccomp.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/devices.h"
#include "virtio/virtio.h"

void machine_request_stop(struct machine *m, enum machine_stop_reason why, int status)
{
	int expected = MACHINE_RUNNING;

	if (!atomic_compare_exchange_strong(&m->stop_reason, &expected, (int)why))
		return;
	m->exit_status = status;
	event_loop_quit(&m->loop);
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (m->vcpus[i].ev)
			m->engine->kick(m->vcpus[i].ev);
	/* Parked vCPUs and a waiting machine_pause() must see the stop. */
	pthread_mutex_lock(&m->pause_lock);
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->pause_lock);
}

bool machine_stopping(const struct machine *m)
{
	return atomic_load(&m->stop_reason) != MACHINE_RUNNING;
}

int machine_pause(struct machine *m)
{
	struct timespec ts;

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

/* On a vCPU thread between runs: waits while a pause is requested. */
static void machine_vcpu_park(struct machine *m)
{
	if (!atomic_load(&m->pause_requested))
		return;
	pthread_mutex_lock(&m->pause_lock);
	if (atomic_load(&m->pause_requested) && !machine_stopping(m)) {
		m->nr_parked++;
		pthread_cond_broadcast(&m->pause_cond);
		while (atomic_load(&m->pause_requested) && !machine_stopping(m))
			pthread_cond_wait(&m->pause_cond, &m->pause_lock);
		m->nr_parked--;
	}
	pthread_mutex_unlock(&m->pause_lock);
}

/* Resolves --engine auto: KVM only where it exists, is fast enough and can
 * present the CPU vendor asked for (KVM always shows the host's). */
static int machine_pick_engine(struct machine *m)
{
	enum cpu_vendor host = host_cpu_vendor();
	char why[160] = "";

	m->cpu_vendor = host_cpu_vendor_resolve(m->cfg.cpu_vendor);
	switch (m->cfg.engine) {
	case ENGINE_KVM:
		if (m->cpu_vendor != host) {
			log_error("--cpu-vendor %s: the kvm engine presents the host's CPU (%s); "
				  "use --engine soft to model another vendor",
				  config_vendor_name(m->cpu_vendor), config_vendor_name(host));
			return -EINVAL;
		}
		if (!kvm_engine_ops.probe(why, sizeof(why))) {
			log_error("--engine kvm: %s", why);
			return -ENODEV;
		}
		m->engine = &kvm_engine_ops;
		return 0;
	case ENGINE_SOFT:
		m->engine = &soft_engine_ops;
		return 0;
	case ENGINE_AUTO:
		if (m->cpu_vendor != host) {
			log_info("engine auto: using soft (only it can model a %s CPU on this %s host)",
				 config_vendor_name(m->cpu_vendor), config_vendor_name(host));
			m->engine = &soft_engine_ops;
		} else if (kvm_engine_usable(why, sizeof(why))) {
			m->engine = &kvm_engine_ops;
		} else {
			log_info("engine auto: using soft (%s)", why);
			m->engine = &soft_engine_ops;
		}
		return 0;
	}
	return -EINVAL;
}

static int machine_check_mem(const struct vm_config *cfg)
{
	u64 host = (u64)sysconf(_SC_PHYS_PAGES) * (u64)sysconf(_SC_PAGESIZE);

	if (cfg->mem_size < CONFIG_MIN_MEM) {
		log_error("--mem %llu MiB is too small: popek needs at least %llu MiB",
			  (unsigned long long)(cfg->mem_size / MiB),
			  (unsigned long long)(CONFIG_MIN_MEM / MiB));
		return -EINVAL;
	}
	if (cfg->mem_size > host) {
		log_error("--mem %llu MiB is more than this host's %llu MiB of RAM",
			  (unsigned long long)(cfg->mem_size / MiB), (unsigned long long)(host / MiB));
		return -ENOMEM;
	}
	return 0;
}

static int machine_build_acpi(struct machine *m, gpa_t *rsdp)
{
	struct acpi_config acfg;
	int err;

	memset(&acfg, 0, sizeof(acfg));
	acfg.nr_cpus = m->cfg.nr_cpus;
	acfg.has_uart = true;
	acfg.has_rtc = true;
	acfg.nr_virtio = m->nr_virtio_slots;
	for (unsigned i = 0; i < m->nr_virtio_slots; i++) {
		acfg.virtio[i].mmio_base = m->virtio_slots[i].base;
		acfg.virtio[i].mmio_size = m->virtio_slots[i].size;
		acfg.virtio[i].gsi = m->virtio_slots[i].gsi;
	}
	err = acpi_build(&m->mem, &acfg, rsdp);
	if (err < 0)
		log_error("cannot build ACPI tables: %s", strerror(-err));
	return err;
}

/* True when the command line holds word as a whole word (the kernel splits it
 * on spaces). */
static bool cmdline_has_word(const char *cmdline, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = cmdline; p && (p = strstr(p, word)); p += n)
		if ((p == cmdline || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
			return true;
	return false;
}

/* With acpi=off the guest reads the MP table instead of the MADT, and finds
 * the virtio-mmio devices on its command line (kernels built with
 * VIRTIO_MMIO_CMDLINE_DEVICES); else ACPI describes everything. */
static bool machine_acpi_off(const struct machine *m)
{
	return cmdline_has_word(m->cfg.cmdline, "acpi=off");
}

static int machine_build_tables(struct machine *m, gpa_t *rsdp)
{
	unsigned level[LAYOUT_VIRTIO_MMIO_MAX];
	struct mptable_config mp = {m->cfg.nr_cpus, m->nr_virtio_slots, level};
	int err;

	err = boot_write_reset_stub(&m->mem);
	if (err < 0) {
		log_error("cannot write the reset stub: %s", strerror(-err));
		return err;
	}
	if (!machine_acpi_off(m))
		return machine_build_acpi(m, rsdp);
	*rsdp = 0;
	for (unsigned i = 0; i < m->nr_virtio_slots; i++)
		level[i] = m->virtio_slots[i].gsi;
	err = mptable_build(&m->mem, &mp);
	if (err < 0)
		log_error("cannot build the MP table: %s", strerror(-err));
	return err;
}

/* Loads the kernel with the configured command line, plus the virtio-mmio
 * devices when there is no ACPI to describe them. */
static int machine_load_kernel(struct machine *m, gpa_t rsdp, struct boot_result *boot)
{
	struct vm_config cfg = m->cfg;
	size_t len;
	char *line;
	int err;

	if (!machine_acpi_off(m) || !m->nr_virtio_slots)
		return boot_load(&m->mem, &m->cfg, rsdp, boot);
	len = strlen(m->cfg.cmdline) + 1 + m->nr_virtio_slots * 48;
	line = malloc(len);
	if (!line)
		return -ENOMEM;
	snprintf(line, len, "%s", m->cfg.cmdline);
	err = virtio_mmio_cmdline(m, line, len);
	cfg.cmdline = line;
	if (err >= 0)
		err = boot_load(&m->mem, &cfg, rsdp, boot);
	free(line);
	return err;
}

static int machine_create_vcpus(struct machine *m, const struct boot_result *boot)
{
	int err;

	for (unsigned i = 0; i < m->cfg.nr_cpus; i++) {
		struct machine_vcpu *v = &m->vcpus[i];
		v->m = m;
		v->id = i;
		err = m->engine->vcpu_create(m->evm, i, &v->ev);
		if (err < 0) {
			log_error("%s engine: cannot create vCPU %u: %s", m->engine->name, i,
				  strerror(-err));
			return err;
		}
		m->nr_vcpus = i + 1;
	}
	err = m->engine->set_state(m->vcpus[0].ev, &boot->entry);
	if (err < 0)
		log_error("%s engine: cannot set the boot vCPU state: %s", m->engine->name,
			  strerror(-err));
	return err;
}

int machine_create(const struct vm_config *cfg, struct machine **out)
{
	struct boot_result boot;
	struct machine *m;
	gpa_t rsdp = 0;
	int err;

	*out = NULL;
	err = machine_check_mem(cfg);
	if (err < 0)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	pthread_mutex_init(&m->dev_lock, NULL);
	pthread_mutex_init(&m->pause_lock, NULL);
	pthread_cond_init(&m->pause_cond, NULL);
	bus_init(&m->pio, "pio", &m->dev_lock);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	err = event_loop_init(&m->loop);
	if (err < 0) {
		log_error("cannot create the event loop: %s", strerror(-err));
		goto fail;
	}
	err = guest_mem_init(&m->mem, cfg->mem_size);
	if (err < 0) {
		log_error("--mem %llu MiB: cannot map guest RAM: %s",
			  (unsigned long long)(cfg->mem_size / MiB), strerror(-err));
		goto fail;
	}
	err = machine_pick_engine(m);
	if (err < 0)
		goto fail;
	err = m->engine->vm_create(m, &m->evm);
	if (!err)
		err = m->engine->map_ram(m->evm);
	if (err < 0) {
		log_error("%s engine: cannot create the VM: %s", m->engine->name, strerror(-err));
		goto fail;
	}
	err = devices_create(m);
	if (err < 0)
		goto fail;
	err = virtio_devices_create(m);
	if (err < 0)
		goto fail;
	err = machine_build_tables(m, &rsdp);
	if (err < 0)
		goto fail;
	err = machine_load_kernel(m, rsdp, &boot);
	if (err < 0)
		goto fail;
	err = machine_create_vcpus(m, &boot);
	if (err < 0)
		goto fail;
	err = metrics_attach(m);
	if (err < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	machine_destroy(m);
	return err;
}

/* A vCPU halted with interrupts disabled, or an AP waiting for its SIPI: only
 * another vCPU can wake it (the engine sleeps until then). When every vCPU is so stuck,
 * nothing ever will: that is how Linux stops without ACPI ("System halted"),
 * so popek ends as for a power-off. */
static void machine_vcpu_halted(struct machine *m, struct machine_vcpu *v)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	unsigned dead = 0;

	if (atomic_exchange(&v->dead_halt, true)) {
		nanosleep(&ts, NULL); /* an engine that cannot wait by itself */
		return;
	}
	log_debug("vCPU %u stopped: halted with interrupts disabled or waiting for a SIPI", v->id);
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		dead += atomic_load(&m->vcpus[i].dead_halt);
	if (dead == m->nr_vcpus) {
		log_info("all vCPUs halted with interrupts disabled: the guest has stopped");
		machine_request_stop(m, MACHINE_STOP_POWEROFF, 0);
	}
}

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
		machine_vcpu_park(m);
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
			atomic_store(&v->dead_halt, false);
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
	if (!machine_stopping(m))
		event_loop_run(&m->loop);
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

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	metrics_detach(m);
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (m->vcpus[i].ev)
			m->engine->vcpu_destroy(m->vcpus[i].ev);
	if (m->virtio)
		virtio_devices_destroy(m);
	if (m->devs)
		devices_destroy(m);
	if (m->evm)
		m->engine->vm_destroy(m->evm);
	guest_mem_destroy(&m->mem);
	event_loop_destroy(&m->loop);
	pthread_cond_destroy(&m->pause_cond);
	pthread_mutex_destroy(&m->pause_lock);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
}
