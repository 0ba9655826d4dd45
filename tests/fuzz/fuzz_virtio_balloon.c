/* libFuzzer harness for virtio-balloon (src/virtio/balloon.c) behind the
 * real virtio-mmio transport: a hostile driver's program (tests/fuzz/
 * harness.c) plus structured inflate/deflate requests (page frame numbers
 * in RAM, repeated, adjacent or far outside it), statistics reports, free
 * page reports (ranges in RAM, unaligned, overlapping, past its end, either
 * direction) and the host's target changes, statistics requests and
 * interval changes. The input's first bytes choose the features offered,
 * so the statistics and reporting queues move (5.5.2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "virtio/balloon.h"
#include "virtio/mmio_priv.h"

#define INFLATEQ  0
#define DEFLATEQ  1
#define RAM_PAGES (FUZZ_VM_RAM / 4096)
#define PFN_BUF   (1 * MiB)        /* big PFN arrays go here, above the data area */
#define MAX_PFNS  (16 * 1024 + 64) /* a little over the device's 64 KiB limit */
#define STAT_SIZE 10               /* struct virtio_balloon_stat: le16 tag, le64 val */

struct fuzz_balloon {
	struct virtio_balloon *b;
	struct balloon_config cfg;
};

/* The queue numbers the driver's accepted features give (5.5.2). */
static unsigned statsq(const struct fuzz_vm *f)
{
	return f->vm->driver_features >> 1 & 1 ? 2 : 99;
}

static unsigned reportq(const struct fuzz_vm *f)
{
	return 2 + (f->vm->driver_features >> 1 & 1);
}

/* A chain of up to 3 readable descriptors over [gpa, gpa+len), split at
 * input-chosen points (the device must gather across segments). */
static void fuzz_request(struct fuzz_vm *f, struct fuzz_cursor *cur, unsigned q, gpa_t gpa, u32 len)
{
	struct fuzz_desc d[3];
	unsigned n = 0;
	u32 done = 0;

	while (n < 2 && done < len && fuzz_take8(cur) & 1) {
		u32 part = MIN(len - done, (u32)fuzz_take16(cur));

		d[n++] = (struct fuzz_desc){gpa + done, part, 0};
		done += part;
	}
	d[n++] = (struct fuzz_desc){gpa + done, len - done, 0};
	fuzz_vm_add_chain(f, q, d, n, false, 0);
	fuzz_vm_notify(f, q);
}

/* Inflate or deflate: count, first PFN and stride from the input (runs of
 * adjacent pages, one page over and over, or scattered), some PFNs
 * replaced by raw 32-bit values, and a length that may not be a multiple
 * of 4. */
static void fuzz_pfns(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 arg)
{
	u32 n = fuzz_take8(cur), first, stride, len;
	u8 how = fuzz_take8(cur);
	gpa_t gpa;
	u32 *pfn;

	if (how & 1)
		n += (u32)fuzz_take8(cur) * 64; /* up to a little over 16 Ki PFNs */
	n = MIN(n, (u32)MAX_PFNS);
	first = how & 2 ? fuzz_take32(cur) : fuzz_take16(cur) % (RAM_PAGES + 8);
	stride = fuzz_take8(cur) % 4;
	gpa = 4 * (u64)n <= FUZZ_VM_DATA_SIZE ? FUZZ_VM_DATA : PFN_BUF;
	pfn = guest_mem_ptr(&f->m->mem, gpa, 4 * (u64)MAX_PFNS);
	if (!pfn)
		abort();
	for (u32 i = 0; i < n; i++)
		pfn[i] = first + i * stride;
	for (unsigned k = how >> 4; k && n; k--)
		pfn[fuzz_take16(cur) % n] = fuzz_take32(cur);
	len = 4 * n + (how & 4 ? fuzz_take8(cur) % 4 : 0);
	fuzz_request(f, cur, arg & 1 ? DEFLATEQ : INFLATEQ, gpa, len);
}

/* A statistics report: up to 80 entries (the device reads 64) with known
 * and unknown tags, possibly a partial entry at the end. */
static void fuzz_stats(struct fuzz_vm *f, struct fuzz_cursor *cur, unsigned q)
{
	unsigned n = fuzz_take8(cur) % 81;
	u8 *p = guest_mem_ptr(&f->m->mem, FUZZ_VM_DATA, 81 * STAT_SIZE);

	for (unsigned i = 0; i < n; i++) {
		u8 t = fuzz_take8(cur);
		u16 tag = t & 0x80 ? fuzz_take16(cur) : t % (BALLOON_NR_STATS + 2);
		u64 val = fuzz_take64(cur);

		memcpy(p + STAT_SIZE * i, &tag, 2);
		memcpy(p + STAT_SIZE * i + 2, &val, 8);
	}
	fuzz_request(f, cur, q, FUZZ_VM_DATA, STAT_SIZE * n + fuzz_take8(cur) % STAT_SIZE);
}

/* A free page report: up to 8 ranges, each in RAM (page-aligned or not),
 * ending past it or anywhere, writable or readable. Only whole pages go
 * back to the host. */
