/* libFuzzer harness for the Firecracker-layout JSON config (src/api/config_file.c,
 * config_json.c): any document either fails with a message or gives a
 * configuration whose config_to_json() output loads back to the same values.
 * Build: make build/fuzz/fuzz_config_file */
#include <stdlib.h>
#include <string.h>

#include "api/config_file.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static void fuzz_defaults(struct vm_config *cfg, struct config_store *st)
{
	memset(cfg, 0, sizeof(*cfg));
	config_store_init(st);
	cfg->nr_cpus = 1;
	cfg->mem_size = 256 * MiB;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct vm_config a, b;
	static struct config_store sa, sb;
	char err[600];
	char *text;
	cJSON *doc;

	fuzz_defaults(&a, &sa);
	err[0] = 0;
	if (config_json_load((const char *)data, size, &a, &sa, err, sizeof(err)) < 0) {
		if (!err[0] || strnlen(err, sizeof(err)) == sizeof(err))
			abort(); /* every failure explains itself */
		return 0;
	}
	if (a.nr_cpus < 1 || a.nr_cpus > CONFIG_MAX_CPUS || a.nr_disks > CONFIG_MAX_DISKS ||
	    a.nr_nets > CONFIG_MAX_NETS || a.mem_size < CONFIG_MIN_MEM ||
	    a.nr_pmem > CONFIG_MAX_PMEM || a.hotplug.total_size % (2 * MiB))
		abort();
	doc = config_to_json(&a, &sa, true);
	text = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return 0;
	fuzz_defaults(&b, &sb);
	/* Paths checked at load time may have vanished meanwhile: only a
	 * successful reload is compared. */
	if (config_json_load(text, strlen(text), &b, &sb, err, sizeof(err)) == 0) {
		if (b.nr_cpus != a.nr_cpus || b.mem_size != a.mem_size || b.engine != a.engine ||
		    b.nr_disks != a.nr_disks || b.nr_nets != a.nr_nets ||
		    sb.root_drive != sa.root_drive || memcmp(b.nets, a.nets, sizeof(a.nets)) ||
		    memcmp(&b.vsock, &a.vsock, sizeof(a.vsock)) || b.balloon != a.balloon ||
		    b.balloon_target_bytes != a.balloon_target_bytes)
			abort();
		for (unsigned i = 0; i < a.nr_disks; i++)
			if (memcmp(&b.disks[i].rate_limiter, &a.disks[i].rate_limiter,
				   sizeof(a.disks[i].rate_limiter)))
				abort();
		if (memcmp(&b.rng_rate_limiter, &a.rng_rate_limiter, sizeof(a.rng_rate_limiter)))
			abort();
		if (b.nr_pmem != a.nr_pmem || memcmp(b.pmem, a.pmem, sizeof(a.pmem)) ||
		    memcmp(&b.hotplug, &a.hotplug, sizeof(a.hotplug)))
			abort();
		if (config_finalize(&b, &sb, err, sizeof(err)) == 0 && sb.root_drive > 0)
			abort();
	}
	free(text);
	return 0;
}
