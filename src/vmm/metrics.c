/* Per-VM counters: interrupt edges counted by a shim in front of the
 * engine's interrupt lines, plus what the vCPU loop and the engine count. */
#include "vmm/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/metrics_priv.h"
#include "vmm/vmm.h"
#include "cpu/engine.h"
#include "virtio/balloon.h"
#include "virtio/virtio.h"

/* The interrupt shim: counts low-to-high changes, forwards every call. */
static void metrics_irq_set(void *opaque, unsigned gsi, bool level)
{
	struct metrics *mt = opaque;

	if (gsi < METRICS_MAX_GSI) {
		bool was = atomic_exchange(&mt->level[gsi], level);
		if (level && !was)
			atomic_fetch_add_explicit(&mt->edges[gsi], 1, memory_order_relaxed);
	}
	if (mt->engine_irq.set)
		mt->engine_irq.set(mt->engine_irq.opaque, gsi, level);
}

int metrics_attach(struct machine *m)
{
	struct metrics *mt = calloc(1, sizeof(*mt));

	if (!mt)
		return -ENOMEM;
	pthread_mutex_init(&mt->lock, NULL);
	pthread_mutex_init(&mt->file_lock, NULL);
	mt->engine_irq = m->irq;
	m->irq.set = metrics_irq_set;
	m->irq.opaque = mt;
	m->metrics = mt;
	return 0;
}

void metrics_detach(struct machine *m)
{
	if (!m->metrics)
		return;
	m->irq = m->metrics->engine_irq;
	pthread_mutex_destroy(&m->metrics->lock);
	pthread_mutex_destroy(&m->metrics->file_lock);
	cJSON_Delete(m->metrics->flushed);
	free(m->metrics);
	m->metrics = NULL;
}

static u64 metrics_clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

static const char *const metrics_soft_stats[] = {"instructions", "tlb_misses", "ud", NULL};
static const char *const metrics_kvm_stats[] = {
    "exits",          "exits_io",           "exits_mmio",  "exits_hlt", "exits_intr",
    "exits_shutdown", "exits_system_event", "exits_other", NULL};

static cJSON *metrics_vcpu(struct machine *m, struct machine_vcpu *v)
{
	static const char *const run_exits[] = {"kicked", "hlt", "shutdown", "error"};
	const char *const *names =
	    strcmp(m->engine->name, "kvm") ? metrics_soft_stats : metrics_kvm_stats;
	cJSON *o = cJSON_CreateObject(), *ex;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", v->id);
	ex = cJSON_AddObjectToObject(o, "run_exits");
	for (unsigned i = 0; ex && i < ARRAY_SIZE(run_exits); i++)
		cJSON_AddNumberToObject(ex, run_exits[i], (double)atomic_load(&v->exits[i]));
	for (unsigned i = 0; names[i]; i++)
		cJSON_AddNumberToObject(o, names[i], (double)m->engine->stat(v->ev, names[i]));
	return o;
}

static void metrics_interrupts(struct machine *m, cJSON *doc)
{
	cJSON *o = cJSON_AddObjectToObject(doc, "interrupts"), *per;
	u64 total = 0;

	if (!o || !m->metrics)
		return;
	per = cJSON_CreateObject();
	for (unsigned g = 0; per && g < METRICS_MAX_GSI; g++) {
		u64 n = atomic_load(&m->metrics->edges[g]);
		char name[8];
		if (!n)
			continue;
		snprintf(name, sizeof(name), "%u", g);
		cJSON_AddNumberToObject(per, name, (double)n);
		total += n;
	}
	cJSON_AddNumberToObject(o, "total", (double)total);
	if (per)
		cJSON_AddItemToObject(o, "per_gsi", per);
}

/* src/core/fastpath.h: which engine fast paths devices use, and how much. */
static void metrics_fastpath(struct machine *m, cJSON *doc)
{
	const struct fastpath_stats *f = &m->fastpath;
	cJSON *o = cJSON_AddObjectToObject(doc, "fast_paths");

	if (!o)
		return;
	cJSON_AddBoolToObject(o, "ioeventfd", atomic_load(&f->notify_fd));
	cJSON_AddBoolToObject(o, "irqfd", atomic_load(&f->level_irq_fd));
	cJSON_AddNumberToObject(o, "ioeventfd_notifies", (double)atomic_load(&f->notifies));
	cJSON_AddNumberToObject(o, "irqfd_raises", (double)atomic_load(&f->irq_raises));
	cJSON_AddNumberToObject(o, "irqfd_resamples", (double)atomic_load(&f->irq_resamples));
}

/* How often a device's rate limiters made it wait, under Firecracker's
 * names for these counters (block, net and entropy metrics). */
static void metrics_throttled(cJSON *o, const char *type, const struct virtio_dev_stats *st)
{
	if (!strncmp(type, "blk", 3)) {
		cJSON_AddNumberToObject(o, "rate_limiter_throttled_events",
					(double)st->throttled[0]);
	} else if (!strcmp(type, "net")) {
		cJSON_AddNumberToObject(o, "rx_rate_limiter_throttled", (double)st->throttled[0]);
		cJSON_AddNumberToObject(o, "tx_rate_limiter_throttled", (double)st->throttled[1]);
	} else if (!strcmp(type, "rng")) {
		cJSON_AddNumberToObject(o, "entropy_rate_limiter_throttled",
					(double)st->throttled[0]);
	}
}

