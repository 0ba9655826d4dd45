/* virtio-vsock host side: the listening Unix socket ("CONNECT <port>\n"
 * handshake), reads and writes on each connection's socket, deadlines, and
 * the epoll set that the vsock thread waits on. */
#include "popek/clock.h"
#include "virtio/vsock_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/unix_sock.h"
#include "popek/log.h"

/* epoll_event.data.u64 of each watched fd. */
#define EV_KICK   0
#define EV_LISTEN 1
#define EV_CONN   2 /* + connection index */

int vsock_core_init(struct vsock_core *c, u64 guest_cid, const char *path)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_KICK};
	int err;

	memset(c, 0, sizeof(*c));
	c->guest_cid = guest_cid;
	c->epfd = c->listen_fd = c->kick_fd = -1;
	c->next_port = VSOCK_HOST_PORT_BASE;
	c->now_ms = clock_now_ms;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		c->conns[i].fd = -1;
	if (path && strlen(path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	if (path)
		strcpy(c->path, path);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		goto fail_errno;
	c->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->kick_fd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->kick_fd, &ev) < 0)
		goto fail_errno;
	if (c->path[0]) {
		c->listen_fd = unix_listen(c->path, 16);
		if (c->listen_fd < 0) {
			err = c->listen_fd;
			c->path[0] = 0; /* not ours to unlink */
			goto fail;
		}
		ev.data.u64 = EV_LISTEN;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->listen_fd, &ev) < 0)
			goto fail_errno;
	}
	return 0;
fail_errno:
	err = -errno;
fail:
	vsock_core_destroy(c);
	return err;
}

void vsock_core_reset(struct vsock_core *c)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (c->conns[i].state != VSOCK_FREE)
			vsock_conn_free(&c->conns[i]);
	c->nr_rst = 0;
	c->rr = 0;
}

void vsock_core_destroy(struct vsock_core *c)
{
	vsock_core_reset(c);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->path);
	}
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	if (c->epfd >= 0)
		close(c->epfd);
	c->epfd = c->listen_fd = c->kick_fd = -1;
}

