/* The HTTP/JSON API server on a Unix socket (--api-sock), with its own thread,
 * and the start-up handshake between it and main. */
#ifndef POPEK_API_SERVER_H
#define POPEK_API_SERVER_H

#include "api/config_file.h"

struct api_server;
struct machine;

#define API_MAX_CONNS 256   /* more are accepted and closed at once */
#define API_IDLE_MS   10000 /* a connection with no progress for this long is closed */

/*
 * Listens on the Unix socket path (a stale socket file that nobody listens
 * on is replaced; a live one or another kind of file is an error) and
 * starts the API thread. cfg and st are the configuration that PUT requests
 * edit until the VM starts; they must outlive the server. With autostart
 * the VM is started by main without InstanceStart (popek run --kernel ...).
 * The caller must have blocked SIGINT, SIGTERM and SIGHUP: the server takes
 * them through a signalfd until the machine's own loop runs (a signal before
 * the start makes api_server_wait_start() return). Logs one line and
 * returns -errno on failure.
 */
int api_server_create(const char *path, struct vm_config *cfg, struct config_store *st,
		      bool autostart, struct api_server **out);

/* main: waits for InstanceStart. 0: build the machine from cfg now and
 * call api_server_started(); -EINTR: a signal asked popek to exit, with the
 * exit status in *status. */
int api_server_wait_start(struct api_server *s, int *status);

/*
 * main: the outcome of the start. m is the running machine (it must stay
 * valid until api_server_destroy), or NULL with err (-errno) when it could
 * not be built (InstanceStart gets 400 and the API stays in "Not started").
 * why is the last error line of the failed start ("" or NULL: none), given
 * back to the request that asked for it. metrics_fd is the open
 * --metrics-file or -1. Once m is set, the API
 * thread installs its seccomp filter when cfg->seccomp is set, so the
 * process-wide I/O filter must already be on. Returns 0, or -EINTR when a
 * signal came during the start (*status as above).
 */
int api_server_started(struct api_server *s, struct machine *m, int err, const char *why,
		       int metrics_fd,
		       int *status);

/* main, once the machine stopped and before api_server_destroy: the last
 * line of the metrics file, with the API's counters. Returns 0 or -errno. */
int api_server_write_metrics(struct api_server *s, int fd);

/* Stops the API thread, closes every connection and removes the socket
 * file. The machine may be destroyed after this returns. NULL is ignored. */
void api_server_destroy(struct api_server *s);

#endif
