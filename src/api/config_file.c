/* --config-file: a whole Firecracker config document into struct vm_config,
 * the final touches before boot, and the configuration back as JSON. */
#include "api/config_file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/config_cpu.h"
#include "api/config_memdev.h"
#include "api/api_mmds.h"
#include "popek/log.h"

void config_store_init(struct config_store *st)
{
	memset(st, 0, sizeof(*st));
	st->root_drive = -1;
}

/* Line and column (from 1) of offset in text, for parse errors. */
static void config_position(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Applies each element of an array section ("drives", "pmem",
 * "network-interfaces"). */
static int config_load_array(const cJSON *arr, const char *name, struct vm_config *cfg,
			     struct config_store *st, char *err, size_t errlen)
{
	struct config_err e = {err, errlen, ""};
	const cJSON *it;
	unsigned i = 0;

	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "%s: must be an array", name);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, arr)
	{
		char prefix[64];
		int r;

		snprintf(prefix, sizeof(prefix), "%s[%u].", name, i++);
		e.prefix = prefix;
		if (!strcmp(name, "drives"))
			r = config_set_drive(it, NULL, cfg, st, &e);
		else if (!strcmp(name, "pmem"))
			r = config_set_pmem(it, NULL, cfg, st, &e);
		else
			r = config_set_net(it, NULL, cfg, &e);
		if (r < 0)
			return r;
	}
	return 0;
}

int config_json_load(const char *text, size_t len, struct vm_config *cfg, struct config_store *st,
		     char *err, size_t errlen)
{
	static const char *const sections[] = {
	    "machine-config", "boot-source", "drives",  "network-interfaces", "vsock", "balloon",
	    "metrics",        "logger",      "entropy", "cpu-config",         "mmds-config",
	    "pmem",           "memory-hotplug", NULL};
	const char *end = NULL;
	const cJSON *it;
	cJSON *doc;
	int r = 0;

	doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!doc) {
		unsigned line, col;
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		config_position(text, off, &line, &col);
		snprintf(err, errlen, "malformed JSON at line %u, column %u", line, col);
		return -EINVAL;
	}
	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "the document must be a JSON object");
		r = -EINVAL;
		goto out;
	}
	/* Unknown and duplicate top-level keys first, then sections in an
	 * order where nothing depends on what comes later. */
	cJSON_ArrayForEach(it, doc)
	{
		bool known = false;
		for (unsigned i = 0; sections[i]; i++)
			known |= !strcmp(it->string, sections[i]);
		if (!known) {
			char key[80];
			log_escape(key, sizeof(key), it->string, strnlen(it->string, 64));
			snprintf(err, errlen, "%s: unknown key", key);
			r = -EINVAL;
			goto out;
		}
		for (const cJSON *p = doc->child; p != it; p = p->next)
			if (!strcmp(p->string, it->string)) {
				snprintf(err, errlen, "%s: given twice", it->string);
				r = -EINVAL;
				goto out;
			}
	}
	for (unsigned i = 0; sections[i] && !r; i++) {
		const char *name = sections[i];
		char prefix[32];
		struct config_err e = {err, errlen, prefix};

		it = cJSON_GetObjectItemCaseSensitive(doc, name);
		if (!it || cJSON_IsNull(it))
			continue;
		snprintf(prefix, sizeof(prefix), "%s.", name);
		if (!strcmp(name, "machine-config"))
			r = config_set_machine(it, cfg, &e);
		else if (!strcmp(name, "boot-source"))
			r = config_set_boot_source(it, cfg, st, &e);
		else if (!strcmp(name, "drives") || !strcmp(name, "network-interfaces") ||
			 !strcmp(name, "pmem"))
			r = config_load_array(it, name, cfg, st, err, errlen);
		else if (!strcmp(name, "memory-hotplug"))
			r = config_set_memory_hotplug(it, cfg, &e);
		else if (!strcmp(name, "vsock"))
			r = config_set_vsock(it, cfg, &e);
		else if (!strcmp(name, "balloon"))
			r = config_set_balloon(it, cfg, &e);
		else if (!strcmp(name, "logger"))
			r = config_set_logger(it, cfg, st, &e);
		else if (!strcmp(name, "entropy"))
			r = config_set_entropy(it, cfg, &e);
		else if (!strcmp(name, "cpu-config"))
			r = config_set_cpu_config(it, cfg, &e);
		else if (!strcmp(name, "mmds-config"))
			r = config_set_mmds(it, cfg, &e);
		else
			r = config_set_metrics(it, cfg, st, &e);
	}
out:
	cJSON_Delete(doc);
	return r;
}

int config_file_load(const char *path, struct vm_config *cfg, struct config_store *st)
{
	char err[600];
	struct stat sb;
	char *text;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		r = -errno;
		log_error("--config-file '%s': %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > CONFIG_JSON_MAX) {
		log_error("--config-file '%s': not a regular file of at most %d bytes", path,
			  CONFIG_JSON_MAX);
		close(fd);
		return -EINVAL;
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, text, (size_t)sb.st_size);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0 || n != sb.st_size) {
		log_error("--config-file '%s': cannot read: %s", path,
			  r ? strerror(-r) : "short read");
		free(text);
		return r ? r : -EIO;
	}
	text[n] = 0;
	r = config_json_load(text, (size_t)n, cfg, st, err, sizeof(err));
	free(text);
	if (r < 0)
		log_error("--config-file '%s': %s", path, err);
	return r;
}

