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
struct engine_vm; /* engine-private (src/cpu/engine.h) */

/*
 * An engine's optional host fast paths (KVM's ioeventfd and irqfd): part of
 * its struct engine_ops, reached by devices only through the functions
 * below (the machine's fastpath_ops, set when it is assembled). NULL where
 * the engine has none (soft); a present op returns -ENOTSUP where the host
 * lacks the capability. Called on the main thread while the machine is
 * assembled or torn down.
 *
 * add_notify_fd: from now on a guest MMIO write of exactly len bytes with
 * value datamatch at gpa adds 1 to the eventfd fd and completes in the
 * engine: it never reaches m->mmio. Any other write there still does, so
 * each write takes exactly one of the two paths. del_notify_fd undoes it
 * (same arguments). level_irq_fd: the line gsi is level-triggered and
 * driven by one device only: from now on the engine may raise it through an
 * eventfd instead of a call per change (devices keep using irq_set_level).
 */
struct fastpath_ops {
	int (*add_notify_fd)(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd);
	int (*del_notify_fd)(struct engine_vm *vm, gpa_t gpa, unsigned len, u64 datamatch, int fd);
	int (*level_irq_fd)(struct engine_vm *vm, unsigned gsi);
};

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
