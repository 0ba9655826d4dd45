/* Per-VM counters (vCPU exits, engine statistics, interrupts, balloon) as
 * JSON: popek's own shape for the API's GET /metrics, Firecracker's for
 * FlushMetrics and --metrics-file. */
#ifndef POPEK_METRICS_H
#define POPEK_METRICS_H

#include <cjson/cJSON.h>

#include "core/config.h"
#include "popek/types.h"

struct machine;

#define METRICS_MAX_GSI 24 /* IOAPIC pins */

/* A live migration's figures (migrate_send.c), as the source saw them. */
struct migration_stats {
	u64 rounds;      /* pre-copy rounds, the first (all RAM in use) included */
	u64 pages;       /* pages sent, the last round's included */
	u64 last_pages;  /* pages sent with the guest stopped */
	u64 total_ms;    /* from the connection to the destination's answer */
	u64 downtime_ms; /* guest stopped: from the last pause to that answer */
	bool done;       /* the destination runs the VM */
};

/* Sets m->metrics and puts a counting shim in front of m->irq's set
 * function (the engine's): each rising edge of a GSI is counted. Call once
 * the engine and devices exist and before any vCPU or device thread runs.
 * Returns 0 or -ENOMEM. */
int metrics_attach(struct machine *m);
/* Puts the engine's interrupt function back and frees m->metrics. */
void metrics_detach(struct machine *m);

/*
 * A JSON object with the counters of m, read while it runs (values are
 * read without stopping the vCPUs, so they are a consistent-enough snapshot,
 * not an atomic one):
 *   utc_timestamp_ms, engine, uptime_ms, paused_ms, paused,
 *   vcpus: [{id, run_exits: {kicked, hlt, shutdown, error}, <engine stats>}]
 *     where the soft engine reports instructions, tlb_misses, ud and the kvm
 *     engine exits, exits_io, exits_mmio, exits_hlt, exits_intr, ...,
 *   interrupts: {total, per_gsi: {"4": n, ...}} (rising edges per line),
 *   fast_paths: {ioeventfd, irqfd (in use), ioeventfd_notifies,
 *     irqfd_raises, irqfd_resamples} (src/core/fastpath.h),
 *   devices: [{type, mmio_base, gsi, requests, bytes_from_guest,
 *     bytes_to_guest, notifies, interrupts, errors}] per virtio device
 *     (bytes_from_guest: readable buffers the device popped, e.g. data
 *     written to a disk plus request headers; bytes_to_guest: what it
 *     wrote into the guest's buffers),
 *   balloon: {target_mib, actual_mib, inflated_pages, deflated_pages,
 *     free_page_report_count (reports served), free_page_report_freed
 *     (bytes they gave back), free_page_hint_count (hinted ranges
 *     discarded), free_page_hint_freed (their bytes)} when the machine has
 *     a balloon,
 *   migration: {rounds, pages, last_pages, total_ms, downtime_ms, done}
 *     after a live migration was tried (struct migration_stats).
 * NULL when out of memory. The caller frees it with cJSON_Delete.
 */
cJSON *metrics_collect(struct machine *m);

/* Keeps s for the metrics ("migration": {rounds, pages, last_pages,
 * total_ms, downtime_ms, done}) from now on. */
void metrics_set_migration(struct machine *m, const struct migration_stats *s);

/* The API requests Firecracker counts (put_api_requests and its siblings),
 * counted by the API (src/api/api_metrics.c): for each, how many came and
 * how many were answered with an error. */
enum metrics_api_req {
	METRICS_GET_INSTANCE_INFO, /* GET / */
	METRICS_GET_MACHINE_CFG,
	METRICS_GET_MMDS,
	METRICS_GET_VERSION,
	METRICS_PUT_ACTIONS,
	METRICS_PUT_BOOT_SOURCE,
	METRICS_PUT_DRIVE,
	METRICS_PUT_LOGGER,
	METRICS_PUT_MACHINE_CFG,
	METRICS_PUT_CPU_CFG,
	METRICS_PUT_METRICS,
	METRICS_PUT_NETWORK,
	METRICS_PUT_MMDS, /* /mmds and /mmds/config */
	METRICS_PUT_VSOCK,
	METRICS_PUT_SERIAL,
	METRICS_PATCH_DRIVE,
	METRICS_PATCH_NETWORK,
	METRICS_PATCH_MACHINE_CFG,
	METRICS_PATCH_MMDS,
	METRICS_API_NR
};

struct metrics_api_counts {
	u64 count[METRICS_API_NR], fails[METRICS_API_NR];
	/* Requests that used a deprecated field. */
	u64 deprecated;
	/* How long the last PATCH /vm Paused and Resumed took; 0: none. */
	u64 pause_us, resume_us;
};

/* What the metrics file needs from above the VMM: the API's counters (NULL
 * without an API server) and the iface_id of each of cfg.nets (NULL or "":
 * "eth<index>", as GET /vm/config names it). */
struct metrics_file_in {
	const struct metrics_api_counts *api;
	const char *net_ids[CONFIG_MAX_NETS];
};

/*
 * Appends one line to fd in Firecracker's metrics format (one JSON object
 * per flush; src/vmm/metrics_fc.c, docs/api.md "Metrics"): its groups and
 * names where popek has a counterpart, counters that Firecracker resets at
 * each flush written as the change since the last line written to fd, the
 * others as they are, and metrics_collect() under "popek". Serialized with
 * other writers; a failed write leaves the baseline of the next line as it
 * was and is counted in logger.metrics_fails. Returns 0 or -errno.
 */
int metrics_write(struct machine *m, const struct metrics_file_in *in, int fd);

/* How often a running VM's metrics file gets a line without FlushMetrics:
 * Firecracker's 60 s, or POPEK_METRICS_PERIOD_MS (100 to 3600000) for
 * tests. */
u64 metrics_period_ms(void);

#endif
