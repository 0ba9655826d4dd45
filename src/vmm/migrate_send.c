/* Live migration, the source (issue 12): iterative pre-copy of the pages
 * the guest writes while it runs, then a short stop-and-copy of the last
 * ones and the machine's state (migrate_wire.h has the stream). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/engine.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/devices.h"
#include "virtio/virtio.h"
#include "vmm/metrics.h"
#include "vmm/migrate.h"
#include "vmm/migrate_wire.h"
#include "vmm/vmm.h"

/* Pre-copy stops when what is left could be sent within the downtime asked
 * for at the speed seen so far, or after this many rounds, or when rounds
 * stop shrinking what is left. */
#define MIG_MAX_ROUNDS   30
#define MIG_STALL_ROUNDS 5

struct mig_out {
	struct machine *m;
	int fd;
	u64 *pages; /* guest_mem_dirty_words words */
	u64 words;
	struct migration_stats st;
	u64 bytes, send_ns; /* for the speed */
	unsigned max_downtime_ms;
};

/* Sends the pages set in o->pages, in runs of at most MIG_BATCH_PAGES, and
 * clears them. Returns the number sent or -errno. */
static s64 send_pages(struct mig_out *o)
{
	const struct guest_mem *mem = &o->m->mem;
	u64 npages = mem->map_size / 4096, sent = 0, t0 = clock_now_ns();

	for (u64 pg = 0; pg < npages;) {
		u64 head[2], n = 0;
		int err;

		if (!(o->pages[pg / 64] >> (pg % 64) & 1)) {
			pg = o->pages[pg / 64] >> (pg % 64) ? pg + 1 : (pg / 64 + 1) * 64;
			continue;
		}
		while (pg + n < npages && n < MIG_BATCH_PAGES &&
		       (o->pages[(pg + n) / 64] >> ((pg + n) % 64) & 1))
			n++;
		head[0] = pg;
		head[1] = n;
		err = mig_send_frame(o->fd, MIG_PAGES, head, sizeof(head), mem->base + pg * 4096,
				     n * 4096);
		if (err < 0)
			return err;
		for (u64 i = pg; i < pg + n; i++)
			o->pages[i / 64] &= ~(1ULL << (i % 64));
		sent += n;
		pg += n;
	}
	o->st.pages += sent;
	o->bytes += sent * 4096;
	o->send_ns += clock_now_ns() - t0;
	return (s64)sent;
}

/* Whether n pages would go within the downtime asked for (0: only when
 * nothing is left). */
static bool small_enough(const struct mig_out *o, u64 n)
{
	double bytes_per_ms = o->send_ns ? (double)o->bytes * 1e6 / (double)o->send_ns : 0;

	if (!o->max_downtime_ms)
		return !n;
	return n < 64 || (bytes_per_ms > 0 && (double)n * 4096 / bytes_per_ms < o->max_downtime_ms);
}

/* Pauses the machine and takes the dirty log into o->pages (ORed in).
 * Returns the pages now in o->pages, or -errno (the machine then runs). */
static s64 pause_and_take(struct mig_out *o, bool was_paused)
{
	s64 n;

	if (machine_pause(o->m) < 0)
		return -ESHUTDOWN;
	n = machine_dirty_take(o->m, o->pages);
	if (n < 0 && !was_paused)
		machine_resume(o->m);
	return n;
}

/* The destination's one answer: 0 when it runs the VM, else -errno with
 * its reason in why. */
static int recv_done(struct mig_out *o, char *why, size_t why_len)
{
	struct mig_frame f;
	char msg[MIG_DONE_MAX + 1];
	u32 status;
	int err = mig_recv_header(o->fd, &f);

	if (!err && (f.type != MIG_DONE || f.len < 4))
		err = -EPROTO;
	if (!err)
		err = mig_recv_all(o->fd, &status, 4);
	if (!err)
		err = mig_recv_all(o->fd, msg, f.len - 4);
	if (err < 0)
		return vmm_fail(why, why_len, err, "no answer from the destination: %s",
				err == -EPROTO ? "not a popek migration stream" : strerror(-err));
	msg[f.len - 4] = 0;
	if (status)
		return vmm_fail(why, why_len, -EREMOTEIO, "the destination failed: %s",
				msg[0] ? msg : "(no reason given)");
	return 0;
}

/* The stop-and-copy, with the machine paused and o->pages holding what is
 * left: the devices quiesced, their last writes taken, the pages and the
 * state sent, the destination's answer awaited. */
static int stop_and_copy(struct mig_out *o, bool was_paused, char *why, size_t why_len)
{
	u32 flags = was_paused ? MIG_START_PAUSED : 0;
	u8 *state = NULL;
	size_t len = 0;
	s64 n;
	int err;

	err = virtio_devices_quiesce(o->m);
	if (err < 0)
		return vmm_fail(why, why_len, err, "cannot stop the virtio devices: %s",
				strerror(-err));
	virtio_devices_release_disks(o->m); /* the destination locks them next */
	n = machine_dirty_take(o->m, o->pages);
	err = n < 0 ? (int)n : machine_snapshot_encode(o->m, &state, &len, why, why_len);
	if (!err) {
		o->st.last_pages = (u64)n;
		n = send_pages(o);
		err = n < 0 ? (int)n
			    : mig_send_frame(o->fd, MIG_STATE, &flags, sizeof(flags), state, len);
		if (err < 0)
			vmm_fail(why, why_len, err, "cannot send to the destination: %s",
				 strerror(-err));
	}
	free(state);
	if (!err)
		err = recv_done(o, why, why_len);
	if (err < 0 && virtio_devices_claim_disks(o->m) < 0) {
		/* Someone holds them: the destination may run the VM already
		 * (its answer lost on the way). Two guests must never write one
		 * disk: this one does not run again. */
		char first[256];

		snprintf(first, sizeof(first), "%s", why[0] ? why : "the migration failed");
		return vmm_fail(why, why_len, -EADDRINUSE,
				"%s; and the disk images are locked by another process now (the "
				"destination may be running the VM): this VM stops",
				first);
	}
	if (err < 0)
		virtio_devices_unquiesce(o->m);
	return err;
}

