/* One Firecracker resource (machine-config, boot-source, drives, ...) as a
 * JSON object into struct vm_config: typed, range-checked, unknown keys refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/config_file.h"
#include "api/config_json_priv.h"
#include "popek/log.h"

int cfg_fail(const struct config_err *e, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		snprintf(e->buf, e->len, "%s%s: %s", e->prefix, key, msg);
	else if (*e->prefix) /* "drives[1]." names the object as "drives[1]" */
		snprintf(e->buf, e->len, "%.*s: %s", (int)strlen(e->prefix) - 1, e->prefix, msg);
	else
		snprintf(e->buf, e->len, "request body: %s", msg);
	return -EINVAL;
}

/* Firecracker's own message, word for word: in the API as it is, in a
 * config file after the object's name ("network-interfaces[1]: ..."). */
static int cfg_fail_as_is(const struct config_err *e, const char *fmt, ...) PRINTF_FMT(2, 3);

static int cfg_fail_as_is(const struct config_err *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*e->prefix)
		snprintf(e->buf, e->len, "%.*s: %s", (int)strlen(e->prefix) - 1, e->prefix, msg);
	else
		snprintf(e->buf, e->len, "%s", msg);
	return -EINVAL;
}

const char *cfg_type_name(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

/* The object itself must be an object whose keys are all in allowed (a
 * NULL-terminated list), each at most once. */
int cfg_check_keys(const struct config_err *e, const cJSON *o, const char *const *allowed)
{
	const cJSON *it, *prev;

	if (!cJSON_IsObject(o))
		return cfg_fail(e, NULL, "must be a JSON object, not %s", cfg_type_name(o));
	cJSON_ArrayForEach(it, o)
	{
		bool known = false;
		char key[80];

		/* Keys are the user's bytes: escaped before they reach a message. */
		log_escape(key, sizeof(key), it->string, strnlen(it->string, 64));
		for (unsigned i = 0; allowed[i]; i++)
			known |= !strcmp(key, allowed[i]);
		if (!known)
			return cfg_fail(e, key, "unknown key");
		for (prev = o->child; prev != it; prev = prev->next)
			if (prev->string && !strcmp(prev->string, it->string))
				return cfg_fail(e, key, "given twice");
	}
	return 0;
}

/* Each getter: 1 when the key is present (value stored), 0 when absent or
 * null and not required, -EINVAL (message in e) otherwise. */
int cfg_get_uint(const struct config_err *e, const cJSON *o, const char *key, bool required,
		 u64 min, u64 max, u64 *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	double d;

	if (!v || cJSON_IsNull(v))
		return required ? cfg_fail(e, key, "missing (an integer is required)") : 0;
	if (!cJSON_IsNumber(v))
		return cfg_fail(e, key, "must be an integer, not %s", cfg_type_name(v));
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
		return cfg_fail(e, key, "must be an integer from %llu to %llu (got %.17g)",
				(unsigned long long)min, (unsigned long long)max, d);
	*out = (u64)d;
	return 1;
}

int cfg_get_bool(const struct config_err *e, const cJSON *o, const char *key, bool required,
		 bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v || (cJSON_IsNull(v) && !required))
		return required ? cfg_fail(e, key, "missing (true or false is required)") : 0;
	if (!cJSON_IsBool(v))
		return cfg_fail(e, key, "must be true or false, not %s", cfg_type_name(v));
	*out = cJSON_IsTrue(v);
	return 1;
}

/* Strings must be non-empty, shorter than size and free of control bytes. */
int cfg_get_str(const struct config_err *e, const cJSON *o, const char *key, bool required,
		char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t n;

	if (!v || cJSON_IsNull(v))
		return required ? cfg_fail(e, key, "missing (a string is required)") : 0;
	if (!cJSON_IsString(v))
		return cfg_fail(e, key, "must be a string, not %s", cfg_type_name(v));
	n = strlen(v->valuestring);
	if (!n)
		return cfg_fail(e, key, "must not be empty");
	if (n >= size)
		return cfg_fail(e, key, "too long (%zu bytes; at most %zu)", n, size - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
			return cfg_fail(e, key, "contains a control character");
	memcpy(out, v->valuestring, n + 1);
	return 1;
}

/* Only the given string (or null/absent) is accepted: features popek lacks. */
static int cfg_only_str(const struct config_err *e, const cJSON *o, const char *key, const char *a,
			const char *b)
{
	char s[64];
	int r = cfg_get_str(e, o, key, false, s, sizeof(s));

	if (r <= 0)
		return r;
	if (strcmp(s, a) && (!b || strcmp(s, b)))
		return cfg_fail(e, key, "'%s' is not supported (only \"%s\"%s%s%s)", s, a,
				b ? " or \"" : "", b ? b : "", b ? "\"" : "");
	return 0;
}

static int cfg_only_null(const struct config_err *e, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v && !cJSON_IsNull(v))
		return cfg_fail(e, key, "not supported by popek (must be null or absent)");
	return 0;
}

