/* virtio-balloon free page hinting (virtio 1.2 section 5.5.6.7): the
 * command ids the device and the driver exchange and what the device does
 * with the pages hinted, as state the balloon (balloon.c) owns and changes
 * with its device lock held; also the discard of free page ranges that
 * hinting shares with free page reporting (5.5.6.8). No transport here: the
 * caller raises the interrupts the results ask for. */
#ifndef POPEK_VIRTIO_BALLOON_HINT_H
#define POPEK_VIRTIO_BALLOON_HINT_H

#include <sys/uio.h>

#include "popek/types.h"

struct guest_mem;
struct snap_in;
struct snap_out;
struct virtq_elem;

/* Reserved command ids (5.5.6.7); a run's ids start at 2. */
#define BALLOON_CMD_ID_STOP  0
#define BALLOON_CMD_ID_DONE  1
#define BALLOON_CMD_ID_FIRST 2

struct balloon_hint {
	u32 host_cmd;     /* free_page_hint_cmd_id (5.5.4), as the driver reads it */
	u32 last_id;      /* the id of the last run started; 0: none yet */
	u32 guest_cmd;    /* the last command id the driver sent */
	bool guest_seen;  /* guest_cmd holds one */
	bool ack_on_stop; /* the driver's STOP ending this run sets DONE */
	bool tell;        /* restored: raise a config change once the driver runs */
	u64 ranges;       /* hinted ranges discarded (from creation) */
	u64 bytes;        /* bytes they gave back to the host */
};

/* The state of a device just reset: host_cmd STOP, nothing from the driver
 * (the counters and last_id stay). */
void balloon_hint_reset(struct balloon_hint *h);

/* Starts a run with a new id (never 0 or 1, never the last one, 5.5.6.7.2);
 * ack_on_stop: the driver's STOP for it sets DONE by itself. The caller
 * raises the config-change interrupt. */
void balloon_hint_begin(struct balloon_hint *h, bool ack_on_stop);

/* One chain of the free page queue. A readable part is a command id (4
 * bytes: STOP ends the run it names); writable parts are free page ranges,
 * discarded only while the id the driver last sent is the host's current
 * run (5.5.6.7.2: pages sent under another id are ignored; after DONE none
 * is touched). Returns 1 when host_cmd changed (a STOP acknowledged with
 * DONE: raise the config change), 0, or -EINVAL with *why for a command id
 * that is not 4 bytes. */
int balloon_hint_chain(struct balloon_hint *h, const struct guest_mem *mem,
		       const struct virtq_elem *e, const char **why);

/* Gives the whole 4 KiB pages inside iov[0..n) (host pointers into RAM, as
 * virtq_pop checked them) back to the host with MADV_DONTNEED: they read as
 * zeros afterwards, so the dirty log and the translator hear of them.
 * Returns the bytes discarded. */
u64 balloon_discard(const struct guest_mem *mem, const struct iovec *iov, unsigned n);

/* Snapshot: u32 host_cmd, u32 last_id, u32 guest_cmd, bool guest_seen, bool
 * ack_on_stop. load checks the ids and fills *out (the state as restored:
 * host_cmd DONE, so that the driver lets go of the pages it holds, as
 * Firecracker restores it, and tell set); it returns -EINVAL through
 * snap_reject and leaves *out alone when a value is impossible. */
void balloon_hint_save(const struct balloon_hint *h, struct snap_out *o);
int balloon_hint_load(struct balloon_hint *out, struct snap_in *in);

#endif
