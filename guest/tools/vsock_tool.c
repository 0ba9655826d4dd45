/* vsock_tool: a tiny vsock (and, on the host, Unix socket) client and echo
 * server for popek's tests; busybox has no AF_VSOCK. Built static by
 * guest/build.sh into the default guest as /usr/bin/vsock_tool.
 *
 *   vsock_tool cid                    print this machine's local CID
 *   vsock_tool echo PORT [N]          accept N (default 1) vsock connections
 *                                     on PORT, one after the other, and echo
 *                                     each until its end of file
 *   vsock_tool connect CID PORT       connect to CID:PORT, send stdin, shut
 *                                     down writing, copy what comes back to
 *                                     stdout until end of file
 *   vsock_tool uds-connect PATH PORT  host side of a popek --vsock socket:
 *                                     "CONNECT PORT\n", expect "OK <n>\n"
 *                                     (printed on stderr), then as connect
 *   vsock_tool uds-echo PATH [N]      listen on Unix socket PATH and echo N
 *                                     connections (a guest's connect target)
 *
 * Exit status 0 on success, 1 with one message on stderr otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "vsock_tool: %s: %s\n", what, strerror(errno));
	return 1;
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end) {
		fprintf(stderr, "vsock_tool: '%s' is not a number\n", s);
		exit(1);
	}
	return v;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Echoes one connection until its end of file. */
static int echo_conn(int fd)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read");
		if (n == 0)
			return 0;
		if (write_all(fd, buf, (size_t)n) < 0)
			return fail("write");
	}
}

static int serve(int ls, unsigned long count)
{
	for (unsigned long i = 0; i < count; i++) {
		int fd = accept(ls, NULL, NULL);

		if (fd < 0)
			return fail("accept");
		if (echo_conn(fd))
			return 1;
		close(fd);
	}
	return 0;
}

/* stdin -> fd (then shutdown(SHUT_WR)) while fd -> stdout, until fd ends. */
static int pump(int fd)
{
	static char out[65536], in[65536];
	size_t out_len = 0, out_off = 0;
	int in_eof = 0, shut = 0;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = 0}};
		ssize_t n;

		if (out_len)
			p[0].events |= POLLOUT;
		else if (!in_eof)
			p[1].events = POLLIN;
		else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (poll(p, in_eof ? 1 : 2, -1) < 0 && errno != EINTR)
			return fail("poll");
		if (p[1].revents & (POLLIN | POLLHUP)) {
			n = read(0, out, sizeof(out));
			if (n < 0)
				return fail("read stdin");
			if (n == 0)
				in_eof = 1;
			out_len = (size_t)n;
			out_off = 0;
		}
		if (out_len && (p[0].revents & (POLLOUT | POLLERR))) {
			n = write(fd, out + out_off, out_len);
			if (n < 0 && errno != EAGAIN)
				return fail("write");
			if (n > 0) {
				out_off += (size_t)n;
				out_len -= (size_t)n;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, in, sizeof(in));
			if (n < 0 && errno != EAGAIN)
				return fail("read");
			if (n == 0)
				return 0;
			if (n > 0 && write_all(1, in, (size_t)n) < 0)
				return fail("write stdout");
		}
	}
}

static int vsock_socket(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		exit(fail("socket(AF_VSOCK)"));
	return fd;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "vsock_tool: path too long\n");
		exit(1);
	}
	strcpy(sa->sun_path, path);
	return socket(AF_UNIX, SOCK_STREAM, 0);
}

/* Reads the "OK <port>\n" answer byte by byte (data may follow it). */
static int uds_handshake(int fd, unsigned long port)
{
	char line[64];
	size_t n = 0;

	dprintf(fd, "CONNECT %lu\n", port);
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);

		if (r <= 0) {
			fprintf(stderr, "vsock_tool: no answer to CONNECT %lu\n", port);
			return 1;
		}
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	if (strncmp(line, "OK ", 3)) {
		fprintf(stderr, "vsock_tool: unexpected answer '%s'\n", line);
		return 1;
	}
	fprintf(stderr, "%s", line);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "cid") && argc == 2) {
		unsigned int cid;
		int fd = open("/dev/vsock", O_RDONLY);

		if (fd < 0 || ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
			return fail("/dev/vsock");
		printf("%u\n", cid);
		return 0;
	}
	if (!strcmp(cmd, "echo") && (argc == 3 || argc == 4)) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY};
		int ls = vsock_socket();

		sa.svm_port = (unsigned int)num(argv[2]);
		if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0)
			return fail("bind/listen");
		return serve(ls, argc == 4 ? num(argv[3]) : 1);
	}
	if (!strcmp(cmd, "connect") && argc == 4) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK};
		int fd = vsock_socket();

		sa.svm_cid = (unsigned int)num(argv[2]);
		sa.svm_port = (unsigned int)num(argv[3]);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail("connect");
		return pump(fd);
	}
	if (!strcmp(cmd, "uds-connect") && argc == 4) {
		struct sockaddr_un sa;
		int fd = unix_addr(argv[2], &sa);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail(argv[2]);
		if (uds_handshake(fd, num(argv[3])))
			return 1;
		return pump(fd);
	}
	if (!strcmp(cmd, "uds-echo") && (argc == 3 || argc == 4)) {
		struct sockaddr_un sa;
		int ls = unix_addr(argv[2], &sa);

		unlink(argv[2]);
		if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0)
			return fail(argv[2]);
		return serve(ls, argc == 4 ? num(argv[3]) : 1);
	}
	fprintf(stderr, "usage: vsock_tool cid | echo PORT [N] | connect CID PORT |\n"
			"       uds-connect PATH PORT | uds-echo PATH [N]\n");
	return 1;
}