static int cfg_only_false(const struct config_err *e, const cJSON *o, const char *key)
{
	bool b = false;
	int r = cfg_get_bool(e, o, key, false, &b);

	if (r < 0)
		return r;
	return b ? cfg_fail(e, key, "true is not supported by popek") : 0;
}

static int cfg_readable(const struct config_err *e, const char *key, const char *path)
{
	if (access(path, R_OK) < 0)
		return cfg_fail(e, key, "cannot read '%s': %s", path, strerror(errno));
	return 0;
}

int config_set_machine(const cJSON *o, struct vm_config *cfg, const struct config_err *e)
{
	static const char *const keys[] = {
	    "vcpu_count",   "mem_size_mib",       "smt",    "track_dirty_pages",
	    "cpu_template", "huge_pages",         "engine", "cpu_vendor",
	    "soft_jit",     "soft_jit_cache_mib", "pv",     NULL};
	u64 cpus, mib;
	enum engine_kind engine = cfg->engine;
	enum cpu_vendor vendor = cfg->cpu_vendor;
	bool pv = !cfg->no_pv;
	char name[16];
	int r;

	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_uint(e, o, "vcpu_count", true, 1, CONFIG_MAX_CPUS, &cpus) < 0 ||
	    cfg_get_uint(e, o, "mem_size_mib", true, CONFIG_MIN_MEM / MiB, 1024 * 1024, &mib) < 0 ||
	    cfg_only_false(e, o, "smt") < 0 ||
	    cfg_only_str(e, o, "cpu_template", "None", NULL) < 0 ||
	    cfg_only_str(e, o, "huge_pages", "None", NULL) < 0)
		return -EINVAL;
	r = cfg_get_str(e, o, "engine", false, name, sizeof(name));
	if (r < 0)
		return r;
	if (r > 0) {
		if (!strcmp(name, "auto"))
			engine = ENGINE_AUTO;
		else if (!strcmp(name, "kvm"))
			engine = ENGINE_KVM;
		else if (!strcmp(name, "soft"))
			engine = ENGINE_SOFT;
		else
			return cfg_fail(e, "engine",
					"'%s' is not one of \"auto\", \"kvm\", \"soft\"", name);
	}
	/* popek's extension: the CPU vendor the guest sees (--cpu-vendor). */
	r = cfg_get_str(e, o, "cpu_vendor", false, name, sizeof(name));
	if (r < 0)
		return r;
	if (r > 0 && config_vendor_parse(name, &vendor) < 0)
		return cfg_fail(e, "cpu_vendor", "'%s' is not one of \"host\", \"intel\", \"amd\"",
				name);
	/* popek's extensions for the soft engine's translator (--soft-jit). */
	bool jit = !cfg->soft_jit_off;
	u64 jit_mib = cfg->soft_jit_cache / MiB;
	if (cfg_get_bool(e, o, "soft_jit", false, &jit) < 0 ||
	    cfg_get_uint(e, o, "soft_jit_cache_mib", false, 1, 1024, &jit_mib) < 0)
		return -EINVAL;
	/* popek's extension: false offers no KVM PV features but kvmclock (--no-pv). */
	if (cfg_get_bool(e, o, "pv", false, &pv) < 0)
		return -EINVAL;
	bool track = false; /* Diff snapshots need it (vmm/dirty_log.c) */
	if (cfg_get_bool(e, o, "track_dirty_pages", false, &track) < 0)
		return -EINVAL;
	if (cfg->balloon && mib * MiB < cfg->balloon_target_bytes) /* as Firecracker */
		return cfg_fail(e, "mem_size_mib",
				"The memory size (MiB) is smaller than the previously set balloon "
				"device target size.");
	cfg->nr_cpus = (unsigned)cpus;
	cfg->mem_size = mib * MiB;
	cfg->engine = engine;
	cfg->cpu_vendor = vendor;
	cfg->no_pv = !pv;
	cfg->track_dirty_pages = track;
	cfg->soft_jit_off = !jit;
	cfg->soft_jit_cache = jit_mib * MiB;
	return 0;
}

