/* The API's /mmds and /mmds/config (Firecracker's MMDS resources) and the
 * config file's "mmds-config" section. */
#ifndef POPEK_API_MMDS_H
#define POPEK_API_MMDS_H

#include <cjson/cJSON.h>

#include "api/api_routes.h"
#include "api/config_file.h"

/*
 * mmds-config: network_interfaces (required, non-empty, each an existing
 * iface_id), version ("V1" default, "V2"), ipv4_address (default
 * 169.254.169.254; link-local 169.254.1.0-169.254.254.255), imds_compat.
 * Sets cfg->mmds and the interfaces' mmds flag. 0 or -EINVAL with one
 * message in e naming the key (Firecracker's text where it has one).
 */
int config_set_mmds(const cJSON *o, struct vm_config *cfg, const struct config_err *e);

/* cfg->mmds as Firecracker's "mmds-config" object (GET /vm/config), or
 * NULL when it is not configured. */
cJSON *config_mmds_to_json(const struct vm_config *cfg);

/*
 * Answers one request to /mmds (config false: GET, PUT, PATCH) or to
 * /mmds/config (PUT, before the start), vm->lock held, as api_route does:
 * *status 200 with the document as JSON in *out, 204 with no body, or
 * 400/413 with {"fault_message": ...}. The caller answers other methods.
 */
void api_mmds(struct api_vm *vm, enum http_method method, bool config, const cJSON *body,
	      int *status, char **out);

#endif
