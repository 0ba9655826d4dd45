/* Machine assembly: the engine for the configuration, memory, devices,
 * ACPI or MP tables, the kernel and the vCPUs; and its undoing. This is the
 * composition root: the only place that knows devices, loaders and engines
 * by name (with vcpu_loop.c for running them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "boot/boot.h"
#include "boot/mptable.h"
#include "cpu/engine.h"
#include "cpu/kvm/kvm.h"
#include "cpu/msr_mods.h"
#include "dev/devices.h"
#include "host/host_cpu.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/devices.h"
#include "virtio/virtio.h"
#include "vmm/metrics.h"
#include "vmm/mmds_http.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

/* Resolves --engine auto: KVM only where it exists, is fast enough and can
 * present the CPU vendor asked for (KVM always shows the host's). */
static int machine_pick_engine(struct machine *m)
{
	enum cpu_vendor host = host_cpu_vendor();
	char why[160] = "";

	m->cpu_vendor = host_cpu_vendor_resolve(m->cfg.cpu_vendor);
	/* The template's MSRs were checked when it was given, but for the
	 * vendor, known only now (machine-config or the host). */
	for (unsigned i = 0; i < m->cfg.nr_msr_mods; i++)
		if (m->cpu_vendor == CPU_VENDOR_AMD &&
		    msr_mods_intel_only(m->cfg.msr_mods[i].addr)) {
			log_error(
			    "cpu-config: msr_modifiers[%u]: addr: MSR %#x is Intel's and this "
			    "VM's CPU is AMD",
			    i, m->cfg.msr_mods[i].addr);
			return -EINVAL;
		}
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
		if (m->cfg.nr_cpuid_mods) {
			log_error("cpu-config: popek applies CPUID modifiers on the soft engine only; "
				  "use the soft engine");
			return -EINVAL;
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
		} else if (m->cfg.nr_cpuid_mods) {
			log_info("engine auto: using soft (a CPU template's CPUID modifiers)");
			m->engine = &soft_engine_ops;
		} else if (kvm_engine_usable(why, sizeof(why))) {
			log_info("engine auto: using kvm");
			m->engine = &kvm_engine_ops;
		} else {
			/* No /dev/kvm, or a KVM too slow to help: the soft engine is
			 * the expected choice. A /dev/kvm that is there but refuses
			 * us (permissions, API) is a problem the user can fix: say so
			 * at the default level. */
			char probe_why[160] = "";
			if (!kvm_engine_ops.probe(probe_why, sizeof(probe_why)) &&
			    strncmp(probe_why, "no ", 3) != 0)
				log_warn("engine auto: using the soft engine (much slower) because "
					 "KVM is not usable: %s",
					 probe_why);
			else
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
	if (!boot)
		return 0; /* restoring: the snapshot has every vCPU's state */
	err = m->engine->set_state(m->vcpus[0].ev, &boot->entry);
	if (err < 0)
		log_error("%s engine: cannot set the boot vCPU state: %s", m->engine->name,
			  strerror(-err));
	return err;
}

/* The machine from cfg; with r, restored from a snapshot: RAM is the memory
 * file, no tables or kernel are written, and the state comes from r; with
 * incoming too, RAM and state come later (an incoming migration). */
/* m->mmds_serve: the guest's MMDS requests, answered at the current time. */
static ssize_t machine_mmds_serve(void *opaque, const char *in, size_t len, char **out,
				  size_t *out_len)
{
	return mmds_http_serve(opaque, in, len, clock_now_ms(), out, out_len);
}

static int machine_build(const struct vm_config *cfg, struct snapshot_restore *r, bool incoming,
			 struct machine **out)
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
	err = guest_mem_init_hotplug(&m->mem, cfg->mem_size, cfg->hotplug.total_size);
	if (err < 0) {
		log_error("--mem %llu MiB (and %llu MiB to hot-plug): cannot map guest memory: %s",
			  (unsigned long long)(cfg->mem_size / MiB),
			  (unsigned long long)(cfg->hotplug.total_size / MiB),
			  err == -E2BIG ? "past the guest's physical address space" : strerror(-err));
		goto fail;
	}
	err = machine_map_pmem(m); /* before the engine maps memory */
	if (err < 0)
		goto fail;
	if (r && !incoming)
		err = snapshot_restore_memory(m, cfg->restore_mem_path);
	else if (!cfg->balloon)
		guest_mem_huge(&m->mem);
	if (!err && cfg->track_dirty_pages)
		err = guest_mem_dirty_start(&m->mem); /* before map_ram: KVM's slots log too */
	if (err < 0)
		goto fail;
	err = machine_pick_engine(m);
	if (err < 0)
		goto fail;
	/* What the ground floor reaches of the engine: kicks and fast paths. */
	m->kick_vcpus = vmm_kick_vcpus;
	m->fastpath_ops = &m->engine->fastpath;
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
	if (cfg->mmds.enabled && cfg->mmds.store) {
		mmds_store_configure(cfg->mmds.store, cfg->mmds.version, cfg->mmds.imds_compat);
		m->mmds_serve = machine_mmds_serve;
	}
	err = virtio_devices_create(m);
	if (err < 0)
		goto fail;
	if (!r) {
		err = machine_build_tables(m, &rsdp);
		if (!err)
			err = machine_load_kernel(m, rsdp, &boot);
		if (err < 0)
			goto fail;
	}
	err = machine_create_vcpus(m, r ? NULL : &boot);
	if (!err && r && !incoming)
		err = snapshot_restore_apply(m, r);
	if (!err && cfg->track_dirty_pages)
		err = machine_dirty_start(m);
	if (err < 0)
		goto fail;
	err = metrics_attach(m);
	if (err < 0)
		goto fail;
	if (cfg->restore_paused) {
		/* The vCPU threads park before their first run. */
		atomic_store(&m->pause_requested, true);
		m->paused_since_ns = clock_now_ns();
	}
	*out = m;
	return 0;
fail:
	machine_destroy(m);
	return err;
}

int machine_create(const struct vm_config *cfg, struct machine **out)
{
	struct snapshot_restore *r = NULL;
	struct vm_config rcfg;
	int err;

	if (!cfg->restore_path)
		return machine_build(cfg, NULL, false, out);
	*out = NULL;
	rcfg = *cfg;
	err = snapshot_restore_open(cfg->restore_path, &rcfg, &r);
	if (!err)
		err = machine_build(&rcfg, r, false, out);
	snapshot_restore_free(r);
	return err;
}

int machine_create_incoming(const struct vm_config *cfg, struct snapshot_restore *hello,
			    struct machine **out)
{
	return machine_build(cfg, hello, true, out);
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
	machine_close_pmem(m);
	guest_mem_destroy(&m->mem);
	event_loop_destroy(&m->loop);
	pthread_cond_destroy(&m->pause_cond);
	pthread_mutex_destroy(&m->pause_lock);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
}
