/* virtio-vsock connections (virtio 1.2 section 5.10.6): the stream protocol
 * with credit-based flow control, each connection carried on a host Unix
 * socket the way Firecracker maps them. Runs on the vsock thread only. */
#include "virtio/vsock_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/unix_sock.h"
#include "popek/log.h"

/* ---- the connection table ------------------------------------------------ */

static struct vsock_conn *conn_find(struct vsock_core *c, u32 host_port, u32 guest_port)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *k = &c->conns[i];

		/* VSOCK_CMD connections have no ports yet. */
		if (k->state > VSOCK_CMD && k->host_port == host_port &&
		    k->guest_port == guest_port)
			return k;
	}
	return NULL;
}

struct vsock_conn *vsock_conn_alloc(struct vsock_core *c)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *k = &c->conns[i];

		if (k->state != VSOCK_FREE)
			continue;
		memset(k, 0, sizeof(*k));
		k->fd = -1;
		k->g2h = malloc(VSOCK_BUF_ALLOC + VSOCK_H2G_BUF);
		if (!k->g2h)
			return NULL;
		k->h2g = k->g2h + VSOCK_BUF_ALLOC;
		return k;
	}
	return NULL;
}

void vsock_conn_close_fd(struct vsock_conn *k)
{
	if (k->fd >= 0)
		close(k->fd); /* also leaves the epoll set */
	k->fd = -1;
	k->ev = 0;
}