void vsock_core_kick(struct vsock_core *c)
{
	u64 one = 1;

	if (write(c->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the thread will wake */
	}
}

/* ---- host-initiated connections ---------------------------------------- */

static u32 host_port_alloc(struct vsock_core *c)
{
	for (;;) {
		u32 p = c->next_port++;
		bool used = false;

		if (c->next_port < VSOCK_HOST_PORT_BASE)
			c->next_port = VSOCK_HOST_PORT_BASE;
		for (unsigned i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used = c->conns[i].state > VSOCK_CMD && c->conns[i].host_port == p;
		if (!used)
			return p; /* at most VSOCK_MAX_CONNS ports are taken */
	}
}

static void host_accept(struct vsock_core *c)
{
	for (int i = 0; i < 16; i++) {
		struct vsock_conn *k;
		int fd = unix_accept(c->listen_fd);

		if (fd < 0) {
			if (fd != -EAGAIN)
				log_warn("vsock: accept on %s: %s", c->path, strerror(-fd));
			return;
		}
		k = vsock_conn_alloc(c);
		if (!k) {
			log_warn("vsock: connection on %s refused: %d connections open", c->path,
				 VSOCK_MAX_CONNS);
			close(fd);
			continue;
		}
		k->fd = fd;
		k->state = VSOCK_CMD;
		k->deadline_ms = c->now_ms() + VSOCK_CONNECT_TIMEOUT_MS;
	}
}

/* "CONNECT <port>\n" (Firecracker's host-initiated handshake) at the start
 * of h2g: returns the port, 0 while the line is incomplete, -1 if bad. */
static long long host_parse_cmd(struct vsock_conn *k, u32 *port)
{
	const u8 *nl = memchr(k->h2g, '\n', k->h2g_len);
	const char *p = (const char *)k->h2g + 8;
	size_t line;
	u64 v = 0;

	if (!nl)
		return k->h2g_len >= VSOCK_CMD_MAX ? -1 : 0;
	line = (size_t)(nl - k->h2g);
	if (line < 9 || memcmp(k->h2g, "CONNECT ", 8))
		return -1;
	if (k->h2g[line - 1] == '\r')
		line--;
	for (; p < (const char *)k->h2g + line; p++) {
		if (*p < '0' || *p > '9' || v > 0xFFFFFFFFull / 10)
			return -1;
		v = v * 10 + (u64)(*p - '0');
	}
	if (p == (const char *)k->h2g + 8 || v > 0xFFFFFFFFull)
		return -1;
	*port = (u32)v;
	return (long long)(nl - k->h2g) + 1;
}

static void host_cmd(struct vsock_core *c, struct vsock_conn *k)
{
	char esc[4 * VSOCK_CMD_MAX + 1];
	u32 port = 0;
	long long used = host_parse_cmd(k, &port);

	if (!used)
		return;
	if (used < 0) {
		log_warn("vsock: %s: expected \"CONNECT <port>\\n\", got \"%s\"", c->path,
			 log_escape(esc, sizeof(esc), k->h2g, MIN(k->h2g_len, VSOCK_CMD_MAX)));
		vsock_conn_free(k);
		return;
	}
	k->host_port = host_port_alloc(c);
	k->guest_port = port;
	k->state = VSOCK_REQUESTED;
	k->pend = VSOCK_PEND_REQUEST;
	k->deadline_ms = c->now_ms() + VSOCK_CONNECT_TIMEOUT_MS;
	/* Bytes after the line are the first data for the guest. */
	k->h2g_off = (u32)used;
	k->h2g_len -= (u32)used;
	if (!k->h2g_len)
		k->h2g_off = 0;
}

/* ---- socket I/O ------------------------------------------------------------ */

static void conn_read(struct vsock_core *c, struct vsock_conn *k)
{
	ssize_t n;

	if (k->h2g_off) {
		memmove(k->h2g, k->h2g + k->h2g_off, k->h2g_len);
		k->h2g_off = 0;
	}
	if (k->h2g_len == VSOCK_H2G_BUF)
		return;
	n = read(k->fd, k->h2g + k->h2g_len, VSOCK_H2G_BUF - k->h2g_len);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			vsock_conn_kill(k, strerror(errno));
		return;
	}
	if (n == 0) {
		if (k->state == VSOCK_CMD)
			vsock_conn_free(k);
		else
			k->host_eof = true; /* SHUTDOWN(SEND) once h2g is delivered */
		return;
	}
	k->h2g_len += (u32)n;
	if (k->state == VSOCK_CMD)
		host_cmd(c, k);
}

static void conn_write(struct vsock_conn *k)
{
	struct iovec iov[3];
	struct msghdr msg = {.msg_iov = iov};
	u32 first = MIN(k->g2h_len, VSOCK_BUF_ALLOC - k->g2h_head);
	size_t n, okn = (size_t)(k->ok_len - k->ok_off);
	ssize_t w;

	if (okn)
		iov[msg.msg_iovlen++] = (struct iovec){k->ok + k->ok_off, okn};
	if (first)
		iov[msg.msg_iovlen++] = (struct iovec){k->g2h + k->g2h_head, first};
	if (k->g2h_len > first)
		iov[msg.msg_iovlen++] = (struct iovec){k->g2h, k->g2h_len - first};
	if (!msg.msg_iovlen)
		return;
	w = sendmsg(k->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			vsock_conn_kill(k, strerror(errno));
		return;
	}
	n = (size_t)w;
	if (okn) {
		size_t m = MIN(n, okn);
		k->ok_off = (u8)(k->ok_off + m);
		n -= m;
	}
	k->g2h_head = (u32)((k->g2h_head + n) % VSOCK_BUF_ALLOC);
	k->g2h_len -= (u32)n;
	if (!k->g2h_len)
		k->g2h_head = 0;
	k->fwd_cnt += (u32)n;
	/* Tell the guest about freed space before it can run dry (5.10.6.3). */
	if (k->fwd_cnt - k->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 2)
		k->pend |= VSOCK_PEND_CREDIT_UPDATE;
	vsock_conn_settle(k);
}

static void conn_io(struct vsock_core *c, struct vsock_conn *k, u32 events)
{
	if (k->fd < 0)
		return; /* closed earlier in this batch */
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		conn_write(k);
	if (k->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (k->ev & EPOLLIN))
		conn_read(c, k);
}

static u32 conn_events(const struct vsock_conn *k)
{
	u32 ev = 0;

	if (k->state == VSOCK_CMD)
		return EPOLLIN;
	if (k->state != VSOCK_ESTABLISHED)
		return 0;
	if (!k->host_eof && !k->guest_no_rcv && k->h2g_len < VSOCK_H2G_BUF)
		ev |= EPOLLIN;
	if (k->ok_off < k->ok_len || k->g2h_len)
		ev |= EPOLLOUT;
	return ev;
}

void vsock_core_update(struct vsock_core *c)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *k = &c->conns[i];
		struct epoll_event ev = {.data.u64 = EV_CONN + i};
		int op;

		if (k->fd < 0)
			continue;
		ev.events = conn_events(k);
		if (ev.events == k->ev)
			continue;
		/* Nothing wanted: leave the set, or EPOLLHUP would spin. */
		op = !ev.events ? EPOLL_CTL_DEL : k->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
		if (epoll_ctl(c->epfd, op, k->fd, &ev) < 0) {
			vsock_conn_kill(k, "cannot watch the host socket");
			continue;
		}
		k->ev = ev.events;
	}
}

static void conn_expire(struct vsock_core *c)
{
	u64 now = c->now_ms();

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *k = &c->conns[i];

		if ((k->state != VSOCK_CMD && k->state != VSOCK_REQUESTED) || now < k->deadline_ms)
			continue;
		if (k->state == VSOCK_CMD)
			log_warn("vsock: %s: no \"CONNECT <port>\" line in time", c->path);
		else
			log_debug("vsock: guest port %u did not answer", k->guest_port);
		vsock_conn_kill(k, "timeout");
	}
}

bool vsock_core_poll(struct vsock_core *c, int timeout_ms)
{
	struct epoll_event evs[32];
	u64 now = c->now_ms();
	bool kicked = false;
	int n;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *k = &c->conns[i];

		if (k->state == VSOCK_CMD || k->state == VSOCK_REQUESTED) {
			u64 left = k->deadline_ms > now ? k->deadline_ms - now : 0;
			if ((u64)timeout_ms > left)
				timeout_ms = (int)left;
		}
	}
	n = epoll_wait(c->epfd, evs, ARRAY_SIZE(evs), timeout_ms);
	for (int i = 0; i < n; i++) {
		u64 tag = evs[i].data.u64;
		u64 v;

		if (tag == EV_KICK) {
			if (read(c->kick_fd, &v, sizeof(v)) < 0) {
				/* already drained */
			}
			kicked = true;
		} else if (tag == EV_LISTEN) {
			host_accept(c);
		} else if (tag - EV_CONN < VSOCK_MAX_CONNS) {
			conn_io(c, &c->conns[tag - EV_CONN], evs[i].events);
		}
	}
	conn_expire(c);
	vsock_core_update(c);
	return kicked;
}
