/* The memory devices' configuration: virtio-pmem (PUT /pmem/{id}, the config
 * file's "pmem") and virtio-mem (PUT /hotplug/memory, "memory-hotplug"),
 * with Firecracker's fields, defaults and rules, and back to JSON. */
#include "api/config_memdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/config_json_priv.h"

/* The file must be a regular file popek can map: non-empty, opened as the
 * device will (read-only or read-write). */
static int pmem_file_ok(const struct config_err *e, const struct pmem_config *p)
{
	struct stat sb;
	int fd = open(p->path, (p->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0)
		return cfg_fail(e, "path_on_host", "cannot open '%s' for %s: %s", p->path,
				p->read_only ? "reading" : "reading and writing", strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
		close(fd);
		return cfg_fail(e, "path_on_host", "'%s' is not a regular file with data", p->path);
	}
	close(fd);
	if ((u64)sb.st_size > PMEM_MAX_BYTES)
		return cfg_fail(e, "path_on_host", "'%s' is larger than %llu GiB", p->path,
				(unsigned long long)(PMEM_MAX_BYTES / GiB));
	return 0;
}

int config_set_pmem(const cJSON *o, const char *path_id, struct vm_config *cfg,
		    const struct config_store *st, const struct config_err *e)
{
	static const char *const keys[] = {"id",        "path_on_host", "root_device",
					   "read_only", "rate_limiter", NULL};
	struct pmem_config p;
	unsigned idx;

	memset(&p, 0, sizeof(p));
	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_str(e, o, "id", true, p.id, sizeof(p.id)) < 0 ||
	    cfg_get_str(e, o, "path_on_host", true, p.path, sizeof(p.path)) < 0 ||
	    cfg_get_bool(e, o, "root_device", false, &p.root_device) < 0 ||
	    cfg_get_bool(e, o, "read_only", false, &p.read_only) < 0 ||
	    config_get_rate_limiter(e, o, "rate_limiter", &p.rate_limiter) < 0)
		return -EINVAL;
	if (cfg_check_id(e, "id", p.id, path_id) < 0 || pmem_file_ok(e, &p) < 0)
		return -EINVAL;
	for (idx = 0; idx < cfg->nr_pmem; idx++)
		if (!strcmp(cfg->pmem[idx].id, p.id))
			break;
	if (idx == CONFIG_MAX_PMEM)
		return cfg_fail(e, "id", "'%s': at most %d pmem devices", p.id, CONFIG_MAX_PMEM);
	if (p.root_device && st->root_drive >= 0)
		return cfg_fail(e, "root_device", "drive '%s' is already the root device",
				cfg->disks[st->root_drive].id);
	for (unsigned i = 0; p.root_device && i < cfg->nr_pmem; i++)
		if (i != idx && cfg->pmem[i].root_device)
			return cfg_fail(e, "root_device", "pmem '%s' is already the root device",
					cfg->pmem[i].id);
	cfg->pmem[idx] = p;
	if (idx == cfg->nr_pmem)
		cfg->nr_pmem++;
	return 0;
}

int config_set_memory_hotplug(const cJSON *o, struct vm_config *cfg, const struct config_err *e)
{
	static const char *const keys[] = {"total_size_mib", "block_size_mib", "slot_size_mib",
					   NULL};
	u64 total = 0, block = 2, slot = 128;

	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_uint(e, o, "total_size_mib", true, 1, HOTPLUG_MAX_MIB, &total) < 0 ||
	    cfg_get_uint(e, o, "block_size_mib", false, 2, 0xffffffffULL, &block) < 0 ||
	    cfg_get_uint(e, o, "slot_size_mib", false, 128, 0xffffffffULL, &slot) < 0)
		return -EINVAL;
	if (block & (block - 1))
		return cfg_fail(e, "block_size_mib", "%llu is not a power of 2",
				(unsigned long long)block);
	if (slot % block)
		return cfg_fail(e, "slot_size_mib",
				"%llu is not a multiple of block_size_mib (%llu)",
				(unsigned long long)slot, (unsigned long long)block);
	if (total % slot)
		return cfg_fail(e, "total_size_mib",
				"%llu is not a multiple of slot_size_mib (%llu)",
				(unsigned long long)total, (unsigned long long)slot);
	cfg->hotplug = (struct hotplug_config){total * MiB, block * MiB, slot * MiB};
	return 0;
}

cJSON *config_pmem_json(const struct vm_config *cfg)
{
	cJSON *arr = cJSON_CreateArray();

	for (unsigned i = 0; arr && i < cfg->nr_pmem; i++) {
		const struct pmem_config *p = &cfg->pmem[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "path_on_host", p->path);
		cJSON_AddBoolToObject(o, "root_device", p->root_device);
		cJSON_AddBoolToObject(o, "read_only", p->read_only);
		config_add_rate_limiter(o, "rate_limiter", &p->rate_limiter);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *config_hotplug_json(const struct hotplug_config *h)
{
	cJSON *o;

	if (!h->total_size)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total_size_mib", (double)(h->total_size / MiB));
	cJSON_AddNumberToObject(o, "block_size_mib", (double)(h->block_size / MiB));
	cJSON_AddNumberToObject(o, "slot_size_mib", (double)(h->slot_size / MiB));
	return o;
}

int config_pmem_root_arg(const struct vm_config *cfg, char *out, size_t len)
{
	for (unsigned i = 0; i < cfg->nr_pmem; i++)
		if (cfg->pmem[i].root_device)
			return snprintf(out, len, "root=/dev/pmem%u %s", i,
					cfg->pmem[i].read_only ? "ro" : "rw");
	return 0;
}
