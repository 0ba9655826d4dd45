/* Live migration's stream: addresses, connections and frames (migrate_wire.h). */
#include "vmm/migrate_wire.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/sock_addr.h"
#include "popek/log.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

/* A silent peer for this long ends the migration (both sides). */
#define MIG_TIMEOUT_S 60

static void set_timeouts(int fd)
{
	struct timeval tv = {MIG_TIMEOUT_S, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int mig_connect(const char *to, char *why, size_t why_len)
{
	struct sockaddr_un un;
	struct addrinfo *res = NULL, *a;
	int fd = -1, err = 0, one = 1;

	if (sock_addr_unix(to, &un)) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0)
			err = -errno;
	} else if (sock_addr_tcp(to, NULL, &res) == 0) {
		err = -ECONNREFUSED;
		for (a = res; a; a = a->ai_next) {
			fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
				err = 0;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				break;
			}
			err = -errno;
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
	} else {
		return vmm_fail(
		    why, why_len, -EINVAL,
		    "destination '%s': not unix:PATH or tcp:ADDRESS:PORT (an IP address)", to);
	}
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		return vmm_fail(why, why_len, err, "destination '%s': cannot connect: %s", to,
				strerror(-err));
	}
	set_timeouts(fd);
	return fd;
}

int mig_listen(const char *at)
{
	return sock_listen(at, "--incoming");
}

int mig_accept(int lfd, const char *at)
{
	int fd, one = 1;

	log_info("migration: waiting for the source on %s", at);
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int err = -errno;
		log_error("--incoming '%s': accept: %s", at, strerror(-err));
		return err;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix: fine */
	set_timeouts(fd);
	return fd;
}

int mig_send_all(int fd, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (errno == EAGAIN ? -ETIMEDOUT : -errno) : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mig_recv_all(int fd, void *buf, size_t len)
{
	u8 *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET; /* the peer went away mid-stream */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mig_send_frame(int fd, u32 type, const void *head, size_t head_len, const void *body,
		   size_t body_len)
{
	struct mig_frame f = {.type = type, .len = head_len + body_len};
	int err = mig_send_all(fd, &f, sizeof(f));

	if (!err && head_len)
		err = mig_send_all(fd, head, head_len);
	if (!err && body_len)
		err = mig_send_all(fd, body, body_len);
	return err;
}

bool mig_pages_valid(const u64 head[2], u64 len, u64 npages)
{
	return head[1] && head[1] <= MIG_BATCH_PAGES && head[0] < npages &&
	       head[1] <= npages - head[0] && len == 16 + head[1] * 4096;
}

u64 mig_frame_max(u32 type)
{
	switch (type) {
	case MIG_HELLO:
		return SNAP_STATE_MAX;
	case MIG_PAGES:
		return 16 + (u64)MIG_BATCH_PAGES * 4096;
	case MIG_STATE:
		return 4 + SNAP_STATE_MAX;
	case MIG_DONE:
		return 4 + MIG_DONE_MAX;
	default:
		return 0;
	}
}

int mig_recv_header(int fd, struct mig_frame *f)
{
	int err = mig_recv_all(fd, f, sizeof(*f));

	if (err < 0)
		return err;
	if (!mig_frame_max(f->type) || f->len > mig_frame_max(f->type))
		return -EPROTO;
	return 0;
}

struct mig_greeting {
	u64 magic;
	u32 version;
	u32 reserved;
};

int mig_send_greeting(int fd)
{
	struct mig_greeting g = {.magic = MIG_MAGIC, .version = MIG_VERSION};

	return mig_send_all(fd, &g, sizeof(g));
}

int mig_recv_greeting(int fd)
{
	struct mig_greeting g;
	int err = mig_recv_all(fd, &g, sizeof(g));

	if (err < 0)
		return err;
	return g.magic == MIG_MAGIC && g.version == MIG_VERSION ? 0 : -EPROTO;
}
