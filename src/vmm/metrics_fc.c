/* The metrics file in Firecracker's format: its groups and counter names
 * where popek counts the same thing (docs/api.md "Metrics" has the table),
 * popek's own counters under "popek". */
#include "vmm/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu/engine.h"
#include "dev/devices.h"
#include "virtio/balloon.h"
#include "virtio/virtio.h"
#include "vmm/metrics_priv.h"
#include "vmm/vmm.h"

/* One line being built: doc is written, totals becomes the baseline of the
 * next line once it is. Firecracker resets most counters at each flush
 * (SharedIncMetric): those go through fc_inc, which writes the change since
 * the last line; the others (SharedStoreMetric) through fc_store. */
struct fc_line {
	cJSON *doc, *totals;
	const cJSON *flushed; /* the last line's totals, or NULL */
};

static cJSON *fc_object(cJSON *parent, const char *name)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, name);

	return o ? o : cJSON_AddObjectToObject(parent, name);
}

static void fc_inc(struct fc_line *l, const char *group, const char *name, u64 total)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(l->flushed, group);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(g, name);
	u64 before = cJSON_IsNumber(p) ? (u64)p->valuedouble : 0;
	cJSON *o = fc_object(l->doc, group), *t = fc_object(l->totals, group);

	/* A total below the last one (a counter that started again) counts
	 * from zero. */
	cJSON_AddNumberToObject(o, name, (double)(total >= before ? total - before : total));
	cJSON_AddNumberToObject(t, name, (double)total);
}

static void fc_store(struct fc_line *l, const char *group, const char *name, u64 value)
{
	cJSON_AddNumberToObject(fc_object(l->doc, group), name, (double)value);
}

/* The API's request counters, in Firecracker's groups. */
static void fc_api(struct fc_line *l, const struct metrics_api_counts *a)
{
	static const struct {
		const char *group, *name; /* name_count, name_fails */
		bool fails;
	} reqs[METRICS_API_NR] = {
	    [METRICS_GET_INSTANCE_INFO] = {"get_api_requests", "instance_info", false},
	    [METRICS_GET_MACHINE_CFG] = {"get_api_requests", "machine_cfg", false},
	    [METRICS_GET_MMDS] = {"get_api_requests", "mmds", false},
	    [METRICS_GET_VERSION] = {"get_api_requests", "vmm_version", false},
	    [METRICS_PUT_ACTIONS] = {"put_api_requests", "actions", true},
	    [METRICS_PUT_BOOT_SOURCE] = {"put_api_requests", "boot_source", true},
	    [METRICS_PUT_DRIVE] = {"put_api_requests", "drive", true},
	    [METRICS_PUT_LOGGER] = {"put_api_requests", "logger", true},
	    [METRICS_PUT_MACHINE_CFG] = {"put_api_requests", "machine_cfg", true},
	    [METRICS_PUT_CPU_CFG] = {"put_api_requests", "cpu_cfg", true},
	    [METRICS_PUT_METRICS] = {"put_api_requests", "metrics", true},
	    [METRICS_PUT_NETWORK] = {"put_api_requests", "network", true},
	    [METRICS_PUT_MMDS] = {"put_api_requests", "mmds", true},
	    [METRICS_PUT_VSOCK] = {"put_api_requests", "vsock", true},
	    [METRICS_PUT_SERIAL] = {"put_api_requests", "serial", true},
	    [METRICS_PATCH_DRIVE] = {"patch_api_requests", "drive", true},
	    [METRICS_PATCH_NETWORK] = {"patch_api_requests", "network", true},
	    [METRICS_PATCH_MACHINE_CFG] = {"patch_api_requests", "machine_cfg", true},
	    [METRICS_PATCH_MMDS] = {"patch_api_requests", "mmds", true},
	};
	char name[48];

	for (unsigned i = 0; i < METRICS_API_NR; i++) {
		snprintf(name, sizeof(name), "%s_count", reqs[i].name);
		fc_inc(l, reqs[i].group, name, a->count[i]);
		if (!reqs[i].fails)
			continue;
		snprintf(name, sizeof(name), "%s_fails", reqs[i].name);
		fc_inc(l, reqs[i].group, name, a->fails[i]);
	}
	fc_inc(l, "deprecated_api", "deprecated_http_api_calls", a->deprecated);
	if (a->pause_us)
		fc_store(l, "latencies_us", "pause_vm", a->pause_us);
	if (a->resume_us)
		fc_store(l, "latencies_us", "resume_vm", a->resume_us);
}

