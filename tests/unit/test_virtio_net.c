/* Unit tests of virtio-net: TX parsing and RX filling over a queue in fake
 * guest memory, checksum completion, and the whole device (transport, I/O
 * thread, reset after a broken request) with a fake back-end. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "core/machine.h"
#include "host/slirp.h"
#include "test.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

#define MEM_SIZE  (4 * MiB)
#define QSIZE     16
#define DESC_GPA  0x10000
#define AVAIL_GPA 0x11000
#define USED_GPA  0x12000
#define BUF_GPA   0x100000

#define F_NEXT  1
#define F_WRITE 2

/* ---- a split queue written by hand, as a driver would ------------------ */

struct qfix {
	struct guest_mem *mem;
	struct virtq q; /* the device's view (pure tests) */
	gpa_t desc, avail, used;
	u16 next_desc, avail_idx, used_seen;
};

struct seg {
	u64 addr;
	u32 len;
	bool write;
};

static void w16(struct guest_mem *mem, gpa_t a, u16 v)
{
	CHECK_EQ(guest_mem_write(mem, a, &v, 2), 0);
}

static u16 r16(struct guest_mem *mem, gpa_t a)
{
	u16 v = 0;
	CHECK_EQ(guest_mem_read(mem, a, &v, 2), 0);
	return v;
}

static u32 r32(struct guest_mem *mem, gpa_t a)
{
	u32 v = 0;
	CHECK_EQ(guest_mem_read(mem, a, &v, 4), 0);
	return v;
}

static void qfix_init(struct qfix *f, struct guest_mem *mem, gpa_t base)
{
	memset(f, 0, sizeof(*f));
	f->mem = mem;
	f->desc = base;
	f->avail = base + 0x1000;
	f->used = base + 0x2000;
	memset(guest_mem_ptr(mem, base, 0x3000), 0, 0x3000);
	f->q.size = QSIZE;
	f->q.ready = true;
	f->q.desc = f->desc;
	f->q.avail = f->avail;
	f->q.used = f->used;
}

/* Writes one descriptor; next is the index it links to (flags NEXT). */
static void qfix_desc(struct qfix *f, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	CHECK_EQ(guest_mem_write(f->mem, f->desc + 16 * (u64)i, d, 16), 0);
}

static void qfix_publish(struct qfix *f, u16 head)
{
	w16(f->mem, f->avail + 4 + 2 * (f->avail_idx % QSIZE), head);
	f->avail_idx++;
	w16(f->mem, f->avail + 2, f->avail_idx);
}

/* Adds a chain of n segments and makes it available; returns its head. */
static u16 qfix_add(struct qfix *f, const struct seg *s, unsigned n)
{
	u16 head = f->next_desc;

	for (unsigned i = 0; i < n; i++) {
		u16 idx = (u16)((head + i) % QSIZE);
		u16 flags = (u16)((s[i].write ? F_WRITE : 0) | (i + 1 < n ? F_NEXT : 0));
		qfix_desc(f, idx, s[i].addr, s[i].len, flags, (u16)((idx + 1) % QSIZE));
	}
	f->next_desc = (u16)((head + n) % QSIZE);
	qfix_publish(f, head);
	return head;
}

/* The next used element, if the device published one. */
static bool qfix_used(struct qfix *f, u32 *id, u32 *len)
{
	gpa_t el;

	if (r16(f->mem, f->used + 2) == f->used_seen)
		return false;
	el = f->used + 4 + 8 * (u64)(f->used_seen % QSIZE);
	*id = r32(f->mem, el);
	*len = r32(f->mem, el + 4);
	f->used_seen++;
	return true;
}

static struct guest_mem test_mem;
static struct virtq_elem test_elem;
static u8 test_frame[VIRTIO_NET_FRAME_MAX];

static void mem_setup(void)
{
	if (!test_mem.base)
		CHECK_EQ(guest_mem_init(&test_mem, MEM_SIZE), 0);
}

