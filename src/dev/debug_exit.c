/* The debug-exit port: QEMU isa-debug-exit semantics. */
#include "dev/debug_exit.h"

#include "popek/layout.h"

static u64 debug_exit_read(void *opaque, u64 offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

static void debug_exit_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct debug_exit *d = opaque;
	u64 status;

	if (offset != 0 || size > 4)
		return;
	status = ((value << 1) | 1) & 0x7FFFFFFF;
	dev_request_stop(&d->stop, MACHINE_STOP_DEBUG_EXIT, (int)status);
}

static const struct bus_ops debug_exit_ops = {
    .name = "debug-exit",
    .read = debug_exit_read,
    .write = debug_exit_write,
};

int debug_exit_init(struct debug_exit *d, struct bus *pio, const struct dev_stop *stop)
{
	d->stop = *stop;
	return bus_register(pio, PORT_DEBUG_EXIT, DEBUG_EXIT_NR_PORTS, &debug_exit_ops, d);
}
