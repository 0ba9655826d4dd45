/* PATCH /drives/{id} and PATCH /network-interfaces/{id}: Firecracker's
 * updates of a running VM's drive (backing file, rate limiter) and network
 * interface (rate limiters). Both run with vm->lock held. */
#ifndef POPEK_API_PATCH_H
#define POPEK_API_PATCH_H

#include <cjson/cJSON.h>

#include "api/api_routes.h"

/* {drive_id, path_on_host?, rate_limiter?}: 204 once the drive uses them,
 * or 400 with msg (before the start, a bad body, an unknown drive, a file
 * that cannot be opened; nothing changed then). */
int api_patch_drive(struct api_vm *vm, const char *id, const cJSON *body, char *msg, size_t len);
/* {iface_id, rx_rate_limiter?, tx_rate_limiter?}: 204 or 400 with msg. */
int api_patch_net(struct api_vm *vm, const char *id, const cJSON *body, char *msg, size_t len);
/* {id, rate_limiter?} (the pmem device's flush limiter): 204 or 400 with msg. */
int api_patch_pmem(struct api_vm *vm, const char *id, const cJSON *body, char *msg, size_t len);

#endif