int config_set_boot_source(const cJSON *o, struct vm_config *cfg, struct config_store *st,
			   const struct config_err *e)
{
	static const char *const keys[] = {"kernel_image_path", "initrd_path", "boot_args", NULL};
	char kernel[CONFIG_PATH_MAX], initrd[CONFIG_PATH_MAX], args[CONFIG_CMDLINE_MAX];
	int has_initrd, has_args;

	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_str(e, o, "kernel_image_path", true, kernel, sizeof(kernel)) < 0)
		return -EINVAL;
	has_initrd = cfg_get_str(e, o, "initrd_path", false, initrd, sizeof(initrd));
	if (has_initrd < 0)
		return -EINVAL;
	has_args = cfg_get_str(e, o, "boot_args", false, args, sizeof(args));
	if (has_args < 0 || cfg_readable(e, "kernel_image_path", kernel) < 0 ||
	    (has_initrd && cfg_readable(e, "initrd_path", initrd) < 0))
		return -EINVAL;
	strcpy(st->kernel, kernel);
	cfg->kernel_path = st->kernel;
	cfg->initrd_path = NULL;
	if (has_initrd) {
		strcpy(st->initrd, initrd);
		cfg->initrd_path = st->initrd;
	}
	cfg->cmdline = NULL;
	if (has_args) {
		strcpy(st->boot_args, args);
		cfg->cmdline = st->boot_args;
	}
	return 0;
}

int cfg_check_id(const struct config_err *e, const char *key, const char *id, const char *path_id)
{
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return cfg_fail(e, key, "'%s' may only contain letters, digits and '_'",
					id);
	if (path_id && strcmp(path_id, id))
		return cfg_fail(e, key, "'%s' does not match the id in the request path ('%s')", id,
				path_id);
	return 0;
}

int config_set_drive(const cJSON *o, const char *path_id, struct vm_config *cfg,
		     struct config_store *st, const struct config_err *e)
{
	static const char *const keys[] = {
	    "drive_id",   "path_on_host", "is_root_device", "is_read_only", "partuuid",
	    "cache_type", "io_engine",    "rate_limiter",   "socket",       NULL};
	struct disk_config d;
	char cache[16] = "Unsafe", engine[16] = "Sync";
	bool root = false;
	unsigned idx;

