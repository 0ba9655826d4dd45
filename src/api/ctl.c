/* `popek ctl --sock PATH COMMAND`: one HTTP request to the API socket, its
 * answer printed (JSON pretty-printed on stdout, faults on stderr). */
#include "api/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "popek/log.h"

#define CTL_MAX_RESPONSE (16 * 1024 * 1024)
#define CTL_TIMEOUT_S    30
#define CTL_MIGRATE_TIMEOUT_S 3600 /* a busy guest's migration can take long */

static int ctl_timeout_s = CTL_TIMEOUT_S;

static const struct {
	const char *name, *method, *path, *body;
} ctl_commands[] = {
    {"info", "GET", "/", NULL},
    {"machine", "GET", "/popek/machine-config", NULL},
    {"config", "GET", "/popek/vm/config", NULL},
    {"metrics", "GET", "/metrics", NULL},
    {"pause", "PATCH", "/vm", "{\"state\":\"Paused\"}"},
    {"resume", "PATCH", "/vm", "{\"state\":\"Resumed\"}"},
    {"start", "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"},
    {"stop", "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"},
    {"flush-metrics", "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}"},
};

void ctl_print_help(void)
{
	printf(
	    "usage: popek ctl --sock PATH COMMAND\n"
	    "       popek ctl --sock PATH request METHOD URL-PATH [JSON-BODY]\n"
	    "\n"
	    "commands (each one request to the API socket of a running popek):\n"
	    "  info           GET /: id, state (Not started, Running, Paused), version\n"
	    "  machine        GET /popek/machine-config: engine, CPU vendor (both as picked\n"
	    "                 once running), pv, soft_jit, soft_jit_cache_mib\n"
	    "  config         GET /popek/vm/config: the configuration as a config file,\n"
	    "                 popek's fields included (GET /vm/config has Firecracker's only)\n"
	    "  metrics        GET /metrics: the VM's counters as JSON\n"
	    "  pause, resume  PATCH /vm: stop or restart every vCPU\n"
	    "  start          PUT /actions InstanceStart (popek run --api-sock without --kernel)\n"
	    "  stop           PUT /actions SendCtrlAltDel: stops the VM (popek exits 0)\n"
	    "  flush-metrics  PUT /actions FlushMetrics: appends a line to the metrics file\n"
	    "  snapshot create STATE-FILE MEM-FILE [--diff]\n"
	    "                 PUT /snapshot/create: a Full snapshot of the paused VM, or\n"
	    "                 with --diff only the pages written since the last snapshot\n"
	    "                 (needs track_dirty_pages; see popek snapshot rebase)\n"
	    "  snapshot load STATE-FILE MEM-FILE [--resume] [--track-dirty-pages]\n"
	    "                 PUT /snapshot/load (popek run --api-sock, nothing configured):\n"
	    "                 the VM continues from the snapshot, paused unless --resume;\n"
	    "                 with --track-dirty-pages its next snapshots may be Diffs\n"
	    "  migrate --to unix:PATH | tcp:ADDRESS:PORT [--max-downtime MS]\n"
	    "                 PUT /migrate: sends the running VM to a popek run --incoming\n"
	    "                 there (live: it runs on while its memory is copied, then\n"
	    "                 stops for at most about MS ms, default 30, for the rest);\n"
	    "                 once the destination runs it, this popek exits 0\n"
	    "Answers with a body are printed as JSON; exit status 0 on success, 1 on an\n"
	    "error (the API's fault_message on stderr).\n");
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {ctl_timeout_s, 0};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("--sock '%s': path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;
		log_error("--sock '%s': cannot connect: %s", path, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int ctl_send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads the whole answer (the request asked the server to close). */
static char *ctl_read_all(int fd, size_t *len)
{
	size_t cap = 4096;
	char *buf = malloc(cap + 1);

	*len = 0;
	while (buf) {
		ssize_t n;
		if (*len == cap) {
			char *nb = cap < CTL_MAX_RESPONSE ? realloc(buf, cap * 2 + 1) : NULL;
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + *len, cap - *len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (buf)
		buf[*len] = 0;
	return buf;
}

/* Prints body as indented JSON (or as it is when it is not JSON). */
static void ctl_print_body(FILE *f, const char *body)
{
	cJSON *doc = cJSON_Parse(body);
	char *s = doc ? cJSON_Print(doc) : NULL;

	fprintf(f, "%s\n", s ? s : body);
	free(s);
	cJSON_Delete(doc);
}

static int ctl_request(const char *sock, const char *method, const char *path, const char *body)
{
	size_t blen = body ? strlen(body) : 0, len;
	char head[512], *resp, *sep;
	int fd, status = 0, n, err;

	fd = ctl_connect(sock);
	if (fd < 0)
		return 1;
	n = snprintf(
	    head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
	    "Connection: close\r\n%s%zu\r\n\r\n",
	    method, path,
	    body ? "Content-Type: application/json\r\nContent-Length: " : "Content-Length: ", blen);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		log_error("ctl: request path too long");
		close(fd);
		return 1;
	}
	err = ctl_send_all(fd, head, (size_t)n);
	if (!err && blen)
		err = ctl_send_all(fd, body, blen);
	resp = err ? NULL : ctl_read_all(fd, &len);
	close(fd);
	if (!resp) {
		log_error("ctl: %s %s: no answer from '%s': %s", method, path, sock,
			  strerror(err     ? -err
				   : errno ? errno
					   : EIO));
		return 1;
	}
	sep = strstr(resp, "\r\n\r\n");
	if (!sep || sscanf(resp, "HTTP/1.%*d %d", &status) != 1) {
		log_error("ctl: %s %s: malformed answer from '%s'", method, path, sock);
		free(resp);
		return 1;
	}
	sep += 4;
	if (status >= 200 && status < 300) {
		if (*sep)
			ctl_print_body(stdout, sep);
		free(resp);
		return 0;
	}
	{
		cJSON *doc = cJSON_Parse(sep);
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "fault_message");
		char esc[1024];
		const char *text = cJSON_IsString(msg) ? msg->valuestring : sep;
		log_escape(esc, sizeof(esc), text, strlen(text));
		log_error("ctl: %s %s: %d: %s", method, path, status, esc);
		cJSON_Delete(doc);
	}
	free(resp);
	return 1;
}

/* snapshot create STATE MEM [--diff] | load STATE MEM [--resume]
 * [--track-dirty-pages]: the body built with cJSON, so any path is quoted
 * right. */
static int ctl_snapshot(const char *sock, int argc, char **argv)
{
	bool create = argc >= 1 && !strcmp(argv[0], "create");
	bool load = argc >= 1 && !strcmp(argv[0], "load");
	bool diff = false, resume = false, track = false, ok = (create || load) && argc >= 3;
	cJSON *o, *b;
	char *body;
	int r;

	for (int i = 3; ok && i < argc; i++) {
		if (create && !strcmp(argv[i], "--diff"))
			diff = true;
		else if (load && !strcmp(argv[i], "--resume"))
			resume = true;
		else if (load && !strcmp(argv[i], "--track-dirty-pages"))
			track = true;
		else
			ok = false;
	}
	if (!ok) {
		log_error("ctl: snapshot needs create STATE-FILE MEM-FILE [--diff] or load "
			  "STATE-FILE MEM-FILE [--resume] [--track-dirty-pages]");
		return 1;
	}
	o = cJSON_CreateObject();
	if (create) {
		cJSON_AddStringToObject(o, "snapshot_type", diff ? "Diff" : "Full");
		cJSON_AddStringToObject(o, "snapshot_path", argv[1]);
		cJSON_AddStringToObject(o, "mem_file_path", argv[2]);
	} else {
		cJSON_AddStringToObject(o, "snapshot_path", argv[1]);
		b = cJSON_AddObjectToObject(o, "mem_backend");
		cJSON_AddStringToObject(b, "backend_type", "File");
		cJSON_AddStringToObject(b, "backend_path", argv[2]);
		cJSON_AddBoolToObject(o, "track_dirty_pages", track);
		cJSON_AddBoolToObject(o, "resume_vm", resume);
	}
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!body) {
		log_error("ctl: out of memory");
		return 1;
	}
	r = ctl_request(sock, "PUT", create ? "/snapshot/create" : "/snapshot/load", body);
	cJSON_free(body);
	return r;
}

/* migrate --to URI: PUT /migrate, waiting as long as the migration takes. */
static int ctl_migrate(const char *sock, int argc, char **argv)
{
	cJSON *o;
	char *body;
	int r;

	char *end = NULL;
	unsigned long dt = 0;

	if (argc == 4 && !strcmp(argv[2], "--max-downtime"))
		dt = strtoul(argv[3], &end, 10);
	if ((argc != 2 && !(argc == 4 && end && !*end && argv[3][0] != '-')) ||
	    strcmp(argv[0], "--to")) {
		log_error("ctl: migrate needs --to unix:PATH or --to tcp:HOST:PORT, then "
			  "optionally --max-downtime MS");
		return 1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "uri", argv[1]);
	if (argc == 4)
		cJSON_AddNumberToObject(o, "max_downtime_ms", (double)dt);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!body) {
		log_error("ctl: out of memory");
		return 1;
	}
	ctl_timeout_s = CTL_MIGRATE_TIMEOUT_S;
	r = ctl_request(sock, "PUT", "/migrate", body);
	cJSON_free(body);
	return r;
}

int ctl_main(int argc, char **argv)
{
	const char *sock = NULL;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			ctl_print_help();
			return 0;
		}
		if (!strcmp(argv[i], "--sock") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strncmp(argv[i], "--sock=", 7)) {
			sock = argv[i] + 7;
		} else {
			log_error("ctl: unknown option '%s' (see popek ctl --help)", argv[i]);
			return 1;
		}
	}
	if (!sock) {
		log_error("ctl: no socket given: use --sock PATH (see popek ctl --help)");
		return 1;
	}
	if (i >= argc) {
		log_error("ctl: no command given (see popek ctl --help)");
		return 1;
	}
	if (!strcmp(argv[i], "request")) {
		if (argc - i < 3 || argc - i > 4 || argv[i + 2][0] != '/' ||
		    strpbrk(argv[i + 1], " \r\n") || strpbrk(argv[i + 2], " \r\n")) {
			log_error(
			    "ctl: request needs METHOD /PATH [JSON-BODY] (no spaces or line ends)");
			return 1;
		}
		return ctl_request(sock, argv[i + 1], argv[i + 2],
				   argc - i == 4 ? argv[i + 3] : NULL);
	}
	if (!strcmp(argv[i], "snapshot"))
		return ctl_snapshot(sock, argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "migrate"))
		return ctl_migrate(sock, argc - i - 1, argv + i + 1);
	if (argc - i != 1) {
		log_error("ctl: unexpected argument '%s'", argv[i + 1]);
		return 1;
	}
	for (unsigned c = 0; c < ARRAY_SIZE(ctl_commands); c++)
		if (!strcmp(argv[i], ctl_commands[c].name))
			return ctl_request(sock, ctl_commands[c].method, ctl_commands[c].path,
					   ctl_commands[c].body);
	log_error("ctl: unknown command '%s' (see popek ctl --help)", argv[i]);
	return 1;
}
