/* Unit tests of split virtqueue parsing (src/virtio/virtqueue.c) against
 * well-formed and hostile rings in a small guest RAM. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "virtio/virtqueue.h"

#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define BUF   0x10000
#define QSIZE 8

struct fix {
	struct guest_mem mem;
	struct virtq q;
	struct virtq_elem *e;
	u16 avail_idx;
};

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	CHECK_EQ(guest_mem_init(&f->mem, 2 * MiB), 0);
	f->q.size = QSIZE;
	f->q.desc = DESC;
	f->q.avail = AVAIL;
	f->q.used = USED;
	f->q.ready = true;
	f->q.indirect = true;
	f->e = malloc(sizeof(*f->e));
}

static void fix_fini(struct fix *f)
{
	free(f->e);
	guest_mem_destroy(&f->mem);
}

static void desc_at(struct fix *f, gpa_t table, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *p = guest_mem_ptr(&f->mem, table + 16 * i, 16);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void desc(struct fix *f, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	desc_at(f, DESC, i, addr, len, flags, next);
}

static u16 *avail16(struct fix *f, unsigned word)
{
	return guest_mem_ptr(&f->mem, AVAIL + 2 * word, 2);
}

static void publish(struct fix *f, u16 head)
{
	*avail16(f, 2 + f->avail_idx % QSIZE) = head;
	f->avail_idx++;
	*avail16(f, 1) = f->avail_idx;
}

static int pop(struct fix *f, const char **why)
{
	*why = NULL;
	return virtq_pop(&f->q, &f->mem, f->e, why);
}

static void test_simple_chain(void)
{
	struct fix f;
	const char *why;

	fix_init(&f);
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), 0);
	CHECK_EQ(pop(&f, &why), 0);
	desc(&f, 3, BUF, 16, 1, 5);
	desc(&f, 5, BUF + 0x100, 512, 1 | 2, 6);
	desc(&f, 6, BUF + 0x400, 1, 2, 0);
	memcpy(guest_mem_ptr(&f.mem, BUF, 4), "abcd", 4);
	publish(&f, 3);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(f.e->head, 3);
	CHECK_EQ(f.e->nr_out, 1);
	CHECK_EQ(f.e->nr_in, 2);
	CHECK_EQ(f.e->out_len, 16);
	CHECK_EQ(f.e->in_len, 513);
	CHECK(f.e->out[0].iov_base == guest_mem_ptr(&f.mem, BUF, 1));
	CHECK(f.e->in[1].iov_base == guest_mem_ptr(&f.mem, BUF + 0x400, 1));
	CHECK_EQ(pop(&f, &why), 0);

	CHECK_EQ(virtq_push(&f.q, &f.mem, 3, 513), 0);
	u32 *used = guest_mem_ptr(&f.mem, USED, 16);
	CHECK_EQ(used[0] >> 16, 1); /* used->idx */
	CHECK_EQ(used[1], 3);       /* ring[0].id */
	CHECK_EQ(used[2], 513);     /* ring[0].len */
	CHECK_EQ(virtq_push(&f.q, &f.mem, QSIZE, 0), -EINVAL);
	fix_fini(&f);
}

/* A chain given back (a rate-limited device) is popped again, the same, and
 * the counters count it once. */
static void test_unpop(void)
{
	struct fix f;
	const char *why;

	fix_init(&f);
	desc(&f, 2, BUF, 16, 1, 4);
	desc(&f, 4, BUF + 0x100, 64, 2, 0);
	publish(&f, 2);
	desc(&f, 1, BUF + 0x200, 8, 0, 0);
	publish(&f, 1);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(f.e->head, 2);
	virtq_unpop(&f.q, f.e);
	CHECK_EQ(f.q.nr_popped, 0);
	CHECK_EQ(f.q.bytes_read, 0);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(f.e->head, 2);
	CHECK_EQ(f.e->out_len, 16);
	CHECK_EQ(f.e->in_len, 64);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(f.e->head, 1);
	CHECK_EQ(f.q.nr_popped, 2);
	CHECK_EQ(f.q.bytes_read, 24);
	CHECK_EQ(pop(&f, &why), 0);
	fix_fini(&f);
}

