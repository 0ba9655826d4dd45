/* The API server: a Unix stream socket served by one thread with its own
 * epoll loop, non-blocking connections, bounded buffers and idle timeouts, so
 * no client (slow, stalled or hostile) can hold up the others or the VM. */
#include "api/api_server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api_metrics.h"
#include "api/api_routes.h"
#include "vmm/vmm.h"
#include "host/seccomp.h"
#include "host/unix_sock.h"
#include "popek/clock.h"
#include "popek/log.h"

/* A connection's input buffer: room for a head and a small body, grown to
 * a request's head and body when its Content-Length (at most the limit,
 * --http-api-max-payload-size) needs more, and shrunk back after it. */
#define API_IN_MIN    (HTTP_MAX_HEAD + 8192)
#define API_DRAIN_MS  2000 /* after a 413: read and drop the body this long */
#define API_DRAIN_MAX (1024 * 1024)

enum { API_TAG_LISTEN = 1, API_TAG_WAKE, API_TAG_SIGNAL, API_TAG_CONN };

struct api_conn {
	int fd;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	u64 last_ms;
	bool head_done;
	bool close_after; /* close once out is sent */
	bool draining;    /* after a refused body: discard input, then close */
	size_t drained;
	struct http_request req;
};

struct api_server {
	struct api_vm vm;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, epfd, wake_fd, sig_fd;
	pthread_t thread;
	bool thread_started;
	_Atomic bool stop;
	size_t max_body; /* --http-api-max-payload-size, or HTTP_DEFAULT_BODY */
	int exit_status; /* 128 + signal, once vm.quit is set by a signal */
	struct api_conn *conns[API_MAX_CONNS];
};

static void api_conn_close(struct api_server *s, unsigned slot)
{
	struct api_conn *c = s->conns[slot];

	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	s->conns[slot] = NULL;
}

static void api_conn_events(struct api_server *s, unsigned slot, u32 events)
{
	struct epoll_event ev = {.events = events, .data.u64 = API_TAG_CONN + slot};

	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->conns[slot]->fd, &ev);
}

static void api_conn_process(struct api_server *s, unsigned slot);

/* Sends what is queued; false when the connection was closed. */
static bool api_conn_flush(struct api_server *s, unsigned slot)
{
	struct api_conn *c = s->conns[slot];

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			api_conn_events(s, slot, EPOLLOUT);
			return true;
		}
		if (n <= 0) {
			api_conn_close(s, slot);
			return false;
		}
		c->out_off += (size_t)n;
		c->last_ms = clock_now_ms();
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->close_after && !c->draining) {
		api_conn_close(s, slot);
		return false;
	}
	if (c->draining)
		shutdown(c->fd, SHUT_WR); /* the answer is complete; keep reading to drop */
	api_conn_events(s, slot, EPOLLIN);
	return true;
}

static bool api_conn_queue(struct api_server *s, unsigned slot, char *buf, size_t len)
{
	struct api_conn *c = s->conns[slot];

	c->out = buf;
	c->out_len = len;
	c->out_off = 0;
	return api_conn_flush(s, slot);
}

static bool api_conn_respond(struct api_server *s, unsigned slot, int status, char *body,
			     const char *extra)
{
	struct api_conn *c = s->conns[slot];
	char *buf;
	size_t len;
	bool ok;

	/* Errors keep the connection, as Firecracker's server does; only a
	 * request the parser refused (api_conn_refuse) ends it. */
	if (!c->req.keep_alive)
		c->close_after = true;
	if (http_format_response(status, body, body ? strlen(body) : 0, !c->close_after, extra,
				 &buf, &len) < 0) {
		free(body);
		api_conn_close(s, slot);
		return false;
	}
	free(body);
	ok = api_conn_queue(s, slot, buf, len);
	return ok;
}

/* Firecracker's answer to a request its HTTP layer refuses (a body over the
 * limit, a method it does not know): 400 with {"error": ...} (not
 * fault_message) and, as its text has, a raw line break inside the string. */
static char *api_http_error(const char *why)
{
	static const char tail[] = "\nAll previous unanswered requests will be dropped.\" }";
	size_t n = strlen(why);
	char *b = malloc(n + sizeof(tail) + 16);

	if (b)
		sprintf(b, "{ \"error\": \"%s%s", why, tail);
	return b;
}

/* A request the parser refused: answer it and close. With a body on its
 * way (drain), read and drop it first, so that the client sees the answer
 * rather than a reset. fc_error: Firecracker's shape (api_http_error). */
