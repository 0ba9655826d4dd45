/* Guest program: a hostile virtio-balloon driver (needs --balloon). Broken
 * chains (lib/virtio.c: buffer outside RAM, loop, huge length, wrong
 * direction, indirect loop, indirect table outside RAM) on the inflate,
 * deflate and statistics queues, and broken page lists (a page frame outside
 * RAM, a partial frame number, more than 64 KiB), must each put the device in
 * DEVICE_NEEDS_RESET; after a reset, inflating and deflating a page of ours
 * works (popek drops the page's memory: it reads back as zeros) and a
 * statistics buffer is held for the next request (5.5.6.3).
 * The side effect of an inflate is seen from here: the page reads back as
 * zeros. Every rejected inflate names our two pages, which hold KEEP_BYTE
 * until the valid one, the check's positive control. Deflate has no effect
 * popek lets a guest see (the page was never taken away), and statistics
 * only show in the API's balloon statistics, which this runner does not read. */
#include "virtio.h"

#define F_STATS_VQ 1
#define INFLATEQ   0
#define DEFLATEQ   1
#define STATSQ     2

/* struct virtio_balloon_stat (5.5.6.3). */
struct balloon_stat {
	u16 tag;
	u64 val;
} __attribute__((packed));

static struct virtio_dev bal;
#define KEEP_BYTE 0x3C

static u8 page[4096] __attribute__((aligned(4096))); /* the page we give away */
static u32 pfns[16 * 1024 + 4];                      /* a list longer than 64 KiB */
static struct balloon_stat stats[2];
/* other[1] never directly follows page: a run of its own for popek. */
static u8 other[2][4096] __attribute__((aligned(4096)));

static void identity(void)
{
	u64 f = virtio_device_features(&bal);

	check(f >> VIRTIO_F_VERSION_1 & 1, "VERSION_1 offered");
	check(f & 1u << F_STATS_VQ, "VIRTIO_BALLOON_F_STATS_VQ offered");
	for (unsigned i = 0; i < 3; i++)
		check(virtio_queue_max(&bal, i) >= VQ_SIZE, "queue %u holds %u entries", i,
		      VQ_SIZE);
	check_eq("no queue 3", virtio_queue_max(&bal, 3), 0);
	check_eq("num_pages: no target (--balloon without a size)", virtio_rd(&bal, VREG_CONFIG),
		 0);
}

static bool init_device(void)
{
	return virtio_init(&bal, 1u << F_STATS_VQ, 3);
}

/* One list of n page frame numbers (len bytes of pfns[]) on queue qi. */
static void post_pages(unsigned qi, u32 len)
{
	vq_desc_set(&bal.q[qi], 0, (u64)pfns, len, 0, 0);
	virtio_kick(&bal, qi, 0);
}

static bool holds(const volatile u8 *p, u8 v, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* No rejected inflate gave our pages back to the host. */
static void pages_kept(const char *after)
{
	check(holds(page, KEEP_BYTE, sizeof(page)) && holds(other[1], KEEP_BYTE, sizeof(other[1])),
	      "after %s: our pages still hold their bytes", after);
}

static void bad_lists(void)
{
	pfns[0] = (u32)(VIRTIO_BAD_ADDR >> 12);
	post_pages(INFLATEQ, 4);
	virtio_expect_reset(&bal, INFLATEQ, "inflate of a page outside RAM");

	pfns[0] = (u32)((u64)page >> 12);
	post_pages(DEFLATEQ, 6);
	virtio_expect_reset(&bal, DEFLATEQ, "deflate of 1.5 page frame numbers");

	for (unsigned i = 0; i < sizeof(pfns) / 4; i++)
		pfns[i] = (u32)((u64)page >> 12);
	post_pages(INFLATEQ, sizeof(pfns));
	virtio_expect_reset(&bal, INFLATEQ, "inflate list over 64 KiB");
	pages_kept("an inflate list over 64 KiB");

	/* Two good pages, then one outside RAM: the whole list is refused. */
	pfns[0] = (u32)((u64)page >> 12);
	pfns[1] = (u32)((u64)other[1] >> 12);
	pfns[2] = (u32)(VIRTIO_BAD_ADDR >> 12);
	post_pages(INFLATEQ, 12);
	virtio_expect_reset(&bal, INFLATEQ, "inflate list whose last page is outside RAM");
	pages_kept("an inflate list whose last page is outside RAM");
}

static bool all_zero(const volatile u8 *p, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void valid_use(void)
{
	struct vq_used_elem u;

	memset(page, 0xA5, sizeof(page));
	pfns[0] = (u32)((u64)page >> 12);
	post_pages(INFLATEQ, 4);
	check(vq_wait_used(&bal.q[INFLATEQ], &u), "inflate of one page comes back");
	check_eq("inflate: used element id", u.id, 0);
	mmio_write32(bal.base + VREG_CONFIG + 4, 1); /* actual (5.5.4) */
	check_eq("actual: 1 page", virtio_rd(&bal, VREG_CONFIG + 4), 1);
	post_pages(DEFLATEQ, 4);
	check(vq_wait_used(&bal.q[DEFLATEQ], &u), "deflate of the page comes back");
	check(all_zero(page, sizeof(page)), "the page's memory went back to the host (zeros)");
	memset(page, 0x5A, sizeof(page));
	check(page[100] == 0x5A, "the deflated page is usable again");

	/* A statistics buffer is held until the host asks (5.5.6.3). */
	stats[0] = (struct balloon_stat){4, 1 << 20};  /* VIRTIO_BALLOON_S_MEMFREE */
	stats[1] = (struct balloon_stat){5, 64 << 20}; /* VIRTIO_BALLOON_S_MEMTOT */
	vq_desc_set(&bal.q[STATSQ], 0, (u64)stats, sizeof(stats), 0, 0);
	virtio_kick(&bal, STATSQ, 0);
	check(!virtio_wait_status(&bal, VSTAT_NEEDS_RESET, VIRTIO_WAIT_SHORT) &&
		  !vq_has_used(&bal.q[STATSQ]),
	      "a statistics buffer is kept, the device healthy");
}

void test_main(void)
{
	if (!check(virtio_find(&bal, VIRTIO_ID_BALLOON, 0),
		   "a virtio-balloon device is present (run with --balloon)"))
		return;
	identity();
	if (!check(init_device(), "driver initialization"))
		return;
	memset(page, KEEP_BYTE, sizeof(page));
	memset(other[1], KEEP_BYTE, sizeof(other[1]));
	pfns[0] = (u32)((u64)page >> 12);
	virtio_attack_queue(&bal, INFLATEQ, "inflateq", (u64)pfns, 4, false, NULL);
	pages_kept("the broken inflate chains");
	virtio_attack_queue(&bal, DEFLATEQ, "deflateq", (u64)pfns, 4, false, NULL);
	virtio_attack_queue(&bal, STATSQ, "statsq", (u64)stats, sizeof(stats), false, NULL);
	bad_lists();
	valid_use();
}
