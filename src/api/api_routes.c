/* The API's resources, after Firecracker's OpenAPI description: 204 for a
 * successful PUT/PATCH, 200 with JSON for a GET, 400 with fault_message for
 * a bad or wrong-phase request and, as Firecracker answers, for an unknown
 * path or method. */
#include "api/api_routes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_metrics.h"
#include "api/api_misc.h"
#include "api/api_patch.h"
#include "api/api_mmds.h"
#include "api/api_balloon.h"
#include "api/api_memdev.h"
#include "api/api_snapshot.h"
#include "api/config_cpu.h"
#include "api/cli.h"
#include "vmm/vmm.h"
#include "vmm/metrics.h"
#include "cpu/engine.h"
#include "dev/devices.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/devices.h"

struct api_ctx {
	struct api_vm *vm;
	const struct http_request *req;
	const char *id; /* {id} of /drives/{id} and /network-interfaces/{id} */
	cJSON *body;    /* parsed body of PUT/PATCH */
	int *status;
	char **out;
};

char *api_fault(const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "fault_message", msg);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int api_bad(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return 400;
}

static void api_fail(struct api_ctx *c, int status, const char *fmt, ...) PRINTF_FMT(3, 4);

static void api_fail(struct api_ctx *c, int status, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*c->status = status;
	*c->out = api_fault(msg);
}

/* 200 with doc as the body; doc is consumed. */
static void api_json(struct api_ctx *c, cJSON *doc)
{
	*c->out = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	*c->status = *c->out ? 200 : 500;
	if (!*c->out)
		*c->out = api_fault("out of memory");
}

static void api_done(struct api_ctx *c)
{
	*c->status = 204;
	*c->out = NULL;
}

static const char *api_state(struct api_vm *vm)
{
	if (vm->phase != API_RUNNING)
		return "Not started";
	return machine_paused(vm->m) ? "Paused" : "Running";
}

/* Pre-boot resources: true when the VM has not started (else answered). */
static bool api_before_start(struct api_ctx *c)
{
	if (c->vm->phase == API_NOT_STARTED)
		return true;
	api_fail(c, 400, API_AFTER_START);
	return false;
}

static bool api_running(struct api_ctx *c, const char *what)
{
	if (c->vm->phase == API_RUNNING)
		return true;
	api_fail(c, 400, "%s: the microVM is not running (send InstanceStart first)", what);
	return false;
}

/* Applies a config_set_* result: 204, or 400 with the parser's message. */
static void api_config_result(struct api_ctx *c, int r, const char *msg)
{
	if (r < 0)
		api_fail(c, 400, "%s", msg);
	else
		api_done(c);
}

static void api_get_root(struct api_ctx *c)
{
	struct api_vm *vm = c->vm;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", vm->cfg->vm_id[0] ? vm->cfg->vm_id : CONFIG_DEFAULT_VM_ID);
	cJSON_AddStringToObject(o, "state", api_state(vm));
	cJSON_AddStringToObject(o, "vmm_version", POPEK_VERSION);
	cJSON_AddStringToObject(o, "app_name", "popek");
	api_json(c, o);
}

/* Firecracker's MachineConfiguration, nothing more: popek's extras are in
 * GET /popek/machine-config (api_misc.h). */
static cJSON *api_machine_json(struct api_vm *vm)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "vcpu_count", vm->cfg->nr_cpus);
	cJSON_AddNumberToObject(o, "mem_size_mib", (double)(vm->cfg->mem_size / MiB));
	cJSON_AddBoolToObject(o, "smt", false);
	cJSON_AddBoolToObject(o, "track_dirty_pages", vm->cfg->track_dirty_pages);
	cJSON_AddStringToObject(o, "huge_pages", "None");
	return o;
}

/* PUT /logger takes effect at once, as in Firecracker. Before the start only
 * the API thread runs, so changing the process's log level is safe. */
