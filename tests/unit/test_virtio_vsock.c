/* Unit tests of virtio-vsock: the connection layer driven packet by packet
 * (handshakes both ways, data, credit, shutdown, resets, timeouts, hostile
 * packets) and the device through the virtio-mmio transport. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/unix_sock.h"
#include "virtio/vsock.h"
#include "virtio/vsock_priv.h"
#include "virtio_fake_driver.h"

#define GCID  3
#define GPORT 1025 /* the guest's ephemeral port */

static char dir[64];
static char path[96];

static void tmp_setup(void)
{
	strcpy(dir, "/tmp/popek-vsock-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/v.sock", dir);
}

static void tmp_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
}

static struct vsock_hdr ghdr(u16 op, u32 src_port, u32 dst_port, u32 len)
{
	struct vsock_hdr h = {.src_cid = GCID,
			      .dst_cid = VSOCK_HOST_CID,
			      .src_port = src_port,
			      .dst_port = dst_port,
			      .len = len,
			      .type = VSOCK_TYPE_STREAM,
			      .op = op,
			      .buf_alloc = 256 * 1024};
	return h;
}

static void gsend(struct vsock_core *c, u16 op, u32 src_port, u32 dst_port, const void *data,
		  u32 len)
{
	struct vsock_hdr h = ghdr(op, src_port, dst_port, len);

	vsock_core_guest_packet(c, &h, data);
}

static u8 rxbuf[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];

/* The next packet for the guest, or false. */
static bool grecv(struct vsock_core *c, struct vsock_hdr *h, size_t room)
{
	size_t n = vsock_core_rx_fill(c, rxbuf, room);

	if (!n)
		return false;
	memcpy(h, rxbuf, sizeof(*h));
	CHECK_EQ(n, VSOCK_HDR_SIZE + h->len);
	CHECK_EQ(h->src_cid, VSOCK_HOST_CID);
	CHECK_EQ(h->type, VSOCK_TYPE_STREAM);
	return true;
}

/* Serves the sockets until nothing happens for a few rounds. */
static void spin(struct vsock_core *c)
{
	for (int i = 0; i < 5; i++)
		vsock_core_poll(c, 5);
}

static int listen_at(const char *p)
{
	int fd = unix_listen(p, 16);

	CHECK(fd >= 0);
	return fd;
}

static int accept_blocking(int ls)
{
	struct pollfd p = {.fd = ls, .events = POLLIN};
	int fd;

	CHECK_EQ(poll(&p, 1, 1000), 1);
	fd = unix_accept(ls);
	CHECK(fd >= 0);
	fcntl(fd, F_SETFL, 0);
	return fd;
}

static ssize_t read_timeout(int fd, void *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, 1000) != 1)
		return -1;
	return read(fd, buf, len);
}

/* Guest connects to host port 5000; returns the host program's socket. */
static int guest_connect(struct vsock_core *c, int *ls)
{
	char lpath[160];
	struct vsock_hdr h;

	snprintf(lpath, sizeof(lpath), "%s_5000", path);
	*ls = listen_at(lpath);
	gsend(c, VSOCK_OP_REQUEST, GPORT, 5000, NULL, 0);
	CHECK(grecv(c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RESPONSE);
	CHECK_EQ(h.dst_cid, GCID);
	CHECK_EQ(h.src_port, 5000);
	CHECK_EQ(h.dst_port, GPORT);
	CHECK_EQ(h.buf_alloc, VSOCK_BUF_ALLOC);
	vsock_core_update(c);
	return accept_blocking(*ls);
}

static void test_guest_to_host(void)
{
	struct vsock_core c;
	struct vsock_hdr h;
	char buf[64];
	int ls, fd;

	tmp_setup();
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	fd = guest_connect(&c, &ls);
	gsend(&c, VSOCK_OP_RW, GPORT, 5000, "hello host", 10);
	spin(&c);
	CHECK_EQ(read_timeout(fd, buf, sizeof(buf)), 10);
	CHECK(!memcmp(buf, "hello host", 10));
	CHECK(write(fd, "hi guest", 8) == 8);
	spin(&c);
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RW);
	CHECK_EQ(h.len, 8);
	CHECK(!memcmp(rxbuf + VSOCK_HDR_SIZE, "hi guest", 8));
	CHECK_EQ(h.fwd_cnt, 10); /* what reached the host so far */
	CHECK(!grecv(&c, &h, sizeof(rxbuf)));
	/* The host closes: the guest hears SHUTDOWN(SEND), then closes too. */
	close(fd);
	spin(&c);
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_SHUTDOWN);
	CHECK_EQ(h.flags, VSOCK_SHUTDOWN_SEND);
	{
		struct vsock_hdr s = ghdr(VSOCK_OP_SHUTDOWN, GPORT, 5000, 0);
		s.flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
		vsock_core_guest_packet(&c, &s, NULL);
	}
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK(!vsock_core_rx_pending(&c));
	CHECK_EQ(c.conns[0].state, VSOCK_FREE);
	close(ls);
	vsock_core_destroy(&c);
	tmp_cleanup();
}