int config_finalize(struct vm_config *cfg, struct config_store *st, char *err, size_t errlen)
{
	const char *args = cfg->cmdline ? cfg->cmdline : "";
	char pmem_root[40];
	int n;

	if (st->root_drive < 0 && config_pmem_root_arg(cfg, pmem_root, sizeof(pmem_root)) > 0) {
		if (strstr(args, "root="))
			return 0;
		n = snprintf(st->cmdline, sizeof(st->cmdline), "%s%s%s", args, *args ? " " : "",
			     pmem_root);
		if (n < 0 || (size_t)n >= sizeof(st->cmdline)) {
			snprintf(err, errlen, "boot_args: too long to add %s", pmem_root);
			return -ENOSPC;
		}
		cfg->cmdline = st->cmdline;
		return 0;
	}
	if (st->root_drive < 0)
		return 0;
	cfg->disk0_is_root = true; /* a snapshot keeps it (snapshot_fc.c) */
	if (st->root_drive > 0) {
		struct disk_config root = cfg->disks[st->root_drive];
		memmove(&cfg->disks[1], &cfg->disks[0], (size_t)st->root_drive * sizeof(root));
		cfg->disks[0] = root;
		st->root_drive = 0;
	}
	if (strstr(args, "root="))
		return 0;
	/* Firecracker's rule: a root drive with a partuuid is found by it. */
	if (cfg->disks[0].partuuid[0])
		n = snprintf(st->cmdline, sizeof(st->cmdline), "%s%sroot=PARTUUID=%s %s", args,
			     *args ? " " : "", cfg->disks[0].partuuid,
			     cfg->disks[0].readonly ? "ro" : "rw");
	else
		n = snprintf(st->cmdline, sizeof(st->cmdline), "%s%sroot=/dev/vda %s", args,
			     *args ? " " : "", cfg->disks[0].readonly ? "ro" : "rw");
	if (n < 0 || (size_t)n >= sizeof(st->cmdline)) {
		snprintf(err, errlen, "boot_args: too long to add root=/dev/vda");
		return -ENOSPC;
	}
	cfg->cmdline = st->cmdline;
	return 0;
}

/* A log level under Firecracker's name for it (Logger.level's enum). */
static const char *config_fc_level(int level)
{
	switch (level) {
	case LOG_ERROR:
		return "Error";
	case LOG_WARN:
		return "Warning";
	case LOG_INFO:
		return "Info";
	default:
		return "Debug";
	}
}

