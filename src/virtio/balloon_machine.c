/* The balloon's operations for a machine (balloon.h), for the API and the
 * metrics: the machine's device if it has one, else -ENODEV. */
#include <errno.h>

#include "popek/log.h"
#include "virtio/balloon.h"
#include "virtio/devices.h"

int balloon_set_target(struct machine *m, u64 bytes)
{
	struct virtio_balloon *b = virtio_devices_balloon(m);

	if (!b) {
		log_error("balloon: this machine has no balloon (start it with --balloon)");
		return -ENODEV;
	}
	return virtio_balloon_set_target(b, bytes);
}

int balloon_get_stats(struct machine *m, struct balloon_stats *out)
{
	struct virtio_balloon *b = virtio_devices_balloon(m);

	if (!b)
		return -ENODEV;
	virtio_balloon_get_stats(b, out);
	return 0;
}

int balloon_get_config(struct machine *m, struct balloon_config *out)
{
	struct virtio_balloon *b = virtio_devices_balloon(m);

	if (!b)
		return -ENODEV;
	virtio_balloon_get_config(b, out);
	return 0;
}

int balloon_set_stats_interval(struct machine *m, u32 interval_s)
{
	struct virtio_balloon *b = virtio_devices_balloon(m);

	if (!b)
		return -ENODEV;
	return virtio_balloon_set_stats_interval(b, interval_s);
}

int balloon_hinting_start(struct machine *m, bool ack_on_stop)
{
	struct virtio_balloon *b = virtio_devices_balloon(m);

	return b ? virtio_balloon_hint_start(b, ack_on_stop) : -ENODEV;
}

int balloon_hinting_stop(struct machine *m)
{
	struct virtio_balloon *b = virtio_devices_balloon(m);

	return b ? virtio_balloon_hint_stop(b) : -ENODEV;
}

int balloon_hinting_status(struct machine *m, struct balloon_hint_status *out)
{
	struct virtio_balloon *b = virtio_devices_balloon(m);

	return b ? virtio_balloon_hint_status(b, out) : -ENODEV;
}