static int api_set_logger(const cJSON *body, struct api_vm *vm, const struct config_err *e)
{
	int r = config_set_logger(body, vm->cfg, vm->st, e);

	if (r < 0)
		return r;
	if (vm->cfg->log_level >= 0)
		log_set_level((enum log_level)vm->cfg->log_level);
	if (vm->cfg->log_path && (r = log_set_path(vm->cfg->log_path)) < 0) {
		snprintf(e->buf, e->len, "%slog_path: cannot open '%s': %s", e->prefix,
			 vm->cfg->log_path, strerror(-r));
		vm->cfg->log_path = NULL;
		return r;
	}
	return 0;
}

static void api_put_config(struct api_ctx *c, const char *res)
{
	struct api_vm *vm = c->vm;
	char msg[600];
	struct config_err e = {msg, sizeof(msg), ""};
	int r;

	if (!api_before_start(c))
		return;
	if (!strcmp(res, "machine-config"))
		r = config_set_machine(c->body, vm->cfg, &e);
	else if (!strcmp(res, "boot-source"))
		r = config_set_boot_source(c->body, vm->cfg, vm->st, &e);
	else if (!strcmp(res, "drives"))
		r = config_set_drive(c->body, c->id, vm->cfg, vm->st, &e);
	else if (!strcmp(res, "network-interfaces"))
		r = config_set_net(c->body, c->id, vm->cfg, &e);
	else if (!strcmp(res, "vsock"))
		r = config_set_vsock(c->body, vm->cfg, &e);
	else if (!strcmp(res, "balloon"))
		r = config_set_balloon(c->body, vm->cfg, &e);
	else if (!strcmp(res, "logger"))
		r = api_set_logger(c->body, vm, &e);
	else if (!strcmp(res, "entropy"))
		r = config_set_entropy(c->body, vm->cfg, &e);
	else if (!strcmp(res, "serial"))
		r = config_set_serial(c->body, vm->cfg, vm->st, &e);
	else if (!strcmp(res, "cpu-config"))
		r = config_set_cpu_config(c->body, vm->cfg, &e);
	else
		r = config_set_metrics(c->body, vm->cfg, vm->st, &e);
	if (r >= 0 && strcmp(res, "logger") && strcmp(res, "metrics"))
		vm->configured = true;
	api_config_result(c, r, msg);
}

/* PATCH /machine-config: the current values overlaid with the body's. */
static void api_patch_machine(struct api_ctx *c)
{
	char msg[600];
	struct config_err e = {msg, sizeof(msg), ""};
	cJSON *merged, *it;
	int r;

	if (!api_before_start(c))
		return;
	if (!cJSON_IsObject(c->body)) {
		api_fail(c, 400, "request body: must be a JSON object");
		return;
	}
	merged = api_machine_json(c->vm); /* popek's extras stay unless given */
	cJSON_ArrayForEach(it, c->body)
	{
		cJSON *dup = cJSON_Duplicate(it, true);
		if (cJSON_GetObjectItemCaseSensitive(merged, it->string))
			cJSON_ReplaceItemInObjectCaseSensitive(merged, it->string, dup);
		else
			cJSON_AddItemToObject(merged, it->string, dup);
	}
	r = config_set_machine(merged, c->vm->cfg, &e);
	if (r >= 0)
		c->vm->configured = true;
	api_config_result(c, r, msg);
	cJSON_Delete(merged);
}

static void api_start_machine(struct api_ctx *c, const char *what);

static void api_instance_start(struct api_ctx *c)
{
	struct api_vm *vm = c->vm;

	if (vm->phase != API_NOT_STARTED) {
		api_fail(c, 400, "InstanceStart: the microVM is already %s",
			 vm->phase == API_RUNNING ? "running" : "starting");
		return;
	}
	if (!vm->cfg->kernel_path) {
		api_fail(c, 400, "InstanceStart: no kernel configured (PUT /boot-source first)");
		return;
	}
	api_start_machine(c, "InstanceStart");
}

