/* virtio-balloon device (virtio 1.2 section 5.5): inflate/deflate queues of
 * 4 KiB page frame numbers, the memory statistics queue (polled on a timer),
 * the free page hinting queue (runs started from the API; balloon_hint.c)
 * and the free page reporting queue, served on the machine's event loop
 * thread. */
#include "virtio/balloon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/machine.h"
#include "core/snap_codec.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/balloon_hint.h"
#include "virtio/virtio.h"

#define VIRTIO_ID_BALLOON               5
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5
#define BALLOON_INFLATEQ                0
#define BALLOON_DEFLATEQ                1

#define BALLOON_NO_QUEUE    0xff
#define BALLOON_QUEUE_MAX   128
#define BALLOON_PAGE        4096 /* VIRTIO_BALLOON_PFN_SHIFT 12, whatever the guest's page size */
#define BALLOON_MAX_REQUEST (64 * KiB) /* 16384 PFNs; Linux sends 256 at most */
#define BALLOON_MAX_STATS   64         /* entries read from one report */

struct balloon_stat_entry { /* struct virtio_balloon_stat (5.5.6.3) */
	u16 tag;
	u64 val;
} __attribute__((packed));

struct virtio_balloon {
	struct machine *m;
	struct virtio_mmio *vm;
	struct event_loop *loop;
	struct virtio_dev_ops ops; /* balloon_ops with this device's features and queues */
	int kick_fd, timer_fd;
	bool loop_added; /* both fds are on the event loop */

	/* Under the device lock. */
	bool active;
	u8 statsq, hintq, reportq; /* queue index by the features accepted, or BALLOON_NO_QUEUE */
	u32 num_pages, actual;     /* struct virtio_balloon_config (5.5.4) */
	u32 stats_interval_s;      /* 0: no statistics queue (fixed at creation) */
	bool rearm;                /* the loop sets the timer to stats_interval_s */
	bool stats_held;           /* the driver's stats buffer waits for a request */
	u16 stats_head;
	struct balloon_stats stats;
	struct balloon_hint hint;          /* free_page_hint_cmd_id and the runs (5.5.6.7) */
	struct virtq_elem elem;            /* loop thread, or poll_stats, both with the lock */
	u32 pfns[BALLOON_MAX_REQUEST / 4]; /* the request being served (loop thread) */
};

static bool balloon_hinting(const struct virtio_balloon *b)
{
	return b->ops.features >> VIRTIO_BALLOON_F_FREE_PAGE_HINT & 1;
}

/* ---- transport callbacks (vCPU thread, device lock held) ----------------- */