/* Puts a virtio-net header and payload at gpa; returns the total length. */
static u32 put_packet(gpa_t gpa, u8 flags, u8 gso, u16 cstart, u16 coff, const void *p, u32 len)
{
	u8 hdr[VIRTIO_NET_HDR_LEN] = {flags, gso};

	memcpy(hdr + 6, &cstart, 2);
	memcpy(hdr + 8, &coff, 2);
	CHECK_EQ(guest_mem_write(&test_mem, gpa, hdr, sizeof(hdr)), 0);
	CHECK_EQ(guest_mem_write(&test_mem, gpa + sizeof(hdr), p, len), 0);
	return VIRTIO_NET_HDR_LEN + len;
}

static void fill_frame(u8 *p, u32 len, u8 seed)
{
	for (u32 i = 0; i < len; i++)
		p[i] = (u8)(seed + i * 7);
}

/* ---- checksum ------------------------------------------------------------ */

/* The IPv4 header example of RFC 1071 style: a known header whose
 * checksum field, once filled, makes the whole header sum to 0xffff. */
static void test_csum_complete(void)
{
	u8 ip[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	u8 odd[7] = {1, 2, 3, 4, 5, 0, 0};

	CHECK_EQ(virtio_net_csum_complete(ip, sizeof(ip), 0, 10), 0);
	CHECK_EQ(ip[10] << 8 | ip[11], 0xb861); /* the well-known answer */
	/* Odd length: the last byte is padded with a zero octet; the field
	 * (initially 0x0500, like a driver's pseudo-header sum) is summed too:
	 * 0x0102 + 0x0304 + 0x0500 + 0x0000 = 0x0906. */
	CHECK_EQ(virtio_net_csum_complete(odd, sizeof(odd), 0, 6), -EINVAL); /* field past end */
	CHECK_EQ(virtio_net_csum_complete(odd, sizeof(odd), 0, 4), 0);
	CHECK_EQ(odd[4] << 8 | odd[5], 0xf6f9);
	CHECK_EQ(virtio_net_csum_complete(ip, sizeof(ip), 20, 0), -EINVAL);
	CHECK_EQ(virtio_net_csum_complete(ip, sizeof(ip), 19, 0), -EINVAL);
	CHECK_EQ(virtio_net_csum_complete(ip, sizeof(ip), 0xffff, 0xffff), -EINVAL);
	/* A computed 0 is sent as 0xffff. */
	u8 z[4] = {0xff, 0xff, 0, 0};
	CHECK_EQ(virtio_net_csum_complete(z, 4, 0, 2), 0);
	CHECK_EQ(z[2] << 8 | z[3], 0xffff);
}

/* ---- TX parsing ----------------------------------------------------------- */

static void test_tx_valid_split_header(void)
{
	struct qfix f;
	u8 payload[100];
	const char *why = NULL;
	size_t len = 0;
	u32 id, ulen;

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	fill_frame(payload, sizeof(payload), 3);
	/* Header in one descriptor, the frame split over two more. */
	put_packet(BUF_GPA, 0, 0, 0, 0, payload, sizeof(payload));
	struct seg s[3] = {
	    {BUF_GPA, 12, false}, {BUF_GPA + 12, 40, false}, {BUF_GPA + 52, 60, false}};
	u16 head = qfix_add(&f, s, 3);
	CHECK_EQ(virtio_net_tx_pop(&f.q, &test_mem, false, &test_elem, test_frame, &len, &why), 1);
	CHECK_EQ(len, sizeof(payload));
	CHECK(!memcmp(test_frame, payload, sizeof(payload)));
	CHECK(qfix_used(&f, &id, &ulen));
	CHECK_EQ(id, head);
	CHECK_EQ(ulen, 0);
	/* Now the ring is empty. */
	CHECK_EQ(virtio_net_tx_pop(&f.q, &test_mem, false, &test_elem, test_frame, &len, &why), 0);
}

static void test_tx_runt_dropped(void)
{
	struct qfix f;
	u8 payload[10] = {0};
	const char *why = NULL;
	size_t len = 99;
	u32 id, ulen;

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	u32 total = put_packet(BUF_GPA, 0, 0, 0, 0, payload, sizeof(payload));
	struct seg s = {BUF_GPA, total, false};
	qfix_add(&f, &s, 1);
	CHECK_EQ(virtio_net_tx_pop(&f.q, &test_mem, false, &test_elem, test_frame, &len, &why), 1);
	CHECK_EQ(len, 0);
	CHECK(qfix_used(&f, &id, &ulen)); /* the buffer still goes back */
}

static void tx_expect_broken(struct qfix *f, bool csum, const char *want)
{
	const char *why = NULL;
	size_t len;

	CHECK_EQ(virtio_net_tx_pop(&f->q, &test_mem, csum, &test_elem, test_frame, &len, &why),
		 -EINVAL);
	CHECK(why != NULL);
	if (why && want && !strstr(why, want)) {
		printf("  why = '%s', wanted '%s'\n", why, want);
		CHECK(0);
	}
}

static void test_tx_short_header(void)
{
	struct qfix f;

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	struct seg s = {BUF_GPA, 11, false};
	qfix_add(&f, &s, 1);
	tx_expect_broken(&f, false, "shorter than the 12-byte");
}

static void test_tx_writable_descriptor(void)
{
	struct qfix f;

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	struct seg s[2] = {{BUF_GPA, 64, false}, {BUF_GPA + 64, 64, true}};
	qfix_add(&f, s, 2);
	tx_expect_broken(&f, false, "device-writable");
}

static void test_tx_gso_and_csum_flags(void)
{
	struct qfix f;
	u8 payload[64] = {0};

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	u32 t = put_packet(BUF_GPA, 0, 1 /* TCPV4 */, 0, 0, payload, sizeof(payload));
	struct seg s = {BUF_GPA, t, false};
	qfix_add(&f, &s, 1);
	tx_expect_broken(&f, true, "GSO");

	qfix_init(&f, &test_mem, DESC_GPA);
	t = put_packet(BUF_GPA, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 14, 6, payload, sizeof(payload));
	s.len = t;
	qfix_add(&f, &s, 1);
	tx_expect_broken(&f, false, "NEEDS_CSUM without");

	qfix_init(&f, &test_mem, DESC_GPA);
	t = put_packet(BUF_GPA, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 60, 3, payload, sizeof(payload));
	s.len = t;
	qfix_add(&f, &s, 1);
	tx_expect_broken(&f, true, "beyond the frame");
}

static void test_tx_csum_offload(void)
{
	struct qfix f;
	u8 frame[14 + 20 + 8 + 5], want[sizeof(frame)];
	const char *why = NULL;
	size_t len;

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	fill_frame(frame, sizeof(frame), 9);
	/* UDP checksum field at 14 + 20 + 6; the driver leaves the pseudo-
	 * header sum there. The result must equal a full software sum. */
	frame[40] = 0x12;
	frame[41] = 0x34;
	memcpy(want, frame, sizeof(want));
	CHECK_EQ(virtio_net_csum_complete(want, sizeof(want), 34, 6), 0);
	u32 t = put_packet(BUF_GPA, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 34, 6, frame, sizeof(frame));
	struct seg s = {BUF_GPA, t, false};
	qfix_add(&f, &s, 1);
	CHECK_EQ(virtio_net_tx_pop(&f.q, &test_mem, true, &test_elem, test_frame, &len, &why), 1);
	CHECK_EQ(len, sizeof(frame));
	CHECK(!memcmp(test_frame, want, sizeof(want)));
	/* The receiver's check: the pseudo-header sum (0x1234 here) plus
	 * the segment with its checksum gives 0xffff. */
	u32 sum = 0x1234;
	for (size_t i = 34; i + 1 < len; i += 2)
		sum += (u32)(test_frame[i] << 8 | test_frame[i + 1]);
	sum += (u32)test_frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	CHECK_EQ(sum, 0xffff);
}

static void test_tx_too_long_outside_ram_loop(void)
{
	struct qfix f;

	mem_setup();
	/* Longer than any frame, all inside RAM. */
	qfix_init(&f, &test_mem, DESC_GPA);
	struct seg big = {BUF_GPA, VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX + 1, false};
	memset(guest_mem_ptr(&test_mem, BUF_GPA, 12), 0, 12);
	qfix_add(&f, &big, 1);
	tx_expect_broken(&f, false, "longer than");
	/* Exactly the limit is fine. */
	qfix_init(&f, &test_mem, DESC_GPA);
	big.len = VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX;
	qfix_add(&f, &big, 1);
	const char *why = NULL;
	size_t len;
	CHECK_EQ(virtio_net_tx_pop(&f.q, &test_mem, false, &test_elem, test_frame, &len, &why), 1);
	CHECK_EQ(len, VIRTIO_NET_FRAME_MAX);
	/* A huge length runs off the end of RAM. */
	qfix_init(&f, &test_mem, DESC_GPA);
	struct seg huge = {BUF_GPA, 0xffffffffu, false};
	qfix_add(&f, &huge, 1);
	tx_expect_broken(&f, false, "outside RAM");
	/* A buffer beyond RAM. */
	qfix_init(&f, &test_mem, DESC_GPA);
	struct seg out = {MEM_SIZE + 0x1000, 64, false};
	qfix_add(&f, &out, 1);
	tx_expect_broken(&f, false, "outside RAM");
	/* A descriptor that links to itself. */
	qfix_init(&f, &test_mem, DESC_GPA);
	qfix_desc(&f, 0, BUF_GPA, 64, F_NEXT, 0);
	qfix_publish(&f, 0);
	tx_expect_broken(&f, false, "loop");
}

/* ---- RX filling ----------------------------------------------------------- */

static void test_rx_fill(void)
{
	struct qfix f;
	u8 frame[200], got[12 + 200];
	const char *why = NULL;
	u32 used = 0, id, ulen;

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	fill_frame(frame, sizeof(frame), 1);
	CHECK_EQ(
	    virtio_net_rx_put(&f.q, &test_mem, &test_elem, frame, sizeof(frame), true, &used, &why),
	    0); /* no buffer yet */
	memset(guest_mem_ptr(&test_mem, BUF_GPA, 4096), 0xEE, 4096);
	/* Header split from the data, data over two descriptors. */
	struct seg s[3] = {
	    {BUF_GPA, 12, true}, {BUF_GPA + 12, 100, true}, {BUF_GPA + 112, 1514, true}};
	u16 head = qfix_add(&f, s, 3);
	CHECK_EQ(
	    virtio_net_rx_put(&f.q, &test_mem, &test_elem, frame, sizeof(frame), true, &used, &why),
	    1);
	CHECK_EQ(used, 12 + sizeof(frame));
	CHECK(qfix_used(&f, &id, &ulen));
	CHECK_EQ(id, head);
	CHECK_EQ(ulen, 12 + sizeof(frame));
	CHECK_EQ(guest_mem_read(&test_mem, BUF_GPA, got, sizeof(got)), 0);
	CHECK_EQ(got[0], VIRTIO_NET_HDR_F_DATA_VALID);
	CHECK_EQ(got[1], 0);
	CHECK_EQ(got[10] | got[11] << 8, 1); /* num_buffers */
	for (int i = 2; i < 10; i++)
		CHECK_EQ(got[i], 0);
	CHECK(!memcmp(got + 12, frame, sizeof(frame)));

	/* Without DATA_VALID. */
	struct seg one = {BUF_GPA, 2048, true};
	qfix_add(&f, &one, 1);
	CHECK_EQ(virtio_net_rx_put(&f.q, &test_mem, &test_elem, frame, 60, false, &used, &why), 1);
	CHECK_EQ(used, 72);
	CHECK_EQ(guest_mem_read(&test_mem, BUF_GPA, got, 12), 0);
	CHECK_EQ(got[0], 0);
}

/* 5.1.4.2: with VIRTIO_NET_F_MTU, no frame above mtu + Ethernet header
 * (and a VLAN tag) reaches the driver; without it, only the buffer limits. */
static void test_rx_too_long(void)
{
	CHECK(!virtio_net_rx_too_long(1418, 1400));
	CHECK(virtio_net_rx_too_long(1419, 1400));
	CHECK(!virtio_net_rx_too_long(65535 + 18, 65535));
	CHECK(virtio_net_rx_too_long(87, 68));
	CHECK(!virtio_net_rx_too_long(VIRTIO_NET_FRAME_MAX, 0));
}

static void test_rx_small_buffer_and_hostile(void)
{
	struct qfix f;
	u8 frame[1514] = {0};
	const char *why = NULL;
	u32 used = 1, id, ulen;

	mem_setup();
	qfix_init(&f, &test_mem, DESC_GPA);
	/* Too small for the frame: returned empty, the frame is dropped. */
	struct seg small = {BUF_GPA, 12 + 1000, true};
	qfix_add(&f, &small, 1);
	CHECK_EQ(virtio_net_rx_put(&f.q, &test_mem, &test_elem, frame, sizeof(frame), false, &used,
				   &why),
		 1);
	CHECK_EQ(used, 0);
	CHECK(qfix_used(&f, &id, &ulen));
	CHECK_EQ(ulen, 0);
	/* Shorter than the header: broken. */
	struct seg tiny = {BUF_GPA, 11, true};
	qfix_add(&f, &tiny, 1);
	CHECK_EQ(virtio_net_rx_put(&f.q, &test_mem, &test_elem, frame, 60, false, &used, &why),
		 -EINVAL);
	/* A device-readable descriptor in an RX chain: broken. */
	qfix_init(&f, &test_mem, DESC_GPA);
	struct seg ro = {BUF_GPA, 2048, false};
	qfix_add(&f, &ro, 1);
	CHECK_EQ(virtio_net_rx_put(&f.q, &test_mem, &test_elem, frame, 60, false, &used, &why),
		 -EINVAL);
	CHECK(why && strstr(why, "device-readable"));
}

/* ---- the whole device with a fake back-end --------------------------------- */

struct fake_be {
	struct net_backend b;
	int inject_fd; /* eventfd: frames in inject[] are ready */
	pthread_mutex_t lock;
	u8 inject[8][128];
	size_t inject_len[8];
	unsigned nr_inject;
	u8 sent[8][2048];
	size_t sent_len[8];
	unsigned nr_sent;
	int poll_idx;
	bool destroyed;
};

static void fake_poll_fill(struct net_backend *b, struct net_pollset *ps, int *timeout_ms,
			   bool can_rx)
{
	struct fake_be *f = (struct fake_be *)b;

	(void)can_rx;
	*timeout_ms = 50;
	f->poll_idx = net_pollset_add(ps, f->inject_fd, POLLIN);
}

static void fake_poll_done(struct net_backend *b, const struct net_pollset *ps, bool failed)
{
	struct fake_be *f = (struct fake_be *)b;
	u64 v;

	if (failed || f->poll_idx < 0 || !(ps->fds[f->poll_idx].revents & POLLIN))
		return;
	if (read(f->inject_fd, &v, 8) < 0)
		return;
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->nr_inject; i++)
		f->b.rx(f->b.rx_opaque, f->inject[i], f->inject_len[i]);
	f->nr_inject = 0;
	pthread_mutex_unlock(&f->lock);
}