static void test_hostile_chains(void)
{
	struct fix f;
	const char *why;

	/* Readable after writable. */
	fix_init(&f);
	desc(&f, 0, BUF, 16, 1 | 2, 1);
	desc(&f, 1, BUF, 16, 0, 0);
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "readable"));
	fix_fini(&f);

	/* A loop: 0 -> 1 -> 0. */
	fix_init(&f);
	desc(&f, 0, BUF, 16, 1, 1);
	desc(&f, 1, BUF, 16, 1, 0);
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "loop"));
	fix_fini(&f);

	/* Self loop with zero-length descriptors. */
	fix_init(&f);
	desc(&f, 2, 0, 0, 1, 2);
	publish(&f, 2);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	fix_fini(&f);

	/* Buffer outside RAM, huge length, overflowing address. */
	fix_init(&f);
	desc(&f, 0, 0xD0000000, 16, 0, 0);
	desc(&f, 1, BUF, 0xFFFFFFFF, 0, 0);
	desc(&f, 2, ~0ULL - 4, 16, 0, 0);
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "outside RAM"));
	f.q.last_avail++;
	publish(&f, 1);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	f.q.last_avail++;
	publish(&f, 2);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	fix_fini(&f);

	/* next out of range, head out of range, avail index jump. */
	fix_init(&f);
	desc(&f, 0, BUF, 16, 1, QSIZE);
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "next"));
	f.q.last_avail++;
	publish(&f, QSIZE + 1);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "ring entry"));
	*avail16(&f, 1) = f.q.last_avail + QSIZE + 1;
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "index"));
	*avail16(&f, 1) = f.q.last_avail + QSIZE; /* a full ring is fine */
	desc(&f, 0, BUF, 16, 0, 0);
	for (unsigned i = 0; i < QSIZE; i++)
		*avail16(&f, 2 + i) = 0;
	CHECK_EQ(pop(&f, &why), 1);
	fix_fini(&f);

	/* Not ready: nothing is popped or pushed. */
	fix_init(&f);
	desc(&f, 0, BUF, 16, 0, 0);
	publish(&f, 0);
	f.q.ready = false;
	CHECK_EQ(pop(&f, &why), 0);
	CHECK_EQ(virtq_push(&f.q, &f.mem, 0, 0), -EINVAL);
	fix_fini(&f);
}

static void test_indirect(void)
{
	struct fix f;
	const char *why;
	const gpa_t tbl = 0x5000;

	fix_init(&f);
	desc_at(&f, tbl, 0, BUF, 16, 1, 2);
	desc_at(&f, tbl, 2, BUF + 0x200, 512, 1 | 2, 1);
	desc_at(&f, tbl, 1, BUF + 0x800, 1, 2, 0);
	desc(&f, 4, tbl, 3 * 16, 4, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(f.e->head, 4);
	CHECK_EQ(f.e->nr_out, 1);
	CHECK_EQ(f.e->nr_in, 2);
	CHECK_EQ(f.e->in_len, 513);

	/* Indirect with NEXT, bad length, nested, outside RAM, loop inside. */
	desc(&f, 4, tbl, 3 * 16, 4 | 1, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	f.q.last_avail++;
	desc(&f, 4, tbl, 3 * 16 + 8, 4, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	f.q.last_avail++;
	desc_at(&f, tbl, 0, tbl, 16, 4, 0);
	desc(&f, 4, tbl, 3 * 16, 4, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "nested"));
	f.q.last_avail++;
	desc(&f, 4, 0x1FFFF0, 32, 4, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	f.q.last_avail++;
	desc_at(&f, tbl, 0, BUF, 16, 1, 1);
	desc_at(&f, tbl, 1, BUF, 16, 1, 0);
	desc(&f, 4, tbl, 2 * 16, 4, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	CHECK(why && strstr(why, "loop"));
	f.q.last_avail++;

	/* Not negotiated. */
	f.q.indirect = false;
	desc_at(&f, tbl, 0, BUF, 16, 0, 0);
	desc(&f, 4, tbl, 16, 4, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	fix_fini(&f);

	/* The longest accepted table, and one more. */
	fix_init(&f);
	for (unsigned i = 0; i < VIRTQ_MAX_SEGS; i++)
		desc_at(&f, 0x40000, i, BUF, 1, i + 1 < VIRTQ_MAX_SEGS ? 1 : 0, (u16)(i + 1));
	desc(&f, 0, 0x40000, 16 * VIRTQ_MAX_SEGS, 4, 0);
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(f.e->nr_out, VIRTQ_MAX_SEGS);
	desc(&f, 0, 0x40000, 16 * (VIRTQ_MAX_SEGS + 1), 4, 0);
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), -EINVAL);
	fix_fini(&f);
}

static void test_validate(void)
{
	struct fix f;
	const char *why;

	fix_init(&f);
	f.q.size = 6;
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), -EINVAL);
	f.q.size = 0;
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), -EINVAL);
	f.q.size = 2048;
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), -EINVAL);
	f.q.size = QSIZE;
	f.q.desc = DESC + 8;
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), -EINVAL);
	CHECK(strstr(why, "misaligned"));
	f.q.desc = DESC;
	f.q.used = USED + 2;
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), -EINVAL);
	f.q.used = 2 * MiB - 8; /* ring runs past the end of RAM */
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), -EINVAL);
	CHECK(strstr(why, "used ring"));
	f.q.used = USED;
	f.q.avail = 0xFFFFFFFFFFFFFFFEULL;
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), -EINVAL);
	fix_fini(&f);
}