static void balloon_kick(struct virtio_balloon *b)
{
	u64 one = 1;

	if (write(b->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the loop will run */
	}
}

/* struct virtio_balloon_config (5.5.4): num_pages, actual,
 * free_page_hint_cmd_id, poison_val (not offered: reads 0); config_size
 * shows only the first two without hinting. */
static void balloon_config_read(void *opaque, u32 offset, void *buf, u32 len)
{
	struct virtio_balloon *b = opaque;
	u32 cfg[4] = {b->num_pages, b->actual, b->hint.host_cmd, 0};

	memset(buf, 0, len);
	if (offset < sizeof(cfg))
		memcpy(buf, (u8 *)cfg + offset, MIN(len, sizeof(cfg) - offset));
}

static void balloon_config_write(void *opaque, u32 offset, const void *buf, u32 len)
{
	struct virtio_balloon *b = opaque;
	u32 cfg[2] = {b->num_pages, b->actual};

	/* Only actual is the driver's to write (5.5.4; free_page_hint_cmd_id
	 * is read-only, poison_val comes with PAGE_POISON, not offered). */
	if (offset < 4 || offset >= sizeof(cfg))
		return;
	memcpy((u8 *)cfg + offset, buf, MIN(len, sizeof(cfg) - offset));
	b->actual = cfg[1];
}

static int balloon_activate(void *opaque, u64 features)
{
	struct virtio_balloon *b = opaque;
	u8 next = BALLOON_DEFLATEQ + 1;

	/* 5.5.2: statsq, free_page_vq and reporting_vq exist only with their
	 * feature, and the queues that exist are numbered one after another
	 * (Linux's virtio-mmio find_vqs skips the absent ones). */
	b->statsq = features >> VIRTIO_BALLOON_F_STATS_VQ & 1 ? next++ : BALLOON_NO_QUEUE;
	b->hintq = features >> VIRTIO_BALLOON_F_FREE_PAGE_HINT & 1 ? next++ : BALLOON_NO_QUEUE;
	b->reportq = features >> VIRTIO_BALLOON_F_PAGE_REPORTING & 1 ? next : BALLOON_NO_QUEUE;
	b->active = true;
	b->rearm = true;    /* the polling timer starts with the driver */
	if (b->hint.tell) { /* restored: the driver learns of the DONE */
		b->hint.tell = false;
		virtio_mmio_signal_config(b->vm);
	}
	balloon_kick(b);
	return 0;
}

static void balloon_notify(void *opaque, unsigned q)
{
	(void)q;
	balloon_kick(opaque);
}

static void balloon_reset(void *opaque)
{
	struct virtio_balloon *b = opaque;

	b->active = false;
	b->stats_held = false;
	b->statsq = b->hintq = b->reportq = BALLOON_NO_QUEUE;
	b->actual = 0; /* a new driver starts with an empty balloon */
	balloon_hint_reset(&b->hint);
}

/* Saved state: u32 num_pages, u32 actual (5.5.4), u32 the statistics
 * polling interval in seconds (0 with no statistics queue; PATCH may have
 * changed it), bool the driver's statistics buffer is held, u16 its head,
 * u32 which statistics the guest reported (bit per tag) and u64 each of the
 * BALLOON_NR_STATS values. The held buffer stays held: the driver waits for
 * the request it stands for. Free page reports need nothing: each is
 * answered before the loop lets go of the device lock, so none is in
 * flight. The queue numbers follow from the features (activate). A device
 * offering free page hinting then has its run's state (balloon_hint_save);
 * one without has nothing more, so that its section is the same as before
 * hinting existed. */
static int balloon_save(void *opaque, struct snap_out *o)
{
	struct virtio_balloon *b = opaque;

	snap_put_u32(o, b->num_pages);
	snap_put_u32(o, b->actual);
	snap_put_u32(o, b->stats_interval_s);
	snap_put_bool(o, b->stats_held);
	snap_put_u16(o, b->stats_head);
	snap_put_u32(o, b->stats.valid);
	for (unsigned i = 0; i < BALLOON_NR_STATS; i++)
		snap_put_u64(o, b->stats.val[i]);
	if (balloon_hinting(b))
		balloon_hint_save(&b->hint, o);
	return 0;
}

static int balloon_load(void *opaque, struct snap_in *in)
{
	struct virtio_balloon *b = opaque;
	u64 pages_max = b->m->mem.ram_size / BALLOON_PAGE, val[BALLOON_NR_STATS];
	u32 num_pages = snap_get_u32(in), actual = snap_get_u32(in), valid;
	u32 interval = snap_get_u32(in);
	bool held = snap_get_bool(in);
	u16 head = snap_get_u16(in);
	struct balloon_hint hint = b->hint;

	valid = snap_get_u32(in);
	for (unsigned i = 0; i < BALLOON_NR_STATS; i++)
		val[i] = snap_get_u64(in);
	if (balloon_hinting(b) && balloon_hint_load(&hint, in) < 0)
		return -EINVAL;
	if (snap_in_end(in) < 0)
		return -EINVAL;
	if (num_pages > pages_max)
		return snap_reject(in, "target of %u pages is more than the guest's %llu",
				   num_pages, (unsigned long long)pages_max);
	if (!interval != !b->stats_interval_s || interval > BALLOON_STATS_INTERVAL_MAX)
		return snap_reject(in, "statistics interval %u s where this device's is %u s",
				   interval, b->stats_interval_s);
	if (held && (head >= BALLOON_QUEUE_MAX || !interval))
		return snap_reject(in, "statistics buffer %u is out of range", head);
	if (valid >> BALLOON_NR_STATS)
		return snap_reject(in, "statistics mask %#x has unknown tags", valid);
	b->num_pages = num_pages;
	b->actual = actual;
	b->stats_interval_s = interval;
	b->stats_held = held;
	b->stats_head = head;
	b->stats.valid = valid;
	memcpy(b->stats.val, val, sizeof(val));
	b->stats.updated_ms = valid ? clock_now_ms() : 0; /* as of the snapshot */
	b->hint = hint;
	return 0;
}

static const struct virtio_dev_ops balloon_ops = {
    .name = "balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .queue_max = BALLOON_QUEUE_MAX,
    .config_size = 8,
    .config_read = balloon_config_read,
    .config_write = balloon_config_write,
    .activate = balloon_activate,
    .notify = balloon_notify,
    .reset = balloon_reset,
    .save = balloon_save,
    .load = balloon_load,
};

/* ---- queues (loop thread, device lock held) ------------------------------ */
/* One inflate or deflate request: an array of le32 PFNs (5.5.6). The list is
 * copied once (the guest may change it while we look) and checked whole
 * before any page goes back to the host, so that a refused request has no
 * effect. Inflated pages go back in runs of adjacent pages, one madvise each. */
static const char *balloon_pages(struct virtio_balloon *b, bool inflate)
{
	const struct guest_mem *mem = virtio_mmio_mem(b->vm);
	const struct virtq_elem *e = &b->elem;
	size_t n = e->out_len / 4, run_len = 0;
	u8 *run = NULL;

	if (e->out_len % 4)
		return "balloon request not a whole number of page frame numbers";
	if (e->out_len > BALLOON_MAX_REQUEST)
		return "balloon request over 64 KiB"; /* bounds the time under the lock */
	iov_to_buf(e->out, e->nr_out, 0, b->pfns, e->out_len);
	/* RAM or the hot-plug area; a pmem file's pages are not the guest's to give. */
	for (size_t i = 0; i < n; i++) {
		gpa_t gpa = (gpa_t)b->pfns[i] * BALLOON_PAGE;
		u32 flags;

		if (!guest_mem_ptr_flags(mem, gpa, BALLOON_PAGE, &flags) ||
		    (flags & GUEST_MEM_FILE))
			return "balloon page frame number outside RAM";
	}
	for (size_t i = 0; inflate && i < n; i++) {
		u8 *p = guest_mem_ptr(mem, (gpa_t)b->pfns[i] * BALLOON_PAGE, BALLOON_PAGE);

		if (run && p == run + run_len) {
			run_len += BALLOON_PAGE;
			continue;
		}
		if (run)
			madvise(run, run_len, MADV_DONTNEED);
		run = p;
		run_len = BALLOON_PAGE;
	}
	if (run)
		madvise(run, run_len, MADV_DONTNEED);
	if (inflate && n) { /* the pages read as zeros from now on */
		guest_mem_dma_written(mem, 0, 0);
		for (size_t i = 0; mem->dirty && i < n; i++)
			guest_mem_dirty_mark(mem, (gpa_t)b->pfns[i] * BALLOON_PAGE, BALLOON_PAGE);
	}
	if (inflate)
		b->stats.inflated_pages += n;
	else
		b->stats.deflated_pages += n;
	return NULL;
}

/* The driver's statistics buffer (5.5.6.3): read it and keep it until the
 * next request. */
static void balloon_stats_take(struct virtio_balloon *b)
{
	const struct virtq_elem *e = &b->elem;
	u64 len = MIN(e->out_len, BALLOON_MAX_STATS * sizeof(struct balloon_stat_entry));
	for (u64 off = 0; off + sizeof(struct balloon_stat_entry) <= len;
	     off += sizeof(struct balloon_stat_entry)) {
		struct balloon_stat_entry s;

		iov_to_buf(e->out, e->nr_out, off, &s, sizeof(s));
		if (s.tag < BALLOON_NR_STATS) {
			b->stats.val[s.tag] = s.val;
			b->stats.valid |= 1u << s.tag;
		}
	}
	b->stats.updated_ms = clock_now_ms();
	b->stats_held = true;
	b->stats_head = e->head;
}

/* One free page report (5.5.6.8): a chain of page ranges the guest leaves
 * alone until the buffer is used, whatever their direction (Linux makes
 * them device-writable). Each segment lies in RAM (virtq_pop checked it);
 * its whole 4 KiB pages go back to the host (balloon_discard). */
static void balloon_report(struct virtio_balloon *b)
{
	const struct virtq_elem *e = &b->elem;
	u64 bytes = balloon_discard(virtio_mmio_mem(b->vm), e->iov, e->nr_out + e->nr_in);

	b->stats.reports++;
	b->stats.reported_bytes += bytes;
}

/* Serves queue q. Returns false when the device had to stop. */
static bool balloon_queue(struct virtio_balloon *b, unsigned q)
{
	const struct guest_mem *mem = virtio_mmio_mem(b->vm);
	struct virtq *vq = virtio_mmio_queue(b->vm, q);
	bool pushed = false;
	const char *why = NULL;
	int r;

	bool tell = false;

	if (q != BALLOON_INFLATEQ && q != BALLOON_DEFLATEQ && q != b->statsq && q != b->hintq &&
	    q != b->reportq)
		return true; /* no such queue with the features accepted: never looked at */
	while ((r = virtq_pop(vq, mem, &b->elem, &why)) > 0) {
		if (q == b->hintq) {
			r = balloon_hint_chain(&b->hint, mem, &b->elem, &why);
			if (r < 0)
				break;
			tell |= r;
			virtq_push(vq, mem, b->elem.head, 0);
			pushed = true;
			continue;
		}
		if (q == b->reportq) {
			balloon_report(b);
			virtq_push(vq, mem, b->elem.head, 0);
			pushed = true;
			continue;
		}
		if (b->elem.nr_in) { /* the other queues carry driver-readable buffers (5.5.6) */
			why = "balloon buffer is device-writable";
			r = -EINVAL;
			break;
		}
		if (q == b->statsq) {
			if (b->stats_held) { /* a second buffer: give the first back */
				virtq_push(vq, mem, b->stats_head, 0);
				pushed = true;
			}
			balloon_stats_take(b);
			continue;
		}
		why = balloon_pages(b, q == BALLOON_INFLATEQ);
		if (why) {
			r = -EINVAL;
			break;
		}
		virtq_push(vq, mem, b->elem.head, 0);
		pushed = true;
	}
	if (r < 0) {
		virtio_mmio_needs_reset(b->vm, why);
		return false;
	}
	if (pushed)
		virtio_mmio_signal_used(b->vm, q);
	if (tell) /* DONE: the driver may use its hinted pages again */
		virtio_mmio_signal_config(b->vm);
	return true;
}

/* Gives the driver its statistics buffer back: that is the request for new
 * statistics (5.5.6.3). Device lock held. */
static void balloon_request_stats(struct virtio_balloon *b)
{
	if (!b->active || !b->stats_held || b->statsq == BALLOON_NO_QUEUE ||
	    virtio_mmio_quiesced(b->vm))
		return;
	virtq_push(virtio_mmio_queue(b->vm, b->statsq), virtio_mmio_mem(b->vm), b->stats_head, 0);
	virtio_mmio_signal_used(b->vm, b->statsq);
	b->stats_held = false;
}

/* The polling timer follows stats_interval_s (loop thread, lock held). */
static void balloon_arm(struct virtio_balloon *b)
{
	struct itimerspec its = {{b->stats_interval_s, 0}, {b->stats_interval_s, 0}};

	b->rearm = false;
	if (b->timer_fd >= 0 && b->stats_interval_s &&
	    timerfd_settime(b->timer_fd, 0, &its, NULL) < 0)
		log_warn("balloon: cannot set the statistics timer: %s", strerror(errno));
}

static void balloon_on_kick(void *opaque, int fd, u32 events)
{
	struct virtio_balloon *b = opaque;
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up */
	}
	virtio_mmio_lock(b->vm);
	if (b->rearm)
		balloon_arm(b);
	for (unsigned q = 0; q < b->ops.nr_queues && b->active; q++)
		if (!balloon_queue(b, q))
			break;
	virtio_mmio_unlock(b->vm);
}

