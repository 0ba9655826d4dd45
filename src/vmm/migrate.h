/* Live migration (issue 12): a running VM sent to another popek process,
 * which continues it (migrate_wire.h has the stream). */
#ifndef POPEK_MIGRATE_H
#define POPEK_MIGRATE_H

#include <stddef.h>

#include "core/machine.h"

/* The source (the API thread, PUT /migrate): sends m to "unix:PATH" or
 * "tcp:HOST:PORT" while it runs, then stops it for the last pages and its
 * state once they would go within max_downtime_ms (MIGRATE_DOWNTIME_MS by
 * default; 0: only when the guest wrote nothing, or when pre-copy stops
 * converging). Returns 0 once the destination runs the VM (the caller then stops
 * this one), or -errno with one line in why, the VM running here again (or
 * still paused, if it was). Downtime and totals go to the log and the
 * metrics. */
#define MIGRATE_DOWNTIME_MS 30
int machine_migrate(struct machine *m, const char *to, unsigned max_downtime_ms, char *why,
		    size_t why_len);

/* The destination (popek run --incoming AT): waits for a source on AT,
 * builds the machine it describes, takes its pages and state. Returns 0 with
 * the machine in *out, ready to run, and the connection in *conn, or -errno
 * after one error line (the source, if connected, is told why). */
int migrate_incoming(const struct vm_config *cfg, struct machine **out, int *conn);
/* The destination's stream after the HELLO frame (migrate_incoming's
 * loop, exposed for tests/fuzz/fuzz_migrate_stream.c): PAGES frames into
 * m's RAM until the STATE frame, whose state file is loaded into m (built
 * by machine_create_incoming from cfg, the HELLO's configuration). fd is
 * untrusted: every frame is checked before it is read. Returns 0 once the
 * state is loaded, or -errno (-EPROTO: not a stream of ours; -ECONNRESET:
 * the stream ended early), the other errors logged; m may then hold some
 * pages and part of the state. */
int migrate_recv_stream(int fd, struct machine *m, const struct vm_config *cfg);
/* Tells the source the outcome (err 0: the VM runs here; else the reason)
 * and closes conn. */
void migrate_incoming_done(int conn, int err, const char *reason);

#endif