/* One virtio-blk device: its own group and its share of "block". */
static void fc_block(struct fc_line *l, const char *group, const struct virtio_dev_stats *s)
{
	fc_inc(l, group, "read_bytes", s->dev.read_bytes);
	fc_inc(l, group, "write_bytes", s->dev.write_bytes);
	fc_inc(l, group, "read_count", s->dev.reads);
	fc_inc(l, group, "write_count", s->dev.writes);
	fc_inc(l, group, "flush_count", s->dev.flushes);
	fc_inc(l, group, "invalid_reqs_count", s->dev.invalid);
	fc_inc(l, group, "queue_event_count", s->notifies);
	fc_inc(l, group, "rate_limiter_throttled_events", s->throttled[0]);
}

/* virtio-net: queue 0 receives, queue 1 transmits; one chain per frame
 * (no VIRTIO_NET_F_MRG_RXBUF), header included in the bytes. */
static void fc_net(struct fc_line *l, const char *group, const struct virtio_dev_stats *s)
{
	fc_inc(l, group, "rx_bytes_count", s->q_bytes_written[0]);
	fc_inc(l, group, "rx_packets_count", s->q_requests[0]);
	fc_inc(l, group, "tx_bytes_count", s->q_bytes_read[1]);
	fc_inc(l, group, "tx_packets_count", s->q_requests[1]);
	fc_inc(l, group, "rx_rate_limiter_throttled", s->throttled[0]);
	fc_inc(l, group, "tx_rate_limiter_throttled", s->throttled[1]);
}

/* The struct is u64 counters only. */
_Static_assert(sizeof(struct virtio_dev_stats) % sizeof(u64) == 0, "u64 counters only");

static void fc_stats_sum(struct virtio_dev_stats *sum, const struct virtio_dev_stats *s)
{
	u64 *d = (u64 *)sum;
	const u64 *a = (const u64 *)s;

	for (size_t i = 0; i < sizeof(*s) / sizeof(u64); i++)
		d[i] += a[i];
}

/* A device's group, "<kind>_<id>"; without an id the name the API's GET
 * /vm/config gives it ("<unnamed><index>": drive0, eth0). */
static void fc_device_group(char *buf, size_t len, const char *kind, const char *id,
			    const char *unnamed, unsigned index)
{
	if (id && id[0])
		snprintf(buf, len, "%s_%s", kind, id);
	else
		snprintf(buf, len, "%s_%s%u", kind, unnamed, index);
}

static void fc_devices(struct fc_line *l, struct machine *m, const struct metrics_file_in *in)
{
	struct virtio_dev_stats blk_sum = {0}, net_sum = {0};
	unsigned nr_blk = 0, nr_net = 0;
	u64 irqs = 0;
	char group[96];

	/* Slots are filled in creation order: disks, then interfaces, in the
	 * order of cfg.disks and cfg.nets (src/virtio/devices.c). */
	for (unsigned i = 0; i < m->nr_virtio_slots; i++) {
		struct virtio_mmio *vm = m->virtio_slots[i].dev;
		const char *type = vm ? virtio_mmio_name(vm) : "";
		struct virtio_dev_stats st;

		if (!vm)
			continue;
		virtio_mmio_stats(vm, &st);
		irqs += st.interrupts;
		if (!strncmp(type, "blk", 3) && nr_blk < m->cfg.nr_disks) {
			fc_device_group(group, sizeof(group), "block", m->cfg.disks[nr_blk].id,
					"drive", nr_blk);
			fc_block(l, group, &st);
			fc_stats_sum(&blk_sum, &st);
			nr_blk++;
		} else if (!strcmp(type, "net") && nr_net < CONFIG_MAX_NETS) {
			fc_device_group(group, sizeof(group), "net", in->net_ids[nr_net], "eth",
					nr_net);
			fc_net(l, group, &st);
			fc_stats_sum(&net_sum, &st);
			nr_net++;
		} else if (!strcmp(type, "rng")) {
			fc_inc(l, "entropy", "entropy_bytes", st.bytes_written);
			fc_inc(l, "entropy", "entropy_event_count", st.notifies);
			fc_inc(l, "entropy", "entropy_rate_limiter_throttled", st.throttled[0]);
		} else if (!strcmp(type, "vsock")) {
			/* Queues: 0 receive, 1 transmit, one chain per packet. */
			fc_inc(l, "vsock", "rx_packets_count", st.q_requests[0]);
			fc_inc(l, "vsock", "tx_packets_count", st.q_requests[1]);
		}
	}
	/* Firecracker counts its virtio devices' interrupts. */
	fc_inc(l, "interrupts", "triggers", irqs);
	if (nr_blk)
		fc_block(l, "block", &blk_sum);
	if (nr_net)
		fc_net(l, "net", &net_sum);
}