static void test_guest_refused(void)
{
	struct vsock_core c;
	struct vsock_hdr h;

	tmp_setup();
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	gsend(&c, VSOCK_OP_REQUEST, GPORT, 6000, NULL, 0); /* nobody at path_6000 */
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.src_port, 6000);
	CHECK_EQ(h.dst_port, GPORT);
	/* Packets for unknown connections get an RST; an RST gets nothing. */
	gsend(&c, VSOCK_OP_RW, GPORT, 6000, "x", 1);
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	gsend(&c, VSOCK_OP_RST, GPORT, 6000, NULL, 0);
	CHECK(!grecv(&c, &h, sizeof(rxbuf)));
	/* Wrong CIDs are dropped silently. */
	{
		struct vsock_hdr b = ghdr(VSOCK_OP_REQUEST, GPORT, 6000, 0);
		b.src_cid = 7;
		vsock_core_guest_packet(&c, &b, NULL);
		b.src_cid = GCID;
		b.dst_cid = 9;
		vsock_core_guest_packet(&c, &b, NULL);
	}
	CHECK(!vsock_core_rx_pending(&c));
	vsock_core_destroy(&c);
	tmp_cleanup();
}

static int host_connect(struct vsock_core *c, const char *line, struct vsock_hdr *req)
{
	int fd = unix_connect(path);

	CHECK(fd >= 0);
	fcntl(fd, F_SETFL, 0);
	CHECK(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
	spin(c);
	if (req)
		CHECK(grecv(c, req, sizeof(rxbuf)));
	return fd;
}

static void test_host_to_guest(void)
{
	struct vsock_core c;
	struct vsock_hdr h, req;
	char buf[64];
	int fd;

	tmp_setup();
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	/* Data sent right after the line waits for the connection. */
	fd = host_connect(&c, "CONNECT 1234\nearly", &req);
	CHECK_EQ(req.op, VSOCK_OP_REQUEST);
	CHECK_EQ(req.dst_port, 1234);
	CHECK(req.src_port >= VSOCK_HOST_PORT_BASE);
	CHECK(!grecv(&c, &h, sizeof(rxbuf)));
	gsend(&c, VSOCK_OP_RESPONSE, 1234, req.src_port, NULL, 0);
	spin(&c);
	snprintf(buf, sizeof(buf), "OK %u\n", req.src_port);
	{
		char got[64] = "";
		ssize_t n = read_timeout(fd, got, strlen(buf));
		CHECK_EQ(n, (ssize_t)strlen(buf));
		CHECK(!strcmp(got, buf));
	}
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RW);
	CHECK_EQ(h.len, 5);
	CHECK(!memcmp(rxbuf + VSOCK_HDR_SIZE, "early", 5));
	gsend(&c, VSOCK_OP_RW, 1234, req.src_port, "pong", 4);
	spin(&c);
	CHECK_EQ(read_timeout(fd, buf, sizeof(buf)), 4);
	CHECK(!memcmp(buf, "pong", 4));
	/* The guest resets: the host sees the end of the stream. */
	gsend(&c, VSOCK_OP_RST, 1234, req.src_port, NULL, 0);
	spin(&c);
	CHECK_EQ(read_timeout(fd, buf, sizeof(buf)), 0);
	close(fd);

	/* The guest refuses: the host's socket closes without "OK". */
	fd = host_connect(&c, "CONNECT 99\n", &req);
	gsend(&c, VSOCK_OP_RST, 99, req.src_port, NULL, 0);
	spin(&c);
	CHECK_EQ(read_timeout(fd, buf, sizeof(buf)), 0);
	close(fd);

	/* A bad line closes the socket; nothing reaches the guest. */
	fd = host_connect(&c, "HELLO 5\n", NULL);
	CHECK_EQ(read_timeout(fd, buf, sizeof(buf)), 0);
	CHECK(!vsock_core_rx_pending(&c));
	close(fd);
	fd = host_connect(&c, "CONNECT 99999999999\n", NULL);
	CHECK_EQ(read_timeout(fd, buf, sizeof(buf)), 0);
	close(fd);
	vsock_core_destroy(&c);
	tmp_cleanup();
}

