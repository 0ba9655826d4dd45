/* The balloon's API resources (api_balloon.h), with Firecracker's fields,
 * status codes and fault messages. */
#include "api/api_balloon.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/machine.h"
#include "virtio/balloon.h"
#include "virtio/devices.h"

#define PRE_BOOT  "The requested operation is not supported before starting the microVM."
#define NO_DEVICE "Failed perform action on device: Device not found"

/* body must be {key: integer 0..max} and nothing else. */
static int one_uint(const cJSON *body, const char *key, u64 max, u64 *out, char *msg, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	if (!cJSON_IsObject(body))
		return api_bad(msg, len, "request body: must be a JSON object");
	for (const cJSON *it = body->child; it; it = it->next)
		if (strcmp(it->string, key))
			return api_bad(msg, len, "%.64s: unknown key", it->string);
	if (!v)
		return api_bad(msg, len, "%s: missing (an integer is required)", key);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble > (double)max || v->valuedouble != floor(v->valuedouble))
		return api_bad(msg, len, "%s: must be an integer from 0 to %llu", key,
			       (unsigned long long)max);
	*out = (u64)v->valuedouble;
	return 0;
}

/* The configuration as PUT /balloon takes it. */
static cJSON *balloon_json(const struct balloon_config *bc)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "amount_mib", (double)(bc->target_bytes / MiB));
	cJSON_AddBoolToObject(o, "deflate_on_oom", bc->deflate_on_oom);
	cJSON_AddNumberToObject(o, "stats_polling_interval_s", bc->stats_interval_s);
	cJSON_AddBoolToObject(o, "free_page_hinting", bc->page_hinting);
	cJSON_AddBoolToObject(o, "free_page_reporting", bc->page_reporting);
	return o;
}

/* GET /balloon. */
static int balloon_get(struct api_vm *vm, cJSON **json, char *msg, size_t len)
{
	struct balloon_config bc = {
	    vm->cfg->balloon_target_bytes, vm->cfg->balloon_stats_interval_s,
	    vm->cfg->balloon_deflate_on_oom, vm->cfg->balloon_reporting, vm->cfg->balloon_hinting};

	/* Once running, the machine's device answers (a restored machine's
	 * came from its snapshot, not from this configuration). */
	if (vm->phase == API_RUNNING && balloon_get_config(vm->m, &bc) < 0)
		return api_bad(msg, len, "Internal VMM error: " NO_DEVICE);
	if (vm->phase != API_RUNNING && !vm->cfg->balloon)
		return api_bad(msg, len, "Balloon config error: No balloon device found.");
	*json = balloon_json(&bc);
	return 200;
}

cJSON *api_balloon_vm_config(struct api_vm *vm, cJSON *doc)
{
	struct balloon_config bc;

	if (doc && vm->phase == API_RUNNING && balloon_get_config(vm->m, &bc) == 0)
		cJSON_ReplaceItemInObjectCaseSensitive(doc, "balloon", balloon_json(&bc));
	return doc;
}

/* GET /balloon/statistics: Firecracker's BalloonStats, the guest's values
 * only for the tags it reported. */
static int balloon_statistics(struct api_vm *vm, cJSON **json, char *msg, size_t len)
{
	static const char *const names[BALLOON_NR_STATS] = {
	    "swap_in",          "swap_out",    "major_faults",
	    "minor_faults",     "free_memory", "total_memory",
	    "available_memory", "disk_caches", "hugetlb_allocations",
	    "hugetlb_failures", "oom_kill",    "alloc_stall",
	    "async_scan",       "direct_scan", "async_reclaim",
	    "direct_reclaim"};
	struct balloon_config bc;
	struct balloon_stats bs;
	cJSON *o;

	if (balloon_get_config(vm->m, &bc) < 0 || balloon_get_stats(vm->m, &bs) < 0)
		return api_bad(msg, len, "Internal VMM error: " NO_DEVICE);
	if (!bc.stats_interval_s)
		return api_bad(
		    msg, len,
		    "Internal VMM error: Balloon: Received stats query when stats are disabled.");
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "target_pages", (double)(bs.target_bytes / 4096));
	cJSON_AddNumberToObject(o, "actual_pages", (double)(bs.actual_bytes / 4096));
	cJSON_AddNumberToObject(o, "target_mib", (double)(bs.target_bytes / MiB));
	cJSON_AddNumberToObject(o, "actual_mib", (double)(bs.actual_bytes / MiB));
	for (unsigned i = 0; i < BALLOON_NR_STATS; i++)
		if (bs.valid & (1u << i))
			cJSON_AddNumberToObject(o, names[i], (double)bs.val[i]);
	*json = o;
	return 200;
}

static int balloon_patch(struct api_vm *vm, const cJSON *body, char *msg, size_t len)
{
	u64 mib;
	int r = one_uint(body, "amount_mib", 0xffffffffULL, &mib, msg, len);

	if (r)
		return r;
	r = balloon_set_target(vm->m, mib * MiB);
	if (r == -ENODEV)
		return api_bad(msg, len, "Balloon update error: " NO_DEVICE);
	if (r < 0)
		return api_bad(
		    msg, len,
		    "Balloon update error: Balloon: Requested memory should be less than %lluMiB",
		    (unsigned long long)(vm->m->mem.ram_size / MiB));
	return 204;
}

