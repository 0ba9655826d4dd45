/* A TCP service at an address outside the slirp network (MMDS at
 * 169.254.169.254:80): libslirp terminates guest forwards only inside its
 * network, so the guest's frames to the service are rewritten to an alias
 * there (checksums updated, RFC 1624) and the answers rewritten back; ARP
 * for the address is answered here. All on the device's I/O thread. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "host/slirp_priv.h"
#include "popek/log.h"

#define ETH_HLEN          14
#define ETH_P_IPV4        0x0800
#define ETH_P_ARP_        0x0806
#define SLIRP_SVC_OUT_MAX (1024 * 1024) /* queued answers; then requests wait */

static u16 rd16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

static u32 rd32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static void wr16(u8 *p, u16 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static void wr32(u8 *p, u32 v)
{
	wr16(p, (u16)(v >> 16));
	wr16(p + 2, (u16)v);
}

/* RFC 1624 equation 3: HC' = ~(~HC + ~m + m') over the two 16-bit halves
 * of an address that changes from `from` to `to`. */
static void csum_replace32(u8 *sum, u32 from, u32 to)
{
	u32 c = (u16)~rd16(sum);

	c += (u16) ~(from >> 16) + (u16) ~(from & 0xFFFF) + (to >> 16) + (to & 0xFFFF);
	while (c >> 16)
		c = (c & 0xFFFF) + (c >> 16);
	wr16(sum, (u16)~c);
}

/* The IPv4 header of an unfragmented TCP segment wholly inside the frame,
 * or NULL. *tcp points at the TCP header. */
static u8 *ipv4_tcp(u8 *f, size_t len, u8 **tcp)
{
	u8 *ip = f + ETH_HLEN;
	size_t ihl, tot;

	if (len < ETH_HLEN + 20 || rd16(f + 12) != ETH_P_IPV4 || (ip[0] >> 4) != 4)
		return NULL;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = rd16(ip + 2);
	if (ihl < 20 || tot < ihl + 20 || tot > len - ETH_HLEN || ip[9] != 6 ||
	    (rd16(ip + 6) & 0x3FFF))
		return NULL;
	*tcp = ip + ihl;
	return ip;
}

/* An ARP request for the service's address: answered with a MAC in
 * libslirp's style (52:55 and the address). */
static void slirp_svc_arp(struct slirp_backend *s, const u8 *f, size_t len)
{
	const u8 *a = f + ETH_HLEN;
	u8 r[60] = {0}, mac[6] = {0x52, 0x55};

	if (len < ETH_HLEN + 28 || rd16(a) != 1 || rd16(a + 2) != ETH_P_IPV4 || a[4] != 6 ||
	    a[5] != 4 || rd16(a + 6) != 1)
		return;
	wr32(mac + 2, s->svc->svc.addr);
	memcpy(r, a + 8, 6); /* to the asker's hardware address */
	memcpy(r + 6, mac, 6);
	wr16(r + 12, ETH_P_ARP_);
	wr16(r + 14, 1);
	wr16(r + 16, ETH_P_IPV4);
	r[18] = 6;
	r[19] = 4;
	wr16(r + 20, 2); /* reply */
	memcpy(r + 22, mac, 6);
	wr32(r + 28, s->svc->svc.addr);
	memcpy(r + 32, a + 8, 10); /* the asker's MAC and IPv4 address */
	s->b.rx(s->b.rx_opaque, r, sizeof(r));
}

/* A guest segment to the service (before rewriting): a SYN starts the
 * connection that is served; its acknowledgments and FIN are followed. */
static void slirp_svc_track_guest(struct slirp_svc *sv, const u8 *ip, const u8 *tcp)
{
	u8 flags = tcp[13];
	u32 len = (u32)(rd16(ip + 2) - (size_t)(tcp - ip) - (size_t)(tcp[12] >> 4) * 4);

	if ((flags & 0x12) == 0x02) { /* SYN without ACK: a new connection */
		sv->in_len = 0;
		sv->out_len = sv->out_off = 0;
		sv->conn = true;
		sv->guest_fin = false;
		memcpy(sv->conn_eth, ip - ETH_HLEN, 12);
		sv->guest_ip = rd32(ip + 12);
		sv->guest_port = rd16(tcp);
		sv->guest_ack = sv->svc_nxt = 0;
		return;
	}
	if (!sv->conn || rd16(tcp) != sv->guest_port || rd32(ip + 12) != sv->guest_ip)
		return;
	if (flags & 0x04) { /* RST: libslirp closes its side itself */
		sv->conn = false;
		return;
	}
	if (flags & 0x10)
		sv->guest_ack = rd32(tcp + 8);
	if (flags & 0x01) {
		sv->guest_fin = true;
		sv->guest_nxt = rd32(tcp + 4) + len + 1;
	}
}

static u32 sum16(const u8 *p, size_t n, u32 sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += rd16(p + i);
	return sum;
}

static u16 sum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (u16)~sum;
}

