/* virtio-balloon (virtio 1.2 section 5.5): the host asks the guest to give
 * memory back; pages the guest hands over are returned to the host with
 * madvise(MADV_DONTNEED). Offers, as configured, VIRTIO_BALLOON_F_STATS_VQ
 * (statistics polled at an interval), VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
 * VIRTIO_BALLOON_F_FREE_PAGE_HINT (free page hinting, 5.5.6.7: runs the
 * host starts; balloon_hint.h) and VIRTIO_BALLOON_F_PAGE_REPORTING (free
 * page reporting, 5.5.6.8). */
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
	BALLOON_STAT_OOM_KILL, /* Linux's tags 10-15, after the spec's 0-9 */
	BALLOON_STAT_ALLOC_STALL,
	BALLOON_STAT_ASYNC_SCAN,
	BALLOON_STAT_DIRECT_SCAN,
	BALLOON_STAT_ASYNC_RECLAIM,
	BALLOON_STAT_DIRECT_RECLAIM,
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
	u64 reports;               /* free page reports served */
	u64 reported_bytes;        /* bytes those reports returned to the host */
	u64 hinted_ranges;         /* free page hints acted on (ranges discarded) */
	u64 hinted_bytes;          /* bytes those hints returned to the host */
};

#define BALLOON_STATS_INTERVAL_MAX 65535 /* s; Firecracker's is a u16 */

/* The device's configuration (Firecracker's "balloon" resource). */
struct balloon_config {
	u64 target_bytes;     /* asked of the guest at start; at most RAM */
	u32 stats_interval_s; /* > 0: statistics queue, polled this often */
	bool deflate_on_oom;  /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
	bool page_reporting;  /* VIRTIO_BALLOON_F_PAGE_REPORTING */
	bool page_hinting;    /* VIRTIO_BALLOON_F_FREE_PAGE_HINT */
};

/* Free page hinting as Firecracker's GET /balloon/hinting/status shows it. */
struct balloon_hint_status {
	u32 host_cmd;    /* free_page_hint_cmd_id: 0 STOP, 1 DONE, 2 and up a run */
	u32 guest_cmd;   /* the last command id the driver sent (0: it finished) */
	bool guest_seen; /* the driver has sent one since it started */
};

/* Creates the device; the guest is asked to inflate to cfg->target_bytes
 * (rounded down to 4 KiB) as soon as its driver starts. The queues are
 * inflateq, deflateq, then statsq, free_page_vq, reporting_vq for the
 * features the driver accepted (5.5.2: absent queues take no index). Logs one line naming
 * --balloon and returns -errno on failure (-EINVAL: target above RAM). */
int virtio_balloon_create(struct machine *m, const struct balloon_config *cfg,
			  struct virtio_balloon **out);
void virtio_balloon_destroy(struct virtio_balloon *b);

/* Asks the guest to hold bytes (rounded down to 4 KiB) in its balloon: a
 * configuration-change interrupt tells a running driver. Any thread; takes
 * the device lock. Returns 0 or -EINVAL (above guest RAM, logged). */
int virtio_balloon_set_target(struct virtio_balloon *b, u64 bytes);

/* Copies the latest statistics (refreshed every stats_interval_s by the
 * event loop). Any thread. */
void virtio_balloon_get_stats(struct virtio_balloon *b, struct balloon_stats *out);
/* Asks the guest for fresh statistics now (gives its buffer back, 5.5.6.3),
 * as the polling timer does. Any thread; takes the device lock. */
void virtio_balloon_poll_stats(struct virtio_balloon *b);
/* The configuration in force (target and interval as last set). */
void virtio_balloon_get_config(struct virtio_balloon *b, struct balloon_config *out);
/* A new polling interval: -EPERM when it would turn statistics on or off
 * (the queue exists or not from the start, as in Firecracker); else the
 * guest is asked at once and then every interval_s. Any thread. */
int virtio_balloon_set_stats_interval(struct virtio_balloon *b, u32 interval_s);

/* Free page hinting (5.5.6.7). start gives the driver a new command id: it
 * hints its free pages, which go back to the host, and ends with STOP;
 * ack_on_stop: that STOP is answered with DONE at once, else the driver
 * holds the pages until stop. stop sets DONE: the driver uses its hinted
 * pages again. -EOPNOTSUPP without the feature, -EAGAIN (start, stop) while
 * no driver runs the device. Any thread; take the device lock. */
int virtio_balloon_hint_start(struct virtio_balloon *b, bool ack_on_stop);
int virtio_balloon_hint_stop(struct virtio_balloon *b);
int virtio_balloon_hint_status(struct virtio_balloon *b, struct balloon_hint_status *out);

/* The same for machine m (for the API): -ENODEV when it has no balloon. */
int balloon_set_target(struct machine *m, u64 bytes);
int balloon_get_stats(struct machine *m, struct balloon_stats *out);
int balloon_get_config(struct machine *m, struct balloon_config *out);
int balloon_set_stats_interval(struct machine *m, u32 interval_s);
int balloon_hinting_start(struct machine *m, bool ack_on_stop);
int balloon_hinting_stop(struct machine *m);
int balloon_hinting_status(struct machine *m, struct balloon_hint_status *out);

#endif
