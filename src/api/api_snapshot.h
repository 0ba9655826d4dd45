/* PUT /snapshot/create and PUT /snapshot/load (issue 12), with Firecracker's
 * bodies and status codes, and PUT /migrate. All run with vm->lock held. */
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
/* PUT /migrate {"uri": "unix:PATH" | "tcp:HOST:PORT"} (popek's extension;
 * Firecracker has no live migration): sends the running VM to a popek run
 * --incoming there, then stops this one. 204, or 400 with msg (the VM runs
 * on here). */
int api_migrate(struct api_vm *vm, const cJSON *body, char *msg, size_t len);

#endif
