/* Live migration, the destination (issue 12): the machine built from the
 * source's machine section, its RAM filled page run by page run, its state
 * loaded at the end. The stream is untrusted input: every frame's type and
 * length, and every page run's place in RAM, is checked before it is read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "popek/log.h"
#include "virtio/devices.h"
#include "vmm/migrate.h"
#include "vmm/migrate_wire.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

/* The next len bytes, malloc'ed in *buf (NULL on failure). len is bounded
 * by its frame's type (mig_recv_header). */
static int recv_alloc(int fd, u64 len, u8 **buf)
{
	int err;

	*buf = malloc(len ? len : 1);
	if (!*buf)
		return -ENOMEM;
	err = mig_recv_all(fd, *buf, len);
	if (err < 0) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

/* The next frame, which must be of type want, its payload malloc'ed. */
static int recv_payload(int fd, u32 want, u8 **buf, size_t *len)
{
	struct mig_frame f;
	int err = mig_recv_header(fd, &f);

	*buf = NULL;
	if (!err && f.type != want)
		err = -EPROTO;
	if (err < 0)
		return err;
	*len = f.len;
	return recv_alloc(fd, f.len, buf);
}

/* A PAGES frame's payload (len bytes) straight into RAM. */
static int recv_pages(int fd, struct machine *m, u64 len, u64 *received)
{
	u64 head[2], npages = m->mem.map_size / 4096;
	int err;

	if (len < sizeof(head))
		return -EPROTO;
	err = mig_recv_all(fd, head, sizeof(head));
	if (err < 0)
		return err;
	if (!mig_pages_valid(head, len, npages)) {
		log_error("migration: a page run outside RAM (page %llu, %llu pages)",
			  (unsigned long long)head[0], (unsigned long long)head[1]);
		return -EPROTO;
	}
	*received += head[1];
	return mig_recv_all(fd, m->mem.base + head[0] * 4096, head[1] * 4096);
}

/* The STATE frame's payload (len bytes): loads it into m. */
static int recv_state(int fd, struct machine *m, const struct vm_config *cfg, u64 len)
{
	struct snapshot_restore *r = NULL;
	struct vm_config scfg = *cfg;
	u32 flags;
	u8 *buf;
	int err;

	if (len < sizeof(flags))
		return -EPROTO;
	err = mig_recv_all(fd, &flags, sizeof(flags));
	if (err < 0)
		return err;
	if (flags & ~MIG_START_PAUSED) /* a newer source's: not understood */
		return -EPROTO;
	len -= sizeof(flags);
	err = recv_alloc(fd, len, &buf);
	if (err < 0)
		return err;
	err = snapshot_restore_take("migration", buf, len, &scfg, &r);
	if (!err && (scfg.mem_size != cfg->mem_size || scfg.nr_cpus != cfg->nr_cpus)) {
		log_error("migration: the final state is another machine than the first one "
			  "(%llu MiB and %u vCPUs, then %llu MiB and %u)",
			  (unsigned long long)(cfg->mem_size / MiB), cfg->nr_cpus,
			  (unsigned long long)(scfg.mem_size / MiB), scfg.nr_cpus);
		err = -EPROTO;
	}
	if (!err)
		err = virtio_devices_claim_disks(m); /* the source let go of them */
	if (!err)
		err = snapshot_restore_apply(m, r);
	if (!err && (flags & MIG_START_PAUSED))
		err = machine_pause(m); /* the vCPU threads park before their first run */
	snapshot_restore_free(r);
	return err;
}

/* After the machine section: page runs until the state. */
int migrate_recv_stream(int fd, struct machine *m, const struct vm_config *cfg)
{
	u64 pages = 0;

	for (;;) {
		struct mig_frame f;
		int err = mig_recv_header(fd, &f);

		if (!err && f.type == MIG_PAGES)
			err = recv_pages(fd, m, f.len, &pages);
		else if (!err && f.type == MIG_STATE) {
			err = recv_state(fd, m, cfg, f.len);
			if (!err)
				log_info("migration: received %llu MiB of RAM and the state",
					 (unsigned long long)(pages * 4096 / MiB));
			return err;
		} else if (!err)
			err = -EPROTO;
		if (err < 0)
			return err;
	}
}

/* Names what went wrong with the stream (other errors were logged). */
static int stream_error(int err)
{
	if (err == -EPROTO)
		log_error("migration: the source sent something that is not a popek migration "
			  "stream of this version");
	else if (err == -ECONNRESET || err == -ETIMEDOUT || err == -EPIPE)
		log_error("migration: the source %s before the end",
			  err == -ETIMEDOUT ? "stopped sending" : "went away");
	else if (err == -ENOMEM)
		log_error("migration: out of memory");
	return err;
}

int migrate_incoming(const struct vm_config *cfg, struct machine **out, int *conn)
{
	struct snapshot_restore *hello = NULL;
	struct vm_config rcfg = *cfg;
	struct machine *m = NULL;
	size_t len = 0;
	int lfd, fd, err;
	u8 *buf = NULL;

	*out = NULL;
	*conn = -1;
	lfd = mig_listen(cfg->incoming);
	if (lfd < 0)
		return lfd;
	fd = mig_accept(lfd, cfg->incoming);
	close(lfd);
	if (!strncmp(cfg->incoming, "unix:", 5))
		unlink(cfg->incoming + 5); /* one source only */
	if (fd < 0)
		return fd;
	err = mig_recv_greeting(fd);
	if (!err)
		err = recv_payload(fd, MIG_HELLO, &buf, &len);
	if (err < 0) {
		stream_error(err);
	} else {
		err = snapshot_restore_take("migration", buf, len, &rcfg, &hello);
		if (!err)
			err = machine_create_incoming(&rcfg, hello, &m);
		snapshot_restore_free(hello);
		if (!err)
			err = stream_error(migrate_recv_stream(fd, m, &rcfg));
	}
	if (err < 0) {
		migrate_incoming_done(fd, err, log_last_error());
		machine_destroy(m);
		return err;
	}
	*out = m;
	*conn = fd;
	return 0;
}

void migrate_incoming_done(int conn, int err, const char *reason)
{
	size_t n = reason ? strnlen(reason, MIG_DONE_MAX) : 0;
	u32 status = (u32)-err;

	if (conn < 0)
		return;
	if (err < 0 && !n) {
		reason = strerror(-err);
		n = strnlen(reason, MIG_DONE_MAX);
	}
	if (!err)
		n = 0;
	mig_send_frame(conn, MIG_DONE, &status, sizeof(status), reason, n);
	close(conn);
}