static void balloon_on_timer(void *opaque, int fd, u32 events)
{
	struct virtio_balloon *b = opaque;
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* not expired after all */
	}
	virtio_mmio_lock(b->vm);
	balloon_request_stats(b);
	virtio_mmio_unlock(b->vm);
}

/* ---- host side -------------------------------------------------------------- */

static int balloon_check_target(struct virtio_balloon *b, u64 bytes, u32 *pages)
{
	u64 ram = b->m->mem.ram_size;

	if (bytes > ram) {
		log_error("balloon target %llu KiB is more than the guest's %llu KiB of RAM",
			  (unsigned long long)(bytes / KiB), (unsigned long long)(ram / KiB));
		return -EINVAL;
	}
	*pages = (u32)(bytes / BALLOON_PAGE); /* RAM is far below 16 TiB */
	return 0;
}

int virtio_balloon_set_target(struct virtio_balloon *b, u64 bytes)
{
	u32 pages;
	int err = balloon_check_target(b, bytes, &pages);

	if (err < 0)
		return err;
	virtio_mmio_lock(b->vm);
	if (b->num_pages != pages) {
		b->num_pages = pages;
		if (b->active)
			virtio_mmio_signal_config(b->vm); /* 5.5.6: the driver rereads num_pages */
	}
	virtio_mmio_unlock(b->vm);
	return 0;
}

