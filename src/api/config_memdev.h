/* virtio-pmem and virtio-mem configuration from Firecracker's JSON. */
#ifndef POPEK_CONFIG_MEMDEV_H
#define POPEK_CONFIG_MEMDEV_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "api/config_file.h"

#define PMEM_MAX_BYTES  (64 * GiB)   /* one pmem file */
#define HOTPLUG_MAX_MIB (256 * 1024) /* the hot-plug area: 256 GiB */

/* pmem: id, path_on_host (required; a non-empty regular file popek can
 * open as read_only says), root_device, read_only (default false),
 * rate_limiter (on flush requests). A known id is replaced; at most one
 * root device among drives and pmem. 0 or -EINVAL with the key named in e. */
int config_set_pmem(const cJSON *o, const char *path_id, struct vm_config *cfg,
		    const struct config_store *st, const struct config_err *e);
/* memory-hotplug: total_size_mib (required, 1 to HOTPLUG_MAX_MIB, a
 * multiple of slot_size_mib), block_size_mib (default 2, a power of 2),
 * slot_size_mib (default 128, at least 128, a multiple of block_size_mib). */
int config_set_memory_hotplug(const cJSON *o, struct vm_config *cfg, const struct config_err *e);
/* GET /vm/config's "pmem" (an array) and "memory-hotplug" (null: none). */
cJSON *config_pmem_json(const struct vm_config *cfg);
cJSON *config_hotplug_json(const struct hotplug_config *h);
/* "root=/dev/pmemN rw|ro" for the root pmem into out; returns its length
 * (0: no root pmem; >= len: did not fit). */
int config_pmem_root_arg(const struct vm_config *cfg, char *out, size_t len);

#endif