void vsock_conn_free(struct vsock_conn *k)
{
	vsock_conn_close_fd(k);
	free(k->g2h);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

/* Queues an RST for a connection popek does not know (5.10.6.6). */
static void rst_queue(struct vsock_core *c, u32 host_port, u32 guest_port)
{
	if (c->nr_rst == VSOCK_MAX_RST)
		return; /* the guest times out instead */
	c->rst[c->nr_rst].host_port = host_port;
	c->rst[c->nr_rst].guest_port = guest_port;
	c->nr_rst++;
}

/* Ends a connection abruptly: the socket closes and the guest gets an RST. */
void vsock_conn_kill(struct vsock_conn *k, const char *why)
{
	log_debug("vsock: connection %u<->%u reset: %s", k->host_port, k->guest_port, why);
	if (k->state == VSOCK_CMD) {
		vsock_conn_free(k); /* the guest never heard of it */
		return;
	}
	vsock_conn_close_fd(k);
	k->state = VSOCK_DYING;
	k->pend = VSOCK_PEND_RST;
	k->g2h_len = k->h2g_len = 0;
	k->ok_len = k->ok_off = 0;
}

static u32 conn_credit(const struct vsock_conn *k)
{
	u32 inflight = k->tx_cnt - k->peer_fwd_cnt;

	/* A peer claiming to have consumed more than was sent gets nothing. */
	return inflight > k->peer_buf_alloc ? 0 : k->peer_buf_alloc - inflight;
}

static bool conn_out_pending(const struct vsock_conn *k)
{
	return k->ok_off < k->ok_len || k->g2h_len;
}

/* Once everything the guest sent reached the host: honour its shutdown. */
void vsock_conn_settle(struct vsock_conn *k)
{
	if (k->state != VSOCK_ESTABLISHED || conn_out_pending(k))
		return;
	if (k->guest_no_send && k->guest_no_rcv) {
		vsock_conn_kill(k, "closed by the guest"); /* the RST ends its close (5.10.6.6) */
	} else if (k->guest_no_send && !k->wr_shut) {
		shutdown(k->fd, SHUT_WR);
		k->wr_shut = true;
	}
}

/* ---- packets from the guest ----------------------------------------------- */

static void conn_from_guest(struct vsock_core *c, const struct vsock_hdr *h)
{
	char path[sizeof(c->path) + 12];
	struct vsock_conn *k;
	int fd;

	if (!c->path[0] ||
	    (size_t)snprintf(path, sizeof(path), "%s_%u", c->path, h->dst_port) >= sizeof(path)) {
		rst_queue(c, h->dst_port, h->src_port);
		return;
	}
	k = vsock_conn_alloc(c);
	if (!k) {
		log_debug("vsock: guest connection to port %u refused: too many", h->dst_port);
		rst_queue(c, h->dst_port, h->src_port);
		return;
	}
	fd = unix_connect(path);
	if (fd < 0) {
		log_debug("vsock: guest connection to port %u refused: %s: %s", h->dst_port, path,
			  strerror(-fd));
		vsock_conn_free(k);
		rst_queue(c, h->dst_port, h->src_port);
		return;
	}
	k->fd = fd;
	k->state = VSOCK_ESTABLISHED;
	k->host_port = h->dst_port;
	k->guest_port = h->src_port;
	k->peer_buf_alloc = h->buf_alloc;
	k->peer_fwd_cnt = h->fwd_cnt;
	k->pend = VSOCK_PEND_RESPONSE;
}

static void conn_guest_rw(struct vsock_conn *k, const struct vsock_hdr *h, const u8 *data)
{
	u32 tail, first;

	if (k->state != VSOCK_ESTABLISHED || k->guest_no_send) {
		vsock_conn_kill(k, "data outside an open stream");
		return;
	}
	if (h->len > VSOCK_BUF_ALLOC - k->g2h_len) {
		vsock_conn_kill(k, "guest exceeded its credit");
		return;
	}
	tail = (k->g2h_head + k->g2h_len) % VSOCK_BUF_ALLOC;
	first = MIN(h->len, VSOCK_BUF_ALLOC - tail);
	memcpy(k->g2h + tail, data, first);
	memcpy(k->g2h, data + first, h->len - first);
	k->g2h_len += h->len;
}

void vsock_core_guest_packet(struct vsock_core *c, const struct vsock_hdr *h, const u8 *data)
{
	struct vsock_conn *k;

	if (h->src_cid != c->guest_cid || h->dst_cid != VSOCK_HOST_CID) {
		log_debug("vsock: dropped a packet from cid %llu to cid %llu",
			  (unsigned long long)h->src_cid, (unsigned long long)h->dst_cid);
		return;
	}
	k = conn_find(c, h->dst_port, h->src_port);
	if (!k) {
		if (h->op == VSOCK_OP_REQUEST && h->type == VSOCK_TYPE_STREAM)
			conn_from_guest(c, h);
		else if (h->op != VSOCK_OP_RST)
			rst_queue(c, h->dst_port, h->src_port);
		return;
	}
	if (k->state == VSOCK_DYING)
		return; /* an RST is already on its way */
	if (h->op == VSOCK_OP_RST) {
		log_debug("vsock: connection %u<->%u reset by the guest", k->host_port,
			  k->guest_port);
		vsock_conn_free(k);
		return;
	}
	if (h->type != VSOCK_TYPE_STREAM) {
		vsock_conn_kill(k, "not a stream packet");
		return;
	}
	k->peer_buf_alloc = h->buf_alloc;
	k->peer_fwd_cnt = h->fwd_cnt;
	if (conn_credit(k))
		k->credit_asked = false;
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		if (k->state != VSOCK_REQUESTED) {
			vsock_conn_kill(k, "unexpected RESPONSE");
			break;
		}
		k->state = VSOCK_ESTABLISHED;
		k->pend &= (u8)~VSOCK_PEND_REQUEST;
		k->ok_len = (u8)snprintf(k->ok, sizeof(k->ok), "OK %u\n", k->host_port);
		k->ok_off = 0;
		break;
	case VSOCK_OP_RW:
		conn_guest_rw(k, h, data);
		break;
	case VSOCK_OP_SHUTDOWN:
		if (k->state != VSOCK_ESTABLISHED) {
			vsock_conn_kill(k, "SHUTDOWN before RESPONSE");
			break;
		}
		if (h->flags & VSOCK_SHUTDOWN_RCV) {
			k->guest_no_rcv = true;
			k->h2g_len = 0;
		}
		if (h->flags & VSOCK_SHUTDOWN_SEND)
			k->guest_no_send = true;
		vsock_conn_settle(k);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* the credit fields above were the point */
	case VSOCK_OP_CREDIT_REQUEST:
		k->pend |= VSOCK_PEND_CREDIT_UPDATE;
		break;
	default: /* REQUEST on an open connection, INVALID, unknown */
		vsock_conn_kill(k, "unexpected operation");
		break;
	}
}

/* ---- packets to the guest ------------------------------------------------- */

static bool conn_want_shutdown(const struct vsock_conn *k)
{
	return k->state == VSOCK_ESTABLISHED && k->host_eof && !k->h2g_len &&
	       !(k->pend & VSOCK_PEND_SHUTDOWN) && !k->guest_no_rcv;
}

