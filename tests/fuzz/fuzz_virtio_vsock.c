/* libFuzzer harness for virtio-vsock's connection layer: hostile guest
 * packets interleaved with guest receive buffers of any size and host
 * programs connecting, writing and closing, checking the layer's invariants
 * after each step. Guest ports 1 and 2 have host listeners. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "host/unix_sock.h"
#include "virtio/vsock_priv.h"

#define MAX_HOST 8

struct fuzz_env {
	bool ready;
	char dir[64], path[96];
	int listeners[2]; /* path_1, path_2 */
};

static struct fuzz_env env;

static void fuzz_cleanup(void)
{
	char p[128];

	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s_%d", env.path, i + 1);
		unlink(p);
	}
	rmdir(env.dir);
}

static void fuzz_setup(void)
{
	char p[128];

	signal(SIGPIPE, SIG_IGN); /* host programs write to closed sockets */
	strcpy(env.dir, "/tmp/popek-fuzz-vsock-XXXXXX");
	if (!mkdtemp(env.dir))
		abort();
	snprintf(env.path, sizeof(env.path), "%s/v.sock", env.dir);
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s_%d", env.path, i + 1);
		env.listeners[i] = unix_listen(p, 16);
		if (env.listeners[i] < 0)
			abort();
	}
	env.ready = true;
	atexit(fuzz_cleanup);
}

static void fuzz_check(const struct vsock_core *c)
{
	if (c->nr_rst > VSOCK_MAX_RST)
		abort();
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *k = &c->conns[i];

		if (k->state == VSOCK_FREE)
			continue;
		if (k->g2h_len > VSOCK_BUF_ALLOC || k->g2h_head >= VSOCK_BUF_ALLOC ||
		    k->h2g_off + k->h2g_len > VSOCK_H2G_BUF || k->ok_off > k->ok_len ||
		    (k->state == VSOCK_DYING && k->fd >= 0))
			abort();
	}
}

/* A guest packet: mostly plausible addresses and small ports so that
 * packets meet existing connections, sometimes anything at all. */
static void fuzz_packet(struct vsock_core *c, struct fuzz_cursor *cur)
{
	struct vsock_hdr h;
	u8 mode = fuzz_take8(cur);

	memset(&h, 0, sizeof(h));
	h.src_cid = mode & 1 ? fuzz_take32(cur) : 3;
	h.dst_cid = mode & 2 ? fuzz_take32(cur) : VSOCK_HOST_CID;
	h.src_port = mode & 4 ? fuzz_take32(cur) : 1024 + fuzz_take8(cur) % 4;
	h.dst_port = mode & 8 ? fuzz_take32(cur) : fuzz_take8(cur) % 4;
	if (h.dst_port >= 3 && !(mode & 8))
		h.dst_port = VSOCK_HOST_PORT_BASE + fuzz_take8(cur) % 4;
	h.type = mode & 16 ? (u16)fuzz_take32(cur) : VSOCK_TYPE_STREAM;
	h.op = (u16)(fuzz_take8(cur) % 9);
	h.flags = fuzz_take8(cur) % 4;
	h.buf_alloc = mode & 32 ? fuzz_take32(cur) : 4096u << (fuzz_take8(cur) % 8);
	h.fwd_cnt = fuzz_take32(cur);
	h.len = mode & 64 ? fuzz_take32(cur) % (VSOCK_MAX_PKT + 1) : fuzz_take8(cur);
	if (h.len > cur->left)
		h.len = (u32)cur->left;
	vsock_core_guest_packet(c, &h, cur->p);
	cur->p += h.len;
	cur->left -= h.len;
}

static void fuzz_rx(struct vsock_core *c, struct fuzz_cursor *cur)
{
	static u8 buf[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];
	size_t room = VSOCK_HDR_SIZE + (size_t)fuzz_take8(cur) * 300;
	size_t n = vsock_core_rx_fill(c, buf, room);
	struct vsock_hdr h;

	if (!n)
		return;
	memcpy(&h, buf, sizeof(h));
	if (n > room || n != VSOCK_HDR_SIZE + h.len || h.src_cid != VSOCK_HOST_CID ||
	    h.dst_cid != 3 || h.op < VSOCK_OP_REQUEST || h.op > VSOCK_OP_CREDIT_REQUEST)
		abort();
}

static void fuzz_host(struct fuzz_cursor *cur, int *fds, unsigned *nr)
{
	u8 op = fuzz_take8(cur);
	char line[32];

	switch (op % 4) {
	case 0: /* a host program connects and sends a line */
		if (*nr < MAX_HOST) {
			int fd = unix_connect(env.path);
			if (fd < 0)
				break;
			snprintf(line, sizeof(line), "CONNECT %u\n%s", fuzz_take8(cur) % 4,
				 op & 4 ? "data" : "");
			if (op & 8)
				line[fuzz_take8(cur) % 12] = (char)fuzz_take8(cur);
			if (write(fd, line, strlen(line)) < 0) {
				/* refused meanwhile */
			}
			fds[(*nr)++] = fd;
		}
		break;
	case 1: /* a listener accepts a guest connection and answers or closes */
		for (int i = 0; i < 2; i++) {
			int fd = unix_accept(env.listeners[i]);
			if (fd < 0)
				continue;
			if (op & 4) {
				if (write(fd, "reply", 5) < 0) {
					/* the guest side may be gone */
				}
			}
			if (*nr < MAX_HOST && (op & 8))
				fds[(*nr)++] = fd;
			else
				close(fd);
		}
		break;
	case 2: /* a host program writes or closes */
		if (*nr) {
			unsigned i = fuzz_take8(cur) % *nr;
			if (op & 4) {
				close(fds[i]);
				fds[i] = fds[--*nr];
			} else if (write(fds[i], "0123456789abcdef", 16) < 0) {
				/* the other end may be gone */
			}
		}
		break;
	default: /* drain what popek wrote */
		for (unsigned i = 0; i < *nr; i++) {
			char buf[4096];
			while (recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) > 0) {
			}
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_cursor cur = {data, size};
	static struct vsock_core c;
	int fds[MAX_HOST];
	unsigned nr = 0;

	if (!env.ready)
		fuzz_setup();
	if (vsock_core_init(&c, 3, env.path) < 0)
		abort();
	for (int steps = 0; cur.left && steps < 200; steps++) {
		switch (fuzz_take8(&cur) % 5) {
		case 0:
		case 1:
			fuzz_packet(&c, &cur);
			break;
		case 2:
			fuzz_rx(&c, &cur);
			break;
		case 3:
			vsock_core_poll(&c, 0);
			break;
		default:
			fuzz_host(&cur, fds, &nr);
			break;
		}
		vsock_core_update(&c);
		fuzz_check(&c);
	}
	while (nr)
		close(fds[--nr]);
	vsock_core_destroy(&c);
	/* Leave no queued connection for the next input. */
	for (int i = 0; i < 2; i++) {
		int fd;
		while ((fd = unix_accept(env.listeners[i])) >= 0)
			close(fd);
	}
	return 0;
}