/* Pre-copy rounds until what is left is small; returns with the machine
 * paused and o->pages holding what is left, or -errno (running again). */
static int precopy(struct mig_out *o, bool was_paused, char *why, size_t why_len)
{
	u64 best = UINT64_MAX, stalled = 0;
	s64 n;

	/* Round 1: every page that may hold something. */
	guest_mem_used_pages(&o->m->mem, o->pages);
	for (;;) {
		o->st.rounds++;
		n = send_pages(o);
		if (n < 0)
			return vmm_fail(why, why_len, (int)n, "cannot send to the destination: %s",
					strerror((int)-n));
		n = pause_and_take(o, was_paused);
		if (n < 0)
			return vmm_fail(why, why_len, (int)n, "cannot read the dirty page log: %s",
					strerror((int)-n));
		stalled = (u64)n < best ? 0 : stalled + 1;
		best = MIN(best, (u64)n);
		log_debug("migration: round %llu left %lld pages", (unsigned long long)o->st.rounds,
			  (long long)n);
		if (small_enough(o, (u64)n) || o->st.rounds >= MIG_MAX_ROUNDS ||
		    stalled >= MIG_STALL_ROUNDS)
			return 0;
		if (!was_paused)
			machine_resume(o->m);
	}
}

/* Starts the dirty log while paused (the soft engine drops its write tags);
 * its pages so far are dropped: round 1 sends all RAM in use anyway. */
static int start_log(struct mig_out *o, bool was_paused, char *why, size_t why_len)
{
	int err = machine_pause(o->m) < 0 ? -ESHUTDOWN : 0;

	if (!err && !o->m->mem.dirty)
		err = machine_dirty_start(o->m);
	if (!err) {
		s64 n = machine_dirty_take(o->m, o->pages);
		err = n < 0 ? (int)n : 0;
		memset(o->pages, 0, o->words * sizeof(u64));
	}
	if (!was_paused)
		machine_resume(o->m);
	if (err < 0)
		return vmm_fail(why, why_len, err, "cannot track dirty pages: %s", strerror(-err));
	return 0;
}

int machine_migrate(struct machine *m, const char *to, unsigned max_downtime_ms, char *why,
		    size_t why_len)
{
	struct mig_out o = {.m = m, .fd = -1, .max_downtime_ms = max_downtime_ms};
	bool was_paused = machine_paused(m), was_logging = m->mem.dirty != NULL;
	u64 t0 = clock_now_ns(), t_stop;
	u8 *hello = NULL;
	size_t hello_len = 0;
	int err;

	why[0] = 0;
	if (!m->engine->save_vm || !m->engine->dirty_log_start)
		return vmm_fail(why, why_len, -EOPNOTSUPP, "the %s engine cannot migrate yet",
				m->engine->name);
	o.words = guest_mem_dirty_words(&m->mem);
	o.pages = calloc(o.words, sizeof(u64));
	if (!o.pages)
		return vmm_fail(why, why_len, -ENOMEM, "out of memory");
	o.fd = mig_connect(to, why, why_len);
	if (o.fd < 0) {
		err = o.fd;
		goto out;
	}
	log_info("migration: sending the VM to %s", to);
	err = machine_snapshot_encode_machine(m, &hello, &hello_len);
	if (!err)
		err = mig_send_greeting(o.fd);
	if (!err)
		err = mig_send_frame(o.fd, MIG_HELLO, NULL, 0, hello, hello_len);
	free(hello);
	if (err < 0) {
		vmm_fail(why, why_len, err, "cannot send to the destination: %s", strerror(-err));
		goto out;
	}
	err = start_log(&o, was_paused, why, why_len);
	if (!err)
		err = precopy(&o, was_paused, why, why_len);
	if (err < 0)
		goto out;
	t_stop = clock_now_ns();
	err = stop_and_copy(&o, was_paused, why, why_len);
	o.st.downtime_ms = (clock_now_ns() - t_stop) / 1000000;
	if (err == -EADDRINUSE)
		machine_request_stop(m, MACHINE_STOP_ERROR, 1);
	else if (err < 0 && !was_paused)
		machine_resume(m);
out:
	if (err < 0 && was_logging) {
		/* The rounds took pages a Diff snapshot would need: the next
		 * one holds all RAM instead. */
		memset(o.pages, 0xff, o.words * sizeof(u64));
		machine_dirty_give_back(m, o.pages);
	}
	o.st.total_ms = (clock_now_ns() - t0) / 1000000;
	o.st.done = !err;
	metrics_set_migration(m, &o.st);
	if (!err)
		log_info("migration: done in %llu ms, %llu rounds, %llu MiB sent; downtime %llu ms "
			 "(%llu pages sent with the guest stopped)",
			 (unsigned long long)o.st.total_ms, (unsigned long long)o.st.rounds,
			 (unsigned long long)(o.st.pages * 4096 / MiB),
			 (unsigned long long)o.st.downtime_ms, (unsigned long long)o.st.last_pages);
	else if (err == -EADDRINUSE)
		log_error("migration to %s: %s", to, why);
	else
		log_warn("migration to %s failed, the VM goes on here: %s", to, why);
	if (o.fd >= 0)
		close(o.fd);
	free(o.pages);
	return err;
}
