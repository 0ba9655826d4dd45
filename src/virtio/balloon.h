/* virtio-balloon (virtio 1.2 section 5.5): the host asks the guest to give
 * memory back; pages the guest hands over are returned to the host with
 * madvise(MADV_DONTNEED). Offers VIRTIO_BALLOON_F_STATS_VQ. */
#ifndef POPEK_VIRTIO_BALLOON_H
#define POPEK_VIRTIO_BALLOON_H

#include "popek/types.h"

struct machine;
struct virtio_balloon;

/* Memory statistics tags (5.5.6.3). */
enum balloon_stat {
	BALLOON_STAT_SWAP_IN,
	BALLOON_STAT_SWAP_OUT,
	BALLOON_STAT_MAJFLT,
	BALLOON_STAT_MINFLT,
	BALLOON_STAT_MEMFREE,
	BALLOON_STAT_MEMTOT,
	BALLOON_STAT_AVAIL,
	BALLOON_STAT_CACHES,
	BALLOON_STAT_HTLB_PGALLOC,
	BALLOON_STAT_HTLB_PGFAIL,
	BALLOON_NR_STATS,
};

struct balloon_stats {
	u64 target_bytes;          /* what the host asked for (num_pages) */
	u64 actual_bytes;          /* what the driver says it holds (actual) */
	u64 inflated_pages;        /* pages given back to the host since creation */
	u64 deflated_pages;        /* pages the guest took back */
	u32 valid;                 /* bit n set: val[n] was reported by the guest */
	u64 val[BALLOON_NR_STATS]; /* bytes for MEM*, AVAIL, CACHES; counts else */
	u64 updated_ms;            /* CLOCK_MONOTONIC ms of the guest's last report; 0: none */
};

/* Creates the device; the guest is asked to inflate to target_bytes (rounded
 * down to 4 KiB) as soon as its driver starts. Logs one line naming
 * --balloon and returns -errno on failure (-EINVAL: target above RAM). */
int virtio_balloon_create(struct machine *m, u64 target_bytes, struct virtio_balloon **out);
void virtio_balloon_destroy(struct virtio_balloon *b);

/* Asks the guest to hold bytes (rounded down to 4 KiB) in its balloon: a
 * configuration-change interrupt tells a running driver. Any thread; takes
 * the device lock. Returns 0 or -EINVAL (above guest RAM, logged). */
int virtio_balloon_set_target(struct virtio_balloon *b, u64 bytes);

/* Copies the latest statistics and asks the guest for fresh ones (the
 * driver answers through the stats queue shortly after): a caller polling
 * every few seconds always sees a recent report. Any thread. */
void virtio_balloon_get_stats(struct virtio_balloon *b, struct balloon_stats *out);

/* The same for machine m (for the API): -ENODEV when it has no balloon. */
int balloon_set_target(struct machine *m, u64 bytes);
int balloon_get_stats(struct machine *m, struct balloon_stats *out);

#endif
