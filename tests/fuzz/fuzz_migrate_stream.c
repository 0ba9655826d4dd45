/* libFuzzer harness for a live migration's stream at the destination
 * (issue 12): the input is what a source sends after the greeting and the
 * HELLO frame (PAGES frames into RAM, then the STATE frame whose state file
 * is loaded into the machine), fed through a socket to migrate_recv_stream()
 * on a machine built from a fixed HELLO as migrate_incoming builds it. The
 * stream is untrusted network input: whatever arrives, the destination must
 * not crash, write outside RAM or hang. Pages are written by the kernel
 * (recv() into RAM), where ASan does not look: inaccessible guard mappings
 * on both sides of RAM make a run across its edges fail with -EFAULT, which
 * aborts. Seeds: tests/fuzz/seeds/fuzz_migrate_stream/, cut from a real
 * migration by tests/fuzz/seeds/gen_migrate_stream.py. The state file is
 * checksummed (snapshot_file.h): a custom mutator mends the STATE frame's
 * lengths and CRCs after most mutations, so that they reach the loaders
 * behind the checksums, and every input stays a stream a source could send
 * (a crash's artifact reproduces against a real destination). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "vmm/migrate.h"
#include "vmm/migrate_wire.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

/* The machine the seeds were recorded on (gen_migrate_stream.py runs the
 * source with the same): a STATE for another memory size or vCPU count is
 * refused before anything is loaded. */
#define FUZZ_MIG_RAM  (16 * MiB)
#define FUZZ_MIG_CPUS 1

#define FUZZ_MIG_GUARD (64 * KiB)

static struct machine *m;
static struct vm_config cfg; /* the HELLO's, as migrate_incoming passes it */
static u8 *guard[2];         /* below and above m's RAM, or NULL */

/* The HELLO a source would send for that machine: its machine section and
 * its Firecracker settings (none set). */
static void hello_bytes(u8 **buf, size_t *len)
{
	struct vm_config src = {
	    .mem_size = FUZZ_MIG_RAM, .nr_cpus = FUZZ_MIG_CPUS, .testdev = true, .rng = true};
	const struct snapshot_machine sm = {.vendor = CPU_VENDOR_INTEL, .engine = "soft"};
	struct snap_writer w;
	struct snap_out o;

	snap_out_init(&o);
	snapshot_config_encode(&src, &sm, &o);
	if (o.err)
		abort();
	snap_writer_init(&w);
	snap_writer_add(&w, SNAP_MACH, 0, o.buf, o.len);
	snap_out_free(&o);
	snap_out_init(&o);
	snapshot_fc_encode(&src, &o);
	if (o.err)
		abort();
	snap_writer_add(&w, SNAP_FCFG, 0, o.buf, o.len);
	snap_out_free(&o);
	if (snap_writer_finish(&w, buf, len))
		abort();
}

/* migrate_incoming's steps between the HELLO frame and the stream. */
static void machine_build_incoming(void)
{
	struct snapshot_restore *hello = NULL;
	size_t len;
	u8 *buf;

	memset(&cfg, 0, sizeof(cfg));
	cfg.engine = ENGINE_SOFT;
	cfg.rng = true;
	cfg.log_level = -1;
	hello_bytes(&buf, &len);
	if (snapshot_restore_take("migration", buf, len, &cfg, &hello) ||
	    machine_create_incoming(&cfg, hello, &m))
		abort();
	snapshot_restore_free(hello);
}

/* Maps the guards where the address space next to RAM is free (else that
 * side goes unguarded). */
