/* What metrics.c and metrics_fc.c share: the per-machine metrics state. */
#ifndef POPEK_METRICS_PRIV_H
#define POPEK_METRICS_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/irq.h"
#include "vmm/metrics.h"

struct metrics {
	struct irq_router engine_irq; /* what the shim forwards to */
	_Atomic bool level[METRICS_MAX_GSI];
	_Atomic u64 edges[METRICS_MAX_GSI];
	pthread_mutex_t lock; /* migration */
	struct migration_stats migration;
	bool has_migration;
	/* The metrics file (metrics_fc.c), under file_lock: the totals the
	 * last line written was computed from, {"group": {"name": total}}
	 * (NULL: none written yet), and how many writes failed. */
	pthread_mutex_t file_lock;
	cJSON *flushed;
	u64 write_fails;
};

#endif