/* Has main build and start the machine (vm->cfg as it is), and waits. */
static void api_start_machine(struct api_ctx *c, const char *what)
{
	struct api_vm *vm = c->vm;

	vm->phase = API_STARTING;
	vm->start_requested = true;
	pthread_cond_broadcast(&vm->cond);
	while (vm->phase == API_STARTING && !vm->quit)
		pthread_cond_wait(&vm->cond, &vm->lock);
	if (vm->phase == API_RUNNING)
		api_done(c);
	else if (!vm->quit && vm->start_why[0])
		api_fail(c, 400, "%s failed: %s", what, vm->start_why);
	else
		api_fail(c, 400, "%s failed: %s (popek's log has the details)", what,
			 vm->quit ? "popek is exiting" : strerror(-vm->start_err));
}

static void api_put_snapshot(struct api_ctx *c, const char *op)
{
	char msg[600] = "";
	int status;

	if (!strcmp(op, "create")) {
		status = api_snapshot_create(c->vm, c->body, msg, sizeof(msg));
	} else {
		status = api_snapshot_load(c->vm, c->body, msg, sizeof(msg));
		if (!status) {
			api_start_machine(c, "Loading the snapshot");
			if (*c->status >= 400) {
				/* A failed load leaves the VM unconfigured, ready for another. */
				c->vm->cfg->restore_path = NULL;
				c->vm->cfg->restore_mem_path = NULL;
			}
			return;
		}
	}
	if (status == 204)
		api_done(c);
	else
		api_fail(c, status, "%s", msg);
}

/* PATCH /drives/{id}, PATCH /network-interfaces/{id} (api_patch.c). */
static void api_patch_device(struct api_ctx *c, const char *res)
{
	char msg[600] = "";
	int status = !strcmp(res, "drives")
			 ? api_patch_drive(c->vm, c->id, c->body, msg, sizeof(msg))
			 : api_patch_net(c->vm, c->id, c->body, msg, sizeof(msg));

	if (status == 204)
		api_done(c);
	else
		api_fail(c, status, "%s", msg);
}

static void api_put_migrate(struct api_ctx *c)
{
	char msg[600] = "";
	int status = api_migrate(c->vm, c->body, msg, sizeof(msg));

	if (status == 204)
		api_done(c);
	else
		api_fail(c, status, "%s", msg);
}

/*
 * SendCtrlAltDel, as Firecracker does it: the keys go to the guest through
 * the i8042 keyboard; a guest that stops on them (Linux: a restart, or
 * SIGINT to init) ends popek. One that ignores them is stopped once
 * API_CAD_GRACE_MS have passed (api_routes_tick), and one with no keyboard
 * driver listening (e.g. the multiboot test programs) at once. Never waits:
 * the answer stays immediate. The keys are typed on the event loop's thread
 * (i8042_request_ctrl_alt_del): this thread may not drive interrupt lines.
 * Called with vm->lock held.
 */
static void api_ctrl_alt_del(struct api_vm *vm)
{
	struct machine *m = vm->m;
	struct i8042 *kbd = &m->devs->i8042;
	int err;

	pthread_mutex_lock(&m->dev_lock);
	err = i8042_ctrl_alt_del_ready(kbd);
	pthread_mutex_unlock(&m->dev_lock);
	if (!err)
		err = i8042_request_ctrl_alt_del(kbd);
	if (err < 0) {
		log_warn("api: SendCtrlAltDel: %s: stopping the VM",
			 err == -ENODEV ? "no keyboard driver listens in the guest"
					: "the guest's keyboard queue is full");
		machine_request_stop(m, MACHINE_STOP_USER, 0);
		return;
	}
	log_info("api: SendCtrlAltDel: keys typed; the VM is stopped if still running in %u s",
		 API_CAD_GRACE_MS / 1000);
	if (!vm->cad_deadline_ms) /* a second request does not extend the first */
		vm->cad_deadline_ms = clock_now_ms() + API_CAD_GRACE_MS;
}

