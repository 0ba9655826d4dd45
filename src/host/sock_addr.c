/* Command-line socket addresses: parsing and listening (sock_addr.h). */
#include "host/sock_addr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "popek/log.h"

bool sock_addr_unix(const char *at, struct sockaddr_un *un)
{
	if (strncmp(at, "unix:", 5) || !at[5] || strlen(at + 5) >= sizeof(un->sun_path))
		return false;
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, at + 5);
	return true;
}

int sock_addr_tcp(const char *at, const char *host_default, struct addrinfo **res)
{
	char host[256];
	const char *rest = at + 4, *port = strrchr(rest, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};

	if (strncmp(at, "tcp:", 4))
		return -EINVAL;
	if (port) {
		size_t n = (size_t)(port - rest);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, rest, n);
		host[n] = 0;
		port++;
		/* [v6] */
		if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
			memmove(host, host + 1, n - 2);
			host[n - 2] = 0;
		}
	} else if (host_default) {
		snprintf(host, sizeof(host), "%s", host_default);
		port = rest;
	} else {
		return -EINVAL;
	}
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (!*host || !*port || strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 ||
	    atoi(port) > 65535)
		return -EINVAL;
	return getaddrinfo(host, port, &hints, res) ? -EHOSTUNREACH : 0;
}

int sock_listen(const char *at, const char *opt)
{
	struct sockaddr_un un;
	struct addrinfo *res = NULL;
	int fd, one = 1, err = 0;

	if (sock_addr_unix(at, &un)) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 &&
		    (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(fd, 1) < 0))
			err = -errno;
	} else if (sock_addr_tcp(at, "127.0.0.1", &res) == 0) {
		fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1) < 0)
				err = -errno;
		}
		freeaddrinfo(res);
	} else {
		log_error("%s '%s': not unix:PATH or tcp:[ADDRESS:]PORT (an IP address)", opt, at);
		return -EINVAL;
	}
	if (fd < 0)
		err = -errno;
	if (err < 0) {
		log_error("%s '%s': %s", opt, at, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}
