/* epoll-based I/O loop run by the machine's main thread. */
#include "core/event_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int event_loop_init(struct event_loop *loop)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = -1};

	memset(loop, 0, sizeof(*loop));
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wake_fd < 0 || epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
		int err = -errno;
		event_loop_destroy(loop);
		return err;
	}
	return 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (loop->wake_fd > 0)
		close(loop->wake_fd);
	if (loop->epfd > 0)
		close(loop->epfd);
	loop->wake_fd = loop->epfd = -1;
}

int event_loop_add(struct event_loop *loop, int fd, event_fn *fn, void *opaque)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	if (loop->nr == EVENT_LOOP_MAX)
		return -ENOSPC;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->handlers[loop->nr].fd = fd;
	loop->handlers[loop->nr].fn = fn;
	loop->handlers[loop->nr].opaque = opaque;
	loop->nr++;
	return 0;
}

int event_loop_remove(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < loop->nr; i++) {
		if (loop->handlers[i].fd != fd)
			continue;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		loop->handlers[i] = loop->handlers[--loop->nr];
		return 0;
	}
	return -ENOENT;
}

int event_loop_dispatch(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(loop->epfd, evs, ARRAY_SIZE(evs), timeout_ms);

	for (int i = 0; i < n && !loop->quit; i++) {
		int fd = evs[i].data.fd;
		if (fd == -1) {
			u64 v;
			if (read(loop->wake_fd, &v, sizeof(v)) < 0) {
				/* nothing to drain */
			}
			continue;
		}
		for (unsigned h = 0; h < loop->nr; h++) {
			if (loop->handlers[h].fd == fd) {
				loop->handlers[h].fn(loop->handlers[h].opaque, fd, evs[i].events);
				break;
			}
		}
	}
	return n < 0 ? 0 : n;
}

void event_loop_run(struct event_loop *loop)
{
	while (!loop->quit)
		event_loop_dispatch(loop, 100);
}

void event_loop_quit(struct event_loop *loop)
{
	u64 one = 1;

	loop->quit = true;
	if (write(loop->wake_fd, &one, sizeof(one)) < 0) {
		/* the loop also wakes every 100 ms */
	}
}