void api_routes_tick(struct api_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->cad_deadline_ms && vm->phase == API_RUNNING &&
	    clock_now_ms() >= vm->cad_deadline_ms) {
		vm->cad_deadline_ms = 0;
		if (!machine_stopping(vm->m)) {
			log_warn("api: SendCtrlAltDel: the guest did not shut down within %u s: "
				 "stopping the VM",
				 API_CAD_GRACE_MS / 1000);
			machine_request_stop(vm->m, MACHINE_STOP_USER, 0);
		}
	}
	/* Firecracker writes a metrics line every minute too; a failure is
	 * counted in the next line's logger.metrics_fails. */
	if (vm->phase == API_RUNNING && vm->metrics_fd >= 0) {
		u64 now = clock_now_ms();
		if (!vm->metrics_next_ms) {
			vm->metrics_next_ms = now + metrics_period_ms();
		} else if (now >= vm->metrics_next_ms) {
			vm->metrics_next_ms = now + metrics_period_ms();
			api_metrics_write(vm, vm->metrics_fd);
		}
	}
	pthread_mutex_unlock(&vm->lock);
}

static void api_put_actions(struct api_ctx *c)
{
	struct api_vm *vm = c->vm;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(c->body, "action_type");
	const cJSON *it;
	int err;

	cJSON_ArrayForEach(it, c->body)
	{
		if (strcmp(it->string, "action_type")) {
			api_fail(c, 400, "%.64s: unknown key", it->string);
			return;
		}
	}
	if (!cJSON_IsObject(c->body) || !cJSON_IsString(a)) {
		api_fail(c, 400, "action_type: missing (a string is required)");
		return;
	}
	if (!strcmp(a->valuestring, "InstanceStart")) {
		api_instance_start(c);
	} else if (!strcmp(a->valuestring, "SendCtrlAltDel")) {
		if (!api_running(c, "SendCtrlAltDel"))
			return;
		api_ctrl_alt_del(vm);
		api_done(c);
	} else if (!strcmp(a->valuestring, "FlushMetrics")) {
		if (!api_running(c, "FlushMetrics"))
			return;
		if (vm->metrics_fd < 0) {
			api_fail(c, 400,
				 "FlushMetrics: no metrics file (--metrics-file or PUT /metrics)");
			return;
		}
		err = api_metrics_write(vm, vm->metrics_fd);
		if (err < 0)
			api_fail(c, 400, "FlushMetrics: cannot write the metrics file: %s",
				 strerror(-err));
		else
			api_done(c);
	} else {
		api_fail(c, 400,
			 "action_type: '%.64s' is not InstanceStart, SendCtrlAltDel or "
			 "FlushMetrics",
			 a->valuestring);
	}
}

static void api_patch_vm(struct api_ctx *c)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(c->body, "state");
	const cJSON *it;
	u64 t0;

	cJSON_ArrayForEach(it, c->body)
	{
		if (strcmp(it->string, "state")) {
			api_fail(c, 400, "%.64s: unknown key", it->string);
			return;
		}
	}
	if (!cJSON_IsObject(c->body) || !cJSON_IsString(s)) {
		api_fail(c, 400, "state: missing (\"Paused\" or \"Resumed\" is required)");
		return;
	}
	if (strcmp(s->valuestring, "Paused") && strcmp(s->valuestring, "Resumed")) {
		api_fail(c, 400, "state: '%.64s' is not \"Paused\" or \"Resumed\"", s->valuestring);
		return;
	}
	if (!api_running(c, "PATCH /vm"))
		return;
	t0 = clock_now_ns();
	if (!strcmp(s->valuestring, "Resumed")) {
		machine_resume(c->vm->m);
		c->vm->fc.resume_us = MAX((clock_now_ns() - t0) / 1000, 1);
	} else if (machine_pause(c->vm->m) < 0) {
		api_fail(c, 400, "PATCH /vm: the microVM is stopping");
		return;
	} else {
		c->vm->fc.pause_us = MAX((clock_now_ns() - t0) / 1000, 1);
	}
	log_info("api: VM %s", s->valuestring);
	api_done(c);
}

