/* Non-blocking Unix stream sockets for host back-ends (virtio-vsock) and the API. */
#ifndef POPEK_UNIX_SOCK_H
#define POPEK_UNIX_SOCK_H

#include "popek/types.h"

/*
 * Creates a listening socket bound to path (non-blocking, close-on-exec)
 * with the given accept backlog.
 * A socket file left at path by an earlier run (nothing accepts on it: the
 * connect is refused) is removed first; any other existing file makes it
 * fail with -EADDRINUSE. Returns the fd or -errno (-ENAMETOOLONG when path
 * does not fit sockaddr_un). Logs nothing: the caller names the option.
 */
int unix_listen(const char *path, int backlog);

/* Connects a non-blocking socket to path. Returns the connected fd or
 * -errno: -ENOENT/-ECONNREFUSED when nobody listens, -EAGAIN when the
 * listener's backlog is full (Unix sockets never complete later). */
int unix_connect(const char *path);

/* Accepts one connection (non-blocking, close-on-exec). Returns the fd, or
 * -EAGAIN when none is waiting, or -errno. */
int unix_accept(int listen_fd);

#endif
