/* Token buckets (see rate_limiter.h): refill with carried remainders, and
 * all-or-nothing consumption across the bandwidth and operations buckets. */
#include "virtio/rate_limiter.h"

#include <string.h>

typedef unsigned __int128 u128;

#define NS_PER_MS 1000000ULL

static void rl_bucket_init(struct rl_bucket *b, const struct bucket_config *c, u64 now_ns)
{
	memset(b, 0, sizeof(*b));
	if (!c->size || !c->refill_time_ms)
		return; /* off */
	b->size = c->size;
	b->refill_ns =
	    c->refill_time_ms > UINT64_MAX / NS_PER_MS ? UINT64_MAX : c->refill_time_ms * NS_PER_MS;
	b->burst = c->one_time_burst;
	b->budget = c->size;
	b->last_ns = now_ns;
}

/* Adds the tokens earned since last_ns: the debt first, then the budget. */
static void rl_bucket_refill(struct rl_bucket *b, u64 now_ns)
{
	u64 missing = b->size - b->budget;
	u128 earned, tokens;

	if (now_ns <= b->last_ns)
		return; /* a clock that did not move (or a stale caller's time) */
	earned = (u128)(now_ns - b->last_ns) * b->size + b->frac;
	b->last_ns = now_ns;
	tokens = earned / b->refill_ns;
	b->frac = (u64)(earned % b->refill_ns);
	if (tokens >= (u128)b->debt + missing) {
		b->debt = 0;
		b->budget = b->size;
		b->frac = 0; /* full: time spent full earns nothing */
		return;
	}
	if (tokens <= b->debt) {
		b->debt -= (u64)tokens;
		return;
	}
	tokens -= b->debt;
	b->debt = 0;
	b->budget += (u64)tokens;
}

/* Whether n tokens can be taken now; if not, the ns until they can. */
static u64 rl_bucket_wait(const struct rl_bucket *b, u64 n)
{
	u64 rest, target, missing;
	u128 ns;

	if (!b->size || n <= b->burst)
		return 0;
	rest = n - b->burst;
	/* An oversized request waits for a full bucket, the others for rest. */
	target = rest > b->size ? b->size : rest;
	if (!b->debt && b->budget >= target)
		return 0;
	missing = b->debt + (target - b->budget);
	/* Tokens earned by then: (elapsed * size + frac) / refill_ns >= missing. */
	ns = (u128)missing * b->refill_ns;
	ns = ns > b->frac ? ns - b->frac : 0;
	ns = (ns + b->size - 1) / b->size;
	if (ns > UINT64_MAX)
		return UINT64_MAX;
	return ns ? (u64)ns : 1;
}

/* Takes n tokens that rl_bucket_wait said are there. */
static void rl_bucket_take(struct rl_bucket *b, u64 n)
{
	u64 from_burst = n < b->burst ? n : b->burst;

	if (!b->size)
		return;
	b->burst -= from_burst;
	n -= from_burst;
	if (n <= b->budget) {
		b->budget -= n;
	} else {
		b->debt = n - b->budget;
		b->budget = 0;
	}
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limit_config *cfg, u64 now_ns)
{
	rl_bucket_init(&rl->bandwidth, &cfg->bandwidth, now_ns);
	rl_bucket_init(&rl->ops, &cfg->ops, now_ns);
}

bool rate_limiter_active(const struct rate_limiter *rl)
{
	return rl->bandwidth.size || rl->ops.size;
}

u64 rate_limiter_consume(struct rate_limiter *rl, u64 now_ns, u64 bytes, u64 ops)
{
	u64 wait_bw, wait_ops;

	if (rl->bandwidth.size)
		rl_bucket_refill(&rl->bandwidth, now_ns);
	if (rl->ops.size)
		rl_bucket_refill(&rl->ops, now_ns);
	wait_bw = rl_bucket_wait(&rl->bandwidth, bytes);
	wait_ops = rl_bucket_wait(&rl->ops, ops);
	if (wait_bw || wait_ops) {
		rl->throttled++;
		return wait_bw > wait_ops ? wait_bw : wait_ops;
	}
	rl_bucket_take(&rl->bandwidth, bytes);
	rl_bucket_take(&rl->ops, ops);
	return 0;
}
