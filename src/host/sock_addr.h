/* Socket addresses given on the command line: "unix:PATH" and
 * "tcp:[HOST:]PORT" with HOST an IP address or localhost (no name lookup:
 * it would read files and talk to DNS from threads whose seccomp filters
 * allow neither). Used by live migration and the GDB stub. */
#ifndef POPEK_SOCK_ADDR_H
#define POPEK_SOCK_ADDR_H

#include <netdb.h>
#include <stdbool.h>
#include <sys/un.h>

/* "unix:PATH" into *un; false when at is not that. */
bool sock_addr_unix(const char *at, struct sockaddr_un *un);
/* "tcp:HOST:PORT", or "tcp:PORT" with host_default (NULL: HOST required),
 * resolved into *res (freeaddrinfo it); -EINVAL when at is not that. */
int sock_addr_tcp(const char *at, const char *host_default, struct addrinfo **res);
/* Listens on at (a TCP HOST defaults to 127.0.0.1); returns the listening
 * socket, or -errno after one line that names the option opt. */
int sock_listen(const char *at, const char *opt);

#endif
