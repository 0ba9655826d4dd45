/* One address space of device ranges (port I/O or MMIO) that both engines
 * call for every access that is not RAM; devices never know the engine. */
#ifndef POPEK_BUS_H
#define POPEK_BUS_H

#include <pthread.h>

#include "popek/types.h"

/* Device callbacks get the offset from the range base and an access size of
 * 1, 2, 4 or 8. They run with the bus lock held (see struct bus). */
struct bus_ops {
	const char *name;
	u64 (*read)(void *opaque, u64 offset, unsigned size);
	void (*write)(void *opaque, u64 offset, unsigned size, u64 value);
};

struct bus_range {
	u64 base, len;
	const struct bus_ops *ops;
	void *opaque;
};

#define BUS_MAX_RANGES 128

struct bus {
	const char *name;               /* "pio" or "mmio", for messages */
	pthread_mutex_t *lock;          /* the machine's device lock, shared by all buses */
	unsigned nr;
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base, never overlapping */
};

void bus_init(struct bus *bus, const char *name, pthread_mutex_t *lock);

/* Claims [base, base+len). Returns 0, -EINVAL (len 0 or wraps), -EEXIST
 * (overlaps a registered range) or -ENOSPC. Set-up time only. */
int bus_register(struct bus *bus, u64 base, u64 len, const struct bus_ops *ops, void *opaque);

/* An access by the guest. size is 1, 2, 4 or 8; an access that is not wholly
 * inside one range is unclaimed. Unclaimed reads give all-ones; unclaimed
 * writes are dropped. Returns true when a device claimed the access. */
bool bus_read(struct bus *bus, u64 addr, unsigned size, u64 *value);
bool bus_write(struct bus *bus, u64 addr, unsigned size, u64 value);

/* The range containing addr, or NULL (lock-free: ranges are fixed after set-up). */
const struct bus_range *bus_find(const struct bus *bus, u64 addr);

#endif
