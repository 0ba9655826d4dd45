/* Guest-RIP sampling (POPEK_SOFT_PROFILE=1), see profile.c. */
#ifndef POPEK_SOFT_PROFILE_H
#define POPEK_SOFT_PROFILE_H

#include "popek/types.h"

struct soft_profile;

/* Instructions between two samples (a prime, so loops do not alias). */
#define SOFT_PROFILE_PERIOD 9973

/* NULL unless POPEK_SOFT_PROFILE is set (then sampling is on). */
struct soft_profile *soft_profile_new(void);
void soft_profile_sample(struct soft_profile *p, u64 rip, u64 weight);
/* Logs the hottest RIPs and frees p (NULL: nothing). */
void soft_profile_report(struct soft_profile *p, unsigned cpu_id);

#endif
