/* The virtio device set of a machine, created from its vm_config. */
#ifndef POPEK_VIRTIO_DEVICES_H
#define POPEK_VIRTIO_DEVICES_H

struct machine;
struct rate_limit_config;

/* Creates every virtio device m->cfg asks for (disks, network interfaces,
 * rng, console, vsock, balloon, pmem, mem), each in its own virtio-mmio slot, and sets
 * m->virtio. Logs one error line naming the option and value on failure and
 * returns -errno with nothing left half-made. */
int virtio_devices_create(struct machine *m);
void virtio_devices_destroy(struct machine *m);

/* For a snapshot, with the vCPUs paused: returns once no device has a
 * request popped but not yet pushed (each completes what it has in flight
 * into the used ring and raises the interrupt owed), and no device pops new
 * ones (host input such as network frames and console bytes waits) until
 * virtio_devices_unquiesce(). Returns 0. See virtio_mmio_quiesce(). */
int virtio_devices_quiesce(struct machine *m);
void virtio_devices_unquiesce(struct machine *m);

/* A live migration hands the disk images over (host/disk.h): the source
 * releases their locks once its guest stopped; the destination, whose disks
 * open unlocked (m->cfg.incoming), claims them before its guest runs (one
 * line and -EBUSY when another process holds one). */
void virtio_devices_release_disks(struct machine *m);
int virtio_devices_claim_disks(struct machine *m);

/* PATCH /drives and /network-interfaces on a running machine (the API
 * thread; device locks not held). index is the drive's place in
 * m->cfg.disks (its virtio-blk device, in creation order), or the
 * interface's in m->cfg.nets. A NULL argument is left as it is; what changed
 * is written back into m->cfg (a later snapshot names the new file). The
 * disk's file: 0, or -errno (logged) with the old file still in use;
 * -ENODEV for an index without a device. */
int virtio_devices_update_disk(struct machine *m, unsigned index, const char *path,
			       const struct rate_limit_config *rl);
int virtio_devices_update_net(struct machine *m, unsigned index,
			      const struct rate_limit_config *rx,
			      const struct rate_limit_config *tx);

/* The machine's virtio-balloon, or NULL without --balloon. */
struct virtio_balloon *virtio_devices_balloon(struct machine *m);
/* PATCH /pmem/{id}: the flush limiter of m->cfg.pmem[index]'s device,
 * written back into m->cfg. 0 or -ENODEV. */
int virtio_devices_update_pmem(struct machine *m, unsigned index,
			       const struct rate_limit_config *rl);
/* The machine's virtio-mem, or NULL without a hot-plug area. */
struct virtio_mem *virtio_devices_mem(struct machine *m);

#endif
