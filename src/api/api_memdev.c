/* PUT /pmem/{id} before the start, PATCH /pmem/{id} (its rate_limiter)
 * after; PUT /hotplug/memory before the start, PATCH (requested_size_mib)
 * after, GET at any time once configured. */
#include "api/api_memdev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/config_json_priv.h"
#include "api/config_memdev.h"
#include "core/machine.h"
#include "virtio/devices.h"
#include "virtio/mem.h"

#define API_BEFORE_START "The requested operation is not supported before starting the microVM."
#define API_AFTER_START  "The requested operation is not supported after starting the microVM."

static int pmem_patch(struct api_vm *vm, const char *id, const cJSON *body,
		      const struct config_err *e)
{
	static const char *const keys[] = {"id", "rate_limiter", NULL};
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "id");
	struct rate_limit_config rl;
	unsigned idx;

	if (cfg_check_keys(e, body, keys) < 0)
		return 400;
	if (!cJSON_IsString(v) || strcmp(v->valuestring, id)) {
		cfg_fail(e, "id", "must be the id in the request path ('%.64s')", id);
		return 400;
	}
	for (idx = 0; idx < vm->cfg->nr_pmem && strcmp(vm->cfg->pmem[idx].id, id); idx++)
		;
	if (idx == vm->cfg->nr_pmem) {
		cfg_fail(e, "id", "no pmem device '%.64s'", id);
		return 400;
	}
	rl = vm->cfg->pmem[idx].rate_limiter;
	if (config_get_rate_limiter(e, body, "rate_limiter", &rl) < 0)
		return 400;
	if (virtio_devices_update_pmem(vm->m, idx, &rl) < 0) {
		cfg_fail(e, "id", "pmem device '%.64s' has no device", id);
		return 400;
	}
	vm->cfg->pmem[idx].rate_limiter = rl; /* GET /vm/config shows it */
	return 204;
}

int api_pmem(struct api_vm *vm, enum http_method method, const char *id, const cJSON *body,
	     char *msg, size_t len)
{
	struct config_err e = {msg, len, ""};

	if (method == HTTP_PUT) {
		if (vm->phase != API_NOT_STARTED) {
			snprintf(msg, len, "%s", API_AFTER_START);
			return 400;
		}
		if (config_set_pmem(body, id, vm->cfg, vm->st, &e) < 0)
			return 400;
		vm->configured = true;
		return 204;
	}
	if (vm->phase != API_RUNNING) {
		snprintf(msg, len, "%s", API_BEFORE_START);
		return 400;
	}
	return pmem_patch(vm, id, body, &e);
}

static cJSON *hotplug_status(const struct api_vm *vm)
{
	const struct hotplug_config *h = &vm->cfg->hotplug;
	cJSON *o = config_hotplug_json(h);
	struct virtio_mem *d = vm->m ? virtio_devices_mem(vm->m) : NULL;
	u64 plugged = 0, requested = 0;

	if (d)
		virtio_mem_sizes(d, &plugged, &requested);
	cJSON_AddNumberToObject(o, "plugged_size_mib", (double)(plugged / MiB));
	cJSON_AddNumberToObject(o, "requested_size_mib", (double)(requested / MiB));
	return o;
}

int api_hotplug(struct api_vm *vm, enum http_method method, const cJSON *body, cJSON **doc,
		char *msg, size_t len)
{
	struct config_err e = {msg, len, ""};
	const struct hotplug_config *h = &vm->cfg->hotplug;
	static const char *const keys[] = {"requested_size_mib", NULL};
	u64 mib = 0;

	if (method == HTTP_PUT) {
		if (vm->phase != API_NOT_STARTED) {
			snprintf(msg, len, "%s", API_AFTER_START);
			return 400;
		}
		if (config_set_memory_hotplug(body, vm->cfg, &e) < 0)
			return 400;
		vm->configured = true;
		return 204;
	}
	if (!h->total_size) {
		snprintf(msg, len, "Memory hotplug: not configured (PUT /hotplug/memory first)");
		return 400;
	}
	if (method == HTTP_GET) {
		*doc = hotplug_status(vm);
		return 200;
	}
	if (vm->phase != API_RUNNING || !virtio_devices_mem(vm->m)) {
		snprintf(msg, len, "%s", API_BEFORE_START);
		return 400;
	}
	if (cfg_check_keys(&e, body, keys) < 0 ||
	    cfg_get_uint(&e, body, "requested_size_mib", true, 0, h->total_size / MiB, &mib) < 0)
		return 400;
	if ((mib * MiB) % h->block_size) {
		cfg_fail(&e, "requested_size_mib",
			 "%llu is not a multiple of block_size_mib (%llu)", (unsigned long long)mib,
			 (unsigned long long)(h->block_size / MiB));
		return 400;
	}
	virtio_mem_request(virtio_devices_mem(vm->m), mib * MiB);
	return 204;
}