	memset(&d, 0, sizeof(d));
	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_str(e, o, "drive_id", true, d.id, sizeof(d.id)) < 0 ||
	    cfg_check_id(e, "drive_id", d.id, path_id) < 0 ||
	    cfg_get_str(e, o, "path_on_host", true, d.path, sizeof(d.path)) < 0 ||
	    cfg_get_bool(e, o, "is_root_device", true, &root) < 0 ||
	    cfg_get_bool(e, o, "is_read_only", false, &d.readonly) < 0 ||
	    cfg_get_str(e, o, "partuuid", false, d.partuuid, sizeof(d.partuuid)) < 0 ||
	    cfg_get_str(e, o, "cache_type", false, cache, sizeof(cache)) < 0 ||
	    cfg_get_str(e, o, "io_engine", false, engine, sizeof(engine)) < 0 ||
	    config_get_rate_limiter(e, o, "rate_limiter", &d.rate_limiter) < 0 ||
	    cfg_only_null(e, o, "socket") < 0)
		return -EINVAL;
	if (strcmp(cache, "Unsafe") && strcmp(cache, "Writeback"))
		return cfg_fail(e, "cache_type", "'%s' is not \"Unsafe\" or \"Writeback\"", cache);
	if (strcmp(engine, "Sync") && strcmp(engine, "Async"))
		return cfg_fail(e, "io_engine", "'%s' is not \"Sync\" or \"Async\"", engine);
	/* Firecracker's default is Unsafe: no flush offered to the guest. */
	d.cache = strcmp(cache, "Writeback") ? DISK_CACHE_UNSAFE : DISK_CACHE_WRITEBACK;
	d.io_async = !strcmp(engine, "Async");
	for (const char *p = d.partuuid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F') || *p == '-'))
			return cfg_fail(e, "partuuid",
					"'%s' is not a partition UUID (hexadecimal digits and '-')",
					d.partuuid);
	if (access(d.path, d.readonly ? R_OK : R_OK | W_OK) < 0)
		return cfg_fail(e, "path_on_host", "cannot open '%s' for %s: %s", d.path,
				d.readonly ? "reading" : "reading and writing", strerror(errno));
	for (idx = 0; idx < cfg->nr_disks; idx++)
		if (!strcmp(cfg->disks[idx].id, d.id))
			break;
	if (idx == CONFIG_MAX_DISKS)
		return cfg_fail(e, "drive_id", "'%s': at most %d drives", d.id, CONFIG_MAX_DISKS);
	if (root && st->root_drive >= 0 && (unsigned)st->root_drive != idx)
		return cfg_fail(e, "is_root_device", "drive '%s' is already the root device",
				cfg->disks[st->root_drive].id);
	for (unsigned i = 0; root && i < cfg->nr_pmem; i++)
		if (cfg->pmem[i].root_device)
			return cfg_fail(e, "is_root_device", "pmem '%s' is already the root device",
					cfg->pmem[i].id);
	cfg->disks[idx] = d;
	if (idx == cfg->nr_disks)
		cfg->nr_disks++;
	if (root)
		st->root_drive = (int)idx;
	else if (st->root_drive == (int)idx)
		st->root_drive = -1;
	return 0;
}

static bool cfg_parse_mac(const char *s, u8 mac[6])
{
	unsigned v[6];
	char extra;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &extra) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (u8)v[i];
	return !(mac[0] & 1); /* a unicast address */
}

static int cfg_hostfwd(const struct config_err *e, const cJSON *arr, struct net_config *n)
{
	static const char *const keys[] = {"protocol", "host_addr", "host_port", "guest_port",
					   NULL};
	const cJSON *it;

	if (!cJSON_IsArray(arr))
		return cfg_fail(e, "hostfwd", "must be an array, not %s", cfg_type_name(arr));
	cJSON_ArrayForEach(it, arr)
	{
		struct hostfwd_config *f = &n->hostfwd[n->nr_hostfwd];
		char prefix[96], addr[INET_ADDRSTRLEN];
		struct config_err fe = *e;
		struct in_addr in;
		u64 hport, gport;
		int r;

		snprintf(prefix, sizeof(prefix), "%shostfwd[%u].", e->prefix, n->nr_hostfwd);
		fe.prefix = prefix;
		if (n->nr_hostfwd == CONFIG_MAX_HOSTFWD)
			return cfg_fail(e, "hostfwd", "at most %d forwards", CONFIG_MAX_HOSTFWD);
		if (cfg_check_keys(&fe, it, keys) < 0 ||
		    cfg_only_str(&fe, it, "protocol", "tcp", NULL) < 0 ||
		    cfg_get_uint(&fe, it, "host_port", true, 1, 65535, &hport) < 0 ||
		    cfg_get_uint(&fe, it, "guest_port", true, 1, 65535, &gport) < 0)
			return -EINVAL;
		r = cfg_get_str(&fe, it, "host_addr", false, addr, sizeof(addr));
		if (r < 0)
			return r;
		f->host_addr = 0;
		if (r > 0) {
			if (inet_pton(AF_INET, addr, &in) != 1)
				return cfg_fail(&fe, "host_addr", "'%s' is not an IPv4 address",
						addr);
			f->host_addr = ntohl(in.s_addr);
		}
		f->host_port = (u16)hport;
		f->guest_port = (u16)gport;
		n->nr_hostfwd++;
	}
	return 0;
}

/*
 * Another interface (not the one at idx, which this one replaces) with the
 * same guest MAC or tap: refused now, with Firecracker's messages (its tap
 * check is the kernel's EBUSY when it opens the tap at PUT time).
 */
