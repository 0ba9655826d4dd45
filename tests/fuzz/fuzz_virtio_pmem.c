/* libFuzzer harness for virtio-pmem (src/virtio/pmem.c) behind the real
 * virtio-mmio transport, over a small memfd mapped into guest memory as
 * guest_mem_add_file does for a pmem file: a hostile driver's program
 * (tests/fuzz/harness.c) plus flush requests (any type, short buffers),
 * the guest's stores into the region (which reach the file unless it is
 * read-only), and the host replacing the flush limiter. A flush the device
 * sees alone, unthrottled, is answered OK (virtio 1.2 section 5.19.6). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness_alone.h"
#include "virtio/pmem.h"

#define BUF (1 * MiB) /* request at BUF, response at BUF + 64: outside the data area */

struct fuzz_pmem {
	struct virtio_pmem *p;
	int fd;      /* the test's own copy of the file */
	u64 size;    /* of the file */
	gpa_t start; /* the region */
	bool read_only;
	bool limited; /* a limiter may hold flushes back */
};

/* A flush (or another type) with input-chosen buffer lengths. */
static void fuzz_flush(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 op)
{
	struct fuzz_pmem *fp = f->opaque;
	const struct virtq *q = virtio_mmio_queue(f->vm, 0);
	u8 *buf = guest_mem_ptr(&f->m->mem, BUF, 128), how = fuzz_take8(cur);
	u32 type = op & 0x10 ? fuzz_take32(cur) : 0, resp = 0xffffffff;
	u32 req_len = how & 1 ? fuzz_take8(cur) % 8 : 4,
	    resp_len = how & 2 ? fuzz_take8(cur) % 8 : 4;
	struct fuzz_desc d[2] = {{BUF, req_len, 0}, {BUF + 64, resp_len, FUZZ_DESC_F_WRITE}};
	u16 used_before = q->used_idx;
	bool alone;

	if (!buf)
		abort();
	alone = fuzz_vm_alone(f, 0, BUF, 128);
	memset(buf, 0xee, 128);
	memcpy(buf, &type, 4);
	if (!fuzz_vm_add_chain(f, 0, d, 2, false, 0))
		return;
	fuzz_vm_notify(f, 0);
	if (!alone || fp->limited)
		return;
	/* A well-formed flush is answered at once, OK; anything else fails
	 * the device and is not answered. */
	memcpy(&resp, buf + 64, 4);
	if (!type && req_len >= 4 && resp_len >= 4) {
		if ((u16)(q->used_idx - used_before) != 1 || resp != 0)
			abort();
	} else if (q->used_idx != used_before) {
		abort();
	}
}

/* The guest stores into the region: a shared file sees the bytes at once,
 * a read-only one never does. */
static void fuzz_store(struct fuzz_vm *f, struct fuzz_cursor *cur)
{
	struct fuzz_pmem *fp = f->opaque;
	u64 off = fuzz_take16(cur) % fp->size;
	size_t len;
	const u8 *src = fuzz_take_bytes(cur, 1 + fuzz_take8(cur) % 32, &len);
	u8 before[32], after[32];

	len = MIN(len, fp->size - off);
	if (!len)
		return;
	if (pread(fp->fd, before, len, (off_t)off) != (ssize_t)len)
		abort();
	if (guest_mem_write(&f->m->mem, fp->start + off, src, len))
		abort();
	if (pread(fp->fd, after, len, (off_t)off) != (ssize_t)len)
		abort();
	if (memcmp(after, fp->read_only ? before : src, len))
		abort();
}

/* Device steps: 10-11 a flush (op bit 4: any 32-bit type), 12 a store into
 * the region, 13 a new limiter (ops bucket of 1-4 an hour, or none), 14-15
 * the loop. */
static void fuzz_pmem_step(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 op)
{
	struct fuzz_pmem *fp = f->opaque;
	struct rate_limit_config rl = {0};
	u8 v;

	switch (op & 15) {
	case 10:
	case 11:
		fuzz_flush(f, cur, op);
		break;
	case 12:
		fuzz_store(f, cur);
		break;
	case 13:
		v = fuzz_take8(cur);
		if (v & 1)
			rl.ops = (struct bucket_config){1 + v / 2 % 4, 0, 3600 * 1000};
		fp->limited = v & 1;
		virtio_pmem_set_rate_limiter(fp->p, &rl);
		fuzz_vm_run_loop(f);
		break;
	default:
		fuzz_vm_run_loop(f);
		break;
	}
}

static const struct fuzz_vm_dev fuzz_pmem_dev = {
    .step = fuzz_pmem_step,
};

/* Input: a byte of options (bit 0 read-only, bit 1 a limiter of 2 flushes
 * an hour), le16 file size - 1, then the driver's program. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_cursor cur = {data, size};
	struct fuzz_pmem fp = {0};
	struct pmem_config cfg = {.id = "fuzz"};
	struct fuzz_vm f;
	u8 opt = fuzz_take8(&cur);
	int r;

	fp.size = 1 + (u64)fuzz_take16(&cur);
	fp.read_only = opt & 1;
	fp.limited = opt & 2;
	cfg.read_only = fp.read_only;
	if (fp.limited)
		cfg.rate_limiter.ops = (struct bucket_config){2, 0, 3600 * 1000};
	fuzz_vm_init(&f);
	fp.fd = memfd_create("fuzz-pmem", MFD_CLOEXEC);
	if (fp.fd < 0 || ftruncate(fp.fd, (off_t)fp.size) < 0 ||
	    pwrite(fp.fd, "pmem", MIN(fp.size, 4), 0) < 0)
		abort();
	r = guest_mem_add_file(&f.m->mem, fp.fd, fp.size, fp.read_only);
	if (r < 0)
		abort();
	fp.start = f.m->mem.regions[r].gpa;
	if (virtio_pmem_create(f.m, &cfg, (unsigned)r, dup(fp.fd), &fp.p))
		abort();
	fuzz_vm_attach(&f, &fuzz_pmem_dev, &fp);
	fuzz_vm_play(&f, &cur);
	virtio_pmem_destroy(fp.p);
	fuzz_vm_fini(&f);
	close(fp.fd);
	return 0;
}
