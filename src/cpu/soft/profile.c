/* Guest-RIP sampling for finding where a guest spends its time under the
 * soft engine: with POPEK_SOFT_PROFILE=1 in the environment, the interpreter
 * records the RIP every SOFT_PROFILE_PERIOD instructions (at the next block
 * boundary) and the hottest 64-byte lines are logged when the vCPU is
 * destroyed (match them against the guest's System.map). */
#include <stdlib.h>
#include <string.h>

#include "cpu/soft/profile.h"
#include "popek/log.h"

#define PROF_SLOTS 8192

struct soft_profile {
	u64 samples;
	struct {
		u64 rip, count;
	} slot[PROF_SLOTS];
};

struct soft_profile *soft_profile_new(void)
{
	const char *e = getenv("POPEK_SOFT_PROFILE");

	if (!e || !*e || !strcmp(e, "0"))
		return NULL;
	return calloc(1, sizeof(struct soft_profile));
}

void soft_profile_sample(struct soft_profile *p, u64 rip, u64 weight)
{
	/* Samples are grouped by 64-byte line: enough to name the function. */
	u64 key = rip & ~63ULL;
	unsigned h = (unsigned)((key >> 6) ^ (key >> 19)) & (PROF_SLOTS - 1);

	p->samples += weight;
	for (unsigned i = 0; i < 16; i++) {
		unsigned s = (h + i) & (PROF_SLOTS - 1);
		if (p->slot[s].count == 0 || p->slot[s].rip == key) {
			p->slot[s].rip = key;
			p->slot[s].count += weight;
			return;
		}
	}
}

static int prof_cmp(const void *a, const void *b)
{
	const u64 *x = a, *y = b;

	return x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0;
}

void soft_profile_report(struct soft_profile *p, unsigned cpu_id)
{
	if (!p)
		return;
	u64 kernel = 0;

	for (unsigned i = 0; i < PROF_SLOTS; i++)
		if (p->slot[i].rip >> 63)
			kernel += p->slot[i].count;
	qsort(p->slot, PROF_SLOTS, sizeof(p->slot[0]), prof_cmp);
	log_warn("soft profile vCPU %u: %llu samples, %.1f%% in the upper half (kernel); hottest "
		 "64-byte lines:",
		 cpu_id, (unsigned long long)p->samples,
		 p->samples ? 100.0 * (double)kernel / (double)p->samples : 0.0);
	for (unsigned i = 0; i < 60 && p->slot[i].count; i++)
		log_warn("  %#18llx %6.2f%%", (unsigned long long)p->slot[i].rip,
			 100.0 * (double)p->slot[i].count / (double)p->samples);
	free(p);
}