static void test_notify(void)
{
	struct fix f;
	const char *why;
	u16 *used_event, *avail_event;

	fix_init(&f);
	/* Without EVENT_IDX: avail->flags NO_INTERRUPT. */
	CHECK(virtq_should_notify(&f.q, &f.mem));
	*avail16(&f, 0) = 1;
	CHECK(!virtq_should_notify(&f.q, &f.mem));
	*avail16(&f, 0) = 0;
	virtq_set_notify(&f.q, &f.mem, false);
	CHECK_EQ(*(u16 *)guest_mem_ptr(&f.mem, USED, 2), 1);
	virtq_set_notify(&f.q, &f.mem, true);
	CHECK_EQ(*(u16 *)guest_mem_ptr(&f.mem, USED, 2), 0);

	/* With EVENT_IDX. */
	f.q.event_idx = true;
	used_event = avail16(&f, 2 + QSIZE);
	avail_event = guest_mem_ptr(&f.mem, USED + 4 + 8 * QSIZE, 2);
	*avail_event = 0x55;
	CHECK_EQ(pop(&f, &why), 0);
	CHECK_EQ(*avail_event, 0); /* empty ring: asks for the next one */
	desc(&f, 0, BUF, 16, 0, 0);
	publish(&f, 0);
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(pop(&f, &why), 0);
	CHECK_EQ(*avail_event, 2);

	*used_event = 0;
	CHECK_EQ(virtq_push(&f.q, &f.mem, 0, 0), 0);
	CHECK(virtq_should_notify(&f.q, &f.mem));  /* first one always */
	CHECK(!virtq_should_notify(&f.q, &f.mem)); /* nothing new */
	*used_event = 5;
	CHECK_EQ(virtq_push(&f.q, &f.mem, 0, 0), 0); /* used idx 2: not past 5 */
	CHECK(!virtq_should_notify(&f.q, &f.mem));
	for (int i = 0; i < 4; i++)
		CHECK_EQ(virtq_push(&f.q, &f.mem, 0, 0), 0); /* idx 6 crosses 5 */
	CHECK(virtq_should_notify(&f.q, &f.mem));
	fix_fini(&f);
}

/* Whether gpa's page is in the dirty log (low RAM: bit = page number). */
static bool dirty(struct fix *f, gpa_t gpa)
{
	return f->mem.dirty[gpa / 4096 / 64] >> (gpa / 4096 % 64) & 1;
}

/* Takes the log; returns how many pages were in it. */
static u64 take_dirty(struct fix *f)
{
	u64 out[2 * MiB / 4096 / 64] = {0};

	return guest_mem_dirty_take(&f->mem, out);
}

/* With the dirty log on, virtq_push marks what the device may have written
 * (through host pointers, which nothing else sees): the chain's writable
 * buffers and the used ring, not its readable buffers, the descriptor
 * tables or the available ring. */
