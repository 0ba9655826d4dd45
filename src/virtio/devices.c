/* Creation of the configured virtio devices, each in its own virtio-mmio
 * slot, in a fixed order: disks (so --disk number 0 is slot 0 and /dev/vda),
 * network interfaces, rng, console, vsock, balloon, pmem, mem. */
#include "virtio/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/machine.h"
#include "host/disk.h"
#include "virtio/blk.h"
#include "virtio/rng.h"
#include "virtio/net.h"
#include "virtio/balloon.h"
#include "virtio/console.h"
#include "virtio/mem.h"
#include "virtio/pmem.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"

typedef void virtio_destroy_fn(void *dev);

/* Every device made, in creation order, with the function that undoes it. */
struct machine_virtio {
	unsigned nr;
	struct {
		virtio_destroy_fn *destroy;
		void *dev;
	} devs[LAYOUT_VIRTIO_MMIO_MAX];
	struct virtio_balloon *balloon; /* for balloon_set_target() and stats */
	struct virtio_blk *blks[CONFIG_MAX_DISKS]; /* a migration hands their images over */
	unsigned nr_blks;
	struct virtio_net *nets[CONFIG_MAX_NETS]; /* PATCH /network-interfaces */
	unsigned nr_nets;
	struct virtio_rng *rng;
	struct virtio_pmem *pmems[CONFIG_MAX_PMEM]; /* PATCH /pmem */
	unsigned nr_pmems;
	struct virtio_mem *mem; /* PATCH /hotplug/memory */
};

static void virtio_track(struct machine_virtio *v, virtio_destroy_fn *destroy, void *dev)
{
	/* Each device took a slot, and there are as many entries as slots. */
	v->devs[v->nr].destroy = destroy;
	v->devs[v->nr].dev = dev;
	v->nr++;
}

static void blk_destroy_fn(void *dev)
{
	virtio_blk_destroy(dev);
}

static void rng_destroy_fn(void *dev)
{
	virtio_rng_destroy(dev);
}

static void net_destroy_fn(void *dev)
{
	virtio_net_destroy(dev);
}

static void console_destroy_fn(void *dev)
{
	virtio_console_destroy(dev);
}

static void vsock_destroy_fn(void *dev)
{
	virtio_vsock_destroy(dev);
}

static void balloon_destroy_fn(void *dev)
{
	virtio_balloon_destroy(dev);
}

static void pmem_destroy_fn(void *dev)
{
	virtio_pmem_destroy(dev);
}

static void mem_destroy_fn(void *dev)
{
	virtio_mem_destroy(dev);
}

int virtio_devices_create(struct machine *m)
{
	struct machine_virtio *v = calloc(1, sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	m->virtio = v;

	for (unsigned i = 0; i < m->cfg.nr_disks; i++) {
		struct virtio_blk *b;
		err = virtio_blk_create(m, &m->cfg.disks[i], i, &b);
		if (err < 0)
			goto fail;
		virtio_track(v, blk_destroy_fn, b);
		v->blks[v->nr_blks++] = b;
	}

	for (unsigned i = 0; i < m->cfg.nr_nets; i++) {
		struct virtio_net *n;
		err = virtio_net_create(m, &m->cfg.nets[i], i, &n);
		if (err < 0)
			goto fail;
		virtio_track(v, net_destroy_fn, n);
		v->nets[v->nr_nets++] = n;
	}

	if (m->cfg.rng) {
		struct virtio_rng *r;
		err = virtio_rng_create(m, &m->cfg.rng_rate_limiter, &r);
		if (err < 0)
			goto fail;
		virtio_track(v, rng_destroy_fn, r);
		v->rng = r;
	}

	if (m->cfg.virtio_console) {
		/* hvc0 takes the console's stdio; the UART then gets no input. */
		struct virtio_console *c;
		err = virtio_console_create(m, STDIN_FILENO, STDOUT_FILENO, &c);
		if (err < 0)
			goto fail;
		virtio_track(v, console_destroy_fn, c);
	}

	if (m->cfg.vsock.enabled) {
		struct virtio_vsock *vs;
		err = virtio_vsock_create(m, &m->cfg.vsock, &vs);
		if (err < 0)
			goto fail;
		virtio_track(v, vsock_destroy_fn, vs);
	}

	if (m->cfg.balloon) {
		struct virtio_balloon *b;
		struct balloon_config bc = {m->cfg.balloon_target_bytes, m->cfg.balloon_stats_interval_s,
					    m->cfg.balloon_deflate_on_oom, m->cfg.balloon_reporting,
					    m->cfg.balloon_hinting};
		err = virtio_balloon_create(m, &bc, &b);
		if (err < 0)
			goto fail;
		virtio_track(v, balloon_destroy_fn, b);
		v->balloon = b;
	}

	for (unsigned i = 0; i < m->nr_pmem_fds; i++) {
		struct virtio_pmem *p;
		int fd = m->pmem_fd[i];

		m->pmem_fd[i] = -1; /* the device owns it now, even when it fails */
		err = virtio_pmem_create(m, &m->cfg.pmem[i], m->pmem_region[i], fd, &p);
		if (err < 0)
			goto fail;
		virtio_track(v, pmem_destroy_fn, p);
		v->pmems[v->nr_pmems++] = p;
	}

	if (m->mem.hotplug >= 0) {
		struct virtio_mem *d;
		err = virtio_mem_create(m, &m->cfg.hotplug, &d);
		if (err < 0)
			goto fail;
		virtio_track(v, mem_destroy_fn, d);
		v->mem = d;
	}

	return 0;
fail:
	virtio_devices_destroy(m);
	return err;
}

/* Every slot, whoever made its device (tests make them one by one). */
int virtio_devices_quiesce(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_virtio_slots; i++)
		if (m->virtio_slots[i].dev)
			virtio_mmio_quiesce(m->virtio_slots[i].dev);
	return 0;
}

