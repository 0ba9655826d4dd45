/* PUT /snapshot/create and PUT /snapshot/load (issue 12), with Firecracker's
 * bodies and status codes. Both run with vm->lock held. */
#ifndef POPEK_API_SNAPSHOT_H
#define POPEK_API_SNAPSHOT_H

#include <cjson/cJSON.h>

#include "api/api_routes.h"

/* Writes the snapshot of the paused VM. Returns 204, or 400 with msg. */
int api_snapshot_create(struct api_vm *vm, const cJSON *body, char *msg, size_t len);
/* Checks the request and records it in vm->cfg (the paths in vm->st).
 * Returns 0 when the machine should now be built from the snapshot (the
 * caller starts it as InstanceStart does), or 400 with msg. */
int api_snapshot_load(struct api_vm *vm, const cJSON *body, char *msg, size_t len);

#endif