static u64 fake_now;
static u64 fake_clock(void)
{
	return fake_now;
}

static void test_timeouts(void)
{
	struct vsock_core c;
	struct vsock_hdr req, h;
	char buf[8];
	int fd, idle;

	tmp_setup();
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	fake_now = 1000;
	c.now_ms = fake_clock;
	fd = host_connect(&c, "CONNECT 7\n", &req);
	idle = host_connect(&c, "CONN", NULL); /* never finishes its line */
	fake_now += VSOCK_CONNECT_TIMEOUT_MS;
	spin(&c);
	CHECK_EQ(read_timeout(fd, buf, sizeof(buf)), 0);
	CHECK_EQ(read_timeout(idle, buf, sizeof(buf)), 0);
	CHECK(grecv(&c, &h, sizeof(rxbuf))); /* the guest learns it is over */
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.src_port, req.src_port);
	close(fd);
	close(idle);
	vsock_core_destroy(&c);
	tmp_cleanup();
}

static void test_credit(void)
{
	static u8 big[VSOCK_MAX_PKT];
	struct vsock_core c;
	struct vsock_hdr h;
	u32 got = 0;
	int ls, fd;

	tmp_setup();
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	fd = guest_connect(&c, &ls);
	/* The guest says it can take 4 KiB: popek sends that, then asks. */
	{
		struct vsock_hdr u = ghdr(VSOCK_OP_CREDIT_UPDATE, GPORT, 5000, 0);
		u.buf_alloc = 4096;
		vsock_core_guest_packet(&c, &u, NULL);
	}
	memset(big, 'a', 10000);
	CHECK(write(fd, big, 10000) == 10000);
	spin(&c);
	while (grecv(&c, &h, sizeof(rxbuf))) {
		if (h.op == VSOCK_OP_RW)
			got += h.len;
		else
			CHECK_EQ(h.op, VSOCK_OP_CREDIT_REQUEST);
	}
	CHECK_EQ(got, 4096);
	/* Consumed all of it: the rest may come. */
	{
		struct vsock_hdr u = ghdr(VSOCK_OP_CREDIT_UPDATE, GPORT, 5000, 0);
		u.buf_alloc = 4096;
		u.fwd_cnt = 4096;
		vsock_core_guest_packet(&c, &u, NULL);
		u.fwd_cnt = 8192;
		while (grecv(&c, &h, 1024)) { /* small buffers: 980-byte packets */
			CHECK(h.len <= 1024 - VSOCK_HDR_SIZE);
			if (h.op == VSOCK_OP_RW)
				got += h.len;
			else
				CHECK_EQ(h.op, VSOCK_OP_CREDIT_REQUEST);
		}
		CHECK_EQ(got, 8192);
		vsock_core_guest_packet(&c, &u, NULL);
		spin(&c);
		while (grecv(&c, &h, sizeof(rxbuf)))
			got += h.op == VSOCK_OP_RW ? h.len : 0;
		CHECK_EQ(got, 10000);
	}
	/* A guest that ignores popek's credit is reset. */
	gsend(&c, VSOCK_OP_RW, GPORT, 5000, big, VSOCK_MAX_PKT);
	gsend(&c, VSOCK_OP_RW, GPORT, 5000, big, 1); /* 64 KiB + 1 unread */
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	close(fd);
	close(ls);
	vsock_core_destroy(&c);
	tmp_cleanup();
}

