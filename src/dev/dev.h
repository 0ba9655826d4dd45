/* Plumbing shared by popek's legacy devices: how a device asks the machine
 * to stop without depending on struct machine (so unit tests can fake it). */
#ifndef POPEK_DEV_H
#define POPEK_DEV_H

#include "core/machine.h"

/* Called under the device lock from a device callback; devices.c wires it
 * to machine_request_stop(). */
typedef void dev_stop_fn(void *opaque, enum machine_stop_reason why, int status);

struct dev_stop {
	dev_stop_fn *fn; /* NULL: stop requests are dropped */
	void *opaque;
};

static inline void dev_request_stop(const struct dev_stop *s, enum machine_stop_reason why,
				    int status)
{
	if (s->fn)
		s->fn(s->opaque, why, status);
}

#endif
