/* The token buckets of src/virtio/rate_limiter.c against a fake clock. */
#include "test.h"

#include "virtio/rate_limiter.h"

#define MS  1000000ULL
#define SEC (1000 * MS)

static struct rate_limiter make(u64 bw_size, u64 bw_burst, u64 bw_ms, u64 ops_size, u64 ops_ms)
{
	struct rate_limit_config c = {
	    .bandwidth = {.size = bw_size, .one_time_burst = bw_burst, .refill_time_ms = bw_ms},
	    .ops = {.size = ops_size, .refill_time_ms = ops_ms},
	};
	struct rate_limiter rl = {0};

	rate_limiter_init(&rl, &c, 5 * SEC);
	return rl;
}

static void test_unlimited(void)
{
	struct rate_limiter rl = make(0, 0, 0, 0, 0);

	CHECK(!rate_limiter_active(&rl));
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(rate_limiter_consume(&rl, 5 * SEC, 1ULL << 40, 1000), 0);
	CHECK_EQ(rl.throttled, 0);
	/* A size without a refill time is no bucket either. */
	rl = make(100, 0, 0, 0, 0);
	CHECK(!rate_limiter_active(&rl));
}

/* Starts full; empty after size tokens; the wait is exactly the refill. */
static void test_full_then_wait(void)
{
	struct rate_limiter rl = make(1000, 0, 100, 0, 0);
	u64 t = 5 * SEC;

	CHECK(rate_limiter_active(&rl));
	CHECK_EQ(rate_limiter_consume(&rl, t, 600, 1), 0);
	CHECK_EQ(rate_limiter_consume(&rl, t, 400, 1), 0);
	/* 100 tokens come back in 10 ms. */
	CHECK_EQ(rate_limiter_consume(&rl, t, 100, 1), 10 * MS);
	CHECK_EQ(rl.throttled, 1);
	CHECK_EQ(rate_limiter_consume(&rl, t + 10 * MS - 1, 100, 1), 1);
	CHECK_EQ(rate_limiter_consume(&rl, t + 10 * MS, 100, 1), 0);
	CHECK_EQ(rl.bandwidth.budget, 0);
	/* Never above size however long it waits. */
	CHECK_EQ(rate_limiter_consume(&rl, t + 100 * SEC, 1001, 1), 0); /* oversized, full */
	CHECK_EQ(rl.bandwidth.debt, 1);
}

/* The refill's remainder is carried: looking often loses nothing. */
static void test_no_lost_fractions(void)
{
	struct rate_limiter rl = make(3, 0, 1000, 0, 0); /* 3 tokens per second */
	u64 t = 5 * SEC, taken = 0;

	CHECK_EQ(rate_limiter_consume(&rl, t, 3, 0), 0);
	/* Ask every millisecond for 10 s: 30 tokens, not fewer. */
	for (u64 ms = 1; ms <= 10000; ms++)
		if (!rate_limiter_consume(&rl, t + ms * MS, 1, 0))
			taken++;
	CHECK_EQ(taken, 30);
}

/* one_time_burst first, never refilled. */
static void test_one_time_burst(void)
{
	struct rate_limiter rl = make(100, 500, 1000, 0, 0);
	u64 t = 5 * SEC;

	CHECK_EQ(rate_limiter_consume(&rl, t, 450, 0), 0);
	CHECK_EQ(rl.bandwidth.burst, 50);
	CHECK_EQ(rl.bandwidth.budget, 100);
	CHECK_EQ(rate_limiter_consume(&rl, t, 120, 0), 0); /* 50 burst + 70 budget */
	CHECK_EQ(rl.bandwidth.burst, 0);
	CHECK_EQ(rl.bandwidth.budget, 30);
	CHECK_EQ(rate_limiter_consume(&rl, t + 100 * SEC, 101, 0), 0); /* full again, no burst */
	CHECK_EQ(rl.bandwidth.burst, 0);
	CHECK_EQ(rl.bandwidth.debt, 1);
}

/* A request larger than the bucket passes when the bucket is full, and the
 * debt it leaves is repaid before anything else passes: the rate holds. */