static void test_credit_update(void)
{
	static u8 data[VSOCK_MAX_PKT], sink[VSOCK_BUF_ALLOC];
	struct vsock_core c;
	struct vsock_hdr h;
	u64 total = 0;
	int ls, fd;

	tmp_setup();
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	fd = guest_connect(&c, &ls);
	/* The guest fills popek's whole buffer; once the host read half of
	 * it the guest hears about the room. */
	gsend(&c, VSOCK_OP_RW, GPORT, 5000, data, VSOCK_BUF_ALLOC);
	for (int i = 0; i < 20 && total < VSOCK_BUF_ALLOC; i++) {
		ssize_t n;
		spin(&c);
		n = read_timeout(fd, sink, sizeof(sink));
		if (n > 0)
			total += (u64)n;
	}
	CHECK_EQ(total, VSOCK_BUF_ALLOC);
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_CREDIT_UPDATE);
	CHECK_EQ(h.fwd_cnt, VSOCK_BUF_ALLOC);
	/* A credit request is answered. */
	gsend(&c, VSOCK_OP_CREDIT_REQUEST, GPORT, 5000, NULL, 0);
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_CREDIT_UPDATE);
	/* SHUTDOWN(SEND) from the guest: the host reads the end of file and
	 * can still answer. */
	{
		struct vsock_hdr s = ghdr(VSOCK_OP_SHUTDOWN, GPORT, 5000, 0);
		char b[4];
		s.flags = VSOCK_SHUTDOWN_SEND;
		vsock_core_guest_packet(&c, &s, NULL);
		CHECK_EQ(read_timeout(fd, b, sizeof(b)), 0);
		CHECK(write(fd, "late", 4) == 4);
		spin(&c);
		CHECK(grecv(&c, &h, sizeof(rxbuf)));
		CHECK_EQ(h.op, VSOCK_OP_RW);
		CHECK_EQ(h.len, 4);
	}
	/* Unknown and invalid operations reset the connection. */
	gsend(&c, 42, GPORT, 5000, NULL, 0);
	CHECK(grecv(&c, &h, sizeof(rxbuf)));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	close(fd);
	close(ls);
	vsock_core_destroy(&c);
	tmp_cleanup();
}

static void test_many_connections(void)
{
	struct vsock_core c;
	struct vsock_hdr h;
	char lpath[160];
	int ls, rsts = 0, resp = 0;

	tmp_setup();
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	snprintf(lpath, sizeof(lpath), "%s_5000", path);
	ls = listen_at(lpath);
	/* More requests than connections (and than the listen backlog). */
	for (u32 i = 0; i < VSOCK_MAX_CONNS + 10; i++)
		gsend(&c, VSOCK_OP_REQUEST, GPORT + i, 5000, NULL, 0);
	while (grecv(&c, &h, sizeof(rxbuf))) {
		rsts += h.op == VSOCK_OP_RST;
		resp += h.op == VSOCK_OP_RESPONSE;
	}
	CHECK_EQ(rsts + resp, VSOCK_MAX_CONNS + 10);
	CHECK(resp <= VSOCK_MAX_CONNS);
	CHECK(rsts >= 10);
	/* A device reset forgets them all. */
	vsock_core_reset(&c);
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		CHECK_EQ(c.conns[i].state, VSOCK_FREE);
	close(ls);
	vsock_core_destroy(&c);
	tmp_cleanup();
}