static void guards_place(void)
{
	u8 *at[2] = {m->mem.base - FUZZ_MIG_GUARD, m->mem.base + m->mem.ram_size};

	for (int i = 0; i < 2; i++) {
		void *p =
		    mmap(at[i], FUZZ_MIG_GUARD, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

		guard[i] = p == at[i] ? p : NULL;
		if (p != MAP_FAILED && p != at[i])
			munmap(p, FUZZ_MIG_GUARD); /* a kernel that took it as a hint */
	}
}

static void guards_remove(void)
{
	for (int i = 0; i < 2; i++)
		if (guard[i])
			munmap(guard[i], FUZZ_MIG_GUARD);
	guard[0] = guard[1] = NULL;
}

/* The STATE frame's offset in the input, or -1 when the destination would
 * not get that far (frame after frame as migrate_recv_stream reads them). */
static ssize_t state_frame(const u8 *data, size_t size)
{
	struct mig_frame f;
	size_t off = 0;

	while (size - off >= sizeof(f)) {
		memcpy(&f, data + off, sizeof(f));
		if (f.type == MIG_STATE)
			return (ssize_t)off;
		if (f.type != MIG_PAGES || f.len > mig_frame_max(f.type) ||
		    f.len > size - off - sizeof(f))
			return -1;
		off += sizeof(f) + f.len;
	}
	return -1;
}

static u32 le32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

/* The STATE frame as the source would have made it around what the
 * mutation left: it runs to the end of the input, the state file's length
 * is its size, and the header's and each section's CRC-32 match their
 * bytes (snapshot_file.h's layout), as far as the sections' lengths can be
 * followed. */
static void mend_state(u8 *data, size_t size)
{
	ssize_t at = state_frame(data, size);
	u64 len, slen, off = 32;
	u8 *st;

	if (at < 0 || size - (size_t)at < sizeof(struct mig_frame) + 4 + 32)
		return;
	len = size - (size_t)at - sizeof(struct mig_frame);
	memcpy(data + at + offsetof(struct mig_frame, len), &len, sizeof(len));
	st = data + at + sizeof(struct mig_frame) + 4;
	slen = len - 4;
	if (memcmp(st, "POPEKSNP", 8))
		return;
	memcpy(st + 16, &slen, sizeof(slen));
	put32(st + 24, (u32)crc32(0, st, 24));
	for (u32 i = 0, n = le32(st + 12); i < n && slen - off >= 24; i++) {
		u64 sl;

		memcpy(&sl, st + off + 8, sizeof(sl));
		if (sl > slen - off - 24)
			return;
		put32(st + off + 16, (u32)crc32(0, st + off + 24, (uInt)sl));
		off += 24 + ((sl + 7) & ~7ULL);
		if (off > slen)
			return;
	}
}

size_t LLVMFuzzerMutate(u8 *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(u8 *data, size_t size, size_t max_size, unsigned int seed);

/* libFuzzer's own mutations, then (7 times in 8: damaged streams are
 * inputs too) the STATE frame mended. */
size_t LLVMFuzzerCustomMutator(u8 *data, size_t size, size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 8)
		mend_state(data, size);
	return size;
}

struct feed {
	int fd;
	const u8 *p;
	size_t left;
};

/* Sends what is left (blocking) and closes: the end of the stream. A send
 * fails with EPIPE once the destination stopped reading and closed its end. */
static void *feed_thread(void *opaque)
{
	struct feed *f = opaque;

	while (f->left) {
		ssize_t n = send(f->fd, f->p, f->left, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		f->p += n;
		f->left -= (size_t)n;
	}
	close(f->fd);
	return NULL;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct feed f = {.p = data, .left = size};
	pthread_t thread;
	bool threaded = false;
	int sv[2];

	if (!m) {
		machine_build_incoming();
		guards_place();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	f.fd = sv[1];
	/* What fits in the socket's buffer goes at once; a thread sends the
	 * rest while the destination reads. */
	while (f.left) {
		ssize_t n = send(f.fd, f.p, f.left, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		f.p += n;
		f.left -= (size_t)n;
	}
	if (f.left) {
		if (pthread_create(&thread, NULL, feed_thread, &f))
			abort();
		threaded = true;
	} else {
		close(f.fd);
	}
	/* Any outcome but a write outside RAM. */
	if (migrate_recv_stream(sv[0], m, &cfg) == -EFAULT)
		abort();
	close(sv[0]);
	if (threaded)
		pthread_join(thread, NULL);
	if (state_frame(data, size) >= 0) {
		/* It may have loaded part of a state into the vCPUs and
		 * devices, and a virtio device takes one only when fresh:
		 * start afresh. */
		guards_remove();
		machine_destroy(m);
		m = NULL;
	}
	return 0;
}
