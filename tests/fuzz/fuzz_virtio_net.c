/* libFuzzer harness for virtio-net request handling: the input becomes the
 * guest's rings and buffers, then TX chains are parsed and RX frames filled
 * in, checking the results' invariants (the sanitizers catch the rest).
 * Built by `make fuzz` with every src object. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "virtio/net.h"

#define FUZZ_MEM    (2 * MiB)
#define FUZZ_REGION 0x10000 /* the part of RAM the input fills */
/* Dense rings (up to 16 entries) so that short inputs reach them: desc at
 * +0, avail at +0x100, used at +0x140. */
#define TXQ_GPA   0x0000
#define RXQ_GPA   0x0200
#define FUZZ_QMAX 16

struct fuzz_ctx {
	struct guest_mem *mem;
	struct virtq_elem elem;
	u8 frame[VIRTIO_NET_FRAME_MAX];
};

static struct fuzz_ctx *fuzz_ctx(void)
{
	static struct fuzz_ctx *c; /* one mapping for the whole run */

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			abort();
		c->mem = fuzz_guest_mem(FUZZ_MEM);
	}
	return c;
}

/* Folds the input's descriptors so that most point into RAM (half of the
 * 4 MiB address range) with modest lengths, unless the top bit of the
 * length is set; a raw avail index only when ctl says so. */
static void fuzz_fold(struct guest_mem *mem, const struct virtq *q, bool raw_idx)
{
	u8 *d = guest_mem_ptr(mem, q->desc, 16 * FUZZ_QMAX);
	u16 *idx = guest_mem_ptr(mem, q->avail + 2, 2);

	for (unsigned i = 0; i < FUZZ_QMAX; i++, d += 16) {
		u64 addr;
		u32 len;

		memcpy(&addr, d, 8);
		memcpy(&len, d + 8, 4);
		addr &= 4 * MiB - 1;
		if (!(len & 0x80000000u))
			len &= 0x1ffff;
		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
	}
	if (!raw_idx)
		*idx = (u16)(*idx % (q->size + 1));
}

static void fuzz_queue(struct virtq *q, gpa_t base, u8 ctl)
{
	memset(q, 0, sizeof(*q));
	q->size = (u16)(1u << (ctl & 3) << 1); /* 2 .. 16 */
	q->ready = true;
	q->desc = base;
	q->avail = base + 0x100;
	q->used = base + 0x140;
	q->event_idx = ctl & 0x04;
	q->indirect = ctl & 0x08;
}

/* Input: ctl byte (bits 0-3: TX queue shape, 4-7: RX queue shape; bit 4
 * also csum, bit 5 data_valid, bit 7 raw avail indexes), frame length (2
 * bytes), then the contents of guest RAM from 0. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_ctx *c = fuzz_ctx();
	struct virtq txq, rxq;
	const char *why;
	size_t len, flen;
	u32 used;
	u8 ctl;
	int r;

	if (size < 3)
		return 0;
	ctl = data[0];
	flen = (size_t)(data[1] | data[2] << 8);
	data += 3;
	size -= 3;
	memset(c->mem->base, 0, FUZZ_MEM);
	memcpy(c->mem->base, data, MIN(size, FUZZ_REGION));
	fuzz_queue(&txq, TXQ_GPA, ctl);
	fuzz_queue(&rxq, RXQ_GPA, (u8)(ctl >> 4));
	fuzz_fold(c->mem, &txq, ctl & 0x80);
	fuzz_fold(c->mem, &rxq, ctl & 0x80);

	for (unsigned i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
		why = NULL;
		r = virtio_net_tx_pop(&txq, c->mem, ctl & 0x10, &c->elem, c->frame, &len, &why);
		if (r < 0) {
			if (!why)
				abort(); /* every failure says why */
			break;
		}
		if (r == 0)
			break;
		/* The whole chain after the header is the frame, or a runt. */
		if (len > VIRTIO_NET_FRAME_MAX || c->elem.out_len < VIRTIO_NET_HDR_LEN ||
		    (len ? len != c->elem.out_len - VIRTIO_NET_HDR_LEN
			 : c->elem.out_len - VIRTIO_NET_HDR_LEN >= VIRTIO_NET_ETH_HLEN))
			abort();
	}

	/* RX: a frame taken from the input itself. */
	flen = MIN(flen, MIN(size, (size_t)VIRTIO_NET_FRAME_MAX));
	for (unsigned i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
		why = NULL;
		r = virtio_net_rx_put(&rxq, c->mem, &c->elem, data, flen, ctl & 0x20, &used, &why);
		if (r < 0) {
			if (!why)
				abort();
			break;
		}
		if (r == 0)
			break;
		if (used && (used != VIRTIO_NET_HDR_LEN + flen || used > c->elem.in_len))
			abort();
	}
	return 0;
}
