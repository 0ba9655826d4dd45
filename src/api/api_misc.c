/* Firecracker's front-door request rules, /version, /serial, the Deprecation
 * header's triggers and popek's /popek/ extensions (see api_misc.h). */
#include "api/api_misc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api_routes.h"
#include "cpu/engine.h"
#include "vmm/vmm.h"

bool api_request_shape_ok(enum http_method m, const char *res, size_t body_len, char *msg,
			  size_t msglen)
{
	if (m == HTTP_GET && body_len) {
		snprintf(msg, msglen, "GET request cannot have a body.");
		return false;
	}
	if (m == HTTP_PUT && !body_len) {
		snprintf(msg, msglen, "Empty PUT request.");
		return false;
	}
	if (m == HTTP_PATCH && !body_len && strcmp(res, "balloon")) {
		snprintf(msg, msglen, "Empty PATCH request.");
		return false;
	}
	return true;
}

void api_invalid_path_msg(const char *method, const char *res, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "Invalid request method and/or path: %s %.64s.", method, res);
}

cJSON *api_version_json(void)
{
	cJSON *o = cJSON_CreateObject();

	if (o)
		cJSON_AddStringToObject(o, "firecracker_version", POPEK_FC_API_VERSION);
	return o;
}

int config_set_serial(const cJSON *o, struct vm_config *cfg, struct config_store *st,
		      const struct config_err *e)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "serial_out_path");
	const cJSON *rl = cJSON_GetObjectItemCaseSensitive(o, "rate_limiter");
	const cJSON *it;

	if (!cJSON_IsObject(o)) {
		snprintf(e->buf, e->len, "%srequest body: must be a JSON object", e->prefix);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, o)
	{
		if (strcmp(it->string, "serial_out_path") && strcmp(it->string, "rate_limiter")) {
			snprintf(e->buf, e->len, "%s%.64s: unknown key", e->prefix, it->string);
			return -EINVAL;
		}
	}
	if (rl && !cJSON_IsNull(rl)) {
		snprintf(e->buf, e->len,
			 "%srate_limiter: not supported by popek (must be null or absent)",
			 e->prefix);
		return -EINVAL;
	}
	if (!path || cJSON_IsNull(path)) {
		cfg->serial_out_path = NULL; /* back to stdout */
		return 0;
	}
	if (!cJSON_IsString(path) || !path->valuestring[0] ||
	    strlen(path->valuestring) >= sizeof(st->serial_out)) {
		snprintf(e->buf, e->len, "%sserial_out_path: must be a path (a non-empty string)",
			 e->prefix);
		return -EINVAL;
	}
	strcpy(st->serial_out, path->valuestring);
	cfg->serial_out_path = st->serial_out;
	return 0;
}

cJSON *api_popek_machine_json(struct api_vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "engine",
				vm->m ? vm->m->engine->name : config_engine_name(cfg->engine));
	cJSON_AddStringToObject(o, "cpu_vendor",
				config_vendor_name(vm->m ? vm->m->cpu_vendor : cfg->cpu_vendor));
	cJSON_AddBoolToObject(o, "pv", !cfg->no_pv);
	cJSON_AddBoolToObject(o, "soft_jit", !cfg->soft_jit_off);
	cJSON_AddNumberToObject(
	    o, "soft_jit_cache_mib",
	    (double)((cfg->soft_jit_cache ? cfg->soft_jit_cache : CONFIG_SOFT_JIT_CACHE) / MiB));
	return o;
}

static bool api_has(const cJSON *body, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);

	return v && !cJSON_IsNull(v);
}

bool api_body_deprecated(const char *res, const char *id, const cJSON *body)
{
	if (!cJSON_IsObject(body))
		return false;
	if (!strcmp(res, "machine-config"))
		return api_has(body, "cpu_template");
	if (!strcmp(res, "vsock"))
		return api_has(body, "vsock_id");
	if (!strcmp(res, "snapshot") && id && !strcmp(id, "load")) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "enable_diff_snapshots");
		return api_has(body, "mem_file_path") || cJSON_IsTrue(d);
	}
	return false;
}