static void config_add_str(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *config_net_json(const struct vm_config *cfg, unsigned i, bool popek)
{
	const struct net_config *n = &cfg->nets[i];
	cJSON *o = cJSON_CreateObject(), *fwd;
	char name[24], mac[24];

	snprintf(name, sizeof(name), "eth%u", i);
	cJSON_AddStringToObject(o, "iface_id", n->id[0] ? n->id : name);
	if (popek)
		cJSON_AddStringToObject(o, "mode", n->mode == NET_TAP ? "tap" : "user");
	if (n->mode == NET_TAP)
		cJSON_AddStringToObject(o, "host_dev_name", n->ifname);
	if (n->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		cJSON_AddStringToObject(o, "guest_mac", mac);
	}
	if (n->mtu)
		cJSON_AddNumberToObject(o, "mtu", n->mtu);
	if (n->mode == NET_USER && popek) {
		fwd = cJSON_AddArrayToObject(o, "hostfwd");
		for (unsigned f = 0; fwd && f < n->nr_hostfwd; f++) {
			cJSON *h = cJSON_CreateObject();
			struct in_addr in = {htonl(n->hostfwd[f].host_addr)};
			char addr[INET_ADDRSTRLEN];
			cJSON_AddStringToObject(h, "protocol", "tcp");
			/* 0, the default, stands for 127.0.0.1 */
			if (n->hostfwd[f].host_addr && inet_ntop(AF_INET, &in, addr, sizeof(addr)))
				cJSON_AddStringToObject(h, "host_addr", addr);
			cJSON_AddNumberToObject(h, "host_port", n->hostfwd[f].host_port);
			cJSON_AddNumberToObject(h, "guest_port", n->hostfwd[f].guest_port);
			cJSON_AddItemToArray(fwd, h);
		}
	}
	config_add_rate_limiter(o, "rx_rate_limiter", &n->rx_rate_limiter);
	config_add_rate_limiter(o, "tx_rate_limiter", &n->tx_rate_limiter);
	return o;
}

cJSON *config_to_json(const struct vm_config *cfg, const struct config_store *st, bool popek)
{
	cJSON *doc = cJSON_CreateObject(), *o, *arr;

	if (!doc)
		return NULL;
	o = cJSON_AddObjectToObject(doc, "boot-source");
	config_add_str(o, "kernel_image_path", cfg->kernel_path);
	config_add_str(o, "initrd_path", cfg->initrd_path);
	config_add_str(o, "boot_args", cfg->cmdline);
	arr = cJSON_AddArrayToObject(doc, "drives");
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		char name[24];
		snprintf(name, sizeof(name), "drive%u", i);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "drive_id", d->id[0] ? d->id : name);
		cJSON_AddStringToObject(o, "path_on_host", d->path);
		cJSON_AddBoolToObject(o, "is_root_device", st->root_drive == (int)i);
		cJSON_AddBoolToObject(o, "is_read_only", d->readonly);
		if (d->partuuid[0])
			cJSON_AddStringToObject(o, "partuuid", d->partuuid);
		cJSON_AddStringToObject(o, "cache_type",
					d->cache == DISK_CACHE_UNSAFE ? "Unsafe" : "Writeback");
		cJSON_AddStringToObject(o, "io_engine", d->io_async ? "Async" : "Sync");
		config_add_rate_limiter(o, "rate_limiter", &d->rate_limiter);
		cJSON_AddItemToArray(arr, o);
	}
	o = cJSON_AddObjectToObject(doc, "machine-config");
	cJSON_AddNumberToObject(o, "vcpu_count", cfg->nr_cpus);
	cJSON_AddNumberToObject(o, "mem_size_mib", (double)(cfg->mem_size / MiB));
	cJSON_AddBoolToObject(o, "smt", false);
	cJSON_AddBoolToObject(o, "track_dirty_pages", cfg->track_dirty_pages);
	cJSON_AddStringToObject(o, "huge_pages", "None");
	if (popek) {
		cJSON_AddStringToObject(o, "engine", config_engine_name(cfg->engine));
		cJSON_AddStringToObject(o, "cpu_vendor", config_vendor_name(cfg->cpu_vendor));
		cJSON_AddBoolToObject(o, "pv", !cfg->no_pv);
		cJSON_AddBoolToObject(o, "soft_jit", !cfg->soft_jit_off);
		cJSON_AddNumberToObject(
		    o, "soft_jit_cache_mib",
		    (double)((cfg->soft_jit_cache ? cfg->soft_jit_cache : CONFIG_SOFT_JIT_CACHE) /
			     MiB));
	}
	arr = cJSON_AddArrayToObject(doc, "network-interfaces");
	for (unsigned i = 0; i < cfg->nr_nets; i++)
		if (popek || cfg->nets[i].mode == NET_TAP)
			cJSON_AddItemToArray(arr, config_net_json(cfg, i, popek));
	if (cfg->vsock.enabled) {
		o = cJSON_AddObjectToObject(doc, "vsock");
		cJSON_AddNumberToObject(o, "guest_cid", cfg->vsock.guest_cid);
		cJSON_AddStringToObject(o, "uds_path", cfg->vsock.uds_path);
	} else {
		cJSON_AddNullToObject(doc, "vsock");
	}
	if (cfg->balloon) {
		o = cJSON_AddObjectToObject(doc, "balloon");
		cJSON_AddNumberToObject(o, "amount_mib", (double)(cfg->balloon_target_bytes / MiB));
		cJSON_AddBoolToObject(o, "deflate_on_oom", cfg->balloon_deflate_on_oom);
		cJSON_AddNumberToObject(o, "stats_polling_interval_s", cfg->balloon_stats_interval_s);
		cJSON_AddBoolToObject(o, "free_page_hinting", cfg->balloon_hinting);
		cJSON_AddBoolToObject(o, "free_page_reporting", cfg->balloon_reporting);
	} else {
		cJSON_AddNullToObject(doc, "balloon");
	}
	if (cfg->metrics_file) {
		o = cJSON_AddObjectToObject(doc, "metrics");
		cJSON_AddStringToObject(o, "metrics_path", cfg->metrics_file);
	} else {
		cJSON_AddNullToObject(doc, "metrics");
	}
	if (cfg->mmds.enabled)
		cJSON_AddItemToObject(doc, "mmds-config", config_mmds_to_json(cfg));
	o = config_cpu_config_json(cfg);
	if (o)
		cJSON_AddItemToObject(doc, "cpu-config", o);
	else
		cJSON_AddNullToObject(doc, "cpu-config");
	cJSON_AddItemToObject(doc, "pmem", config_pmem_json(cfg));
	cJSON_AddItemToObject(doc, "memory-hotplug", config_hotplug_json(&cfg->hotplug));
	if (cfg->rng && (o = cJSON_AddObjectToObject(doc, "entropy")))
		config_add_rate_limiter(o, "rate_limiter", &cfg->rng_rate_limiter);
	else if (!cfg->rng)
		cJSON_AddNullToObject(doc, "entropy");
	if (cfg->log_level >= 0 || cfg->log_path) {
		o = cJSON_AddObjectToObject(doc, "logger");
		if (cfg->log_level >= 0)
			cJSON_AddStringToObject(o, "level", config_fc_level(cfg->log_level));
		if (cfg->log_path)
			cJSON_AddStringToObject(o, "log_path", cfg->log_path);
	} else {
		cJSON_AddNullToObject(doc, "logger");
	}
	return doc;
}