static void api_conn_refuse(struct api_server *s, unsigned slot, int status, const char *why,
			    bool fc_error, bool drain)
{
	struct api_conn *c = s->conns[slot];
	log_info("api: request refused (%d): %s", status, why);
	pthread_mutex_lock(&s->vm.lock);
	s->vm.requests++;
	s->vm.errors++;
	pthread_mutex_unlock(&s->vm.lock);
	c->close_after = true;
	c->req.keep_alive = false;
	c->draining = drain;
	c->in_len = 0;
	api_conn_respond(s, slot, status, fc_error ? api_http_error(why) : api_fault(why), NULL);
}

/* Room in c->in for the whole request (head and body), once the head says
 * how long it is. False when out of memory. */
static bool api_conn_room(struct api_conn *c, size_t total)
{
	char *p;

	if (total <= c->in_cap)
		return true;
	p = realloc(c->in, total);
	if (!p)
		return false;
	c->in = p;
	c->in_cap = total;
	return true;
}

static void api_conn_process(struct api_server *s, unsigned slot)
{
	struct api_conn *c;
	char err[160];

	while ((c = s->conns[slot]) && !c->out && !c->draining) {
		size_t total;
		int status, r;
		char *body = NULL;

		if (!c->head_done) {
			r = http_parse_head(c->in, c->in_len, s->max_body, &c->req, err,
					    sizeof(err));
			if (r == 0)
				return;
			if (r == -413) {
				api_conn_refuse(s, slot, 400, err, true, true);
				return;
			}
			if (r < 0) {
				api_conn_refuse(s, slot, -r, err, false, false);
				return;
			}
			if (c->req.method == HTTP_POST || c->req.method == HTTP_OTHER) {
				api_conn_refuse(s, slot, 400,
						"Invalid HTTP Method: Unsupported HTTP method.", true,
						c->req.content_length > 0);
				return;
			}
			if (!api_conn_room(c, c->req.head_len + c->req.content_length)) {
				api_conn_close(s, slot);
				return;
			}
			c->head_done = true;
			if (c->req.expect_continue &&
			    c->in_len < c->req.head_len + c->req.content_length) {
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				char *buf = malloc(sizeof(cont) - 1);
				if (!buf) {
					api_conn_close(s, slot);
					return;
				}
				memcpy(buf, cont, sizeof(cont) - 1);
				if (!api_conn_queue(s, slot, buf, sizeof(cont) - 1))
					return;
				continue;
			}
		}
		total = c->req.head_len + c->req.content_length;
		if (c->in_len < total)
			return;
		api_route(&s->vm, &c->req, c->in + c->req.head_len, c->req.content_length, &status,
			  &body);
		/* Set by api_route for this request; only this thread routes. */
		bool deprecated = s->vm.deprecation;
		if (log_enabled(LOG_INFO)) {
			char path[HTTP_MAX_PATH * 4];
			log_escape(path, sizeof(path), c->req.path, strlen(c->req.path));
			log_info("api: %s %s -> %d", c->req.method_name, path, status);
		}
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
		c->head_done = false;
		if (c->in_cap > API_IN_MIN && c->in_len <= API_IN_MIN) {
			char *p = realloc(c->in, API_IN_MIN);
			if (p) {
				c->in = p;
				c->in_cap = API_IN_MIN;
			}
		}
		if (!api_conn_respond(s, slot, status, body,
				      deprecated ? "Deprecation: true\r\n" : NULL))
			return;
	}
}

static void api_conn_readable(struct api_server *s, unsigned slot)
{
	struct api_conn *c = s->conns[slot];
	char drop[4096];
	ssize_t n;

	if (c->draining) {
		n = recv(c->fd, drop, sizeof(drop), MSG_DONTWAIT);
		if (n > 0)
			c->drained += (size_t)n;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    c->drained > API_DRAIN_MAX)
			api_conn_close(s, slot);
		return;
	}
	if (c->in_len == c->in_cap)
		return; /* full: the request in it is being answered first */
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		api_conn_close(s, slot);
		return;
	}
	c->in_len += (size_t)n;
	c->last_ms = clock_now_ms();
	api_conn_process(s, slot);
}

