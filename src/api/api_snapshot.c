/* The API's snapshot and migration resources (api_snapshot.h). */
#include "api/api_snapshot.h"

#include <stdio.h>
#include <string.h>

#include "popek/log.h"
#include "vmm/migrate.h"
#include "vmm/vmm.h"

/* Each key of o must be in keys (NULL-terminated): else a 400 naming it. */
static int only_keys(const cJSON *o, const char *const *keys, char *msg, size_t len)
{
	const cJSON *it;

	if (!cJSON_IsObject(o))
		return api_bad(msg, len, "request body: must be a JSON object");
	cJSON_ArrayForEach(it, o)
	{
		bool known = false;

		for (unsigned i = 0; keys[i]; i++)
			known |= !strcmp(it->string, keys[i]);
		if (!known)
			return api_bad(msg, len, "%.64s: unknown key", it->string);
	}
	return 0;
}

/* A required (or, with optional, absent-or-) non-empty path string. */
static const char *path_field(const cJSON *o, const char *key, bool optional, char *msg, size_t len,
			      int *status)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v && optional)
		return NULL;
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= CONFIG_PATH_MAX) {
		*status = api_bad(msg, len, "%s: %s", key,
				  v ? "must be a non-empty path shorter than 4096 bytes"
				    : "missing (a path is required)");
		return NULL;
	}
	return v->valuestring;
}

/* An optional boolean: false when absent. */
static bool bool_field(const cJSON *o, const char *key, char *msg, size_t len, int *status)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v && !cJSON_IsBool(v))
		*status = api_bad(msg, len, "%s: must be true or false", key);
	return cJSON_IsTrue(v);
}

int api_snapshot_create(struct api_vm *vm, const cJSON *body, char *msg, size_t len)
{
	static const char *const keys[] = {"snapshot_type", "snapshot_path", "mem_file_path",
					   "version", NULL};
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(body, "snapshot_type");
	const char *state, *mem;
	int status = only_keys(body, keys, msg, len), err;

	if (status)
		return status;
	if (type && !(cJSON_IsString(type) &&
		      (!strcmp(type->valuestring, "Full") || !strcmp(type->valuestring, "Diff"))))
		return api_bad(msg, len, "snapshot_type: must be \"Full\" or \"Diff\"");
	state = path_field(body, "snapshot_path", false, msg, len, &status);
	mem = status ? NULL : path_field(body, "mem_file_path", false, msg, len, &status);
	if (status)
		return status;
	if (vm->phase != API_RUNNING)
		return api_bad(msg, len, "Cannot create a snapshot: the microVM is not running");
	msg[0] = 0;
	err = machine_snapshot_create(vm->m, state, mem, type && !strcmp(type->valuestring, "Diff"),
				      msg, len);
	if (err < 0) {
		log_warn("api: snapshot not taken: %s", msg);
		return 400;
	}
	return 204;
}

/* network_overrides: [{"iface_id", "host_dev_name"}], at most one per
 * interface; whether each names an interface of the snapshot is checked
 * when it is read (snapshot_restore.c). 0 or 400 with msg. */
static int net_overrides(struct vm_config *cfg, const cJSON *arr, char *msg, size_t len)
{
	static const char *const keys[] = {"iface_id", "host_dev_name", NULL};
	struct net_override o[CONFIG_MAX_NETS];
	const cJSON *it;
	unsigned n = 0;
	int status;

	if (!cJSON_IsArray(arr))
		return api_bad(msg, len, "network_overrides: must be an array");
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "iface_id");
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(it, "host_dev_name");

		if ((status = only_keys(it, keys, msg, len)))
			return status;
		if (n == CONFIG_MAX_NETS)
			return api_bad(msg, len, "network_overrides: at most %d", CONFIG_MAX_NETS);
		if (!cJSON_IsString(id) || !*id->valuestring ||
		    strlen(id->valuestring) > CONFIG_NET_ID_LEN)
			return api_bad(msg, len,
				       "network_overrides[%u].iface_id: a string of 1 to %d "
				       "characters is required",
				       n, CONFIG_NET_ID_LEN);
		if (!cJSON_IsString(dev) || !*dev->valuestring ||
		    strlen(dev->valuestring) >= sizeof(o[0].ifname))
			return api_bad(msg, len,
				       "network_overrides[%u].host_dev_name: a tap name of 1 to "
				       "%zu characters is required",
				       n, sizeof(o[0].ifname) - 1);
		for (unsigned i = 0; i < n; i++)
			if (!strcmp(o[i].id, id->valuestring))
				return api_bad(msg, len,
					       "network_overrides[%u].iface_id: '%s' is given twice",
					       n, id->valuestring);
		snprintf(o[n].id, sizeof(o[n].id), "%s", id->valuestring);
		snprintf(o[n].ifname, sizeof(o[n].ifname), "%s", dev->valuestring);
		n++;
	}
	memcpy(cfg->net_overrides, o, n * sizeof(o[0]));
	cfg->nr_net_overrides = n;
	return 0;
}

