/* The API's side of Firecracker's metrics: its request counters, and the
 * metrics file lines written with them. */
#ifndef POPEK_API_METRICS_H
#define POPEK_API_METRICS_H

#include "api/http.h"
#include "vmm/metrics.h"

struct api_vm;

/* Counts a request where Firecracker counts it (method m on /res[/id]) as
 * it arrives, so a FlushMetrics line counts its own request as
 * Firecracker's does. Returns the counter, or -1 when the request has none;
 * its *_fails is counted by api_metrics_answered. */
int api_metrics_count(struct metrics_api_counts *c, enum http_method m, const char *res,
		      const char *id);
/* The answer to that request: status >= 400 counts in *_fails (req < 0:
 * nothing), a deprecated field used in deprecated_api. */
void api_metrics_answered(struct metrics_api_counts *c, int req, int status, bool deprecated);

/* Appends a metrics line with the API's counters to fd (FlushMetrics, and
 * main at exit through api_server_write_metrics). vm->lock held, the
 * machine running. Returns 0 or -errno. */
int api_metrics_write(struct api_vm *vm, int fd);

#endif
