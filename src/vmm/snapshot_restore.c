/* Snapshot restore (issue 12): the state file read and checked as untrusted
 * input, the memory file mapped in place of RAM, every section loaded into a
 * machine built from the snapshot's machine section. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/engine.h"
#include "dev/devices.h"
#include "popek/log.h"
#include "virtio/virtio.h"
#include "vmm/mmds_store.h"
#include "vmm/snapshot.h"

/* Disks are the user's files: the snapshot names them, and each must be
 * there with the size the guest saw. */
static int check_disks(const struct snapshot_restore *r, const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		struct stat sb;

		if (stat(cfg->disks[i].path, &sb) < 0) {
			log_error("snapshot '%s': disk '%s': %s", r->path, cfg->disks[i].path,
				  strerror(errno));
			return -ENOENT;
		}
		if ((u64)sb.st_size != r->sm.disk_sizes[i]) {
			log_error("snapshot '%s': disk '%s' is %llu bytes, it was %llu when the "
				  "snapshot was taken",
				  r->path, cfg->disks[i].path, (unsigned long long)sb.st_size,
				  (unsigned long long)r->sm.disk_sizes[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* pmem files too: each must have the size the guest's device had. */
static int check_pmem(const struct snapshot_restore *r, const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_pmem; i++) {
		const struct pmem_config *p = &cfg->pmem[i];
		struct stat sb;

		if (stat(p->path, &sb) < 0) {
			log_error("snapshot '%s': pmem '%s': '%s': %s", r->path, p->id, p->path,
				  strerror(errno));
			return -ENOENT;
		}
		if ((u64)sb.st_size != r->sm.pmem_sizes[i]) {
			log_error("snapshot '%s': pmem '%s': '%s' is %llu bytes, the snapshot's was %llu",
				  r->path, p->id, p->path, (unsigned long long)sb.st_size,
				  (unsigned long long)r->sm.pmem_sizes[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* PUT /snapshot/load's network_overrides: each names an interface of the
 * snapshot (by iface_id), which then uses that tap. */
static int apply_net_overrides(const struct snapshot_restore *r, struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_net_overrides; i++) {
		const struct net_override *o = &cfg->net_overrides[i];
		unsigned n;

		for (n = 0; n < cfg->nr_nets && strcmp(cfg->nets[n].id, o->id); n++)
			;
		if (n == cfg->nr_nets) {
			log_error("snapshot '%s': network_overrides: no network interface '%s' in "
				  "the snapshot",
				  r->path, o->id);
			return -EINVAL;
		}
		cfg->nets[n].mode = NET_TAP;
		_Static_assert(sizeof(cfg->nets[n].ifname) == sizeof(o->ifname), "tap names");
		memcpy(cfg->nets[n].ifname, o->ifname, sizeof(o->ifname));
	}
	return 0;
}

/* Checks r->state's container and decodes its machine section into cfg. */
static int restore_parse(struct snapshot_restore *r, struct vm_config *cfg)
{
	const struct snap_section *s;
	struct snap_in in;
	char why[200] = "";
	int err;

	err = snap_file_parse(r->state.data, r->state.size, &r->file, why, sizeof(why));
	if (err < 0) {
		log_error("snapshot '%s': %s", r->path, why);
		return err;
	}
	s = snap_file_find(&r->file, SNAP_MACH, 0);
	if (!s) {
		log_error("snapshot '%s': no machine section", r->path);
		return -EINVAL;
	}
	snap_in_init(&in, s->data, s->len);
	err = snapshot_config_decode(&in, cfg, &r->sm);
	if (err < 0) {
		log_error("snapshot '%s': machine section: %s", r->path, in.why);
		return err;
	}
	s = snap_file_find(&r->file, SNAP_FCFG, 0);
	if (!s) {
		log_error("snapshot '%s': no Firecracker settings section", r->path);
		return -EINVAL;
	}
	snap_in_init(&in, s->data, s->len);
	err = snapshot_fc_decode(&in, cfg);
	if (err < 0) {
		log_error("snapshot '%s': Firecracker settings: %s", r->path, in.why);
		return err;
	}
	cfg->cpu_vendor = r->sm.vendor;
	err = apply_net_overrides(r, cfg);
	if (err < 0)
		return err;
	err = check_disks(r, cfg);
	return err < 0 ? err : check_pmem(r, cfg);
}

int snapshot_restore_open(const char *path, struct vm_config *cfg, struct snapshot_restore **out)
{
	struct snapshot_restore *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->path = path;
	err = boot_file_read_max("snapshot", path, SNAP_STATE_MAX, &r->state);
	if (!err)
		err = restore_parse(r, cfg);
	if (err < 0) {
		snapshot_restore_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int snapshot_restore_take(const char *name, u8 *data, size_t len, struct vm_config *cfg,
			  struct snapshot_restore **out)
{
	struct snapshot_restore *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r) {
		free(data);
		return -ENOMEM;
	}
	r->path = name;
	r->state = (struct boot_file){.path = name, .data = data, .size = len};
	err = restore_parse(r, cfg);
	if (err < 0) {
		snapshot_restore_free(r);
		return err;
	}
	*out = r;
	return 0;
}

void snapshot_restore_free(struct snapshot_restore *r)
{
	if (!r)
		return;
	snap_file_free(&r->file);
	boot_file_free(&r->state);
	free(r);
}

int snapshot_restore_memory(struct machine *m, const char *mem_path)
{
	int fd, err;

	if (!mem_path) {
		log_error("restore: no memory file (--mem-file or mem_backend.backend_path)");
		return -EINVAL;
	}
	fd = open(mem_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_error("memory file '%s': %s", mem_path, strerror(-err));
		return err;
	}
	err = guest_mem_map_file(&m->mem, fd);
	close(fd); /* the mapping keeps the file */
	if (err == -EMSGSIZE)
		log_error("memory file '%s': not a file of %llu MiB, the snapshot's RAM", mem_path,
			  (unsigned long long)(m->mem.map_size / MiB));
	else if (err < 0)
		log_error("memory file '%s': cannot map it: %s", mem_path, strerror(-err));
	return err;
}

/* The section (type, index), or NULL after logging that it is missing. */
static const struct snap_section *need(struct snapshot_restore *r, u32 type, u32 index,
				       const char *what)
{
	const struct snap_section *s = snap_file_find(&r->file, type, index);

	if (!s)
		log_error("snapshot '%s': no section for %s", r->path, what);
	return s;
}

static int load_cpus(struct machine *m, struct snapshot_restore *r)
{
	const struct snap_section *s = need(r, SNAP_CLCK, 0, "the clock");
	struct x86_clock_state clock;
	struct x86_irqchip_state ic;
	struct x86_vcpu_state *st;
	struct snap_in in;
	char why[200] = "";
	int err;

	if (!s)
		return -EINVAL;
	snap_in_init(&in, s->data, s->len);
	err = clock_state_decode(&in, &clock);
	if (!err)
		err = irqchip_state_decode(&in, &ic);
	if (!err)
		err = snap_in_end(&in);
	if (err < 0) {
		log_error("snapshot '%s': clock and interrupt controllers: %s", r->path, in.why);
		return err;
	}
	err = m->engine->load_vm(m->evm, &ic, &clock, why, sizeof(why));
	if (err < 0) {
		log_error("snapshot '%s': the %s engine cannot load the clock and interrupt "
			  "controllers: %s",
			  r->path, m->engine->name, why);
		return err;
	}
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (unsigned i = 0; i < m->nr_vcpus && !err; i++) {
		char what[32];

		snprintf(what, sizeof(what), "vCPU %u", i);
		s = need(r, SNAP_VCPU, i, what);
		if (!s) {
			err = -EINVAL;
			break;
		}
		snap_in_init(&in, s->data, s->len);
		err = vcpu_state_decode(&in, st);
		if (err < 0) {
			log_error("snapshot '%s': vCPU %u: %s", r->path, i, in.why);
			break;
		}
		err = m->engine->load_vcpu(m->vcpus[i].ev, st, why, sizeof(why));
		if (err < 0)
			log_error("snapshot '%s': the %s engine cannot load vCPU %u: %s", r->path,
				  m->engine->name, i, why);
	}
	free(st);
	return err;
}

static int load_devices(struct machine *m, struct snapshot_restore *r)
{
	struct machine_devices *d = m->devs;
	const struct snap_section *s;
	struct snap_in in;
	int err = 0;

#define LOAD(type, index, what, call)                                                              \
	do {                                                                                       \
		s = need(r, type, index, what);                                                    \
		if (!s)                                                                            \
			return -EINVAL;                                                            \
		snap_in_init(&in, s->data, s->len);                                                \
		err = call;                                                                        \
		if (err < 0) {                                                                     \
			log_error("snapshot '%s': %s: %s", r->path, what, in.why);                 \
			return err;                                                                \
		}                                                                                  \
	} while (0)
	LOAD(SNAP_UART, 0, "the serial port", uart_load(&d->uart0, &in));
	LOAD(SNAP_RTC, 0, "the RTC", rtc_load(&d->rtc, &in));
	LOAD(SNAP_I8042, 0, "the i8042", i8042_load(&d->i8042, &in));
	LOAD(SNAP_ACPM, 0, "the ACPI registers", acpi_pm_load(&d->acpi_pm, &in));
	LOAD(SNAP_FWCF, 0, "fw_cfg", fw_cfg_load(&d->fw_cfg, &in));
	if (d->has_testdev)
		LOAD(SNAP_TDEV, 0, "the test device", testdev_load(&d->testdev, &in));
	return 0;
}

/* Each slot takes the device lock itself. */
static int load_virtio(struct machine *m, struct snapshot_restore *r)
{
	const struct snap_section *s;
	struct snap_in in;
	int err = 0;

	for (unsigned i = 0; i < m->nr_virtio_slots; i++) {
		char what[32];

		snprintf(what, sizeof(what), "virtio slot %u", i);
		LOAD(SNAP_VIRT, i, what, virtio_mmio_load(m->virtio_slots[i].dev, &in));
	}
	return 0;
}

/* The MMDS data into the process's store (none in tests: not looked at). */
static int load_mmds(struct machine *m, struct snapshot_restore *r)
{
	const struct snap_section *s;
	struct snap_in in;
	int err = 0;

	if (m->cfg.mmds.store)
		LOAD(SNAP_MMDS, 0, "the MMDS data", mmds_store_load(m->cfg.mmds.store, &in));
	return 0;
}
#undef LOAD

int snapshot_restore_apply(struct machine *m, struct snapshot_restore *r)
{
	int err;

	if (!m->engine->load_vm || !m->engine->load_vcpu) {
		log_error("snapshot '%s': the %s engine cannot load a snapshot yet", r->path,
			  m->engine->name);
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&m->dev_lock);
	err = load_cpus(m, r);
	if (!err)
		err = load_devices(m, r);
	pthread_mutex_unlock(&m->dev_lock);
	if (!err)
		err = load_virtio(m, r);
	if (!err)
		err = load_mmds(m, r);
	if (!err)
		log_info("restore: '%s' (%s engine's snapshot) loaded on the %s engine", r->path,
			 r->sm.engine, m->engine->name);
	return err;
}
