/* Firecracker's smaller resources (/version, /serial), the request rules
 * its HTTP front door applies before routing, and popek's own read-only
 * paths under /popek/, where a client validating Firecracker's responses
 * does not look. */
#ifndef POPEK_API_MISC_H
#define POPEK_API_MISC_H

#include <cjson/cJSON.h>

#include "api/config_file.h"
#include "api/http.h"

struct api_vm;

/* The Firecracker release whose API (swagger/firecracker.yaml) popek
 * follows: GET /version's firecracker_version and `firecracker --version`.
 * popek's own version stays in GET /'s vmm_version. */
#define POPEK_FC_API_VERSION "1.17.0-dev"

/*
 * Firecracker's rules on a request's method and body, before any path is
 * looked at: a GET with a body, a PUT or PATCH without one (PATCH /balloon
 * paths excepted: their bodies are optional). Returns true when the request
 * may be routed, or false with Firecracker's fault message in msg (400).
 * res is the path's first segment ("balloon" for /balloon/statistics).
 */
bool api_request_shape_ok(enum http_method m, const char *res, size_t body_len, char *msg,
			  size_t msglen);

/* Firecracker's answer to an unknown path or a method a path lacks:
 * "Invalid request method and/or path: METHOD SEGMENT." (SEGMENT is the
 * path's first segment, as Firecracker prints it). */
void api_invalid_path_msg(const char *method, const char *res, char *msg, size_t msglen);

/* GET /version: {"firecracker_version": POPEK_FC_API_VERSION}. */
cJSON *api_version_json(void);

/* PUT /serial (before the start): serial_out_path, the file or FIFO the
 * UART's output goes to instead of stdout (created if missing, appended
 * to); rate_limiter, a token bucket, must be null or absent. */
int config_set_serial(const cJSON *o, struct vm_config *cfg, struct config_store *st,
		      const struct config_err *e);

/*
 * GET /popek/machine-config: popek's machine extensions, which
 * GET /machine-config leaves out to stay within Firecracker's schema:
 * engine, cpu_vendor (both resolved once the VM runs: "auto" -> the engine
 * picked, "host" -> intel or amd), pv, soft_jit, soft_jit_cache_mib. They
 * are set through PUT/PATCH /machine-config as before.
 */
cJSON *api_popek_machine_json(struct api_vm *vm);

/* True when a request body uses a field Firecracker's current spec marks
 * deprecated (the answer then carries "Deprecation: true", as
 * Firecracker's does): PUT/PATCH /machine-config cpu_template, PUT /vsock
 * vsock_id, PUT /snapshot/load mem_file_path or enable_diff_snapshots. */
bool api_body_deprecated(const char *res, const char *id, const cJSON *body);

#endif