static int fake_send(struct net_backend *b, const void *frame, size_t len)
{
	struct fake_be *f = (struct fake_be *)b;

	pthread_mutex_lock(&f->lock);
	if (f->nr_sent < 8 && len <= sizeof(f->sent[0])) {
		memcpy(f->sent[f->nr_sent], frame, len);
		f->sent_len[f->nr_sent++] = len;
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fake_destroy(struct net_backend *b)
{
	struct fake_be *f = (struct fake_be *)b;

	f->destroyed = true; /* owned by the test */
}

static const struct net_backend_ops fake_ops = {
    .name = "fake",
    .poll_fill = fake_poll_fill,
    .poll_done = fake_poll_done,
    .send = fake_send,
    .destroy = fake_destroy,
};

static unsigned irq_raised;

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	(void)opaque;
	if (gsi == LAYOUT_VIRTIO_GSI_BASE && level)
		__atomic_add_fetch(&irq_raised, 1, __ATOMIC_SEQ_CST);
}

#define MMIO(reg) (LAYOUT_VIRTIO_MMIO_BASE + (reg))

static u32 rd(struct machine *m, u64 reg)
{
	u64 v = 0;
	bus_read(&m->mmio, MMIO(reg), 4, &v);
	return (u32)v;
}

static void wr(struct machine *m, u64 reg, u32 v)
{
	bus_write(&m->mmio, MMIO(reg), 4, v);
}

static void dev_queue(struct machine *m, unsigned idx, struct qfix *f)
{
	wr(m, 0x30, idx);
	CHECK_EQ(rd(m, 0x34), VIRTIO_NET_QUEUE_MAX);
	wr(m, 0x38, QSIZE);
	wr(m, 0x80, (u32)f->desc);
	wr(m, 0x84, 0);
	wr(m, 0x90, (u32)f->avail);
	wr(m, 0x94, 0);
	wr(m, 0xa0, (u32)f->used);
	wr(m, 0xa4, 0);
	wr(m, 0x44, 1);
}

/* Driver initialization (3.1.1) with features VERSION_1 | MAC | STATUS. */
static void dev_init(struct machine *m, struct qfix *rx, struct qfix *tx)
{
	wr(m, 0x70, 0);
	wr(m, 0x70, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(m, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(m, 0x24, 0);
	wr(m, 0x20, 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS);
	wr(m, 0x24, 1);
	wr(m, 0x20, 1); /* VERSION_1 */
	wr(m, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	CHECK(rd(m, 0x70) & VIRTIO_STATUS_FEATURES_OK);
	qfix_init(rx, &m->mem, 0x20000);
	qfix_init(tx, &m->mem, 0x30000);
	dev_queue(m, 0, rx);
	dev_queue(m, 1, tx);
	wr(m, 0x70,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	       VIRTIO_STATUS_DRIVER_OK);
}

/* Waits up to 2 s for a used element on f. */
static bool wait_used(struct machine *m, struct qfix *f, u32 *id, u32 *len)
{
	struct timespec ts = {0, 1000000};

	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&m->dev_lock);
		bool ok = qfix_used(f, id, len);
		pthread_mutex_unlock(&m->dev_lock);
		if (ok)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static bool wait_status(struct machine *m, u32 bit)
{
	struct timespec ts = {0, 1000000};

	for (int i = 0; i < 2000; i++) {
		if (rd(m, 0x70) & bit)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void inject(struct fake_be *fb, const u8 *p, size_t len)
{
	u64 one = 1;

	pthread_mutex_lock(&fb->lock);
	memcpy(fb->inject[fb->nr_inject], p, len);
	fb->inject_len[fb->nr_inject++] = len;
	pthread_mutex_unlock(&fb->lock);
	CHECK_EQ(write(fb->inject_fd, &one, 8), 8);
}

static void test_device_end_to_end(void)
{
	struct machine *m = calloc(1, sizeof(*m));
	struct fake_be *fb = calloc(1, sizeof(*fb));
	struct net_config cfg = {.mode = NET_USER};
	struct virtio_net *n = NULL;
	struct qfix rx, tx;
	u8 frame[64], mac[6];
	u32 id, len;

	m->cfg.mem_size = MEM_SIZE;
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	m->irq.set = fake_irq;
	CHECK_EQ(guest_mem_init(&m->mem, MEM_SIZE), 0);
	fb->b.ops = &fake_ops;
	fb->b.rx_csum_valid = true;
	fb->inject_fd = eventfd(0, EFD_NONBLOCK);
	pthread_mutex_init(&fb->lock, NULL);
	CHECK_EQ(virtio_net_attach(m, &cfg, 2, &fb->b, &n), 0);
	if (!n)
		return;

	CHECK_EQ(rd(m, 0x000), 0x74726976);
	CHECK_EQ(rd(m, 0x008), VIRTIO_ID_NET);
	wr(m, 0x14, 0);
	u32 feat = rd(m, 0x10);
	CHECK(feat & 1u << VIRTIO_NET_F_MAC);
	CHECK(feat & 1u << VIRTIO_NET_F_STATUS);
	for (int i = 0; i < 6; i++) {
		u64 v = 0;
		bus_read(&m->mmio, MMIO(0x100 + i), 1, &v);
		mac[i] = (u8)v;
	}
	CHECK(!memcmp(mac, "\x52\x54\x00\x12\x34\x58", 6)); /* default MAC + index 2 */
	u64 st = 0;
	bus_read(&m->mmio, MMIO(0x106), 2, &st);
	CHECK_EQ(st, VIRTIO_NET_S_LINK_UP);

	dev_init(m, &rx, &tx);
	CHECK(rd(m, 0x70) & VIRTIO_STATUS_DRIVER_OK);

	/* TX: one frame reaches the back-end, the chain comes back. */
	fill_frame(frame, sizeof(frame), 5);
	pthread_mutex_lock(&m->dev_lock);
	u8 hdr[12] = {0};
	guest_mem_write(&m->mem, 0x40000, hdr, 12);
	guest_mem_write(&m->mem, 0x4000c, frame, sizeof(frame));
	struct seg s = {0x40000, 12 + sizeof(frame), false};
	u16 head = qfix_add(&tx, &s, 1);
	pthread_mutex_unlock(&m->dev_lock);
	wr(m, 0x50, 1);
	CHECK(wait_used(m, &tx, &id, &len));
	CHECK_EQ(id, head);
	pthread_mutex_lock(&fb->lock);
	CHECK_EQ(fb->nr_sent, 1);
	CHECK_EQ(fb->sent_len[0], sizeof(frame));
	CHECK(!memcmp(fb->sent[0], frame, sizeof(frame)));
	pthread_mutex_unlock(&fb->lock);

	/* RX before any buffer: the frame waits, then arrives when the guest
	 * posts a buffer and notifies. */
	inject(fb, frame, 60);
	struct timespec ts = {0, 50 * 1000000};
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&m->dev_lock);
	struct seg rs = {0x50000, 2048, true};
	u16 rhead = qfix_add(&rx, &rs, 1);
	pthread_mutex_unlock(&m->dev_lock);
	wr(m, 0x64, 3); /* acknowledge the TX interrupt: the line drops */
	unsigned irq0 = __atomic_load_n(&irq_raised, __ATOMIC_SEQ_CST);
	wr(m, 0x50, 0);
	CHECK(wait_used(m, &rx, &id, &len));
	CHECK_EQ(id, rhead);
	CHECK_EQ(len, 12 + 60);
	u8 got[72];
	guest_mem_read(&m->mem, 0x50000, got, sizeof(got));
	CHECK_EQ(got[0], 0); /* GUEST_CSUM not negotiated: no DATA_VALID */
	CHECK(!memcmp(got + 12, frame, 60));
	nanosleep(&ts, NULL); /* the interrupt follows the used element */
	CHECK(__atomic_load_n(&irq_raised, __ATOMIC_SEQ_CST) > irq0);
	CHECK(rd(m, 0x60) & 1);

	/* A broken TX chain: NEEDS_RESET, no crash, nothing sent. */
	pthread_mutex_lock(&m->dev_lock);
	struct seg bad = {0x40000, 5, false};
	qfix_add(&tx, &bad, 1);
	pthread_mutex_unlock(&m->dev_lock);
	wr(m, 0x64, 3);
	wr(m, 0x50, 1);
	CHECK(wait_status(m, VIRTIO_STATUS_NEEDS_RESET));
	pthread_mutex_lock(&fb->lock);
	CHECK_EQ(fb->nr_sent, 1);
	pthread_mutex_unlock(&fb->lock);

	/* Reset and use it again. */
	dev_init(m, &rx, &tx);
	CHECK(!(rd(m, 0x70) & VIRTIO_STATUS_NEEDS_RESET));
	pthread_mutex_lock(&m->dev_lock);
	head = qfix_add(&tx, &s, 1);
	pthread_mutex_unlock(&m->dev_lock);
	wr(m, 0x50, 1);
	CHECK(wait_used(m, &tx, &id, &len));
	CHECK_EQ(id, head);
	pthread_mutex_lock(&fb->lock);
	CHECK_EQ(fb->nr_sent, 2);
	pthread_mutex_unlock(&fb->lock);

	virtio_net_destroy(n);
	CHECK(fb->destroyed);
	close(fb->inject_fd);
	pthread_mutex_destroy(&fb->lock);
	free(fb);
	guest_mem_destroy(&m->mem);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
}

/* Back-end errors name the option: a tap interface name that is too long. */
static void test_tap_bad_name(void)
{
	struct net_config cfg = {.mode = NET_TAP};
	struct virtio_net *n = (struct virtio_net *)1;

	memcpy(cfg.ifname, "0123456789abcdef", 16); /* no room for the NUL */
	CHECK_EQ(virtio_net_create(NULL, &cfg, 0, &n), -EINVAL);
	CHECK(n == NULL);
}

/* ---- the slirp back-end on its own ---------------------------------------- */

struct arp_seen {
	unsigned frames;
	u8 frame[64];
};

static bool record_rx(void *opaque, const void *frame, size_t len)
{
	struct arp_seen *a = opaque;

	if (!a->frames++)
		memcpy(a->frame, frame, MIN(len, sizeof(a->frame)));
	return true;
}

/* An ARP request for 10.0.2.2 gets slirp's reply, synchronously. */
static void test_slirp_arp(void)
{
	struct net_config cfg = {.mode = NET_USER};
	struct net_backend *be = NULL;
	struct arp_seen seen = {0};
	static const u8 mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	u8 f[42] = {0};

	CHECK_EQ(slirp_backend_create(&cfg, record_rx, &seen, &be), 0);
	if (!be)
		return;
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, "\x0a\x00\x02\x0f", 4);
	memcpy(f + 38, "\x0a\x00\x02\x02", 4);
	CHECK_EQ(be->ops->send(be, f, sizeof(f)), 0);
	CHECK(seen.frames >= 1);
	CHECK(!memcmp(seen.frame, mac, 6));
	CHECK_EQ(seen.frame[12] << 8 | seen.frame[13], 0x0806);
	CHECK_EQ(seen.frame[21], 2); /* reply */
	CHECK(!memcmp(seen.frame + 28, "\x0a\x00\x02\x02", 4));
	CHECK(be->rx_csum_valid);
	/* One poll round trip with no sockets is harmless. */
	struct net_pollset ps = {0};
	int timeout = 10;
	be->ops->poll_fill(be, &ps, &timeout, true);
	CHECK(timeout <= 10);
	be->ops->poll_done(be, &ps, false);
	free(ps.fds);
	be->ops->destroy(be);
}

/* A forward to a host port that is taken fails with one line, -EADDRINUSE. */
static void test_slirp_hostfwd_busy(void)
{
	struct net_config cfg = {.mode = NET_USER, .nr_hostfwd = 1};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct net_backend *be = (struct net_backend *)1;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(0x7f000001);
	CHECK_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(s, 1), 0);
	CHECK_EQ(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	cfg.hostfwd[0].host_port = ntohs(sa.sin_port);
	cfg.hostfwd[0].guest_port = 80;
	CHECK_EQ(slirp_backend_create(&cfg, record_rx, NULL, &be), -EADDRINUSE);
	CHECK(be == NULL);
	close(s);
}

int main(void)
{
	TEST_RUN(test_csum_complete);
	TEST_RUN(test_tx_valid_split_header);
	TEST_RUN(test_tx_runt_dropped);
	TEST_RUN(test_tx_short_header);
	TEST_RUN(test_tx_writable_descriptor);
	TEST_RUN(test_tx_gso_and_csum_flags);
	TEST_RUN(test_tx_csum_offload);
	TEST_RUN(test_tx_too_long_outside_ram_loop);
	TEST_RUN(test_rx_fill);
	TEST_RUN(test_rx_too_long);
	TEST_RUN(test_rx_small_buffer_and_hostile);
	TEST_RUN(test_device_end_to_end);
	TEST_RUN(test_tap_bad_name);
	TEST_RUN(test_slirp_arp);
	TEST_RUN(test_slirp_hostfwd_busy);
	if (test_mem.base)
		guest_mem_destroy(&test_mem);
	return test_done();
}
