/* Engine fast paths for device notifications and interrupt lines (KVM's
 * ioeventfd and irqfd), for devices, which never see the engine. Every
 * function works on any machine: where the engine (or the host) offers no
 * fast path it returns -ENOTSUP and the device keeps the ordinary paths,
 * MMIO writes through m->mmio and irq_set_level(). */
#ifndef POPEK_FASTPATH_H
#define POPEK_FASTPATH_H

#include <stdatomic.h>

#include "popek/types.h"

struct machine;

/* What is in use on a machine (struct machine's fastpath), for metrics. */
struct fastpath_stats {
	atomic_bool notify_fd;     /* some device has an ioeventfd */
	atomic_bool level_irq_fd;  /* some line is raised through an irqfd */
	_Atomic u64 notifies;      /* guest writes delivered through ioeventfds */
	_Atomic u64 irq_raises;    /* line raises written to an irqfd */
	_Atomic u64 irq_resamples; /* raises repeated after an EOI found the line high */
};

/*
 * Asks the engine to turn guest MMIO writes of exactly len bytes of value
 * datamatch at gpa into a signal on a new eventfd, which it returns (the
 * caller reads it, e.g. on m->loop, and gives it back to
 * fastpath_del_notify). Such a write then never reaches m->mmio; any other
 * write there still does. Main thread, before the vCPUs run or after they
 * stopped. Returns the eventfd or -errno (-ENOTSUP: no fast path here).
 */
int fastpath_add_notify(struct machine *m, gpa_t gpa, unsigned len, u64 datamatch);
/* Undoes fastpath_add_notify and closes fd. */
void fastpath_del_notify(struct machine *m, gpa_t gpa, unsigned len, u64 datamatch, int fd);

/* Tells the engine that gsi is a level-triggered line that only the caller
 * drives (with irq_set_level), so that it may raise it through an eventfd.
 * Returns 0 or -errno (-ENOTSUP: the line stays as it was). */
int fastpath_level_irq(struct machine *m, unsigned gsi);

#endif