void virtio_balloon_get_stats(struct virtio_balloon *b, struct balloon_stats *out)
{
	virtio_mmio_lock(b->vm);
	*out = b->stats;
	out->target_bytes = (u64)b->num_pages * BALLOON_PAGE;
	out->actual_bytes = (u64)b->actual * BALLOON_PAGE;
	out->hinted_ranges = b->hint.ranges;
	out->hinted_bytes = b->hint.bytes;
	virtio_mmio_unlock(b->vm);
}

void virtio_balloon_poll_stats(struct virtio_balloon *b)
{
	virtio_mmio_lock(b->vm);
	balloon_request_stats(b);
	virtio_mmio_unlock(b->vm);
}

void virtio_balloon_get_config(struct virtio_balloon *b, struct balloon_config *out)
{
	virtio_mmio_lock(b->vm);
	out->target_bytes = (u64)b->num_pages * BALLOON_PAGE;
	out->stats_interval_s = b->stats_interval_s;
	out->deflate_on_oom = b->ops.features >> VIRTIO_BALLOON_F_DEFLATE_ON_OOM & 1;
	out->page_reporting = b->ops.features >> VIRTIO_BALLOON_F_PAGE_REPORTING & 1;
	out->page_hinting = balloon_hinting(b);
	virtio_mmio_unlock(b->vm);
}

