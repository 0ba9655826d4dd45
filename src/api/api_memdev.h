/* The memory devices' API: PUT and PATCH /pmem/{id}, PUT, PATCH and GET
 * /hotplug/memory, with Firecracker's states and answers. */
#ifndef POPEK_API_MEMDEV_H
#define POPEK_API_MEMDEV_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "api/api_routes.h"
#include "api/http.h"

/* Each returns the HTTP status: 204 (done), 200 (*doc set: GET
 * /hotplug/memory) or 400 with the fault message in msg. vm->lock held. */
int api_pmem(struct api_vm *vm, enum http_method method, const char *id, const cJSON *body,
	     char *msg, size_t len);
int api_hotplug(struct api_vm *vm, enum http_method method, const cJSON *body, cJSON **doc,
		char *msg, size_t len);

#endif