static void test_stale_socket(void)
{
	struct vsock_core c;
	int fd;

	tmp_setup();
	/* A socket file left behind by a dead popek is replaced... */
	fd = unix_listen(path, 16);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(vsock_core_init(&c, GCID, path), 0);
	/* ...but a live one is not. */
	{
		struct vsock_core c2;
		CHECK_EQ(vsock_core_init(&c2, GCID, path), -EADDRINUSE);
	}
	vsock_core_destroy(&c);
	CHECK(access(path, F_OK) < 0); /* unlinked */
	tmp_cleanup();
}

/* ---- the device through the transport ------------------------------------- */

#define RXQ 0
#define TXQ 1
#define QSZ 16

struct dev_fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_vsock *v;
	gpa_t rxbufs;
};

static void dev_start(struct dev_fix *f)
{
	struct vsock_config cfg = {.enabled = true, .guest_cid = GCID};

	memcpy(cfg.uds_path, path, strlen(path) + 1); /* path is short */
	fd_machine_init(&f->fm);
	CHECK_EQ(virtio_vsock_create(f->fm.m, &cfg, &f->v), 0);
	CHECK_EQ(fd_rd(&(struct fd_driver){.fm = &f->fm, .base = LAYOUT_VIRTIO_MMIO_BASE}, 8), 19);
	fd_driver_init(&f->d, &f->fm, 0, 0, 3, QSZ);
	f->rxbufs = fd_alloc(&f->d, 8 * 4096);
}

static void dev_rx_buffers(struct dev_fix *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct fd_buf b[2] = {{f->rxbufs + i * 4096, VSOCK_HDR_SIZE, true},
				      {f->rxbufs + i * 4096 + 64, 4000, true}};
		fd_add(&f->d, RXQ, b, 2);
	}
	fd_kick(&f->d, RXQ);
}

static void dev_tx(struct dev_fix *f, const struct vsock_hdr *h, const void *data, u32 datalen)
{
	gpa_t g = fd_alloc(&f->d, sizeof(*h) + datalen);
	struct fd_buf b[2] = {{g, sizeof(*h), false}, {g + sizeof(*h), datalen, false}};
	u32 id, len;

	memcpy(fd_ptr(&f->d, g, sizeof(*h)), h, sizeof(*h));
	if (datalen)
		memcpy(fd_ptr(&f->d, g + sizeof(*h), datalen), data, datalen);
	fd_add(&f->d, TXQ, b, datalen ? 2 : 1);
	fd_kick(&f->d, TXQ);
	CHECK(fd_used(&f->d, TXQ, &id, &len, 1000));
}