static void test_dirty_push(void)
{
	struct fix f;
	const char *why;
	const gpa_t tbl = 0x5000;

	fix_init(&f);
	CHECK_EQ(guest_mem_dirty_start(&f.mem), 0);
	desc(&f, 0, BUF, 16, 1, 1);                /* readable */
	desc(&f, 1, BUF + 0x1ff0, 0x20, 1 | 2, 2); /* writable, across two pages */
	desc(&f, 2, 0x20000, 8, 2, 0);             /* writable */
	publish(&f, 0);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(take_dirty(&f), 0); /* nothing written yet */
	CHECK_EQ(virtq_push(&f.q, &f.mem, 0, 0x28), 0);
	CHECK(dirty(&f, BUF + 0x1000) && dirty(&f, BUF + 0x2000));
	CHECK(dirty(&f, 0x20000));
	CHECK(dirty(&f, USED));
	CHECK(!dirty(&f, BUF));
	CHECK_EQ(take_dirty(&f), 4);

	/* Through an indirect table: its writable buffer, not the table. */
	desc_at(&f, tbl, 0, BUF + 0x3000, 16, 1, 1);
	desc_at(&f, tbl, 1, 0x30000, 0x100, 2, 0);
	desc(&f, 3, tbl, 2 * 16, 4, 0);
	publish(&f, 3);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(virtq_push(&f.q, &f.mem, 3, 0x100), 0);
	CHECK(dirty(&f, 0x30000) && dirty(&f, USED));
	CHECK(!dirty(&f, BUF + 0x3000) && !dirty(&f, tbl));
	CHECK_EQ(take_dirty(&f), 2);

	/* len 0: the device wrote no buffer, only the used ring. */
	desc(&f, 4, 0x40000, 16, 2, 0);
	publish(&f, 4);
	CHECK_EQ(pop(&f, &why), 1);
	CHECK_EQ(virtq_push(&f.q, &f.mem, 4, 0), 0);
	CHECK(dirty(&f, USED));
	CHECK_EQ(take_dirty(&f), 1);
	fix_fini(&f);
}

/* The notification fields the device writes are marked too: used->flags,
 * and avail_event, here in the page after the used ring's start. */
static void test_dirty_notify(void)
{
	struct fix f;
	const char *why;
	const gpa_t used = 0x3fc0; /* avail_event at 0x4004 */

	fix_init(&f);
	CHECK_EQ(guest_mem_dirty_start(&f.mem), 0);
	virtq_set_notify(&f.q, &f.mem, false);
	CHECK(dirty(&f, USED));
	CHECK_EQ(take_dirty(&f), 1);
	virtq_set_notify(&f.q, &f.mem, true);
	CHECK_EQ(take_dirty(&f), 1);
	f.q.used = used;
	f.q.event_idx = true;
	CHECK_EQ(virtq_validate(&f.q, &f.mem, &why), 0);
	CHECK_EQ(pop(&f, &why), 0); /* empty: asks for the next one */
	CHECK(dirty(&f, 0x4000));
	CHECK_EQ(take_dirty(&f), 1);
	virtq_set_notify(&f.q, &f.mem, true);
	CHECK(dirty(&f, 0x4000));
	CHECK_EQ(take_dirty(&f), 1);
	fix_fini(&f);
}

static void test_iov(void)
{
	char a[4], b[3], c[5], out[16];
	struct iovec iov[3] = {{a, 4}, {b, 3}, {c, 5}};

	CHECK_EQ(iov_from_buf(iov, 3, 2, "0123456789AB", 12), 10);
	CHECK(!memcmp(a + 2, "01", 2));
	CHECK(!memcmp(b, "234", 3));
	CHECK(!memcmp(c, "56789", 5));
	memset(out, 0, sizeof(out));
	CHECK_EQ(iov_to_buf(iov, 3, 5, out, 4), 4);
	CHECK(!memcmp(out, "3456", 4));
	CHECK_EQ(iov_to_buf(iov, 3, 11, out, 16), 1);
	CHECK_EQ(iov_to_buf(iov, 3, 12, out, 16), 0);
}

int main(void)
{
	TEST_RUN(test_simple_chain);
	TEST_RUN(test_unpop);
	TEST_RUN(test_hostile_chains);
	TEST_RUN(test_indirect);
	TEST_RUN(test_validate);
	TEST_RUN(test_notify);
	TEST_RUN(test_dirty_push);
	TEST_RUN(test_dirty_notify);
	TEST_RUN(test_iov);
	return test_done();
}
