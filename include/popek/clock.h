/* The host's monotonic clock, for timeouts, deadlines and counters. */
#ifndef POPEK_CLOCK_H
#define POPEK_CLOCK_H

#include <time.h>

#include "popek/types.h"

static inline u64 clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static inline u64 clock_now_ms(void)
{
	return clock_now_ns() / 1000000;
}

#endif