/* The guest closed and has every byte: a RST from it ends libslirp's socket. */
static void slirp_svc_reset(struct slirp_backend *s)
{
	struct slirp_svc *sv = s->svc;
	u8 f[ETH_HLEN + 40] = {0}, *ip = f + ETH_HLEN, *tcp = ip + 20;

	if (!sv->conn || !sv->guest_fin || sv->out_len || (s32)(sv->guest_ack - sv->svc_nxt) < 0)
		return;
	sv->conn = false;
	memcpy(f, sv->conn_eth, 12);
	wr16(f + 12, ETH_P_IPV4);
	ip[0] = 0x45;
	wr16(ip + 2, 40);
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, sv->guest_ip);
	wr32(ip + 16, SLIRP_SVC_ALIAS);
	wr16(ip + 10, sum_fold(sum16(ip, 20, 0)));
	wr16(tcp, sv->guest_port);
	wr16(tcp + 2, sv->svc.port);
	wr32(tcp + 4, sv->guest_nxt);
	tcp[12] = 5 << 4;
	tcp[13] = 0x04; /* RST */
	wr16(tcp + 16, sum_fold(sum16(tcp, 20, sum16(ip + 12, 8, 6 + 20))));
	slirp_input(s->slirp, f, (int)sizeof(f));
}

const void *slirp_svc_from_guest(struct slirp_backend *s, const void *frame, size_t len)
{
	struct slirp_svc *sv = s->svc;
	const u8 *f = frame;
	u8 *ip, *tcp;
	u32 dst;

	if (!sv || len < ETH_HLEN + 20)
		return frame;
	if (rd16(f + 12) == ETH_P_ARP_) {
		if (len >= ETH_HLEN + 28 && rd32(f + ETH_HLEN + 24) == sv->svc.addr) {
			slirp_svc_arp(s, f, len);
			return NULL;
		}
		return frame;
	}
	if (rd16(f + 12) != ETH_P_IPV4 || (f[ETH_HLEN] >> 4) != 4)
		return frame;
	dst = rd32(f + ETH_HLEN + 16);
	if (dst == SLIRP_SVC_ALIAS)
		return NULL; /* the alias is reached through the service's address only */
	if (dst != sv->svc.addr)
		return frame;
	/* Only TCP to the service's port; the rest would leave through NAT. */
	if (len > SLIRP_FRAME_MAX)
		return NULL;
	memcpy(sv->tx, f, len);
	ip = ipv4_tcp(sv->tx, len, &tcp);
	if (!ip || rd16(tcp + 2) != sv->svc.port)
		return NULL;
	slirp_svc_track_guest(sv, ip, tcp);
	wr32(ip + 16, SLIRP_SVC_ALIAS);
	csum_replace32(ip + 10, sv->svc.addr, SLIRP_SVC_ALIAS);
	csum_replace32(tcp + 16, sv->svc.addr, SLIRP_SVC_ALIAS);
	return sv->tx;
}

const void *slirp_svc_to_guest(struct slirp_backend *s, const void *frame, size_t len)
{
	struct slirp_svc *sv = s->svc;
	const u8 *f = frame;
	u8 *ip, *tcp;

	if (!sv || len < ETH_HLEN + 20 || len > SLIRP_FRAME_MAX || rd16(f + 12) != ETH_P_IPV4 ||
	    rd32(f + ETH_HLEN + 12) != SLIRP_SVC_ALIAS)
		return frame;
	memcpy(sv->rx, f, len);
	ip = ipv4_tcp(sv->rx, len, &tcp);
	if (!ip)
		return frame;
	if (sv->conn && rd16(tcp + 2) == sv->guest_port) {
		u32 end = rd32(tcp + 4) + (u32)(rd16(ip + 2) - (tcp - ip) - (tcp[12] >> 4) * 4);
		end += (tcp[13] & 0x02 ? 1 : 0) + (tcp[13] & 0x01 ? 1 : 0); /* SYN, FIN */
		if ((s32)(end - sv->svc_nxt) > 0)
			sv->svc_nxt = end;
	}
	wr32(ip + 12, sv->svc.addr);
	csum_replace32(ip + 10, SLIRP_SVC_ALIAS, sv->svc.addr);
	csum_replace32(tcp + 16, SLIRP_SVC_ALIAS, sv->svc.addr);
	return sv->rx;
}

