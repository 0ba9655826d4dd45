/* Inside the slirp back-end (slirp.c, slirp_svc.c): its state and the hooks
 * of the terminated TCP service (host/slirp.h's slirp_service). */
#ifndef POPEK_SLIRP_PRIV_H
#define POPEK_SLIRP_PRIV_H

#include <netinet/in.h>
#include <slirp/libslirp.h>

#include "host/slirp.h"

/* The address inside the slirp network that libslirp terminates the
 * service's connections on (a guest forward); the guest never sees it: its
 * frames to the service's address are rewritten to it and back. */
#define SLIRP_SVC_ALIAS 0x0A000204u /* 10.0.2.4 */

/* Largest frame rewritten: a 64 KiB IP packet, Ethernet and VLAN headers. */
#define SLIRP_FRAME_MAX (65535 + 18)

/* A slirp timer (libslirp uses them for IPv6 router advertisements). */
struct slirp_timer {
	SlirpTimerCb cb;
	void *cb_opaque;
	s64 expire_ms; /* -1: not armed */
	struct slirp_timer *next;
};

struct slirp_svc {
	struct slirp_service svc;
	char in[SLIRP_SERVICE_MAX_REQUEST]; /* the current connection's unanswered bytes */
	size_t in_len;
	char *out; /* answers not yet taken by libslirp's socket */
	size_t out_len, out_off;
	u8 *tx, *rx; /* rewritten frames, SLIRP_FRAME_MAX bytes each */
	bool warned;
	/* libslirp cannot close a guest forward: once the guest has closed
	 * its side (FIN) and acknowledged every byte the service sent, popek
	 * resets libslirp's side in the guest's name (RFC 9293 3.10.7.4),
	 * else each connection would stay in CLOSE_WAIT for the VM's life. */
	bool conn;       /* the current connection (the last SYN) is tracked */
	bool guest_fin;  /* the guest sent its FIN */
	u8 conn_eth[12]; /* its MAC addresses, from the guest's frames */
	u32 guest_ip;    /* its address and port on the guest's side */
	u16 guest_port;
	u32 guest_nxt; /* the guest's sequence number after its FIN */
	u32 guest_ack; /* the last acknowledgment the guest sent */
	u32 svc_nxt;   /* the service's sequence number after what it sent */
};

struct slirp_backend {
	struct net_backend b;
	Slirp *slirp;
	struct slirp_timer *timers;
	struct net_pollset *ps; /* valid during poll_fill/poll_done */
	struct slirp_svc *svc;  /* NULL: none */
};

struct in_addr slirp_in_addr(u32 host_order);

/* A frame from the guest: returns the frame to give libslirp (frame, or a
 * rewritten copy of the same length), or NULL when it is dropped or was
 * answered here (ARP for the service's address). */
const void *slirp_svc_from_guest(struct slirp_backend *s, const void *frame, size_t len);
/* A frame from libslirp for the guest: frame or a rewritten copy. */
const void *slirp_svc_to_guest(struct slirp_backend *s, const void *frame, size_t len);
/* Hands queued answers to libslirp's socket as far as it takes them. */
void slirp_svc_flush(struct slirp_backend *s);
void slirp_svc_destroy(struct slirp_backend *s);

#endif
