/* virtio-rng (virtio 1.2 section 5.4): an entropy source filled from the
 * host's getrandom(), served on the machine's event loop. */
#ifndef POPEK_VIRTIO_RNG_H
#define POPEK_VIRTIO_RNG_H

#include "core/config.h"

struct machine;
struct virtio_rng;

#define VIRTIO_ID_RNG        4
#define VIRTIO_RNG_QUEUE_MAX 64
#define VIRTIO_RNG_MAX_FILL  (64 * 1024) /* bytes per request, at most */

/* Creates the device in the next virtio-mmio slot, its requests limited by
 * rl (all zero: unlimited; a throttled queue waits for a timer on the
 * event loop). Logs one error line and returns -errno on failure. */
int virtio_rng_create(struct machine *m, const struct rate_limit_config *rl,
		      struct virtio_rng **out);
/* Replaces the buckets (full again), from any thread but the event loop's. */
void virtio_rng_set_rate_limiter(struct virtio_rng *r, const struct rate_limit_config *cfg);
void virtio_rng_destroy(struct virtio_rng *r);

#endif