/* A new free_page_hint_cmd_id: the driver rereads it on the config change
 * (5.5.6.7). Device lock held. */
static int balloon_hint_set(struct virtio_balloon *b, bool start, bool ack_on_stop)
{
	if (!balloon_hinting(b))
		return -EOPNOTSUPP;
	if (!b->active)
		return -EAGAIN; /* no driver to tell (Firecracker refuses it too) */
	if (start)
		balloon_hint_begin(&b->hint, ack_on_stop);
	else
		b->hint.host_cmd = BALLOON_CMD_ID_DONE;
	virtio_mmio_signal_config(b->vm);
	return 0;
}

int virtio_balloon_hint_start(struct virtio_balloon *b, bool ack_on_stop)
{
	int err;

	virtio_mmio_lock(b->vm);
	err = balloon_hint_set(b, true, ack_on_stop);
	virtio_mmio_unlock(b->vm);
	return err;
}

int virtio_balloon_hint_stop(struct virtio_balloon *b)
{
	int err;

	virtio_mmio_lock(b->vm);
	err = balloon_hint_set(b, false, false);
	virtio_mmio_unlock(b->vm);
	return err;
}

int virtio_balloon_hint_status(struct virtio_balloon *b, struct balloon_hint_status *out)
{
	int err = 0;

	virtio_mmio_lock(b->vm);
	if (!balloon_hinting(b)) {
		err = -EOPNOTSUPP;
	} else {
		out->host_cmd = b->hint.host_cmd;
		out->guest_cmd = b->hint.guest_cmd;
		out->guest_seen = b->hint.guest_seen;
	}
	virtio_mmio_unlock(b->vm);
	return err;
}

