/* PATCH /drives/{id}, /network-interfaces/{id} and /pmem/{id} on a running VM:
 * the body checked whole, then handed to the devices (virtio/devices.h),
 * then written into the configuration GET /vm/config shows. */
#include "api/api_patch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/config_json_priv.h"
#include "virtio/devices.h"

/* The body's id: a string equal to the path's {id}. */
static int patch_id(const struct config_err *e, const cJSON *body, const char *key,
		    const char *path_id)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	if (!cJSON_IsString(v))
		return cfg_fail(e, key, "missing (a string is required)");
	if (strcmp(v->valuestring, path_id))
		return cfg_fail(e, key,
				"'%.64s' does not match the id in the request path ('%.64s')",
				v->valuestring, path_id);
	return 0;
}

/* The before-start answer, and an object body. */
static int patch_check(struct api_vm *vm, const cJSON *body, const struct config_err *e,
		       const char *const *keys)
{
	if (vm->phase != API_RUNNING) {
		snprintf(e->buf, e->len, "%s", API_BEFORE_START);
		return -EINVAL;
	}
	return cfg_check_keys(e, body, keys);
}

int api_patch_drive(struct api_vm *vm, const char *id, const cJSON *body, char *msg, size_t len)
{
	static const char *const keys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	struct config_err e = {msg, len, ""};
	char path[CONFIG_PATH_MAX];
	struct rate_limit_config rl;
	const cJSON *rl_json;
	unsigned idx;
	int has_path, err;

	if (patch_check(vm, body, &e, keys) < 0 || patch_id(&e, body, "drive_id", id) < 0)
		return 400;
	for (idx = 0; idx < vm->cfg->nr_disks; idx++)
		if (!strcmp(vm->cfg->disks[idx].id, id))
			break;
	if (idx == vm->cfg->nr_disks) {
		cfg_fail(&e, "drive_id", "no drive '%.64s'", id);
		return 400;
	}
	rl = vm->cfg->disks[idx].rate_limiter;
	has_path = cfg_get_str(&e, body, "path_on_host", false, path, sizeof(path));
	if (has_path < 0 || config_get_rate_limiter(&e, body, "rate_limiter", &rl) < 0)
		return 400;
	rl_json = cJSON_GetObjectItemCaseSensitive(body, "rate_limiter");
	if (rl_json && cJSON_IsNull(rl_json))
		rl_json = NULL;
	err = virtio_devices_update_disk(vm->m, idx, has_path ? path : NULL, rl_json ? &rl : NULL);
	if (err < 0) {
		cfg_fail(&e, has_path ? "path_on_host" : "drive_id", "cannot use '%s': %s",
			 has_path ? path : id, strerror(-err));
		return 400;
	}
	if (has_path)
		memcpy(vm->cfg->disks[idx].path, path, sizeof(path));
	vm->cfg->disks[idx].rate_limiter = rl;
	return 204;
}

int api_patch_net(struct api_vm *vm, const char *id, const cJSON *body, char *msg, size_t len)
{
	static const char *const keys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct config_err e = {msg, len, ""};
	struct rate_limit_config rx, tx;
	const cJSON *rxj, *txj;
	unsigned idx;

	if (patch_check(vm, body, &e, keys) < 0 || patch_id(&e, body, "iface_id", id) < 0)
		return 400;
	for (idx = 0; idx < vm->cfg->nr_nets; idx++)
		if (!strcmp(vm->cfg->nets[idx].id, id))
			break;
	if (idx == vm->cfg->nr_nets) {
		cfg_fail(&e, "iface_id", "no network interface '%.64s'", id);
		return 400;
	}
	rx = vm->cfg->nets[idx].rx_rate_limiter;
	tx = vm->cfg->nets[idx].tx_rate_limiter;
	if (config_get_rate_limiter(&e, body, "rx_rate_limiter", &rx) < 0 ||
	    config_get_rate_limiter(&e, body, "tx_rate_limiter", &tx) < 0)
		return 400;
	rxj = cJSON_GetObjectItemCaseSensitive(body, "rx_rate_limiter");
	txj = cJSON_GetObjectItemCaseSensitive(body, "tx_rate_limiter");
	if (virtio_devices_update_net(vm->m, idx, rxj && !cJSON_IsNull(rxj) ? &rx : NULL,
				      txj && !cJSON_IsNull(txj) ? &tx : NULL) < 0) {
		cfg_fail(&e, "iface_id", "'%.64s' has no device", id);
		return 400;
	}
	vm->cfg->nets[idx].rx_rate_limiter = rx;
	vm->cfg->nets[idx].tx_rate_limiter = tx;
	return 204;
}

int api_patch_pmem(struct api_vm *vm, const char *id, const cJSON *body, char *msg, size_t len)
{
	static const char *const keys[] = {"id", "rate_limiter", NULL};
	struct config_err e = {msg, len, ""};
	struct rate_limit_config rl;
	unsigned idx;

	if (patch_check(vm, body, &e, keys) < 0 || patch_id(&e, body, "id", id) < 0)
		return 400;
	for (idx = 0; idx < vm->cfg->nr_pmem && strcmp(vm->cfg->pmem[idx].id, id); idx++)
		;
	if (idx == vm->cfg->nr_pmem) {
		cfg_fail(&e, "id", "no pmem device '%.64s'", id);
		return 400;
	}
	rl = vm->cfg->pmem[idx].rate_limiter;
	if (config_get_rate_limiter(&e, body, "rate_limiter", &rl) < 0)
		return 400;
	if (virtio_devices_update_pmem(vm->m, idx, &rl) < 0) {
		cfg_fail(&e, "id", "'%.64s' has no device", id);
		return 400;
	}
	vm->cfg->pmem[idx].rate_limiter = rl; /* GET /vm/config shows it */
	return 204;
}
