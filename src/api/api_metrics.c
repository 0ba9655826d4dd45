/* Firecracker's API request counters (put_api_requests and its siblings)
 * and the metrics file lines that carry them. */
#include "api/api_metrics.h"

#include <string.h>

#include "api/api_routes.h"

/* The counter of a request, or -1 when Firecracker has none for it. */
static int api_metrics_req(enum http_method m, const char *res, const char *id)
{
	static const struct {
		enum http_method method;
		const char *res;
		int id; /* 0: no {id}; 1: an {id}; 2: either */
		enum metrics_api_req req;
	} map[] = {
	    {HTTP_GET, "", 0, METRICS_GET_INSTANCE_INFO},
	    {HTTP_GET, "machine-config", 0, METRICS_GET_MACHINE_CFG},
	    {HTTP_GET, "mmds", 0, METRICS_GET_MMDS},
	    {HTTP_GET, "version", 0, METRICS_GET_VERSION},
	    {HTTP_PUT, "actions", 0, METRICS_PUT_ACTIONS},
	    {HTTP_PUT, "boot-source", 0, METRICS_PUT_BOOT_SOURCE},
	    {HTTP_PUT, "drives", 1, METRICS_PUT_DRIVE},
	    {HTTP_PUT, "logger", 0, METRICS_PUT_LOGGER},
	    {HTTP_PUT, "machine-config", 0, METRICS_PUT_MACHINE_CFG},
	    {HTTP_PUT, "cpu-config", 0, METRICS_PUT_CPU_CFG},
	    {HTTP_PUT, "metrics", 0, METRICS_PUT_METRICS},
	    {HTTP_PUT, "network-interfaces", 1, METRICS_PUT_NETWORK},
	    {HTTP_PUT, "mmds", 2, METRICS_PUT_MMDS},
	    {HTTP_PUT, "vsock", 0, METRICS_PUT_VSOCK},
	    {HTTP_PUT, "serial", 0, METRICS_PUT_SERIAL},
	    {HTTP_PATCH, "drives", 1, METRICS_PATCH_DRIVE},
	    {HTTP_PATCH, "network-interfaces", 1, METRICS_PATCH_NETWORK},
	    {HTTP_PATCH, "machine-config", 0, METRICS_PATCH_MACHINE_CFG},
	    {HTTP_PATCH, "mmds", 0, METRICS_PATCH_MMDS},
	};

	for (unsigned i = 0; i < ARRAY_SIZE(map); i++) {
		if (map[i].method != m || strcmp(map[i].res, res))
			continue;
		if (map[i].id == 2 || (map[i].id == 1) == (id != NULL))
			return (int)map[i].req;
	}
	return -1;
}

int api_metrics_count(struct metrics_api_counts *c, enum http_method m, const char *res,
		      const char *id)
{
	int r = api_metrics_req(m, res, id);

	if (r >= 0)
		c->count[r]++;
	return r;
}

void api_metrics_answered(struct metrics_api_counts *c, int req, int status, bool deprecated)
{
	if (deprecated)
		c->deprecated++;
	if (req >= 0 && status >= 400)
		c->fails[req]++;
}

int api_metrics_write(struct api_vm *vm, int fd)
{
	struct metrics_file_in in = {.api = &vm->fc};

	for (unsigned i = 0; i < vm->cfg->nr_nets && i < CONFIG_MAX_NETS; i++)
		in.net_ids[i] = vm->cfg->nets[i].id;
	return metrics_write(vm->m, &in, fd);
}