static int cfg_net_conflict(const struct config_err *e, const struct vm_config *cfg, unsigned idx,
			    const struct net_config *n, const char *mac)
{
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *o = &cfg->nets[i];
		if (i == idx)
			continue;
		if (n->has_mac && o->has_mac && !memcmp(n->mac, o->mac, 6)) {
			return cfg_fail_as_is(e, "Network config error: The MAC address is already "
						 "in use: %s",
					      mac);
		}
		if (n->mode == NET_TAP && o->mode == NET_TAP && !strcmp(n->ifname, o->ifname)) {
			return cfg_fail_as_is(
			    e,
			    "Network config error: Could not create the network device: Open tap "
			    "device failed: Error while creating ifreq structure: Device or resource "
			    "busy (os error 16). Invalid TUN/TAP Backend provided by %s. Check our "
			    "documentation on setting up the network devices.",
			    n->ifname);
		}
	}
	return 0;
}

int config_set_net(const cJSON *o, const char *path_id, struct vm_config *cfg,
		   const struct config_err *e)
{
	static const char *const keys[] = {
	    "iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter", "tx_rate_limiter",
	    "mtu",      "mode",          "hostfwd",   NULL};
	char id[CONFIG_ID_MAX + 1], mode[8] = "tap", mac[32];
	const cJSON *fwd;
	struct net_config n;
	int r, has_dev;
	unsigned idx;
	u64 mtu = 0;

	memset(&n, 0, sizeof(n));
	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_str(e, o, "iface_id", true, id, sizeof(id)) < 0 ||
	    cfg_check_id(e, "iface_id", id, path_id) < 0 ||
	    config_get_rate_limiter(e, o, "rx_rate_limiter", &n.rx_rate_limiter) < 0 ||
	    config_get_rate_limiter(e, o, "tx_rate_limiter", &n.tx_rate_limiter) < 0 ||
	    cfg_get_str(e, o, "mode", false, mode, sizeof(mode)) < 0)
		return -EINVAL;
	if (strcmp(mode, "tap") && strcmp(mode, "user"))
		return cfg_fail(e, "mode", "'%s' is not \"tap\" or \"user\"", mode);
	n.mode = strcmp(mode, "tap") ? NET_USER : NET_TAP;
	has_dev = cfg_get_str(e, o, "host_dev_name", n.mode == NET_TAP, n.ifname, sizeof(n.ifname));
	if (has_dev < 0)
		return -EINVAL;
	if (has_dev && n.mode == NET_USER)
		return cfg_fail(e, "host_dev_name", "not used with \"mode\": \"user\"");
	r = cfg_get_str(e, o, "guest_mac", false, mac, sizeof(mac));
	if (r < 0)
		return r;
	if (r > 0 && !cfg_parse_mac(mac, n.mac))
		return cfg_fail(e, "guest_mac",
				"'%s' is not a unicast MAC address like "
				"06:00:ac:10:00:02",
				mac);
	n.has_mac = r > 0;
	if (cfg_get_uint(e, o, "mtu", false, 68, 65535, &mtu) < 0)
		return -EINVAL;
	n.mtu = (u16)mtu;
	fwd = cJSON_GetObjectItemCaseSensitive(o, "hostfwd");
	if (fwd && !cJSON_IsNull(fwd)) {
		if (n.mode != NET_USER)
			return cfg_fail(e, "hostfwd", "only with \"mode\": \"user\"");
		if (cfg_hostfwd(e, fwd, &n) < 0)
			return -EINVAL;
	}
	for (idx = 0; idx < cfg->nr_nets; idx++)
		if (!strcmp(cfg->nets[idx].id, id))
			break;
	if (idx == CONFIG_MAX_NETS)
		return cfg_fail(e, "iface_id", "'%s': at most %d network interfaces", id,
				CONFIG_MAX_NETS);
	if (cfg_net_conflict(e, cfg, idx, &n, mac) < 0)
		return -EINVAL;
	n.mmds = idx < cfg->nr_nets && cfg->nets[idx].mmds; /* mmds-config names it */
	strcpy(n.id, id);
	cfg->nets[idx] = n;
	if (idx == cfg->nr_nets)
		cfg->nr_nets++;
	return 0;
}

