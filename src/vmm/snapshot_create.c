/* Snapshot create (issue 12): a paused machine's state file and memory file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/engine.h"
#include "dev/devices.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/devices.h"
#include "virtio/virtio.h"
#include "vmm/mmds_store.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

/* Adds the section o holds and empties o; err is what the encoder that
 * filled o returned (0 for one that cannot fail). Returns the first error. */
static int add(struct snap_writer *w, u32 type, u32 index, struct snap_out *o, int err)
{
	if (!err)
		err = o->err;
	if (!err)
		snap_writer_add(w, type, index, o->buf, o->len);
	snap_out_free(o);
	return err;
}

static int save_machine(struct machine *m, struct snap_writer *w)
{
	struct snapshot_machine sm = {.vendor = m->cpu_vendor};
	struct snap_out o;
	struct stat sb;
	int err;

	snprintf(sm.engine, sizeof(sm.engine), "%s", m->engine->name);
	for (unsigned i = 0; i < m->cfg.nr_disks; i++)
		if (stat(m->cfg.disks[i].path, &sb) == 0)
			sm.disk_sizes[i] = (u64)sb.st_size;
	for (unsigned i = 0; i < m->cfg.nr_pmem; i++)
		if (stat(m->cfg.pmem[i].path, &sb) == 0)
			sm.pmem_sizes[i] = (u64)sb.st_size;
	snap_out_init(&o);
	snapshot_config_encode(&m->cfg, &sm, &o);
	err = add(w, SNAP_MACH, 0, &o, 0);
	if (err < 0)
		return err;
	snap_out_init(&o);
	snapshot_fc_encode(&m->cfg, &o);
	return add(w, SNAP_FCFG, 0, &o, 0);
}

/* The MMDS data; a machine without a store (tests) saves none. */
static int save_mmds(struct machine *m, struct snap_writer *w)
{
	struct snap_out o;
	int err = 0;

	snap_out_init(&o);
	if (m->cfg.mmds.store) {
		err = mmds_store_save(m->cfg.mmds.store, &o);
	} else {
		snap_put_bool(&o, false);
		snap_put_u32(&o, 0);
	}
	return add(w, SNAP_MMDS, 0, &o, err);
}

static int save_cpus(struct machine *m, struct snap_writer *w, char *why, size_t why_len)
{
	struct x86_clock_state clock = {0};
	struct x86_irqchip_state ic;
	struct x86_vcpu_state *st;
	struct snap_out o;
	int err;

	memset(&ic, 0, sizeof(ic));
	err = m->engine->save_vm(m->evm, &ic, &clock);
	if (err < 0)
		return vmm_fail(why, why_len, err,
				"%s engine: cannot save the clock and interrupt controllers: %s",
				m->engine->name, strerror(-err));
	snap_out_init(&o);
	clock_state_encode(&clock, &o);
	irqchip_state_encode(&ic, &o);
	err = add(w, SNAP_CLCK, 0, &o, 0);
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (unsigned i = 0; i < m->nr_vcpus && !err; i++) {
		err = m->engine->save_vcpu(m->vcpus[i].ev, st);
		if (err < 0) {
			vmm_fail(why, why_len, err, "%s engine: cannot save vCPU %u: %s",
				 m->engine->name, i, strerror(-err));
			break;
		}
		snap_out_init(&o);
		vcpu_state_encode(st, &o);
		err = add(w, SNAP_VCPU, i, &o, 0);
	}
	free(st);
	return err;
}

static int save_devices(struct machine *m, struct snap_writer *w)
{
	struct machine_devices *d = m->devs;
	struct snap_out o;
	int err = 0;

#define SAVE(type, call)                                                                           \
	do {                                                                                       \
		snap_out_init(&o);                                                                 \
		err = add(w, type, 0, &o, call);                                                   \
		if (err < 0)                                                                       \
			return err;                                                                \
	} while (0)
	SAVE(SNAP_UART, uart_save(&d->uart0, &o));
	SAVE(SNAP_RTC, rtc_save(&d->rtc, &o));
	SAVE(SNAP_I8042, i8042_save(&d->i8042, &o));
	SAVE(SNAP_ACPM, acpi_pm_save(&d->acpi_pm, &o));
	SAVE(SNAP_FWCF, fw_cfg_save(&d->fw_cfg, &o));
	if (d->has_testdev)
		SAVE(SNAP_TDEV, testdev_save(&d->testdev, &o));
#undef SAVE
	return 0;
}

/* Each slot takes the device lock itself. */
static int save_virtio(struct machine *m, struct snap_writer *w)
{
	struct snap_out o;
	int err;

	for (unsigned i = 0; i < m->nr_virtio_slots; i++) {
		snap_out_init(&o);
		err = add(w, SNAP_VIRT, i, &o, virtio_mmio_save(m->virtio_slots[i].dev, &o));
		if (err < 0)
			return err;
	}
	return 0;
}

int machine_snapshot_encode_machine(struct machine *m, u8 **buf, size_t *len)
{
	struct snap_writer w;
	int err;

	*buf = NULL;
	snap_writer_init(&w);
	err = save_machine(m, &w);
	if (!err)
		return snap_writer_finish(&w, buf, len);
	free(w.buf);
	return err;
}