static void api_accept(struct api_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct api_conn *c;
		unsigned slot;

		if (fd < 0)
			return;
		for (slot = 0; slot < API_MAX_CONNS && s->conns[slot]; slot++)
			;
		c = slot < API_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (c) {
			c->in = malloc(API_IN_MIN);
			c->in_cap = API_IN_MIN;
		}
		ev.data.u64 = API_TAG_CONN + slot;
		if (!c || !c->in || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("api: too many connections (%d): one refused", API_MAX_CONNS);
			if (c)
				free(c->in);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last_ms = clock_now_ms();
		s->conns[slot] = c;
	}
}

static void api_on_signal(struct api_server *s)
{
	struct signalfd_siginfo si;

	if (read(s->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	pthread_mutex_lock(&s->vm.lock);
	if (s->vm.m) {
		log_warn("received signal %u: stopping the VM", si.ssi_signo);
		machine_request_stop(s->vm.m, MACHINE_STOP_USER, 128 + (int)si.ssi_signo);
	} else {
		log_warn("received signal %u: exiting", si.ssi_signo);
		s->exit_status = 128 + (int)si.ssi_signo;
		s->vm.quit = true;
		pthread_cond_broadcast(&s->vm.cond);
	}
	pthread_mutex_unlock(&s->vm.lock);
}

static void api_sweep(struct api_server *s)
{
	u64 now = clock_now_ms();

	for (unsigned i = 0; i < API_MAX_CONNS; i++) {
		struct api_conn *c = s->conns[i];
		if (c && now - c->last_ms > (c->draining ? API_DRAIN_MS : API_IDLE_MS)) {
			log_info("api: closing a connection idle for %llu ms",
				 (unsigned long long)(now - c->last_ms));
			api_conn_close(s, i);
		}
	}
}

/* Once the VM runs (and the process-wide filter is on), this thread's own. */
static void api_maybe_filter(struct api_server *s, bool *filtered)
{
	bool now;

	if (*filtered)
		return;
	pthread_mutex_lock(&s->vm.lock);
	now = s->vm.phase == API_RUNNING && s->vm.cfg->seccomp;
	pthread_mutex_unlock(&s->vm.lock);
	if (!now)
		return;
	*filtered = true;
	if (seccomp_apply(SECCOMP_ROLE_API, false) < 0) {
		pthread_mutex_lock(&s->vm.lock);
		machine_request_stop(s->vm.m, MACHINE_STOP_ERROR, 1);
		pthread_mutex_unlock(&s->vm.lock);
	}
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	struct epoll_event evs[32];
	bool filtered = false;

	while (!atomic_load(&s->stop)) {
		int n;

		api_maybe_filter(s, &filtered);
		n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), 1000);
		for (int i = 0; i < n && !atomic_load(&s->stop); i++) {
			u64 tag = evs[i].data.u64;
			if (tag == API_TAG_LISTEN) {
				api_accept(s);
			} else if (tag == API_TAG_WAKE) {
				u64 v;
				if (read(s->wake_fd, &v, sizeof(v)) < 0) {
					/* nothing to drain */
				}
			} else if (tag == API_TAG_SIGNAL) {
				api_on_signal(s);
			} else if (tag >= API_TAG_CONN && tag < API_TAG_CONN + API_MAX_CONNS &&
				   s->conns[tag - API_TAG_CONN]) {
				unsigned slot = (unsigned)(tag - API_TAG_CONN);
				if ((evs[i].events & EPOLLOUT) && s->conns[slot]->out) {
					if (api_conn_flush(s, slot))
						api_conn_process(s, slot);
				} else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
					api_conn_readable(s, slot);
				}
			}
		}
		api_sweep(s);
		api_routes_tick(&s->vm);
	}
	return NULL;
}

/* Listens on path through unix_listen(), which replaces a stale socket file
 * and refuses one that something still listens on; the messages name the
 * option. */
static int api_listen(struct api_server *s, const char *path)
{
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(s->path) || !*path) {
		log_error("--api-sock '%s': a socket path must have 1 to %zu bytes", path,
			  sizeof(s->path) - 1);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		log_error("--api-sock '%s': exists and is not a socket", path);
		return -EEXIST;
	}
	fd = unix_listen(path, 128);
	if (fd == -EADDRINUSE) {
		log_error("--api-sock '%s': another process is listening on it", path);
		return fd;
	}
	if (fd < 0) {
		log_error("--api-sock '%s': %s", path, strerror(-fd));
		return fd;
	}
	s->listen_fd = fd;
	strcpy(s->path, path);
	return 0;
}