static void test_oversized(void)
{
	struct rate_limiter rl = make(1000, 0, 1000, 0, 0); /* 1000 B/s */
	u64 t = 5 * SEC;

	CHECK_EQ(rate_limiter_consume(&rl, t, 1, 0), 0);
	/* Not full: wait until it is (1 token = 1 ms). */
	CHECK_EQ(rate_limiter_consume(&rl, t, 3000, 0), 1 * MS);
	CHECK_EQ(rate_limiter_consume(&rl, t + 1 * MS, 3000, 0), 0);
	CHECK_EQ(rl.bandwidth.debt, 2000);
	/* The next byte waits 2 s of debt plus 1 ms. */
	CHECK_EQ(rate_limiter_consume(&rl, t + 1 * MS, 1, 0), 2001 * MS);
	CHECK_EQ(rate_limiter_consume(&rl, t + 1 * SEC + 1 * MS, 1, 0), 1001 * MS);
	CHECK_EQ(rl.bandwidth.debt, 1000);
	CHECK_EQ(rate_limiter_consume(&rl, t + 2002 * MS, 1, 0), 0);
	/* Sustained: 10 requests of 3000 B take 30 s of refill after the first. */
	u64 now = t + 100 * SEC, sent = 0, start = now;
	rl = make(1000, 0, 1000, 0, 0);
	for (int i = 0; i < 11; i++) {
		u64 w;
		int tries = 0;
		while ((w = rate_limiter_consume(&rl, now, 3000, 0)) && ++tries < 10)
			now += w;
		CHECK(tries < 10); /* an oversized request must pass once the bucket is full */
		sent += 3000;
	}
	/* The first at once (full), each next after 3000 tokens (3 s). */
	CHECK_EQ(now - start, 30 * SEC);
	CHECK_EQ(sent, 33000);
}

/* Both buckets or neither; the longer wait is returned. */
static void test_both_buckets(void)
{
	struct rate_limiter rl = make(1000, 0, 1000, 2, 1000); /* 1000 B/s, 2 ops/s */
	u64 t = 5 * SEC;

	CHECK_EQ(rate_limiter_consume(&rl, t, 10, 1), 0);
	CHECK_EQ(rate_limiter_consume(&rl, t, 10, 1), 0);
	/* ops empty: 500 ms for one op; the bandwidth bucket is untouched. */
	CHECK_EQ(rate_limiter_consume(&rl, t, 10, 1), 500 * MS);
	CHECK_EQ(rl.bandwidth.budget, 980);
	/* Bandwidth would wait 20 ms, ops 500 ms: the longer one. */
	CHECK_EQ(rate_limiter_consume(&rl, t, 1000, 1), 500 * MS);
	CHECK_EQ(rate_limiter_consume(&rl, t + 500 * MS, 1000, 1), 0);
	CHECK_EQ(rl.throttled, 2);
}

/* A clock that goes backwards (a stale time) changes nothing. */
static void test_stale_clock(void)
{
	struct rate_limiter rl = make(100, 0, 100, 0, 0);
	u64 t = 5 * SEC;

	CHECK_EQ(rate_limiter_consume(&rl, t, 100, 0), 0);
	CHECK_EQ(rate_limiter_consume(&rl, t - 1 * SEC, 1, 0), 1 * MS);
	CHECK_EQ(rate_limiter_consume(&rl, t + 1 * MS, 1, 0), 0);
}

/* Extreme values neither overflow nor divide by zero. */
static void test_extremes(void)
{
	struct rate_limiter rl = make(UINT64_MAX, UINT64_MAX, UINT64_MAX, 1, UINT64_MAX);
	u64 t = 5 * SEC;

	CHECK_EQ(rate_limiter_consume(&rl, t, UINT64_MAX, 1), 0);
	CHECK(rate_limiter_consume(&rl, t, 0, 1) > 0);
	CHECK_EQ(rate_limiter_consume(&rl, t, UINT64_MAX, 0), 0); /* all of the budget */
	CHECK_EQ(rate_limiter_consume(&rl, UINT64_MAX, 1, 0), 0); /* ~2^64 ns earned */
	rl = make(1, 0, 1, 0, 0);
	CHECK_EQ(rate_limiter_consume(&rl, t, UINT64_MAX, 0), 0);
	CHECK_EQ(rl.bandwidth.debt, UINT64_MAX - 1);
	CHECK_EQ(rate_limiter_consume(&rl, t, 1, 0), UINT64_MAX);
}

int main(void)
{
	TEST_RUN(test_unlimited);
	TEST_RUN(test_full_then_wait);
	TEST_RUN(test_no_lost_fractions);
	TEST_RUN(test_one_time_burst);
	TEST_RUN(test_oversized);
	TEST_RUN(test_both_buckets);
	TEST_RUN(test_stale_clock);
	TEST_RUN(test_extremes);
	return test_done();
}