static void fuzz_report(struct fuzz_vm *f, struct fuzz_cursor *cur, unsigned q)
{
	struct fuzz_balloon *fb = f->opaque;
	struct fuzz_desc d[8];
	struct balloon_stats st;
	unsigned n = 1 + fuzz_take8(cur) % 8;
	u64 before;

	for (unsigned i = 0; i < n; i++) {
		u8 how = fuzz_take8(cur);
		gpa_t g = how & 1 ? fuzz_take32(cur) : (gpa_t)(fuzz_take16(cur) % RAM_PAGES) * 4096;
		u32 len = how & 2 ? fuzz_take32(cur) : (u32)(fuzz_take8(cur) + 1) * 4096;

		if (how & 4)
			len += fuzz_take8(cur);
		d[i] = (struct fuzz_desc){g, len, how & 8 ? 0 : 2 /* VRING_DESC_F_WRITE */};
	}
	virtio_balloon_get_stats(fb->b, &st);
	before = st.reported_bytes;
	fuzz_vm_add_chain(f, q, d, n, false, 0);
	fuzz_vm_notify(f, q);
	virtio_balloon_get_stats(fb->b, &st);
	if (st.reported_bytes < before || (st.reported_bytes - before) % 4096)
		abort();
}

/* What the device reports is consistent with what it was told. */
static void fuzz_check_stats(struct fuzz_vm *f, const struct balloon_stats *st)
{
	u32 actual = (u32)fuzz_vm_read(f, 0x104, 4);

	if (st->target_bytes > FUZZ_VM_RAM || st->target_bytes % 4096 ||
	    st->actual_bytes != (u64)actual * 4096 || st->valid >> BALLOON_NR_STATS ||
	    (u64)fuzz_vm_read(f, 0x100, 4) * 4096 != st->target_bytes)
		abort();
	for (unsigned i = 0; i < BALLOON_NR_STATS; i++)
		if (!(st->valid >> i & 1) && st->val[i])
			abort();
}

/* Device steps: 10-11 inflate or deflate, 12 statistics report (bit 4: a
 * free page report instead), 13 the host sets a target (in or above RAM),
 * 14 the host asks for statistics (bit 4: changes the interval), 15 the
 * loop. */
static void fuzz_balloon_step(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 op)
{
	struct fuzz_balloon *fb = f->opaque;
	struct balloon_stats st;
	u64 bytes;

	switch (op & 15) {
	case 10:
	case 11:
		fuzz_pfns(f, cur, op);
		break;
	case 12:
		if (op & 0x10)
			fuzz_report(f, cur, reportq(f));
		else
			fuzz_stats(f, cur, statsq(f));
		break;
	case 13:
		bytes =
		    op & 0x10 ? fuzz_take64(cur) : (u64)fuzz_take16(cur) % (RAM_PAGES + 2) * 4096;
		if (virtio_balloon_set_target(fb->b, bytes) != (bytes > FUZZ_VM_RAM ? -EINVAL : 0))
			abort();
		break;
	case 14:
		if (op & 0x10) {
			u32 s = fuzz_take16(cur);
			int want = s > BALLOON_STATS_INTERVAL_MAX    ? -EINVAL
				   : !s != !fb->cfg.stats_interval_s ? -EPERM
								     : 0;

			if (virtio_balloon_set_stats_interval(fb->b, s) != want)
				abort();
			break;
		}
		virtio_balloon_poll_stats(fb->b);
		virtio_balloon_get_stats(fb->b, &st);
		fuzz_check_stats(f, &st);
		break;
	default:
		fuzz_vm_run_loop(f);
		break;
	}
}

/* The device never writes a buffer: every used element has length 0. */
static void fuzz_balloon_used(struct fuzz_vm *f, unsigned q, u32 id, u32 len)
{
	(void)f, (void)q, (void)id;
	if (len)
		abort();
}

static const struct fuzz_vm_dev fuzz_balloon_dev = {
    .step = fuzz_balloon_step,
    .check_used = fuzz_balloon_used,
};

/* Input: a le16 initial target in pages (modulo RAM + 1 page), a byte of
 * features (bit 0 statistics, 1 deflate-on-OOM, 2 reporting), then the
 * driver's program. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_cursor cur = {data, size};
	struct fuzz_balloon fb;
	struct fuzz_vm f;
	u64 target = (u64)(fuzz_take16(&cur) % (RAM_PAGES + 1)) * 4096;
	u8 feat = fuzz_take8(&cur);

	fb.cfg = (struct balloon_config){target, feat & 1 ? 3600 : 0, feat >> 1 & 1, feat >> 2 & 1};
	fuzz_vm_init(&f);
	if (virtio_balloon_create(f.m, &fb.cfg, &fb.b))
		abort();
	fuzz_vm_attach(&f, &fuzz_balloon_dev, &fb);
	fuzz_vm_play(&f, &cur);
	virtio_balloon_destroy(fb.b);
	fuzz_vm_fini(&f);
	return 0;
}
