/* virtio-blk (virtio 1.2 section 5.2): one request queue served by a device
 * thread over a raw disk image (src/host/disk.h). */
#ifndef POPEK_VIRTIO_BLK_H
#define POPEK_VIRTIO_BLK_H

#include "core/config.h"
#include "host/disk.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"

struct machine;
struct virtio_blk;

#define VIRTIO_ID_BLOCK 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_WZ_UNMAP       1 /* write-zeroes segment flag */

#define VIRTIO_BLK_ID_BYTES   20
#define VIRTIO_BLK_HDR_LEN    16 /* le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_SEG_LEN    16 /* discard/write-zeroes: le64 sector, le32 num, le32 flags */
#define VIRTIO_BLK_CONFIG_LEN 60 /* struct virtio_blk_config up to write_zeroes_may_unmap + pad */

/* Limits offered in the configuration space. */
#define VIRTIO_BLK_QUEUE_MAX       256
#define VIRTIO_BLK_SEG_MAX         (VIRTIO_BLK_QUEUE_MAX - 2)
#define VIRTIO_BLK_DISCARD_SEGS    32
#define VIRTIO_BLK_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */

/* Creates the virtio-blk device for --disk cfg (index: its position, for
 * messages) in the next virtio-mmio slot and starts its I/O thread. Logs one
 * error line naming --disk and the path, returns -errno. */
int virtio_blk_create(struct machine *m, const struct disk_config *cfg, unsigned index,
		      struct virtio_blk **out);
/* Stops the thread, closes the image (dropping its lock), frees the device. */
void virtio_blk_destroy(struct virtio_blk *b);
/* The image's lock (host/disk.h), handed over in a live migration. */
struct disk *virtio_blk_disk(struct virtio_blk *b);

/* PATCH /drives on a running VM (any thread but the device's, device lock
 * not held). set_rate_limiter replaces the buckets (full again); a request
 * waiting for the old ones is looked at again at once. set_path opens and
 * locks path (read-only as the drive is), waits for the request in flight,
 * switches to the new file, puts its size in the configuration space and
 * raises the config-change interrupt, then closes the old file. Returns 0,
 * or -errno (one line logged) with the old file still in use. */
void virtio_blk_set_rate_limiter(struct virtio_blk *b, const struct rate_limit_config *cfg);
int virtio_blk_set_path(struct virtio_blk *b, const char *path);

/* ---- Request execution, without threads or transport (tests, fuzzing) --- */

struct virtio_blk_req_env {
	struct disk *disk;
	u64 capacity;                      /* sectors */
	u64 features;                      /* negotiated */
	u8 id[VIRTIO_BLK_ID_BYTES];        /* GET_ID answer, zero-padded */
	struct iovec data[VIRTQ_MAX_SEGS]; /* scratch */
	struct virtio_dev_counts counts;   /* by virtio_blk_execute (metrics) */
};

/* Executes the request in e (5.2.6) against env->disk and writes its status
 * byte (the last writable byte). Returns 0 with *used_len (bytes written to
 * the chain) set, or -EINVAL with *why set when the chain has no status byte
 * (the device must then need a reset). Disk errors and bad requests are
 * VIRTIO_BLK_S_IOERR or _UNSUPP in the status, not errors here. */
int virtio_blk_execute(struct virtio_blk_req_env *env, const struct virtq_elem *e, u32 *used_len,
		       const char **why);

/* Fills the configuration space (VIRTIO_BLK_CONFIG_LEN bytes, little endian). */
void virtio_blk_config_fill(u8 *cfg, u64 capacity_sectors);

/* The feature bits offered for a disk. flush: VIRTIO_BLK_F_FLUSH, a drive
 * whose cache_type is Writeback (Firecracker's Unsafe offers none). */
u64 virtio_blk_features(bool readonly, bool flush);

#endif