static bool conn_has_work(const struct vsock_conn *k)
{
	switch (k->state) {
	case VSOCK_DYING:
		return true;
	case VSOCK_REQUESTED:
		return k->pend & VSOCK_PEND_REQUEST;
	case VSOCK_ESTABLISHED:
		if (k->pend & (VSOCK_PEND_RESPONSE | VSOCK_PEND_CREDIT_UPDATE))
			return true;
		if (k->h2g_len)
			return conn_credit(k) || !k->credit_asked;
		return conn_want_shutdown(k);
	default:
		return false;
	}
}

bool vsock_core_rx_pending(const struct vsock_core *c)
{
	if (c->nr_rst)
		return true;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (conn_has_work(&c->conns[i]))
			return true;
	return false;
}

static void hdr_init(struct vsock_hdr *h, const struct vsock_core *c, u32 host_port, u32 guest_port,
		     u16 op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = c->guest_cid;
	h->src_port = host_port;
	h->dst_port = guest_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
}

/* The connection's most urgent packet (it has work). Returns payload bytes. */
static u32 conn_fill(struct vsock_core *c, struct vsock_conn *k, struct vsock_hdr *h, u8 *data,
		     size_t room)
{
	u32 n = 0;

	hdr_init(h, c, k->host_port, k->guest_port, VSOCK_OP_CREDIT_UPDATE);
	if (k->state == VSOCK_DYING) {
		h->op = VSOCK_OP_RST;
		vsock_conn_free(k);
		return 0;
	}
	h->buf_alloc = VSOCK_BUF_ALLOC;
	h->fwd_cnt = k->fwd_cnt;
	k->fwd_cnt_sent = k->fwd_cnt;
	if (k->pend & VSOCK_PEND_REQUEST) {
		h->op = VSOCK_OP_REQUEST;
		k->pend &= (u8)~VSOCK_PEND_REQUEST;
	} else if (k->pend & VSOCK_PEND_RESPONSE) {
		h->op = VSOCK_OP_RESPONSE;
		k->pend &= (u8)~VSOCK_PEND_RESPONSE;
	} else if (k->h2g_len && conn_credit(k)) {
		n = (u32)MIN(MIN(k->h2g_len, conn_credit(k)), MIN(room, VSOCK_MAX_PKT));
		h->op = VSOCK_OP_RW;
		memcpy(data, k->h2g + k->h2g_off, n);
		k->h2g_off += n;
		k->h2g_len -= n;
		if (!k->h2g_len)
			k->h2g_off = 0;
		k->tx_cnt += n;
		k->pend &= (u8)~VSOCK_PEND_CREDIT_UPDATE; /* this packet carries it */
	} else if (k->pend & VSOCK_PEND_CREDIT_UPDATE) {
		k->pend &= (u8)~VSOCK_PEND_CREDIT_UPDATE;
	} else if (k->h2g_len) {
		h->op = VSOCK_OP_CREDIT_REQUEST; /* data waits for guest credit */
		k->credit_asked = true;
	} else {
		h->op = VSOCK_OP_SHUTDOWN; /* the host closed its end */
		h->flags = VSOCK_SHUTDOWN_SEND;
		k->pend |= VSOCK_PEND_SHUTDOWN;
	}
	h->len = n;
	return n;
}

size_t vsock_core_rx_fill(struct vsock_core *c, u8 *buf, size_t room)
{
	struct vsock_hdr h;

	if (room < VSOCK_HDR_SIZE)
		return 0;
	if (c->nr_rst) {
		hdr_init(&h, c, c->rst[0].host_port, c->rst[0].guest_port, VSOCK_OP_RST);
		memmove(&c->rst[0], &c->rst[1], --c->nr_rst * sizeof(c->rst[0]));
		memcpy(buf, &h, sizeof(h));
		return VSOCK_HDR_SIZE;
	}
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		unsigned idx = (c->rr + i) % VSOCK_MAX_CONNS;
		struct vsock_conn *k = &c->conns[idx];
		u32 n;

		if (!conn_has_work(k))
			continue;
		c->rr = idx + 1;
		n = conn_fill(c, k, &h, buf + VSOCK_HDR_SIZE, room - VSOCK_HDR_SIZE);
		memcpy(buf, &h, sizeof(h));
		return VSOCK_HDR_SIZE + n;
	}
	return 0;
}
