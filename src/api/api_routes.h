/* The API's resources (Firecracker's paths, fields and status codes) and the
 * VM lifecycle they drive; shared by the API thread and main. */
#ifndef POPEK_API_ROUTES_H
#define POPEK_API_ROUTES_H

#include <pthread.h>

#include "api/config_file.h"
#include "api/http.h"
#include "vmm/metrics.h"

struct machine;

enum api_phase {
	API_NOT_STARTED, /* configuring; InstanceStart starts the VM */
	API_STARTING,    /* main is building the machine */
	API_RUNNING,     /* m is set (running or paused) */
};

/*
 * The lifecycle state. lock guards every field; cond signals changes of
 * phase, start_requested and quit. Before the start the API thread owns cfg
 * and st (main only reads them once start_requested is seen); afterwards
 * they change only where PATCH /drives and /network-interfaces update a
 * running device (the API thread, lock held).
 */
struct api_vm {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vm_config *cfg;
	struct config_store *st;
	enum api_phase phase;
	bool start_requested; /* InstanceStart waiting for main */
	int start_err;        /* main's answer when the start failed */
	char start_why[512];  /* and its last error line, or "" */
	bool quit;            /* a signal or shutdown: main stops waiting */
	bool autostart;       /* --kernel given: no InstanceStart */
	bool configured;      /* a boot-specific resource was set: no snapshot load */
	struct machine *m;    /* once running */
	int metrics_fd;       /* --metrics-file / PUT /metrics, opened by main; -1 */
	u64 metrics_next_ms;  /* the next periodic metrics line (CLOCK_MONOTONIC); 0 */
	u64 requests, errors;
	/* Firecracker's request counters (api_metrics.c). */
	struct metrics_api_counts fc;
	u64 cad_deadline_ms; /* SendCtrlAltDel: hard stop at this CLOCK_MONOTONIC ms; 0 */
	/* The request api_route just answered used a deprecated field: its
	 * answer carries "Deprecation: true" (set by api_route, read by the API
	 * thread right after it). */
	bool deprecation;
};

/* Firecracker's answers to a resource in the wrong phase. */
#define API_BEFORE_START "The requested operation is not supported before starting the microVM."
#define API_AFTER_START "The requested operation is not supported after starting the microVM."

/* How long SendCtrlAltDel waits for the guest to shut down before stopping
 * it (checked once a second by api_routes_tick). */
#define API_CAD_GRACE_MS 10000

/* Answers one complete request. Fills *status and *body (a malloc'd JSON
 * text, or NULL for no body). May block briefly: InstanceStart waits for
 * main to build the machine, PATCH /vm for the vCPUs to park. */
void api_route(struct api_vm *vm, const struct http_request *req, const char *body, size_t body_len,
	       int *status, char **out);

/* Called by the API thread about once a second, vm->lock not held: stops a
 * machine that ignored SendCtrlAltDel for API_CAD_GRACE_MS (one log line). */
void api_routes_tick(struct api_vm *vm);

/* {"fault_message": msg} as a malloc'd JSON text (NULL if out of memory). */
char *api_fault(const char *msg);
/* Formats a fault message into msg (len bytes); returns 400. */
int api_bad(char *msg, size_t len, const char *fmt, ...) PRINTF_FMT(3, 4);

#endif
