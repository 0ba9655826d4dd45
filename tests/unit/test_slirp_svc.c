/* The slirp back-end's terminated TCP service (host/slirp_svc.c, MMDS's
 * transport) against real libslirp, with hand-made guest frames: ARP for the
 * service's address answered, a TCP handshake and a request to
 * 169.254.169.254:80 answered from that address with valid checksums, the
 * connection gone from libslirp once the guest closed it, and other traffic
 * to the address (another port, UDP, the internal alias) dropped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/slirp.h"
#include "host/slirp_priv.h"
#include "test.h"

#define SVC_ADDR 0xA9FEA9FEu
#define GUEST_IP 0x0A00020Fu

static const u8 guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct seen {
	unsigned frames;
	u8 last[2048];
	size_t last_len;
	char data[65536]; /* TCP payload bytes received, in order */
	size_t data_len;
	u32 seq; /* the service's next sequence number */
	bool syn_ack;
};

static u16 rd16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

static u32 rd32(const u8 *p)
{
	return (u32)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static void wr32(u8 *p, u32 v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

static u32 sum16(const u8 *p, size_t n, u32 s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += rd16(p + i);
	if (n & 1)
		s += (u32)p[n - 1] << 8;
	return s;
}

static u16 fold(u32 s)
{
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (u16)~s;
}

/* The checksum over a TCP or UDP segment with its IPv4 pseudo-header;
 * 0 when the segment's own checksum is right. */
static u16 l4_sum(const u8 *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4, len = rd16(ip + 2) - ihl;
	u32 s = sum16(ip + 12, 8, 0) + ip[9] + (u32)len;

	return fold(sum16(ip + ihl, len, s));
}

static bool record_rx(void *opaque, const void *frame, size_t len)
{
	struct seen *sn = opaque;
	const u8 *f = frame, *ip = f + 14, *tcp;
	size_t ihl, payload;

	sn->frames++;
	sn->last_len = len < sizeof(sn->last) ? len : sizeof(sn->last);
	memcpy(sn->last, f, sn->last_len);
	if (len < 54 || rd16(f + 12) != 0x0800 || ip[9] != 6)
		return true;
	ihl = (size_t)(ip[0] & 15) * 4;
	tcp = ip + ihl;
	CHECK_EQ(rd32(ip + 12), SVC_ADDR); /* answered from the service's address */
	CHECK_EQ(fold(sum16(ip, ihl, 0)), 0);
	CHECK_EQ(l4_sum(ip), 0);
	CHECK_EQ(rd16(tcp), 80);
	payload = rd16(ip + 2) - ihl - (size_t)(tcp[12] >> 4) * 4;
	if ((tcp[13] & 0x12) == 0x12) {
		sn->syn_ack = true;
		sn->seq = rd32(tcp + 4) + 1;
	}
	if (payload && sn->data_len + payload <= sizeof(sn->data)) {
		memcpy(sn->data + sn->data_len, tcp + (tcp[12] >> 4) * 4, payload);
		sn->data_len += payload;
	}
	sn->seq += (u32)payload;
	return true;
}

/* A guest frame: IPv4 from 10.0.2.15 to dst, proto 6 (TCP, flags, seq, ack)
 * or 17 (UDP), with payload; returns its length. */
static size_t guest_frame(u8 *f, u32 dst, u8 proto, u16 dport, u8 flags, u32 seq, u32 ack,
			  const char *payload)
{
	size_t plen = payload ? strlen(payload) : 0, l4 = proto == 6 ? 20 : 8;
	u8 *ip = f + 14, *h = ip + 20;

	memset(f, 0, 14 + 20 + l4 + plen);
	memcpy(f, "\x52\x55\x0a\x00\x02\x02", 6);
	memcpy(f + 6, guest_mac, 6);
	wr16(f + 12, 0x0800);
	ip[0] = 0x45;
	wr16(ip + 2, (u32)(20 + l4 + plen));
	ip[8] = 64;
	ip[9] = proto;
	wr32(ip + 12, GUEST_IP);
	wr32(ip + 16, dst);
	wr16(ip + 10, fold(sum16(ip, 20, 0)));
	wr16(h, 40000);
	wr16(h + 2, dport);
	if (proto == 6) {
		wr32(h + 4, seq);
		wr32(h + 8, ack);
		h[12] = 5 << 4;
		h[13] = flags;
		wr16(h + 14, 65535);
		memcpy(h + 20, payload ? payload : "", plen);
		wr16(h + 16, l4_sum(ip));
	} else {
		wr16(h + 4, (u32)(8 + plen));
		memcpy(h + 8, payload ? payload : "", plen);
		wr16(h + 6, l4_sum(ip));
	}
	return 14 + 20 + l4 + plen;
}

static size_t arp_request(u8 *f, u32 target)
{
	memset(f, 0, 42);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(f + 22, guest_mac, 6);
	wr32(f + 28, GUEST_IP);
	wr32(f + 38, target);
	return 42;
}

/* The fake service: answers each line ending in '\n' with "OK:<line>". */
static ssize_t echo_serve(void *opaque, const char *in, size_t len, char **out, size_t *out_len)
{
	const char *nl = memchr(in, '\n', len);
	size_t n;

	(void)opaque;
	if (!nl)
		return 0;
	n = (size_t)(nl - in) + 1;
	*out = malloc(n + 3);
	memcpy(*out, "OK:", 3);
	memcpy(*out + 3, in, n);
	*out_len = n + 3;
	return (ssize_t)n;
}

/* libslirp's TCP sockets, by its own account. */
static unsigned tcp_sockets(struct net_backend *be)
{
	char *info = slirp_connection_info(((struct slirp_backend *)be)->slirp), *p = info;
	unsigned n = 0;

	while ((p = strstr(p, "TCP[")) != NULL) {
		n++;
		p += 4;
	}
	free(info);
	return n;
}

static void test_slirp_service(void)
{
	struct net_config cfg = {.mode = NET_USER};
	struct slirp_service svc = {SVC_ADDR, 80, echo_serve, NULL};
	struct net_backend *be = NULL;
	static struct seen sn;
	u8 f[256];
	size_t n;
	unsigned before;

	CHECK_EQ(slirp_backend_create(&cfg, record_rx, &sn, &be), 0);
	if (!be)
		return;
	CHECK_EQ(slirp_backend_add_service(be, &svc), 0);
	CHECK_EQ(slirp_backend_add_service(be, &svc), -EEXIST);

	/* ARP for the service's address: answered with 52:55:a9:fe:a9:fe. */
	CHECK_EQ(be->ops->send(be, f, arp_request(f, SVC_ADDR)), 0);
	CHECK_EQ(sn.frames, 1);
	CHECK(!memcmp(sn.last, guest_mac, 6));
	CHECK(!memcmp(sn.last + 6, "\x52\x55\xa9\xfe\xa9\xfe", 6));
	CHECK_EQ(rd16(sn.last + 20), 2);
	CHECK_EQ(rd32(sn.last + 28), SVC_ADDR);
	CHECK(!memcmp(sn.last + 32, guest_mac, 6));
	/* slirp learns the guest's MAC from an ARP for its gateway. */
	CHECK_EQ(be->ops->send(be, f, arp_request(f, 0x0A000202u)), 0);

	/* Handshake and one request, answered from 169.254.169.254:80. */
	n = guest_frame(f, SVC_ADDR, 6, 80, 0x02, 1000, 0, NULL);
	CHECK_EQ(be->ops->send(be, f, n), 0);
	CHECK(sn.syn_ack);
	n = guest_frame(f, SVC_ADDR, 6, 80, 0x10, 1001, sn.seq, NULL);
	CHECK_EQ(be->ops->send(be, f, n), 0);
	n = guest_frame(f, SVC_ADDR, 6, 80, 0x18, 1001, sn.seq, "GET x\n");
	CHECK_EQ(be->ops->send(be, f, n), 0);
	CHECK_EQ(sn.data_len, 9);
	CHECK(!memcmp(sn.data, "OK:GET x\n", 9));
	/* 20 KB without a complete request: more than the service's buffer
	 * (SLIRP_SERVICE_MAX_REQUEST) is dropped, then requests work again. */
	{
		char junk[1001];
		u32 seq = 1007;

		memset(junk, 'j', 1000);
		junk[1000] = 0;
		for (int i = 0; i < 20; i++, seq += 1000) {
			static u8 big[1100];
			n = guest_frame(big, SVC_ADDR, 6, 80, 0x18, seq, sn.seq, junk);
			CHECK_EQ(be->ops->send(be, big, n), 0);
		}
		CHECK_EQ(sn.data_len, 9); /* nothing answered */
		n = guest_frame(f, SVC_ADDR, 6, 80, 0x18, seq, sn.seq, "\nGET y\n");
		CHECK_EQ(be->ops->send(be, f, n), 0);
		CHECK(sn.data_len > 9 && !memcmp(sn.data + sn.data_len - 9, "OK:GET y\n", 9));
		seq += 7;
		/* The guest closes with everything acknowledged: libslirp's side goes. */
		CHECK_EQ(tcp_sockets(be), 1);
		n = guest_frame(f, SVC_ADDR, 6, 80, 0x11, seq, sn.seq, NULL);
		CHECK_EQ(be->ops->send(be, f, n), 0);
		CHECK_EQ(tcp_sockets(be), 0);
	}

	/* Dropped: another port, UDP, the internal alias 10.0.2.4. */
	before = sn.frames;
	n = guest_frame(f, SVC_ADDR, 6, 81, 0x02, 5000, 0, NULL);
	CHECK_EQ(be->ops->send(be, f, n), 0);
	n = guest_frame(f, SVC_ADDR, 17, 80, 0, 0, 0, "x");
	CHECK_EQ(be->ops->send(be, f, n), 0);
	n = guest_frame(f, 0x0A000204u, 6, 80, 0x02, 6000, 0, NULL);
	CHECK_EQ(be->ops->send(be, f, n), 0);
	/* Truncated: an IPv4 length beyond the frame. */
	n = guest_frame(f, SVC_ADDR, 6, 80, 0x02, 7000, 0, NULL);
	CHECK_EQ(be->ops->send(be, f, n - 10), 0);
	CHECK_EQ(sn.frames, before);
	be->ops->destroy(be);
}

static void test_slirp_service_refused(void)
{
	struct net_config cfg = {.mode = NET_USER};
	struct slirp_service inside = {0x0A000209u, 80, echo_serve, NULL};
	struct net_backend *be = NULL;

	CHECK_EQ(slirp_backend_create(&cfg, record_rx, NULL, &be), 0);
	if (!be)
		return;
	CHECK_EQ(slirp_backend_add_service(be, &inside), -EINVAL);
	be->ops->destroy(be);
}

int main(void)
{
	TEST_RUN(test_slirp_service);
	TEST_RUN(test_slirp_service_refused);
	return test_done();
}