static void test_device(void)
{
	struct dev_fix f;
	struct vsock_hdr h = ghdr(VSOCK_OP_REQUEST, GPORT, 5000, 0), r;
	char lpath[160];
	u32 id, len;
	int ls, fd;

	tmp_setup();
	snprintf(lpath, sizeof(lpath), "%s_5000", path);
	ls = listen_at(lpath);
	dev_start(&f);
	CHECK_EQ(fd_cfg_read(&f.d, 0, 8), GCID);
	CHECK_EQ(fd_cfg_read(&f.d, 4, 4), 0);
	dev_rx_buffers(&f, 4);
	dev_tx(&f, &h, NULL, 0);
	CHECK(fd_used(&f.d, RXQ, &id, &len, 1000));
	CHECK_EQ(len, VSOCK_HDR_SIZE);
	memcpy(&r, fd_ptr(&f.d, f.rxbufs + id / 2 * 4096, sizeof(r)), sizeof(r));
	CHECK_EQ(r.op, VSOCK_OP_RESPONSE);
	CHECK_EQ(r.dst_port, GPORT);
	fd = accept_blocking(ls);
	h = ghdr(VSOCK_OP_RW, GPORT, 5000, 6);
	dev_tx(&f, &h, "abcdef", 6);
	{
		char b[8];
		CHECK_EQ(read_timeout(fd, b, sizeof(b)), 6);
		CHECK(!memcmp(b, "abcdef", 6));
	}
	CHECK(write(fd, "xyz", 3) == 3);
	CHECK(fd_used(&f.d, RXQ, &id, &len, 1000));
	CHECK_EQ(len, VSOCK_HDR_SIZE + 3);
	memcpy(&r, fd_ptr(&f.d, f.rxbufs + id / 2 * 4096, sizeof(r)), sizeof(r));
	CHECK_EQ(r.op, VSOCK_OP_RW);
	CHECK(!memcmp(fd_ptr(&f.d, f.rxbufs + id / 2 * 4096 + 64, 3), "xyz", 3));
	CHECK(f.fm.irqs > 0);

	/* A packet longer than its buffer: DEVICE_NEEDS_RESET, popek lives on. */
	h = ghdr(VSOCK_OP_RW, GPORT, 5000, 5000);
	{
		gpa_t g = fd_alloc(&f.d, sizeof(h));
		struct fd_buf b = {g, sizeof(h), false};
		memcpy(fd_ptr(&f.d, g, sizeof(h)), &h, sizeof(h));
		fd_add(&f.d, TXQ, &b, 1);
		fd_kick(&f.d, TXQ);
	}
	for (int i = 0; i < 1000 && !(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET); i++)
		fd_sleep_ms(1);
	CHECK(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET);
	/* The driver resets: connections are dropped, the device works again. */
	fd_driver_init(&f.d, &f.fm, 0, 0, 3, QSZ);
	{
		char b[8];
		CHECK_EQ(read_timeout(fd, b, sizeof(b)), 0);
	}
	close(fd);
	f.rxbufs = fd_alloc(&f.d, 8 * 4096);
	dev_rx_buffers(&f, 1);
	h = ghdr(VSOCK_OP_REQUEST, GPORT + 1, 5000, 0);
	dev_tx(&f, &h, NULL, 0);
	CHECK(fd_used(&f.d, RXQ, &id, &len, 1000));
	memcpy(&r, fd_ptr(&f.d, f.rxbufs + id / 2 * 4096, sizeof(r)), sizeof(r));
	CHECK_EQ(r.op, VSOCK_OP_RESPONSE);
	/* A receive buffer too small for a header breaks the device too. */
	{
		struct fd_buf b = {f.rxbufs, 16, true};
		fd = accept_blocking(ls);
		close(fd); /* the guest will hear SHUTDOWN: needs a buffer */
		fd_add(&f.d, RXQ, &b, 1);
		fd_kick(&f.d, RXQ);
	}
	for (int i = 0; i < 1000 && !(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET); i++)
		fd_sleep_ms(1);
	CHECK(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET);

	virtio_vsock_destroy(f.v);
	fd_machine_fini(&f.fm);
	close(ls);
	CHECK(access(path, F_OK) < 0);
	tmp_cleanup();
}

static void test_bad_config(void)
{
	struct fd_machine fm;
	struct virtio_vsock *v;
	struct vsock_config cfg = {.enabled = true, .guest_cid = 2};

	tmp_setup();
	fd_machine_init(&fm);
	strcpy(cfg.uds_path, path);
	CHECK_EQ(virtio_vsock_create(fm.m, &cfg, &v), -EINVAL);
	cfg.guest_cid = 3;
	snprintf(cfg.uds_path, sizeof(cfg.uds_path), "%s/missing/dir/v.sock", dir);
	CHECK_EQ(virtio_vsock_create(fm.m, &cfg, &v), -ENOENT);
	CHECK_EQ(fm.m->nr_virtio_slots, 0);
	fd_machine_fini(&fm);
	tmp_cleanup();
}

int main(void)
{
	TEST_RUN(test_guest_to_host);
	TEST_RUN(test_guest_refused);
	TEST_RUN(test_host_to_guest);
	TEST_RUN(test_timeouts);
	TEST_RUN(test_credit);
	TEST_RUN(test_credit_update);
	TEST_RUN(test_many_connections);
	TEST_RUN(test_stale_socket);
	TEST_RUN(test_device);
	TEST_RUN(test_bad_config);
	return test_done();
}