int virtio_balloon_set_stats_interval(struct virtio_balloon *b, u32 interval_s)
{
	int err = 0;

	if (interval_s > BALLOON_STATS_INTERVAL_MAX)
		return -EINVAL;
	virtio_mmio_lock(b->vm);
	if (!interval_s != !b->stats_interval_s) {
		err = -EPERM;
	} else if (interval_s != b->stats_interval_s) {
		/* The first request at once, then every interval_s (on the
		 * loop thread, which owns the timer). */
		b->stats_interval_s = interval_s;
		balloon_request_stats(b);
		b->rearm = true;
		balloon_kick(b);
	}
	virtio_mmio_unlock(b->vm);
	return err;
}

int virtio_balloon_create(struct machine *m, const struct balloon_config *cfg,
			  struct virtio_balloon **out)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->m = m;
	b->loop = &m->loop;
	b->kick_fd = b->timer_fd = -1;
	b->statsq = b->hintq = b->reportq = BALLOON_NO_QUEUE;
	err = balloon_check_target(b, cfg->target_bytes, &b->num_pages);
	if (!err && cfg->stats_interval_s > BALLOON_STATS_INTERVAL_MAX) {
		log_error("--balloon: statistics interval %u s is over %u s", cfg->stats_interval_s,
			  BALLOON_STATS_INTERVAL_MAX);
		err = -EINVAL;
	}
	if (err < 0) {
		free(b);
		return err;
	}
	b->stats_interval_s = cfg->stats_interval_s;
	b->ops = balloon_ops;
	b->ops.nr_queues = 2 + !!cfg->stats_interval_s + cfg->page_hinting + cfg->page_reporting;
	b->ops.features = (u64) !!cfg->stats_interval_s << VIRTIO_BALLOON_F_STATS_VQ |
			  (u64)cfg->deflate_on_oom << VIRTIO_BALLOON_F_DEFLATE_ON_OOM |
			  (u64)cfg->page_hinting << VIRTIO_BALLOON_F_FREE_PAGE_HINT |
			  (u64)cfg->page_reporting << VIRTIO_BALLOON_F_PAGE_REPORTING;
	if (cfg->page_hinting) /* free_page_hint_cmd_id and poison_val (5.5.4) */
		b->ops.config_size = 16;
	b->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->kick_fd < 0 || b->timer_fd < 0) {
		err = -errno;
		log_error("--balloon: cannot create an eventfd or a timer: %s", strerror(-err));
		goto fail;
	}
	err = virtio_mmio_create(m, &b->ops, b, &b->vm);
	if (err < 0) {
		log_error("--balloon: cannot add the device: %s", strerror(-err));
		goto fail;
	}
	err = event_loop_add(b->loop, b->kick_fd, balloon_on_kick, b);
	if (!err) {
		err = event_loop_add(b->loop, b->timer_fd, balloon_on_timer, b);
		if (err < 0)
			event_loop_remove(b->loop, b->kick_fd);
	}
	if (err < 0) {
		log_error("--balloon: cannot add to the event loop: %s", strerror(-err));
		goto fail;
	}
	b->loop_added = true;
	*out = b;
	return 0;
fail:
	virtio_balloon_destroy(b);
	return err;
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
	if (!b)
		return;
	if (b->loop_added) {
		event_loop_remove(b->loop, b->kick_fd);
		event_loop_remove(b->loop, b->timer_fd);
	}
	if (b->kick_fd >= 0)
		close(b->kick_fd);
	if (b->timer_fd >= 0)
		close(b->timer_fd);
	if (b->vm)
		virtio_mmio_destroy(b->vm);
	free(b);
}
