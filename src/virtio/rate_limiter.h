/* Token-bucket rate limiting for virtio devices, with Firecracker's meaning
 * of size, refill_time and one_time_burst: pure logic, the caller passes the
 * time (ns of CLOCK_MONOTONIC, or a test's clock) and owns the locking. */
#ifndef POPEK_VIRTIO_RATE_LIMITER_H
#define POPEK_VIRTIO_RATE_LIMITER_H

#include "core/config.h"

/*
 * One bucket. It starts full (budget == size) with the one-time burst on top.
 * Tokens come back evenly, size per refill_ns, never above size; the
 * remainder of the integer division is carried (frac), so no token is lost
 * however often the bucket is looked at.
 *
 * A request larger than size can never fit: it passes when the bucket is
 * full and leaves the excess as debt, which refills repay before the budget
 * grows again, so the long-run rate stays size per refill_ns. (Firecracker
 * lets such a request through after emptying the bucket and then blocks the
 * device for the excess's refill time; the debt has the same effect without
 * crediting the blocked time twice.)
 */
struct rl_bucket {
	u64 size;      /* 0: no bucket, everything passes */
	u64 refill_ns; /* time for size tokens to come back */
	u64 burst;     /* one-time tokens left */
	u64 budget;    /* tokens now, at most size */
	u64 debt;      /* tokens an oversized request took beyond the budget */
	u64 last_ns;   /* refills are counted up to here */
	u64 frac;      /* refill remainder, in token-ns (< refill_ns) */
};

struct rate_limiter {
	struct rl_bucket bandwidth; /* bytes */
	struct rl_bucket ops;       /* requests */
	u64 throttled;              /* consume() calls that had to wait */
};

/* Sets both buckets from cfg (a bucket with size 0 is off), full, at time
 * now_ns. A live PATCH calls it again: the buckets start over, throttled
 * is kept (zero the struct before the first call). */
void rate_limiter_init(struct rate_limiter *rl, const struct rate_limit_config *cfg, u64 now_ns);

/* Whether any bucket is on (a device skips the accounting otherwise). */
bool rate_limiter_active(const struct rate_limiter *rl);

/* Takes bytes tokens from the bandwidth bucket and ops tokens from the
 * operations bucket, both or neither. Returns 0 when taken; otherwise
 * nothing is taken, throttled is counted, and the result is how many ns to
 * wait (at least 1) before the same request can be taken, if nothing else
 * takes tokens meanwhile. */
u64 rate_limiter_consume(struct rate_limiter *rl, u64 now_ns, u64 bytes, u64 ops);

#endif
