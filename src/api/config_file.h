/* Firecracker-layout JSON configuration (the --config-file format and the
 * bodies of the API's PUT requests) into struct vm_config, and back. */
#ifndef POPEK_CONFIG_FILE_H
#define POPEK_CONFIG_FILE_H

#include <cjson/cJSON.h>

#include "core/config.h"

#define CONFIG_CMDLINE_MAX 4096 /* more than Linux's 2048 on x86 */
#define CONFIG_ID_MAX                                                                              \
	64                            /* iface_id, drive_id (a drive_id is also its                \
					 virtio-blk serial: at most CONFIG_DISK_ID_LEN) */
#define CONFIG_JSON_MAX (1024 * 1024) /* a config file larger than this is refused */

/*
 * Storage for the strings that a JSON document sets: the const char * fields
 * of struct vm_config point into it, so it must live as long as the config
 * (main owns one; the API edits the same pair before the VM starts).
 */
struct config_store {
	char kernel[CONFIG_PATH_MAX];
	char initrd[CONFIG_PATH_MAX];
	char boot_args[CONFIG_CMDLINE_MAX];
	char cmdline[CONFIG_CMDLINE_MAX + 64]; /* boot_args + root=, by config_finalize */
	char metrics[CONFIG_PATH_MAX];
	char log_path[CONFIG_PATH_MAX];
	char snapshot[CONFIG_PATH_MAX];     /* PUT /snapshot/load: the state file */
	char snapshot_mem[CONFIG_PATH_MAX]; /* and the memory file */
	char serial_out[CONFIG_PATH_MAX];   /* PUT /serial: serial_out_path */
	int root_drive; /* index into cfg->disks of the is_root_device drive, or -1 */
};

void config_store_init(struct config_store *st);

/*
 * Where a parse error is described: "<prefix><key>: <problem>" goes into
 * buf. The file loader uses prefixes such as "drives[1]." so that the line
 * names the key; the API uses "" (the resource is the request's path).
 */
struct config_err {
	char *buf;
	size_t len;
	const char *prefix;
};

/*
 * Each applies one JSON object (Firecracker's schema for that resource, with
 * popek's optional extras) to cfg. Unknown keys, duplicate keys, wrong types
 * and out-of-range values fail with -EINVAL and one message in e naming the
 * key; cfg is then unchanged. path_id is the {id} of an API path (it must
 * equal the body's id) or NULL.
 *   machine-config: vcpu_count, mem_size_mib (required); smt (false only),
 *       track_dirty_pages, cpu_template and huge_pages ("None" only); popek: engine.
 *   boot-source: kernel_image_path (required), initrd_path, boot_args.
 *   drives: drive_id, path_on_host, is_root_device (required), is_read_only,
 *       partuuid (the root drive's: root=PARTUUID=...), cache_type
 *       ("Unsafe", the default: no flush offered; "Writeback": flushes reach
 *       fdatasync), io_engine ("Sync"/"Async", kept), rate_limiter. A
 *       drive_id already present is replaced.
 *   network-interfaces: iface_id (required), host_dev_name (a tap; required
 *       unless popek's "mode": "user"), guest_mac, mtu (68-65535),
 *       rx/tx_rate_limiter; a guest_mac or host_dev_name that another
 *       interface has is refused with Firecracker's message;
 *       popek: mode ("tap"/"user"), hostfwd (user mode: [{"host_addr",
 *       "host_port", "guest_port", "protocol": "tcp"}]).
 *   vsock: guest_cid, uds_path (required), vsock_id.
 *   balloon: amount_mib (at most mem_size_mib), deflate_on_oom (required),
 *       stats_polling_interval_s (0-65535), free_page_reporting,
 *       free_page_hinting.
 *   metrics: metrics_path (required).
 */
int config_set_machine(const cJSON *o, struct vm_config *cfg, const struct config_err *e);
int config_set_boot_source(const cJSON *o, struct vm_config *cfg, struct config_store *st,
			   const struct config_err *e);
int config_set_drive(const cJSON *o, const char *path_id, struct vm_config *cfg,
		     struct config_store *st, const struct config_err *e);
int config_set_net(const cJSON *o, const char *path_id, struct vm_config *cfg,
		   const struct config_err *e);
/* entropy: Firecracker's virtio-rng (popek has one by default), rate_limiter. */
int config_set_entropy(const cJSON *o, struct vm_config *cfg, const struct config_err *e);
int config_set_vsock(const cJSON *o, struct vm_config *cfg, const struct config_err *e);
int config_set_balloon(const cJSON *o, struct vm_config *cfg, const struct config_err *e);
/* logger: level (Error, Warning, Info, Debug, Trace, Off), log_path; show_level,
 * show_log_origin and module are accepted and ignored. Takes effect when
 * main applies it (config file) or at once (PUT /logger). */
int config_set_logger(const cJSON *o, struct vm_config *cfg, struct config_store *st,
		      const struct config_err *e);
int config_set_metrics(const cJSON *o, struct vm_config *cfg, struct config_store *st,
		       const struct config_err *e);

/* A rate limiter at o[key] ({"bandwidth": {"size", "one_time_burst",
 * "refill_time"}, "ops": {...}}; config_rate_limiter.c): each bucket given
 * replaces *inout's, an absent or null one (or a null/absent key) leaves it
 * as it is. size, one_time_burst and refill_time (ms) are integers from 0 to
 * 2^53; refill_time must be at least 1 unless size is 0 (no bucket). 0, or
 * -EINVAL with the message naming the key (".rate_limiter.bandwidth.size")
 * and *inout unchanged. */
int config_get_rate_limiter(const struct config_err *e, const cJSON *o, const char *key,
			    struct rate_limit_config *inout);
/* o[key] = the limiter as Firecracker writes it, or null without buckets. */
void config_add_rate_limiter(cJSON *o, const char *key, const struct rate_limit_config *rl);

/* Applies a whole Firecracker config document (text of len bytes) to cfg.
 * "where" prefixes the message (the file name). Returns 0 or -EINVAL with
 * one message in err naming the key. */
int config_json_load(const char *text, size_t len, struct vm_config *cfg, struct config_store *st,
		     char *err, size_t errlen);

/* Reads the file at path and applies it as config_json_load() does. Logs
 * one line naming the file and the key and returns -errno on failure. */
int config_file_load(const char *path, struct vm_config *cfg, struct config_store *st);

/* Last step before machine_create: puts the root drive first (/dev/vda)
 * and, as Firecracker does, appends "root=/dev/vda rw" (or "ro") to the
 * command line unless it already names a root. Returns 0 or -ENOSPC (message
 * in err). */
int config_finalize(struct vm_config *cfg, struct config_store *st, char *err, size_t errlen);

/* The configuration as a Firecracker config document; the caller frees it
 * with cJSON_Delete. NULL when out of memory. popek false: only what
 * Firecracker's FullVmConfiguration has (GET /vm/config: no machine-config
 * extras, no network mode or hostfwd, user-mode interfaces left out, as
 * they have no host_dev_name); true: everything, popek's fields included,
 * a document --config-file takes back (GET /popek/vm/config). */
cJSON *config_to_json(const struct vm_config *cfg, const struct config_store *st, bool popek);

#endif