static int balloon_patch_statistics(struct api_vm *vm, const cJSON *body, char *msg, size_t len)
{
	u64 s;
	int r =
	    one_uint(body, "stats_polling_interval_s", BALLOON_STATS_INTERVAL_MAX, &s, msg, len);

	if (r)
		return r;
	r = balloon_set_stats_interval(vm->m, (u32)s);
	if (r == -ENODEV)
		return api_bad(msg, len, "Balloon update error: " NO_DEVICE);
	if (r < 0)
		return api_bad(msg, len,
			       "Balloon update error: Balloon: Statistics cannot be "
			       "enabled/disabled after activation.");
	return 204;
}

/* PATCH /balloon/hinting/start's optional BalloonStartCmd
 * {"acknowledge_on_stop": bool} (true when absent, as in Firecracker) and
 * /stop's optional empty object. */
static int hint_body(const cJSON *body, bool start, bool *ack, char *msg, size_t len)
{
	const cJSON *v;

	*ack = true;
	if (!body)
		return 0;
	if (!cJSON_IsObject(body))
		return api_bad(msg, len, "request body: must be a JSON object");
	for (const cJSON *it = body->child; it; it = it->next)
		if (!start || strcmp(it->string, "acknowledge_on_stop"))
			return api_bad(msg, len, "%.64s: unknown key", it->string);
	v = cJSON_GetObjectItemCaseSensitive(body, "acknowledge_on_stop");
	if (v && !cJSON_IsBool(v))
		return api_bad(msg, len, "acknowledge_on_stop: must be true or false");
	if (v)
		*ack = cJSON_IsTrue(v);
	return 0;
}

/* /balloon/hinting/{start,status,stop} (virtio 1.2 5.5.6.7): a new command
 * id, the host's and the guest's last ones, DONE. Firecracker answers all
 * three with its balloon update errors. */
static int balloon_hinting_req(struct api_vm *vm, const char *what, const cJSON *body, cJSON **json,
			       char *msg, size_t len)
{
	struct balloon_hint_status hs;
	bool ack;
	int r;

	if (!strcmp(what, "status")) {
		r = balloon_hinting_status(vm->m, &hs);
	} else {
		r = hint_body(body, !strcmp(what, "start"), &ack, msg, len);
		if (r)
			return r;
		r = !strcmp(what, "start") ? balloon_hinting_start(vm->m, ack)
					   : balloon_hinting_stop(vm->m);
	}
	if (r == -ENODEV)
		return api_bad(msg, len, "Balloon update error: " NO_DEVICE);
	if (r == -EOPNOTSUPP)
		return api_bad(
		    msg, len,
		    "Balloon update error: Balloon: Attempting to use hinting when not enabled");
	if (r < 0) /* -EAGAIN: the guest's driver has not started the device */
		return api_bad(msg, len,
			       "Balloon update error: Balloon: Device not activated yet.");
	if (strcmp(what, "status"))
		return 204;
	*json = cJSON_CreateObject();
	cJSON_AddNumberToObject(*json, "host_cmd", hs.host_cmd);
	if (hs.guest_seen) /* Firecracker's None before the driver sent one */
		cJSON_AddNumberToObject(*json, "guest_cmd", hs.guest_cmd);
	else
		cJSON_AddNullToObject(*json, "guest_cmd");
	return 200;
}

int api_balloon(struct api_vm *vm, enum http_method m, const char *sub, const cJSON *body,
		cJSON **json, char *msg, size_t len)
{
	bool get = m == HTTP_GET, patch = m == HTTP_PATCH;
	bool hint_get = sub && !strcmp(sub, "hinting/status");
	bool hint_patch = sub && (!strcmp(sub, "hinting/start") || !strcmp(sub, "hinting/stop"));
	bool stats = sub && !strcmp(sub, "statistics");

	if (sub && !stats && !hint_get && !hint_patch)
		return !get && !patch ? 0
				      : api_bad(msg, len, "Unrecognized %s request path `%.64s`.",
						get ? "GET" : "PATCH", sub);
	if (!sub && get)
		return balloon_get(vm, json, msg, len);
	if (!((stats && (get || patch)) || (!sub && patch) || (hint_get && get) ||
	      (hint_patch && patch)))
		return 0;
	if (vm->phase != API_RUNNING)
		return api_bad(msg, len, PRE_BOOT);
	if (!virtio_devices_balloon(vm->m))
		return api_bad(msg, len, "%s" NO_DEVICE,
			       get ? "Internal VMM error: " : "Balloon update error: ");
	if (hint_get || hint_patch)
		return balloon_hinting_req(vm, sub + strlen("hinting/"), body, json, msg, len);
	if (stats)
		return get ? balloon_statistics(vm, json, msg, len)
			   : balloon_patch_statistics(vm, body, msg, len);
	return balloon_patch(vm, body, msg, len);
}
