/* /mmds (the metadata document: GET, PUT replaces, PATCH merges) and
 * /mmds/config, with Firecracker's checks, status codes and messages. */
#include "api/api_mmds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/mmds_store.h"

#define MMDS_NO_IFACES                                                                             \
	"The list of network interface IDs that allow forwarding MMDS requests is empty."
#define MMDS_BAD_IFACE                                                                             \
	"The list of network interface IDs provided contains at least one ID that does not "       \
	"correspond to any existing network interface."
#define MMDS_NOT_LINK_LOCAL "The MMDS IPv4 address is not link local."

static int mmds_fail(const struct config_err *e, const char *key, const char *msg)
{
	snprintf(e->buf, e->len, "%s%s: %s", e->prefix, key, msg);
	return -EINVAL;
}

/* Firecracker's is_link_local_valid: 169.254.0.0/16 but its first and last
 * /24 (RFC 3927 section 2.1 reserves them). */
static bool mmds_addr_ok(u32 a)
{
	return (a >> 16) == 0xA9FE && ((a >> 8) & 0xFF) != 0 && ((a >> 8) & 0xFF) != 0xFF;
}

int config_set_mmds(const cJSON *o, struct vm_config *cfg, const struct config_err *e)
{
	const cJSON *it, *ifs, *v;
	struct mmds_config m = {.version = 1, .addr = CONFIG_MMDS_ADDR};
	bool use[CONFIG_MAX_NETS] = {false};
	struct in_addr ia;

	if (!cJSON_IsObject(o)) {
		if (*e->prefix) /* "mmds-config." names the section */
			snprintf(e->buf, e->len, "%.*s: must be a JSON object",
				 (int)strlen(e->prefix) - 1, e->prefix);
		else
			snprintf(e->buf, e->len, "request body: must be a JSON object");
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, o)
	{
		if (strcmp(it->string, "version") && strcmp(it->string, "network_interfaces") &&
		    strcmp(it->string, "ipv4_address") && strcmp(it->string, "imds_compat")) {
			snprintf(e->buf, e->len, "%s%.64s: unknown key", e->prefix, it->string);
			return -EINVAL;
		}
		for (const cJSON *p = o->child; p != it; p = p->next)
			if (!strcmp(p->string, it->string))
				return mmds_fail(e, it->string, "given twice");
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "version");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "V1") && strcmp(v->valuestring, "V2")))
			return mmds_fail(e, "version", "must be \"V1\" or \"V2\"");
		m.version = v->valuestring[1] == '2' ? 2 : 1;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "ipv4_address");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) || inet_pton(AF_INET, v->valuestring, &ia) != 1)
			return mmds_fail(e, "ipv4_address",
					 "must be an IPv4 address like 169.254.169.254");
		m.addr = ntohl(ia.s_addr);
		if (!mmds_addr_ok(m.addr))
			return mmds_fail(e, "ipv4_address", MMDS_NOT_LINK_LOCAL);
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "imds_compat");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			return mmds_fail(e, "imds_compat", "must be a boolean");
		m.imds_compat = cJSON_IsTrue(v);
	}
	ifs = cJSON_GetObjectItemCaseSensitive(o, "network_interfaces");
	if (!ifs)
		return mmds_fail(e, "network_interfaces",
				 "missing (a list of iface_id is required)");
	if (!cJSON_IsArray(ifs))
		return mmds_fail(e, "network_interfaces", "must be a list of iface_id strings");
	if (!cJSON_GetArraySize(ifs))
		return mmds_fail(e, "network_interfaces", MMDS_NO_IFACES);
	cJSON_ArrayForEach(it, ifs)
	{
		unsigned i;

		if (!cJSON_IsString(it))
			return mmds_fail(e, "network_interfaces",
					 "must be a list of iface_id strings");
		for (i = 0; i < cfg->nr_nets; i++)
			if (cfg->nets[i].id[0] && !strcmp(cfg->nets[i].id, it->valuestring))
				break;
		if (i == cfg->nr_nets)
			return mmds_fail(e, "network_interfaces", MMDS_BAD_IFACE);
		use[i] = true;
	}
	m.enabled = true;
	m.size_limit = cfg->mmds.size_limit;
	m.store = cfg->mmds.store;
	cfg->mmds = m;
	for (unsigned i = 0; i < cfg->nr_nets; i++)
		cfg->nets[i].mmds = use[i];
	if (m.store)
		mmds_store_configure(m.store, m.version, m.imds_compat);
	return 0;
}

cJSON *config_mmds_to_json(const struct vm_config *cfg)
{
	cJSON *o, *ifs;
	struct in_addr ia = {htonl(cfg->mmds.addr)};
	char addr[INET_ADDRSTRLEN];

	if (!cfg->mmds.enabled || !(o = cJSON_CreateObject()))
		return NULL;
	cJSON_AddStringToObject(o, "version", cfg->mmds.version == 2 ? "V2" : "V1");
	ifs = cJSON_AddArrayToObject(o, "network_interfaces");
	for (unsigned i = 0; i < cfg->nr_nets; i++)
		if (cfg->nets[i].mmds)
			cJSON_AddItemToArray(ifs, cJSON_CreateString(cfg->nets[i].id));
	inet_ntop(AF_INET, &ia, addr, sizeof(addr));
	cJSON_AddStringToObject(o, "ipv4_address", addr);
	cJSON_AddBoolToObject(o, "imds_compat", cfg->mmds.imds_compat);
	return o;
}

/* The status of one request; 200: *out is set, else msg unless 204. */
static int api_mmds_answer(struct api_vm *vm, enum http_method method, bool config,
			   const cJSON *body, char **out, char *msg, size_t len)
{
	struct mmds_store *s = vm->cfg->mmds.store;
	struct config_err e = {msg, len, ""};
	int err;

	if (config) {
		if (vm->phase != API_NOT_STARTED) {
			snprintf(msg, len,
				 "The requested operation is not supported after starting "
				 "the microVM.");
			return 400;
		}
		return config_set_mmds(body, vm->cfg, &e) < 0 ? 400 : 204;
	}
	if (!s) {
		snprintf(msg, len, "The MMDS data store is not initialized.");
		return 400;
	}
	if (method == HTTP_GET) {
		*out = mmds_store_json(s);
		if (*out)
			return 200;
		snprintf(msg, len, "out of memory");
		return 500;
	}
	err = method == HTTP_PUT ? mmds_store_put(s, body) : mmds_store_patch(s, body);
	if (err == -EFBIG) {
		snprintf(msg, len, "The MMDS patch request doesn't fit.");
		return 413;
	}
	if (err == -ENODATA) {
		snprintf(msg, len, "The MMDS data store is not initialized.");
		return 400;
	}
	if (err < 0) {
		snprintf(msg, len, "%s", strerror(-err));
		return 500;
	}
	return 204;
}

void api_mmds(struct api_vm *vm, enum http_method method, bool config, const cJSON *body,
	      int *status, char **out)
{
	char msg[600] = "";

	*out = NULL;
	*status = api_mmds_answer(vm, method, config, body, out, msg, sizeof(msg));
	if (*status >= 400)
		*out = api_fault(msg);
}