int api_snapshot_load(struct api_vm *vm, const cJSON *body, char *msg, size_t len)
{
	static const char *const keys[] = {"snapshot_path", "mem_file_path", "mem_backend",
					   "enable_diff_snapshots", "track_dirty_pages",
					   "resume_vm", "network_overrides", NULL};
	static const char *const backend_keys[] = {"backend_type", "backend_path", NULL};
	const cJSON *backend = cJSON_GetObjectItemCaseSensitive(body, "mem_backend");
	const cJSON *overrides = cJSON_GetObjectItemCaseSensitive(body, "network_overrides");
	const char *state, *mem;
	const cJSON *type;
	bool resume, track;
	int status = only_keys(body, keys, msg, len);

	if (status)
		return status;
	state = path_field(body, "snapshot_path", false, msg, len, &status);
	if (status)
		return status;
	mem = path_field(body, "mem_file_path", true, msg, len, &status);
	if (status)
		return status;
	if (backend && mem)
		return api_bad(msg, len,
			       "mem_backend: give either mem_backend or mem_file_path, not "
			       "both");
	if (backend) {
		status = only_keys(backend, backend_keys, msg, len);
		if (status)
			return status;
		type = cJSON_GetObjectItemCaseSensitive(backend, "backend_type");
		if (!cJSON_IsString(type) ||
		    (strcmp(type->valuestring, "File") && strcmp(type->valuestring, "Uffd")))
			return api_bad(msg, len,
				       "mem_backend.backend_type: must be \"File\" or \"Uffd\"");
		if (!strcmp(type->valuestring, "Uffd"))
			return api_bad(msg, len,
				       "mem_backend.backend_type: Uffd is not supported (use "
				       "File)");
		mem = path_field(backend, "backend_path", false, msg, len, &status);
		if (status)
			return status;
	} else if (!mem) {
		return api_bad(msg, len, "mem_backend: missing (a memory backend is required)");
	}
	/* enable_diff_snapshots: the name Firecracker deprecated for track_dirty_pages. */
	track = bool_field(body, "enable_diff_snapshots", msg, len, &status);
	if (!status)
		track |= bool_field(body, "track_dirty_pages", msg, len, &status);
	resume = status ? false : bool_field(body, "resume_vm", msg, len, &status);
	if (status)
		return status;
	if (overrides && (status = net_overrides(vm->cfg, overrides, msg, len)))
		return status;
	if (vm->phase != API_NOT_STARTED || vm->configured)
		return api_bad(msg, len,
			       "Loading a microVM snapshot not allowed after configuring "
			       "boot-specific resources.");
	snprintf(vm->st->snapshot, sizeof(vm->st->snapshot), "%s", state);
	snprintf(vm->st->snapshot_mem, sizeof(vm->st->snapshot_mem), "%s", mem);
	vm->cfg->restore_path = vm->st->snapshot;
	vm->cfg->restore_mem_path = vm->st->snapshot_mem;
	vm->cfg->restore_paused = !resume;
	vm->cfg->track_dirty_pages = track;
	return 0;
}

int api_migrate(struct api_vm *vm, const cJSON *body, char *msg, size_t len)
{
	static const char *const keys[] = {"uri", "max_downtime_ms", NULL};
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(body, "max_downtime_ms");
	unsigned max_downtime_ms = MIGRATE_DOWNTIME_MS;
	const char *uri;
	int status = only_keys(body, keys, msg, len);

	if (status)
		return status;
	uri = path_field(body, "uri", false, msg, len, &status);
	if (status)
		return status;
	if (dt) {
		if (!cJSON_IsNumber(dt) || dt->valuedouble < 0 || dt->valuedouble > 3600000 ||
		    dt->valuedouble != (double)(unsigned)dt->valuedouble)
			return api_bad(msg, len,
				       "max_downtime_ms: must be a whole number of ms, 0 to "
				       "3600000");
		max_downtime_ms = (unsigned)dt->valuedouble;
	}
	if (vm->phase != API_RUNNING)
		return api_bad(msg, len, "Cannot migrate: the microVM is not running");
	if (machine_migrate(vm->m, uri, max_downtime_ms, msg, len) < 0)
		return 400;
	/* The destination runs the VM: this process ends, status 0. */
	machine_request_stop(vm->m, MACHINE_STOP_USER, 0);
	return 204;
}