static void api_get_metrics(struct api_ctx *c)
{
	struct api_vm *vm = c->vm;
	cJSON *doc = vm->phase == API_RUNNING ? metrics_collect(vm->m) : cJSON_CreateObject();
	cJSON *api;

	if (doc) {
		cJSON_AddStringToObject(doc, "state", api_state(vm));
		api = cJSON_AddObjectToObject(doc, "api");
		cJSON_AddNumberToObject(api, "requests", (double)vm->requests);
		cJSON_AddNumberToObject(api, "errors", (double)vm->errors);
	}
	api_json(c, doc);
}

/* /pmem/{id} (pmem true) and /hotplug/memory (api_memdev.c). */
static void api_memdev_req(struct api_ctx *c, enum http_method method, bool pmem)
{
	char msg[600] = "";
	cJSON *doc = NULL;
	int r = pmem ? api_pmem(c->vm, method, c->id, c->body, msg, sizeof(msg))
		     : api_hotplug(c->vm, method, c->body, &doc, msg, sizeof(msg));

	if (r == 200)
		api_json(c, doc);
	else if (r == 204)
		api_done(c);
	else
		api_fail(c, r, "%s", msg);
}

static void api_balloon_req(struct api_ctx *c, enum http_method method, const char *sub)
{
	char msg[300];
	cJSON *doc = NULL;
	int r = api_balloon(c->vm, method, sub, c->body, &doc, msg, sizeof(msg));

	if (r == 200)
		api_json(c, doc);
	else if (r == 204)
		api_done(c);
	else if (r == 400)
		api_fail(c, 400, "%s", msg);
	else
		api_fail(c, 400, "Invalid request method: %s %s", c->req->method_name,
			 c->req->path);
}

/* Body of a PUT/PATCH as JSON; NULL (answered 400) when malformed. */
static cJSON *api_parse_body(struct api_ctx *c, const char *body, size_t len)
{
	const char *end = NULL;
	cJSON *doc;

	if (!len) {
		api_fail(c, 400, "request body: missing (a JSON object is required)");
		return NULL;
	}
	doc = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (doc && end) {
		while (end < body + len && strchr(" \t\r\n", *end))
			end++;
		if (end != body + len) {
			cJSON_Delete(doc);
			doc = NULL;
		}
	}
	if (!doc) {
		size_t off = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
		api_fail(c, 400, "request body: malformed JSON at byte %zu", off);
	}
	return doc;
}

/* Splits "/res/{id}": returns the resource name; *id is NULL without one. */
static const char *api_split(char *path, char **id)
{
	char *slash;

	*id = NULL;
	slash = strchr(path + 1, '/');
	if (slash) {
		*slash = 0;
		*id = slash + 1;
	}
	return path + 1;
}