/* Answers the complete requests in sv->in while the answer queue has room. */
static void slirp_svc_serve(struct slirp_svc *sv)
{
	while (sv->in_len && sv->out_len - sv->out_off < SLIRP_SVC_OUT_MAX) {
		char *ans = NULL, *q;
		size_t alen = 0;
		ssize_t n = sv->svc.serve(sv->svc.opaque, sv->in, sv->in_len, &ans, &alen);

		if (n <= 0) {
			free(ans);
			if (n < 0 || sv->in_len == sizeof(sv->in))
				sv->in_len = 0; /* refused, or a broken serve: drop */
			return;
		}
		if ((size_t)n > sv->in_len)
			n = (ssize_t)sv->in_len;
		memmove(sv->in, sv->in + n, sv->in_len - (size_t)n);
		sv->in_len -= (size_t)n;
		if (sv->out_off) {
			memmove(sv->out, sv->out + sv->out_off, sv->out_len - sv->out_off);
			sv->out_len -= sv->out_off;
			sv->out_off = 0;
		}
		q = alen ? realloc(sv->out, sv->out_len + alen) : sv->out;
		if (q) {
			sv->out = q;
			memcpy(sv->out + sv->out_len, ans, alen);
			sv->out_len += alen;
		}
		free(ans);
	}
}

/* libslirp's guest forward: bytes the guest sent on the current connection. */
static ssize_t slirp_svc_write(const void *buf, size_t len, void *opaque)
{
	struct slirp_backend *s = opaque;
	struct slirp_svc *sv = s->svc;

	if (len > sizeof(sv->in) - sv->in_len) {
		if (!sv->warned)
			log_warn("net user: service %u: the guest sends faster than it reads the "
				 "answers: bytes dropped",
				 sv->svc.port);
		sv->warned = true;
		sv->in_len = 0;
		return (ssize_t)len;
	}
	memcpy(sv->in + sv->in_len, buf, len);
	sv->in_len += len;
	slirp_svc_serve(sv);
	return (ssize_t)len;
}

void slirp_svc_flush(struct slirp_backend *s)
{
	struct slirp_svc *sv = s->svc;
	struct in_addr a = slirp_in_addr(SLIRP_SVC_ALIAS);

	if (!sv)
		return;
	while (sv->out_off < sv->out_len) {
		size_t room = slirp_socket_can_recv(s->slirp, a, sv->svc.port);
		size_t n = sv->out_len - sv->out_off;

		if (!room)
			break;
		if (n > room)
			n = room;
		if (n > INT_MAX)
			n = INT_MAX;
		slirp_socket_recv(s->slirp, a, sv->svc.port, (const u8 *)sv->out + sv->out_off,
				  (int)n);
		sv->out_off += n;
	}
	if (sv->out_off == sv->out_len)
		sv->out_off = sv->out_len = 0;
	slirp_svc_serve(sv); /* requests that waited for room */
	slirp_svc_reset(s);
}

int slirp_backend_add_service(struct net_backend *b, const struct slirp_service *svc)
{
	struct slirp_backend *s = (struct slirp_backend *)b;
	struct in_addr a = slirp_in_addr(SLIRP_SVC_ALIAS);
	struct slirp_svc *sv;

	if (s->svc)
		return -EEXIST;
	if ((svc->addr & SLIRP_NET_MASK) == SLIRP_NET_ADDR || !svc->serve)
		return -EINVAL;
	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	sv->svc = *svc;
	sv->tx = malloc(SLIRP_FRAME_MAX);
	sv->rx = malloc(SLIRP_FRAME_MAX);
	s->svc = sv;
	if (!sv->tx || !sv->rx) {
		slirp_svc_destroy(s);
		return -ENOMEM;
	}
	if (slirp_add_guestfwd(s->slirp, slirp_svc_write, s, &a, svc->port) < 0) {
		slirp_svc_destroy(s);
		return -EINVAL;
	}
	return 0;
}

void slirp_svc_destroy(struct slirp_backend *s)
{
	struct slirp_svc *sv = s->svc;

	if (!sv)
		return;
	free(sv->tx);
	free(sv->rx);
	free(sv->out);
	free(sv);
	s->svc = NULL;
}
