/* virtio-rng (virtio 1.2 section 5.4): an entropy source filled from the
 * host's getrandom(), served on the machine's event loop. */
#ifndef POPEK_VIRTIO_RNG_H
#define POPEK_VIRTIO_RNG_H

struct machine;
struct virtio_rng;

#define VIRTIO_ID_RNG        4
#define VIRTIO_RNG_QUEUE_MAX 64
#define VIRTIO_RNG_MAX_FILL  (64 * 1024) /* bytes per request, at most */

/* Creates the device in the next virtio-mmio slot. Logs one error line and
 * returns -errno on failure. */
int virtio_rng_create(struct machine *m, struct virtio_rng **out);
void virtio_rng_destroy(struct virtio_rng *r);

#endif
