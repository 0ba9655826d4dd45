/* The machine's I/O thread: an epoll loop over host file descriptors
 * (console input, later disk and network back-ends and the API socket). */
#ifndef POPEK_EVENT_LOOP_H
#define POPEK_EVENT_LOOP_H

#include "popek/types.h"

typedef void event_fn(void *opaque, int fd, u32 events);

/* Host fds, ioeventfds (one per virtio queue) and irqfd resample fds (one
 * per virtio device): 13 virtio slots of up to 3 queues fit with room. */
#define EVENT_LOOP_MAX 128

struct event_loop {
	int epfd;
	int wake_fd;  /* eventfd: event_loop_wake() makes run() re-check */
	_Atomic bool quit;
	unsigned nr;
	struct {
		int fd;
		event_fn *fn;
		void *opaque;
	} handlers[EVENT_LOOP_MAX];
};

int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);
/* Calls fn(opaque, fd, events) on the loop thread when fd is readable
 * (events are EPOLL* bits). Returns 0 or -errno. */
int event_loop_add(struct event_loop *loop, int fd, event_fn *fn, void *opaque);
int event_loop_remove(struct event_loop *loop, int fd);
/* Serves events until event_loop_quit(), waking at least every 100 ms. */
void event_loop_run(struct event_loop *loop);
/* One round: waits up to timeout_ms (0: not at all) and calls the handlers
 * of the fds that are ready. Returns how many were ready. */
int event_loop_dispatch(struct event_loop *loop, int timeout_ms);
void event_loop_quit(struct event_loop *loop);

#endif
