/* virtio-vsock internals shared by the device (vsock.c) and the connection
 * layer (vsock_conn.c): the packet format of virtio 1.2 section 5.10.6 and
 * the host side of each connection, a Unix socket as Firecracker maps them. */
#ifndef POPEK_VSOCK_PRIV_H
#define POPEK_VSOCK_PRIV_H

#include "popek/types.h"

#define VSOCK_HOST_CID 2
#define VSOCK_RXQ      0
#define VSOCK_TXQ      1
#define VSOCK_EVQ      2

/* struct virtio_vsock_hdr (5.10.6), little-endian like the host. */
struct vsock_hdr {
	u64 src_cid;
	u64 dst_cid;
	u32 src_port;
	u32 dst_port;
	u32 len;
	u16 type;
	u16 op;
	u32 flags;
	u32 buf_alloc;
	u32 fwd_cnt;
} __attribute__((packed));

#define VSOCK_HDR_SIZE 44
_Static_assert(sizeof(struct vsock_hdr) == VSOCK_HDR_SIZE, "virtio_vsock_hdr is 44 bytes");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio fields are little-endian");

#define VSOCK_TYPE_STREAM 1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* struct virtio_vsock_event's id (5.10.6.7), the only event there is. */
#define VSOCK_EVENT_TRANSPORT_RESET 0

#define VSOCK_SHUTDOWN_RCV  1 /* the sender will receive no more */
#define VSOCK_SHUTDOWN_SEND 2 /* the sender will send no more */

#define VSOCK_MAX_PKT            (64 * KiB) /* largest payload accepted or sent */
#define VSOCK_BUF_ALLOC          (64 * KiB) /* our receive buffer per connection */
#define VSOCK_H2G_BUF            (16 * KiB) /* host bytes waiting for the guest */
#define VSOCK_MAX_CONNS          64
#define VSOCK_MAX_RST            64          /* RSTs for unknown connections */
#define VSOCK_CMD_MAX            32          /* longest "CONNECT <port>\n" line */
#define VSOCK_CONNECT_TIMEOUT_MS 2000        /* guest answer / CONNECT line */
#define VSOCK_HOST_PORT_BASE     0x40000000u /* local ports of host-initiated connections */

enum vsock_state {
	VSOCK_FREE = 0,
	VSOCK_CMD,       /* host connected to uds_path; reading "CONNECT <port>\n" */
	VSOCK_REQUESTED, /* REQUEST queued or sent; waiting for the guest's RESPONSE */
	VSOCK_ESTABLISHED,
	VSOCK_DYING, /* socket closed; an RST to the guest is pending */
};

/* Control packets waiting for a guest receive buffer. */
#define VSOCK_PEND_REQUEST        1
#define VSOCK_PEND_RESPONSE       2
#define VSOCK_PEND_CREDIT_UPDATE  4
#define VSOCK_PEND_CREDIT_REQUEST 8
#define VSOCK_PEND_SHUTDOWN       16 /* SHUTDOWN(SEND) sent after the host's end of file */
#define VSOCK_PEND_RST            32

/* One connection. All fields belong to the vsock thread. */
struct vsock_conn {
	enum vsock_state state;
	int fd; /* the host Unix socket; -1 when closed */
	u32 ev; /* epoll events registered (0: not in the epoll set) */
	u32 host_port, guest_port;
	u8 pend;         /* VSOCK_PEND_* */
	u64 deadline_ms; /* VSOCK_CMD / VSOCK_REQUESTED give up then */

	/* guest -> host: RW payloads not yet written to fd (a ring). */
	u8 *g2h;
	u32 g2h_head, g2h_len;
	u32 fwd_cnt;      /* bytes written to fd (5.10.6.3) */
	u32 fwd_cnt_sent; /* fwd_cnt the guest last saw */
	char ok[24];      /* "OK <port>\n" owed to the host before any data */
	u8 ok_len, ok_off;

	/* host -> guest: bytes read from fd not yet sent (a linear buffer). */
	u8 *h2g;
	u32 h2g_off, h2g_len;
	u32 tx_cnt; /* payload bytes sent to the guest */
	u32 peer_buf_alloc, peer_fwd_cnt;
	bool credit_asked; /* CREDIT_REQUEST sent since the last peer update */

	bool host_eof;      /* read() on fd returned 0 */
	bool guest_no_send; /* guest SHUTDOWN(SEND): shut fd for writing after g2h */
	bool guest_no_rcv;  /* guest SHUTDOWN(RCV): stop reading fd */
	bool wr_shut;       /* shutdown(fd, SHUT_WR) done */
};

/* The connection layer: every connection of one device and their sockets. */
struct vsock_core {
	u64 guest_cid;
	char path[108]; /* host side: listening socket; guest port P at path_P */
	int epfd;       /* sockets, listener and kick_fd */
	int listen_fd;  /* -1 without a path */
	int kick_fd;    /* eventfd: wakes vsock_core_poll() */
	u32 next_port;
	unsigned rr; /* round-robin start of vsock_core_rx_fill() */
	struct vsock_conn conns[VSOCK_MAX_CONNS];
	unsigned nr_rst;
	struct {
		u32 host_port, guest_port;
	} rst[VSOCK_MAX_RST];
	u64 (*now_ms)(void); /* monotonic clock (tests replace it) */
};

/* Sets up c for guest_cid. path may be NULL or empty (no host sockets: every
 * guest REQUEST is refused); otherwise popek listens on it. Returns 0 or
 * -errno (no log: the caller names the option). */
int vsock_core_init(struct vsock_core *c, u64 guest_cid, const char *path);
/* Closes every socket; unlinks the listening socket's path. */
void vsock_core_destroy(struct vsock_core *c);

/* Forgets every connection (device reset): sockets are closed, nothing is
 * sent to the guest. */
void vsock_core_reset(struct vsock_core *c);

/* One packet the guest transmitted; h->len bytes of payload at data (the
 * caller checked the length against the buffer and VSOCK_MAX_PKT). */
void vsock_core_guest_packet(struct vsock_core *c, const struct vsock_hdr *h, const u8 *data);

/* Whether vsock_core_rx_fill() has a packet for the guest. */
bool vsock_core_rx_pending(const struct vsock_core *c);
/* Writes the next packet for the guest (header then payload) into buf, room
 * bytes (>= VSOCK_HDR_SIZE). Returns its size, or 0 when nothing is pending. */
size_t vsock_core_rx_fill(struct vsock_core *c, u8 *buf, size_t room);

/* Waits up to timeout_ms (shortened by connection deadlines) for socket
 * events and serves them: accepts, reads, writes, closes, expired
 * deadlines. Returns true when kick_fd woke it. */
bool vsock_core_poll(struct vsock_core *c, int timeout_ms);
/* After packets moved: closes dead sockets and updates what epoll watches. */
void vsock_core_update(struct vsock_core *c);
/* Wakes vsock_core_poll() from any thread. */
void vsock_core_kick(struct vsock_core *c);

/* Between vsock_conn.c (protocol) and vsock_host.c (sockets). */
struct vsock_conn *vsock_conn_alloc(struct vsock_core *c); /* a free slot with buffers */
void vsock_conn_close_fd(struct vsock_conn *k);
void vsock_conn_free(struct vsock_conn *k);
/* Closes the socket and queues an RST for the guest (why: debug log). */
void vsock_conn_kill(struct vsock_conn *k, const char *why);
/* After output drained: applies the guest's SHUTDOWN to the socket. */
void vsock_conn_settle(struct vsock_conn *k);

#endif