/* Per virtio device: what its queues carried (src/virtio/virtio.h). */
static void metrics_devices(struct machine *m, cJSON *doc)
{
	cJSON *arr = cJSON_AddArrayToObject(doc, "devices");

	for (unsigned i = 0; arr && i < m->nr_virtio_slots; i++) {
		struct virtio_mmio *vm = m->virtio_slots[i].dev;
		struct virtio_dev_stats st;
		cJSON *o;
		char base[24];

		if (!vm || !(o = cJSON_CreateObject()))
			continue;
		virtio_mmio_stats(vm, &st);
		snprintf(base, sizeof(base), "%#llx", (unsigned long long)m->virtio_slots[i].base);
		cJSON_AddStringToObject(o, "type", virtio_mmio_name(vm));
		cJSON_AddStringToObject(o, "mmio_base", base);
		cJSON_AddNumberToObject(o, "gsi", m->virtio_slots[i].gsi);
		cJSON_AddNumberToObject(o, "requests", (double)st.requests);
		cJSON_AddNumberToObject(o, "bytes_from_guest", (double)st.bytes_read);
		cJSON_AddNumberToObject(o, "bytes_to_guest", (double)st.bytes_written);
		cJSON_AddNumberToObject(o, "notifies", (double)st.notifies);
		cJSON_AddNumberToObject(o, "interrupts", (double)st.interrupts);
		cJSON_AddNumberToObject(o, "errors", (double)st.errors);
		metrics_throttled(o, virtio_mmio_name(vm), &st);
		cJSON_AddItemToArray(arr, o);
	}
}

static void metrics_balloon(struct machine *m, cJSON *doc)
{
	struct balloon_stats bs;
	cJSON *o;

	if (balloon_get_stats(m, &bs) < 0)
		return;
	o = cJSON_AddObjectToObject(doc, "balloon");
	if (!o)
		return;
	cJSON_AddNumberToObject(o, "target_mib", (double)(bs.target_bytes / MiB));
	cJSON_AddNumberToObject(o, "actual_mib", (double)(bs.actual_bytes / MiB));
	cJSON_AddNumberToObject(o, "inflated_pages", (double)bs.inflated_pages);
	cJSON_AddNumberToObject(o, "deflated_pages", (double)bs.deflated_pages);
	/* Firecracker's names for the free page reporting and hinting counters. */
	cJSON_AddNumberToObject(o, "free_page_report_count", (double)bs.reports);
	cJSON_AddNumberToObject(o, "free_page_report_freed", (double)bs.reported_bytes);
	cJSON_AddNumberToObject(o, "free_page_hint_count", (double)bs.hinted_ranges);
	cJSON_AddNumberToObject(o, "free_page_hint_freed", (double)bs.hinted_bytes);
}

void metrics_set_migration(struct machine *m, const struct migration_stats *s)
{
	if (!m->metrics)
		return;
	pthread_mutex_lock(&m->metrics->lock);
	m->metrics->migration = *s;
	m->metrics->has_migration = true;
	pthread_mutex_unlock(&m->metrics->lock);
}

static void metrics_migration(struct machine *m, cJSON *doc)
{
	struct migration_stats s;
	bool has;
	cJSON *o;

	if (!m->metrics)
		return;
	pthread_mutex_lock(&m->metrics->lock);
	s = m->metrics->migration;
	has = m->metrics->has_migration;
	pthread_mutex_unlock(&m->metrics->lock);
	if (!has || !(o = cJSON_AddObjectToObject(doc, "migration")))
		return;
	cJSON_AddNumberToObject(o, "rounds", (double)s.rounds);
	cJSON_AddNumberToObject(o, "pages", (double)s.pages);
	cJSON_AddNumberToObject(o, "last_pages", (double)s.last_pages);
	cJSON_AddNumberToObject(o, "total_ms", (double)s.total_ms);
	cJSON_AddNumberToObject(o, "downtime_ms", (double)s.downtime_ms);
	cJSON_AddBoolToObject(o, "done", s.done);
}

cJSON *metrics_collect(struct machine *m)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	u64 now = metrics_clock_ms(CLOCK_MONOTONIC), paused_ns;

	if (!doc)
		return NULL;
	pthread_mutex_lock(&m->pause_lock);
	paused_ns = atomic_load(&m->paused_total_ns);
	if (atomic_load(&m->pause_requested)) /* the pause still going on */
		paused_ns += now * 1000000 - MIN(now * 1000000, m->paused_since_ns);
	pthread_mutex_unlock(&m->pause_lock);
	cJSON_AddNumberToObject(doc, "utc_timestamp_ms", (double)metrics_clock_ms(CLOCK_REALTIME));
	cJSON_AddStringToObject(doc, "engine", m->engine->name);
	cJSON_AddNumberToObject(doc, "uptime_ms",
				m->started_ns ? (double)(now - m->started_ns / 1000000) : 0);
	cJSON_AddBoolToObject(doc, "paused", machine_paused(m));
	cJSON_AddNumberToObject(doc, "paused_ms", (double)(paused_ns / 1000000));
	arr = cJSON_AddArrayToObject(doc, "vcpus");
	for (unsigned i = 0; arr && i < m->nr_vcpus; i++) {
		cJSON *v = metrics_vcpu(m, &m->vcpus[i]);
		if (v)
			cJSON_AddItemToArray(arr, v);
	}
	metrics_interrupts(m, doc);
	metrics_fastpath(m, doc);
	metrics_devices(m, doc);
	metrics_balloon(m, doc);
	metrics_migration(m, doc);
	return doc;
}