static void fc_machine(struct fc_line *l, struct machine *m)
{
	struct balloon_stats bs;
	u64 failures = 0;

	for (unsigned i = 0; i < m->nr_vcpus; i++)
		failures += atomic_load(&m->vcpus[i].exits[VCPU_EXIT_ERROR]);
	fc_inc(l, "vcpu", "failures", failures);
	if (m->devs) {
		const struct uart *u = &m->devs->uart0;
		u64 written = atomic_load(&u->write_count);
		fc_inc(l, "uart", "read_count", atomic_load(&u->read_count));
		fc_inc(l, "uart", "write_count", written);
		/* Every byte goes to the host with its own write(2). */
		fc_inc(l, "uart", "flush_count", written);
	}
	if (balloon_get_stats(m, &bs) == 0) {
		fc_inc(l, "balloon", "free_page_report_count", bs.reports);
		fc_inc(l, "balloon", "free_page_report_freed", bs.reported_bytes);
		fc_inc(l, "balloon", "free_page_hint_count", bs.hinted_ranges);
		fc_inc(l, "balloon", "free_page_hint_freed", bs.hinted_bytes);
	}
	/* Zero by construction: popek never unwinds from a panic, and its
	 * seccomp filter kills the process at the first violation. */
	fc_store(l, "vmm", "panic_count", 0);
	fc_store(l, "seccomp", "num_faults", 0);
	fc_inc(l, "logger", "metrics_fails", m->metrics->write_fails);
}

static int fc_write_all(int fd, const char *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

u64 metrics_period_ms(void)
{
	const char *env = getenv("POPEK_METRICS_PERIOD_MS");
	char *end;
	unsigned long long v = env ? strtoull(env, &end, 10) : 0;

	if (env && *env && !*end && v >= 100 && v <= 3600000)
		return v;
	return 60000;
}

int metrics_write(struct machine *m, const struct metrics_file_in *in, int fd)
{
	struct metrics *mt = m->metrics;
	struct fc_line l = {cJSON_CreateObject(), cJSON_CreateObject(), NULL};
	struct timespec ts;
	cJSON *own = metrics_collect(m);
	char *text = NULL;
	size_t len;
	int err = -ENOMEM;

	if (!mt) {
		cJSON_Delete(own);
		cJSON_Delete(l.doc);
		cJSON_Delete(l.totals);
		return -ENODEV;
	}
	pthread_mutex_lock(&mt->file_lock);
	l.flushed = mt->flushed;
	if (!l.doc || !l.totals || !own)
		goto out;
	clock_gettime(CLOCK_REALTIME, &ts);
	cJSON_AddNumberToObject(l.doc, "utc_timestamp_ms",
				(double)((u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000));
	if (in && in->api)
		fc_api(&l, in->api);
	fc_devices(&l, m, in ? in : &(struct metrics_file_in){0});
	fc_machine(&l, m);
	/* popek's own counters, where no Firecracker parser looks; its
	 * timestamp is the line's. */
	cJSON_DeleteItemFromObjectCaseSensitive(own, "utc_timestamp_ms");
	cJSON_AddItemToObject(l.doc, "popek", own);
	own = NULL;
	text = cJSON_PrintUnformatted(l.doc);
	if (!text)
		goto out;
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: the line goes out by length */
	err = fc_write_all(fd, text, len + 1);
	if (!err) {
		cJSON_Delete(mt->flushed);
		mt->flushed = l.totals;
		l.totals = NULL;
	}
out:
	if (err < 0)
		mt->write_fails++;
	pthread_mutex_unlock(&mt->file_lock);
	free(text);
	cJSON_Delete(own);
	cJSON_Delete(l.doc);
	cJSON_Delete(l.totals);
	return err;
}