int config_set_vsock(const cJSON *o, struct vm_config *cfg, const struct config_err *e)
{
	static const char *const keys[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	struct vsock_config v;
	char id[CONFIG_ID_MAX + 1];
	u64 cid;

	memset(&v, 0, sizeof(v));
	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_uint(e, o, "guest_cid", true, 3, 0xfffffffeULL, &cid) < 0 ||
	    cfg_get_str(e, o, "vsock_id", false, id, sizeof(id)) < 0 ||
	    /* Room for the "_PORT" suffix of guest-initiated connections. */
	    cfg_get_str(e, o, "uds_path", true, v.uds_path, sizeof(v.uds_path) - 11) < 0)
		return -EINVAL;
	v.enabled = true;
	v.guest_cid = (u32)cid;
	cfg->vsock = v;
	return 0;
}

int config_set_entropy(const cJSON *o, struct vm_config *cfg, const struct config_err *e)
{
	static const char *const keys[] = {"rate_limiter", NULL};
	struct rate_limit_config rl = {0};

	if (cfg_check_keys(e, o, keys) < 0 ||
	    config_get_rate_limiter(e, o, "rate_limiter", &rl) < 0)
		return -EINVAL;
	cfg->rng = true;
	cfg->rng_rate_limiter = rl;
	return 0;
}

int config_set_balloon(const cJSON *o, struct vm_config *cfg, const struct config_err *e)
{
	static const char *const keys[] = {
	    "amount_mib",        "deflate_on_oom",      "stats_polling_interval_s",
	    "free_page_hinting", "free_page_reporting", NULL};
	u64 mib = 0, interval = 0;
	bool deflate, hinting = false, reporting = false;

	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_uint(e, o, "amount_mib", true, 0, 1024 * 1024, &mib) < 0 ||
	    cfg_get_bool(e, o, "deflate_on_oom", true, &deflate) < 0 ||
	    cfg_get_uint(e, o, "stats_polling_interval_s", false, 0, 65535, &interval) < 0 ||
	    cfg_get_bool(e, o, "free_page_hinting", false, &hinting) < 0 ||
	    cfg_get_bool(e, o, "free_page_reporting", false, &reporting) < 0)
		return -EINVAL;
	/* Firecracker refuses a target above the memory configured so far. */
	if (mib * MiB > cfg->mem_size)
		return cfg_fail(e, "amount_mib",
				"Amount of pages requested is too large (%llu MiB, the guest "
				"has %llu MiB)",
				(unsigned long long)mib, (unsigned long long)(cfg->mem_size / MiB));
	cfg->balloon = true;
	cfg->balloon_target_bytes = mib * MiB;
	cfg->balloon_stats_interval_s = (u32)interval;
	cfg->balloon_deflate_on_oom = deflate;
	cfg->balloon_reporting = reporting;
	cfg->balloon_hinting = hinting;
	return 0;
}

int config_set_logger(const cJSON *o, struct vm_config *cfg, struct config_store *st,
		      const struct config_err *e)
{
	static const char *const keys[] = {"level", "log_path", "show_level", "show_log_origin",
					   "module", NULL};
	char level[16] = "", path[CONFIG_PATH_MAX] = "", module[64];
	bool flag;
	int lv = -1;

	if (cfg_check_keys(e, o, keys) < 0 || cfg_get_str(e, o, "level", false, level, sizeof(level)) < 0 ||
	    cfg_get_str(e, o, "log_path", false, path, sizeof(path)) < 0 ||
	    cfg_get_bool(e, o, "show_level", false, &flag) < 0 ||
	    cfg_get_bool(e, o, "show_log_origin", false, &flag) < 0 ||
	    cfg_get_str(e, o, "module", false, module, sizeof(module)) < 0)
		return -EINVAL;
	if (level[0] && (lv = log_level_parse(level)) < 0)
		return cfg_fail(e, "level", "'%s' is not Error, Warning, Info, Debug, Trace or Off",
				level);
	if (lv >= 0)
		cfg->log_level = lv;
	if (path[0]) {
		strcpy(st->log_path, path);
		cfg->log_path = st->log_path;
	}
	return 0;
}

int config_set_metrics(const cJSON *o, struct vm_config *cfg, struct config_store *st,
		       const struct config_err *e)
{
	static const char *const keys[] = {"metrics_path", NULL};
	char path[CONFIG_PATH_MAX];

	if (cfg_check_keys(e, o, keys) < 0 ||
	    cfg_get_str(e, o, "metrics_path", true, path, sizeof(path)) < 0)
		return -EINVAL;
	strcpy(st->metrics, path);
	cfg->metrics_file = st->metrics;
	return 0;
}
