/* virtio-balloon free page hinting (balloon_hint.h, virtio 1.2 section
 * 5.5.6.7) and the page discard it shares with free page reporting. */
#include "virtio/balloon_hint.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "core/guest_mem.h"
#include "core/snap_codec.h"
#include "virtio/virtqueue.h"

#define HINT_PAGE 4096 /* what madvise gives back whole */

void balloon_hint_reset(struct balloon_hint *h)
{
	/* A new driver has no run: it must not start one on an id the old
	 * driver was given (Linux starts a run at probe if it reads one). */
	h->host_cmd = BALLOON_CMD_ID_STOP;
	h->guest_cmd = 0;
	h->guest_seen = false;
	h->ack_on_stop = false;
	h->tell = false;
}

void balloon_hint_begin(struct balloon_hint *h, bool ack_on_stop)
{
	u32 id = h->last_id + 1;

	if (id < BALLOON_CMD_ID_FIRST) /* wrapped round, or the first run */
		id = BALLOON_CMD_ID_FIRST;
	h->last_id = id;
	h->host_cmd = id;
	h->ack_on_stop = ack_on_stop;
}

u64 balloon_discard(const struct guest_mem *mem, const struct iovec *iov, unsigned n)
{
	u64 bytes = 0;

	for (unsigned i = 0; i < n; i++) {
		u64 p = (u64)(uintptr_t)iov[i].iov_base;
		u64 start = ALIGN_UP(p, HINT_PAGE), end = ALIGN_DOWN(p + iov[i].iov_len, HINT_PAGE);

		/* madvise would round a partial page's length up past the
		 * range: only the whole pages inside it go. */
		if (end <= start)
			continue;
		madvise((void *)(uintptr_t)start, end - start, MADV_DONTNEED);
		guest_mem_dirty_mark_host(mem, (void *)(uintptr_t)start, end - start);
		bytes += end - start;
	}
	if (bytes) /* the pages read as zeros: translated code may be stale */
		guest_mem_dma_written(mem, 0, 0);
	return bytes;
}

int balloon_hint_chain(struct balloon_hint *h, const struct guest_mem *mem,
		       const struct virtq_elem *e, const char **why)
{
	bool in_run =
	    h->guest_seen && h->guest_cmd >= BALLOON_CMD_ID_FIRST && h->guest_cmd == h->host_cmd;
	int changed = 0;

	if (e->nr_out) {
		u32 cmd;

		if (e->out_len != sizeof(cmd)) {
			*why = "balloon hint command id is not 4 bytes";
			return -EINVAL;
		}
		iov_to_buf(e->out, e->nr_out, 0, &cmd, sizeof(cmd));
		/* The driver's STOP ends the run it was in; acknowledged, the
		 * driver may use its hinted pages again (DONE). A STOP ending
		 * an older run leaves a newer one alone. */
		if (cmd == BALLOON_CMD_ID_STOP && in_run && h->ack_on_stop) {
			h->host_cmd = BALLOON_CMD_ID_DONE;
			changed = 1;
		}
		h->guest_cmd = cmd;
		h->guest_seen = true;
		in_run = cmd >= BALLOON_CMD_ID_FIRST && cmd == h->host_cmd;
	}
	/* The driver keeps the pages it hinted until DONE (Linux holds them
	 * allocated), unless it needs them back first, which the spec allows
	 * (5.5.6.7.1) and the device cannot see: see docs/api.md. */
	if (e->nr_in && in_run) {
		u64 bytes = balloon_discard(mem, e->in, e->nr_in);

		h->ranges += e->nr_in;
		h->bytes += bytes;
	}
	return changed;
}

void balloon_hint_save(const struct balloon_hint *h, struct snap_out *o)
{
	snap_put_u32(o, h->host_cmd);
	snap_put_u32(o, h->last_id);
	snap_put_u32(o, h->guest_cmd);
	snap_put_bool(o, h->guest_seen);
	snap_put_bool(o, h->ack_on_stop);
}

int balloon_hint_load(struct balloon_hint *out, struct snap_in *in)
{
	u32 host_cmd = snap_get_u32(in), last_id = snap_get_u32(in), guest_cmd = snap_get_u32(in);
	bool seen = snap_get_bool(in), ack = snap_get_bool(in);

	if (in->bad)
		return -EINVAL;
	if (last_id == BALLOON_CMD_ID_DONE)
		return snap_reject(in, "hinting run id %u is reserved", last_id);
	/* A run's id is the last one begun. */
	if (host_cmd >= BALLOON_CMD_ID_FIRST && host_cmd != last_id)
		return snap_reject(in, "hinting command id %u is not the last run's %u", host_cmd,
				   last_id);
	if (!seen && guest_cmd)
		return snap_reject(in, "driver's hinting command id %u without one seen",
				   guest_cmd);
	out->host_cmd = BALLOON_CMD_ID_DONE;
	out->last_id = last_id;
	out->guest_cmd = guest_cmd;
	out->guest_seen = seen;
	out->ack_on_stop = ack;
	out->tell = true;
	return 0;
}
