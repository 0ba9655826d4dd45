/* Creation of the configured virtio devices (placeholder until the
 * transport lands: no devices yet). */
#include "virtio/devices.h"

#include "core/machine.h"

int virtio_devices_create(struct machine *m)
{
	(void)m;
	return 0;
}

void virtio_devices_destroy(struct machine *m)
{
	m->virtio = NULL;
}
