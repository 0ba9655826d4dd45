/* Sorted range table for port I/O and MMIO dispatch. */
#include "core/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name, pthread_mutex_t *lock)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->lock = lock;
}

int bus_register(struct bus *bus, u64 base, u64 len, const struct bus_ops *ops, void *opaque)
{
	unsigned i;

	if (!len || base + len - 1 < base)
		return -EINVAL;
	if (bus->nr == BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];
		if (base <= r->base + r->len - 1 && r->base <= base + len - 1)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){base, len, ops, opaque};
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, u64 addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static const struct bus_range *bus_claim(const struct bus *bus, u64 addr, unsigned size)
{
	const struct bus_range *r = bus_find(bus, addr);

	if (!r || size > r->len - (addr - r->base))
		return NULL;
	return r;
}

bool bus_read(struct bus *bus, u64 addr, unsigned size, u64 *value)
{
	const struct bus_range *r = bus_claim(bus, addr, size);
	u64 mask = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;

	*value = mask;
	if (!r || !r->ops->read)
		return r != NULL;
	if (bus->lock)
		pthread_mutex_lock(bus->lock);
	*value = r->ops->read(r->opaque, addr - r->base, size) & mask;
	if (bus->lock)
		pthread_mutex_unlock(bus->lock);
	return true;
}

bool bus_write(struct bus *bus, u64 addr, unsigned size, u64 value)
{
	const struct bus_range *r = bus_claim(bus, addr, size);
	u64 mask = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;

	if (!r || !r->ops->write)
		return r != NULL;
	if (bus->lock)
		pthread_mutex_lock(bus->lock);
	r->ops->write(r->opaque, addr - r->base, size, value & mask);
	if (bus->lock)
		pthread_mutex_unlock(bus->lock);
	return true;
}