void api_route(struct api_vm *vm, const struct http_request *req, const char *body, size_t body_len,
	       int *status, char **out)
{
	struct api_ctx c = {vm, req, NULL, NULL, status, out};
	enum http_method m = req->method;
	char path[HTTP_MAX_PATH];
	const char *res;
	char *id, msg[160];
	size_t n;
	int fc_req;

	snprintf(path, sizeof(path), "%s", req->path);
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	res = api_split(path, &id);
	pthread_mutex_lock(&vm->lock);
	vm->requests++;
	vm->deprecation = false;
	fc_req = api_metrics_count(&vm->fc, m, res, id);
	c.id = id;
	if (!api_request_shape_ok(m, res, body_len, msg, sizeof(msg))) {
		api_fail(&c, 400, "%s", msg);
		goto out;
	}
	if ((m == HTTP_PUT || m == HTTP_PATCH) && body_len &&
	    !(c.body = api_parse_body(&c, body, body_len)))
		goto out;
	vm->deprecation = api_body_deprecated(res, id, c.body);

#define ROUTE(name, meth) (!strcmp(res, name) && m == (meth))
	if (id && (!strcmp(res, "drives") || !strcmp(res, "network-interfaces")) && *id &&
	    !strchr(id, '/')) {
		if (m == HTTP_PUT)
			api_put_config(&c, res);
		else if (m == HTTP_PATCH)
			api_patch_device(&c, res);
		else
			goto bad_method;
	} else if (id && !strcmp(res, "pmem") && *id && !strchr(id, '/')) {
		if (m == HTTP_PUT || m == HTTP_PATCH)
			api_memdev_req(&c, m, true);
		else
			goto bad_method;
	} else if (id && !strcmp(res, "hotplug") && !strcmp(id, "memory")) {
		if (m == HTTP_PUT || m == HTTP_PATCH || m == HTTP_GET)
			api_memdev_req(&c, m, false);
		else
			goto bad_method;
	} else if (id && !strcmp(res, "balloon")) {
		api_balloon_req(&c, m, id);
	} else if (id && !strcmp(res, "snapshot") && (!strcmp(id, "create") || !strcmp(id, "load"))) {
		if (m == HTTP_PUT)
			api_put_snapshot(&c, id);
		else
			goto bad_method;
	} else if (id && !strcmp(res, "vm") && !strcmp(id, "config")) {
		if (m == HTTP_GET)
			api_json(&c, api_balloon_vm_config(vm, config_to_json(vm->cfg, vm->st, false)));
		else
			goto bad_method;
	} else if (id && !strcmp(res, "popek") &&
		   (!strcmp(id, "machine-config") || !strcmp(id, "vm/config"))) {
		if (m != HTTP_GET)
			goto bad_method;
		api_json(&c, strcmp(id, "vm/config")
				 ? api_popek_machine_json(vm)
				 : api_balloon_vm_config(vm, config_to_json(vm->cfg, vm->st, true)));
	} else if (!strcmp(res, "mmds") && (!id || !strcmp(id, "config"))) {
		if ((!id && (m == HTTP_GET || m == HTTP_PUT || m == HTTP_PATCH)) || m == HTTP_PUT)
			api_mmds(vm, m, id != NULL, c.body, status, out);
		else
			goto bad_method;
	} else if (id) {
		goto unknown;
	} else if (!*res) {
		if (m == HTTP_GET)
			api_get_root(&c);
		else
			goto bad_method;
	} else if (ROUTE("machine-config", HTTP_GET)) {
		api_json(&c, api_machine_json(vm));
	} else if (ROUTE("machine-config", HTTP_PATCH)) {
		api_patch_machine(&c);
	} else if (ROUTE("version", HTTP_GET)) {
		api_json(&c, api_version_json());
	} else if (ROUTE("machine-config", HTTP_PUT) || ROUTE("boot-source", HTTP_PUT) ||
		   ROUTE("vsock", HTTP_PUT) || ROUTE("balloon", HTTP_PUT) ||
		   ROUTE("metrics", HTTP_PUT) || ROUTE("logger", HTTP_PUT) ||
		   ROUTE("entropy", HTTP_PUT) || ROUTE("serial", HTTP_PUT) ||
		   ROUTE("cpu-config", HTTP_PUT)) {
		api_put_config(&c, res);
	} else if (!strcmp(res, "balloon") && (m == HTTP_GET || m == HTTP_PATCH)) {
		api_balloon_req(&c, m, NULL);
	} else if (ROUTE("migrate", HTTP_PUT)) {
		api_put_migrate(&c);
	} else if (ROUTE("actions", HTTP_PUT)) {
		api_put_actions(&c);
	} else if (ROUTE("vm", HTTP_PATCH)) {
		api_patch_vm(&c);
	} else if (ROUTE("metrics", HTTP_GET)) {
		api_get_metrics(&c);
	} else {
		goto bad_method;
	}
#undef ROUTE
	goto out;
bad_method:
unknown:
	/* Firecracker answers both alike: 400, naming the first segment. */
	api_invalid_path_msg(req->method_name, res, msg, sizeof(msg));
	api_fail(&c, 400, "%s", msg);
out:
	if (*status >= 400)
		vm->errors++;
	api_metrics_answered(&vm->fc, fc_req, *status, vm->deprecation);
	pthread_mutex_unlock(&vm->lock);
	cJSON_Delete(c.body);
}
