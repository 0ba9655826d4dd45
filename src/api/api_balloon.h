/* The balloon's API resources after Firecracker's: GET/PATCH /balloon,
 * GET/PATCH /balloon/statistics, /balloon/hinting/{start,status,stop}
 * (PUT /balloon is a configuration like the others: config_set_balloon). */
#ifndef POPEK_API_BALLOON_H
#define POPEK_API_BALLOON_H

#include <cjson/cJSON.h>

#include "api/api_routes.h"

/* Answers method m on /balloon (sub NULL) or /balloon/SUB, vm->lock held;
 * body is the parsed body of a PATCH (NULL: none). Returns 200 with *json
 * (a new document for the caller), 204, 400 with msg, or 0 when m is not a
 * method of that path (the caller answers as for any wrong method). */
int api_balloon(struct api_vm *vm, enum http_method m, const char *sub, const cJSON *body,
		cJSON **json, char *msg, size_t len);

/* GET /vm/config: once the VM runs, doc's "balloon" becomes what the
 * device holds (a target PATCHed since, a restored machine's balloon).
 * Returns doc. */
cJSON *api_balloon_vm_config(struct api_vm *vm, cJSON *doc);

#endif
