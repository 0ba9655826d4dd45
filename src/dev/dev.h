/* Plumbing shared by popek's legacy devices: how a device asks the machine
 * to stop without depending on struct machine (so unit tests can fake it). */
#ifndef POPEK_DEV_H
#define POPEK_DEV_H

#include "core/machine.h"
#include "core/snap_codec.h"

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

/* A saved flag (snap_put_bool) for a device's X_load(): a byte other than 0
 * or 1 is refused with a reason naming the field ("uart: THRE pending"). */
static inline bool dev_get_flag(struct snap_in *in, const char *name)
{
	u8 v = snap_get_u8(in);

	if (v > 1)
		snap_reject(in, "%s is %u, not 0 or 1", name, v);
	return v == 1;
}

#endif