static int api_watch(struct api_server *s, int fd, u64 tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int api_server_create(const char *path, struct vm_config *cfg, struct config_store *st,
		      bool autostart, struct api_server **out)
{
	struct api_server *s = calloc(1, sizeof(*s));
	sigset_t sigs;
	int err;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->listen_fd = s->epfd = s->wake_fd = s->sig_fd = -1;
	pthread_mutex_init(&s->vm.lock, NULL);
	pthread_cond_init(&s->vm.cond, NULL);
	s->vm.cfg = cfg;
	s->vm.st = st;
	s->vm.autostart = autostart;
	s->vm.phase = autostart ? API_STARTING : API_NOT_STARTED;
	s->vm.metrics_fd = -1;
	s->max_body = cfg->api_max_payload ? (size_t)cfg->api_max_payload : HTTP_DEFAULT_BODY;
	err = api_listen(s, path);
	if (err < 0)
		goto fail;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->epfd < 0 || s->wake_fd < 0 || s->sig_fd < 0) {
		err = -errno;
		goto fail_log;
	}
	err = api_watch(s, s->listen_fd, API_TAG_LISTEN);
	if (!err)
		err = api_watch(s, s->wake_fd, API_TAG_WAKE);
	if (!err)
		err = api_watch(s, s->sig_fd, API_TAG_SIGNAL);
	if (!err)
		err = -pthread_create(&s->thread, NULL, api_thread, s);
	if (err < 0)
		goto fail_log;
	s->thread_started = true;
	log_info("api: listening on %s", path);
	*out = s;
	return 0;
fail_log:
	log_error("--api-sock '%s': cannot start the API server: %s", path, strerror(-err));
fail:
	api_server_destroy(s);
	return err;
}

int api_server_wait_start(struct api_server *s, int *status)
{
	int r;

	pthread_mutex_lock(&s->vm.lock);
	while (!s->vm.start_requested && !s->vm.quit)
		pthread_cond_wait(&s->vm.cond, &s->vm.lock);
	r = s->vm.quit ? -EINTR : 0;
	*status = s->exit_status;
	pthread_mutex_unlock(&s->vm.lock);
	return r;
}

int api_server_started(struct api_server *s, struct machine *m, int err, const char *why,
		       int metrics_fd,
		       int *status)
{
	u64 one = 1;
	int r;

	pthread_mutex_lock(&s->vm.lock);
	s->vm.start_requested = false;
	if (m) {
		/* A restored or migrated machine is the snapshot's (its devices,
		 * rate limiters, MMDS and CPU template): the API's configuration
		 * (GET /vm/config, PATCH) is that from now on. */
		if (s->vm.cfg->restore_path || s->vm.cfg->incoming) {
			*s->vm.cfg = m->cfg;
			s->vm.st->root_drive = m->cfg.disk0_is_root ? 0 : -1;
		}
		s->vm.m = m;
		s->vm.metrics_fd = metrics_fd;
		s->vm.phase = API_RUNNING;
	} else {
		s->vm.start_err = err;
		snprintf(s->vm.start_why, sizeof(s->vm.start_why), "%s", why ? why : "");
		s->vm.phase = API_NOT_STARTED;
	}
	pthread_cond_broadcast(&s->vm.cond);
	r = s->vm.quit ? -EINTR : 0;
	*status = s->exit_status;
	pthread_mutex_unlock(&s->vm.lock);
	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* the thread also wakes every second */
	}
	return r;
}

int api_server_write_metrics(struct api_server *s, int fd)
{
	int err;

	pthread_mutex_lock(&s->vm.lock);
	err = s->vm.m ? api_metrics_write(&s->vm, fd) : -ENODEV;
	pthread_mutex_unlock(&s->vm.lock);
	return err;
}

void api_server_destroy(struct api_server *s)
{
	u64 one = 1;

	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->vm.lock);
		s->vm.quit = true;
		pthread_cond_broadcast(&s->vm.cond);
		pthread_mutex_unlock(&s->vm.lock);
		atomic_store(&s->stop, true);
		if (write(s->wake_fd, &one, sizeof(one)) < 0) {
			/* the thread also wakes every second */
		}
		pthread_join(s->thread, NULL);
	}
	for (unsigned i = 0; i < API_MAX_CONNS; i++)
		if (s->conns[i])
			api_conn_close(s, i);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->path[0])
		unlink(s->path);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	pthread_cond_destroy(&s->vm.cond);
	pthread_mutex_destroy(&s->vm.lock);
	free(s);
}