void virtio_devices_unquiesce(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_virtio_slots; i++)
		if (m->virtio_slots[i].dev)
			virtio_mmio_unquiesce(m->virtio_slots[i].dev);
}

void virtio_devices_release_disks(struct machine *m)
{
	for (unsigned i = 0; m->virtio && i < m->virtio->nr_blks; i++)
		disk_unlock(virtio_blk_disk(m->virtio->blks[i]));
}

int virtio_devices_claim_disks(struct machine *m)
{
	for (unsigned i = 0; m->virtio && i < m->virtio->nr_blks; i++) {
		int err = disk_lock(virtio_blk_disk(m->virtio->blks[i]));
		if (err < 0)
			return err;
	}
	return 0;
}

int virtio_devices_update_disk(struct machine *m, unsigned index, const char *path,
			       const struct rate_limit_config *rl)
{
	struct disk_config *d = &m->cfg.disks[index];
	int err;

	if (!m->virtio || index >= m->virtio->nr_blks)
		return -ENODEV;
	if (path) {
		err = virtio_blk_set_path(m->virtio->blks[index], path);
		if (err < 0)
			return err;
		snprintf(d->path, sizeof(d->path), "%s", path);
	}
	if (rl) {
		virtio_blk_set_rate_limiter(m->virtio->blks[index], rl);
		d->rate_limiter = *rl;
	}
	return 0;
}

int virtio_devices_update_net(struct machine *m, unsigned index,
			      const struct rate_limit_config *rx,
			      const struct rate_limit_config *tx)
{
	if (!m->virtio || index >= m->virtio->nr_nets)
		return -ENODEV;
	virtio_net_set_rate_limiters(m->virtio->nets[index], rx, tx);
	if (rx)
		m->cfg.nets[index].rx_rate_limiter = *rx;
	if (tx)
		m->cfg.nets[index].tx_rate_limiter = *tx;
	return 0;
}

struct virtio_balloon *virtio_devices_balloon(struct machine *m)
{
	return m->virtio ? m->virtio->balloon : NULL;
}

int virtio_devices_update_pmem(struct machine *m, unsigned index,
			       const struct rate_limit_config *rl)
{
	if (!m->virtio || index >= m->virtio->nr_pmems)
		return -ENODEV;
	virtio_pmem_set_rate_limiter(m->virtio->pmems[index], rl);
	m->cfg.pmem[index].rate_limiter = *rl;
	return 0;
}

struct virtio_mem *virtio_devices_mem(struct machine *m)
{
	return m->virtio ? m->virtio->mem : NULL;
}

/* Reverse order; each destroy stops the device's thread or event source
 * first. Called when no vCPU runs any more. */
void virtio_devices_destroy(struct machine *m)
{
	struct machine_virtio *v = m->virtio;

	if (!v)
		return;
	while (v->nr) {
		v->nr--;
		v->devs[v->nr].destroy(v->devs[v->nr].dev);
	}
	free(v);
	m->virtio = NULL;
}
