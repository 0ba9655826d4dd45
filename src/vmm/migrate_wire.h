/* Live migration's stream (issue 12): addresses, connections and frames.
 *
 * The source connects and sends a stream header ("POPEKMIG", version), then
 * frames, each a struct mig_frame and len bytes of payload:
 *   HELLO  the machine section as a state file (snapshot.h): the
 *          destination builds the same machine, RAM empty;
 *   PAGES  u64 first RAM page (memory-file order), u64 count, count pages;
 *          sent again whenever the guest wrote a page since;
 *   STATE  u32 flags (MIG_START_PAUSED), then the whole state file, taken
 *          with the guest stopped after the last pages: the end.
 * The destination answers one DONE frame: u32 status (0: running, else
 * -errno) and a one-line reason. Every length is checked against its
 * frame's bound before anything is read into memory. */
#ifndef POPEK_MIGRATE_WIRE_H
#define POPEK_MIGRATE_WIRE_H

#include <stddef.h>

#include "popek/types.h"

#define MIG_MAGIC   0x47494d4b45504f50ULL /* "POPEKMIG" */
#define MIG_VERSION 1

enum mig_type { MIG_HELLO = 1, MIG_PAGES = 2, MIG_STATE = 3, MIG_DONE = 4 };

#define MIG_START_PAUSED 1u  /* STATE flags: the source was paused */
#define MIG_BATCH_PAGES  256 /* pages per PAGES frame at most */
#define MIG_DONE_MAX     512 /* DONE's reason */

struct mig_frame {
	u32 type; /* enum mig_type */
	u32 reserved;
	u64 len; /* payload bytes */
};

/* The source's side: connects to "unix:PATH" or "tcp:HOST:PORT". Returns
 * the socket or -errno with one line in why. */
int mig_connect(const char *to, char *why, size_t why_len);
/* The destination's: listens on "unix:PATH" or "tcp:[HOST:]PORT" (HOST
 * defaults to 127.0.0.1) and returns the listening socket, or -errno after
 * logging one line. */
int mig_listen(const char *at);
/* Waits for the source on a listening socket; returns the connection. */
int mig_accept(int lfd, const char *at);

int mig_send_all(int fd, const void *buf, size_t len);
int mig_recv_all(int fd, void *buf, size_t len);
/* A frame whose payload is head (head_len bytes) then body (body_len). */
int mig_send_frame(int fd, u32 type, const void *head, size_t head_len, const void *body,
		   size_t body_len);
/* The next frame's header; -EPROTO when its type is unknown or its length
 * over max for that type (bounds: mig_frame_max). */
int mig_recv_header(int fd, struct mig_frame *f);
/* Whether a PAGES frame of len bytes whose head says {first, count} fits
 * a RAM of npages pages. */
bool mig_pages_valid(const u64 head[2], u64 len, u64 npages);
/* The largest payload a frame of type may have. */
u64 mig_frame_max(u32 type);

/* The stream header, first thing sent; recv: -EPROTO when it is not ours. */
int mig_send_greeting(int fd);
int mig_recv_greeting(int fd);

#endif