int machine_snapshot_encode(struct machine *m, u8 **buf, size_t *len, char *why, size_t why_len)
{
	struct snap_writer w;
	int err;

	*buf = NULL;
	*len = 0;
	why[0] = 0;
	snap_writer_init(&w);
	pthread_mutex_lock(&m->dev_lock);
	err = save_machine(m, &w);
	if (!err)
		err = save_cpus(m, &w, why, why_len);
	if (!err)
		err = save_devices(m, &w);
	pthread_mutex_unlock(&m->dev_lock);
	if (!err)
		err = save_virtio(m, &w);
	if (!err)
		err = save_mmds(m, &w);
	if (!err)
		err = snap_writer_finish(&w, buf, len);
	else
		free(w.buf);
	if (err < 0 && !why[0])
		vmm_fail(why, why_len, err, "cannot encode the machine's state: %s",
			 strerror(-err));
	return err;
}

static int write_file(const char *path, const u8 *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return -errno;
	while (len && !err) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else {
			buf += n;
			len -= (size_t)n;
		}
	}
	if (!err && fdatasync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* RAM to mem_path: the whole of it (Full), or only the pages in diff (a
 * Diff: Firecracker's sparse file, holes where the base holds the page). */
static int save_memory(struct machine *m, const char *mem_path, const u64 *diff, char *why,
		       size_t why_len)
{
	int fd = open(mem_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	u64 written;
	int err;

	if (fd < 0)
		return vmm_fail(why, why_len, -errno, "mem_file_path '%s': %s", mem_path,
				strerror(errno));
	err = diff ? guest_mem_save_pages(&m->mem, fd, diff, &written)
		   : guest_mem_save(&m->mem, fd, &written);
	close(fd);
	if (err < 0)
		return vmm_fail(why, why_len, err, "mem_file_path '%s': cannot write: %s", mem_path,
				strerror(-err));
	if (diff)
		log_info("snapshot: %llu KiB of RAM written since the last snapshot in '%s'",
			 (unsigned long long)(written / KiB), mem_path);
	else
		log_info("snapshot: %llu MiB of RAM in '%s' (%llu MiB of it not zero)",
			 (unsigned long long)(m->mem.ram_size / MiB), mem_path,
			 (unsigned long long)(written / MiB));
	return 0;
}

/* With the dirty log on, the pages written since the last snapshot (every
 * snapshot takes the log, so a Diff holds what changed since the one
 * before it); *pages stays NULL without it. */
static int take_dirty(struct machine *m, u64 **pages, char *why, size_t why_len)
{
	s64 n;

	*pages = NULL;
	if (!m->mem.dirty)
		return 0;
	*pages = calloc(guest_mem_dirty_words(&m->mem), sizeof(u64));
	if (!*pages)
		return -ENOMEM;
	n = machine_dirty_take(m, *pages);
	if (n < 0) {
		free(*pages);
		*pages = NULL;
		return vmm_fail(why, why_len, (int)n, "cannot read the dirty page log: %s",
				strerror((int)-n));
	}
	return 0;
}

int machine_snapshot_create(struct machine *m, const char *state_path, const char *mem_path,
			    bool diff, char *why, size_t why_len)
{
	u64 t0 = clock_now_ns(), *dirty = NULL;
	size_t len = 0;
	u8 *buf = NULL;
	int err;

	if (!machine_paused(m))
		return vmm_fail(why, why_len, -EBUSY,
				"the microVM must be paused (PATCH /vm "
				"{\"state\": \"Paused\"}) before a snapshot");
	if (diff && !m->mem.dirty)
		return vmm_fail(why, why_len, -EINVAL,
				"Diff snapshots are not allowed on uVMs with "
				"dirty page tracking disabled (machine-config track_dirty_pages)");
	if (!m->engine->save_vm || !m->engine->save_vcpu)
		return vmm_fail(why, why_len, -EOPNOTSUPP,
				"the %s engine cannot save its state yet", m->engine->name);
	/* Requests in flight complete first: none is lost or repeated. */
	err = virtio_devices_quiesce(m);
	if (err < 0)
		return vmm_fail(why, why_len, err, "cannot stop the virtio devices: %s",
				strerror(-err));
	err = machine_snapshot_encode(m, &buf, &len, why, why_len);
	/* The log is taken after the devices went quiet (their last writes
	 * marked) and whatever the kind: the next Diff starts here. */
	if (!err)
		err = take_dirty(m, &dirty, why, why_len);
	if (!err)
		err = save_memory(m, mem_path, diff ? dirty : NULL, why, why_len);
	if (!err) {
		err = write_file(state_path, buf, len);
		if (err < 0)
			vmm_fail(why, why_len, err, "snapshot_path '%s': %s", state_path,
				 strerror(-err));
	}
	if (err < 0 && dirty) /* the next snapshot still holds these pages */
		machine_dirty_give_back(m, dirty);
	virtio_devices_unquiesce(m);
	free(dirty);
	free(buf);
	if (!err)
		log_info("snapshot: %s, state in '%s' (%zu bytes), taken in %llu ms",
			 diff ? "Diff" : "Full", state_path, len,
			 (unsigned long long)((clock_now_ns() - t0) / 1000000));
	return err;
}
