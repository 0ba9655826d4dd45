/* PUT /pmem/{id} before the start, PATCH /pmem/{id} (its rate_limiter)
 * after (api_patch.c); PUT /hotplug/memory before the start, PATCH (requested_size_mib)
 * after, GET at any time once configured. */
#include "api/api_memdev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_patch.h"
#include "api/config_json_priv.h"
#include "api/config_memdev.h"
#include "core/machine.h"
#include "virtio/devices.h"
#include "virtio/mem.h"

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
	return api_patch_pmem(vm, id, body, msg, len);
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
