/* The one typed VM configuration, filled by the CLI (and later the JSON config
 * file and the API) and read by machine set-up. */
#ifndef POPEK_CONFIG_H
#define POPEK_CONFIG_H

#include "popek/types.h"

enum engine_kind { ENGINE_AUTO, ENGINE_KVM, ENGINE_SOFT };

/* The CPU the guest sees (--cpu-vendor): the soft engine models either;
 * KVM always presents the host's. */
enum cpu_vendor { CPU_VENDOR_HOST, CPU_VENDOR_INTEL, CPU_VENDOR_AMD };

#define CONFIG_MAX_CPUS 64
#define CONFIG_SOFT_JIT_CACHE (32 * MiB) /* per vCPU; pages are used as code fills them */
#define CONFIG_DEFAULT_MEM (256 * MiB)
#define CONFIG_MIN_MEM (16 * MiB)

#define CONFIG_MAX_DISKS 8
#define CONFIG_MAX_NETS 4
#define CONFIG_MAX_HOSTFWD 8
#define CONFIG_DISK_ID_LEN 20 /* virtio-blk serial (VIRTIO_BLK_ID_BYTES) */

#define CONFIG_PATH_MAX 4096
#define CONFIG_UDS_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define CONFIG_VM_ID_MAX 64     /* Firecracker's instance id: 1-64 characters */
#define CONFIG_DEFAULT_VM_ID "anonymous-instance"

struct disk_config {
	char path[CONFIG_PATH_MAX];
	bool readonly;
	char id[CONFIG_DISK_ID_LEN + 1]; /* empty: derived from the path */
};

enum net_mode { NET_USER, NET_TAP };

struct hostfwd_config {
	u32 host_addr;   /* IPv4, host byte order; 0 = 127.0.0.1 */
	u16 host_port;
	u16 guest_port;  /* TCP */
};

struct net_config {
	enum net_mode mode;
	char ifname[16];  /* tap */
	bool has_mac;
	u8 mac[6];
	unsigned nr_hostfwd;
	struct hostfwd_config hostfwd[CONFIG_MAX_HOSTFWD];
};

struct vsock_config {
	bool enabled;
	u32 guest_cid;     /* >= 3 */
	char uds_path[CONFIG_UDS_PATH_MAX]; /* host connects here; guest port P at uds_path_P */
};

struct vm_config {
	const char *kernel_path;
	const char *initrd_path;  /* Linux initrd, or multiboot modules list */
	const char *cmdline;      /* NULL: default command line */
	u64 mem_size;             /* bytes */
	unsigned nr_cpus;
	enum engine_kind engine;
	enum cpu_vendor cpu_vendor; /* default CPU_VENDOR_HOST */
	bool no_pv;               /* --no-pv: no KVM PV features but kvmclock */
	bool soft_jit_off;        /* --soft-jit off: the soft engine only interprets */
	u64 soft_jit_cache;       /* --soft-jit-cache: bytes per vCPU; 0: CONFIG_SOFT_JIT_CACHE */
	bool testdev;             /* attach the guest-program test device */
	bool track_dirty_pages;   /* dirty log from the start (Diff snapshots; vmm/dirty_log.c) */

	unsigned nr_disks;
	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned nr_nets;
	struct net_config nets[CONFIG_MAX_NETS];
	struct vsock_config vsock;
	bool rng;                 /* virtio-rng (default on) */
	bool balloon;             /* virtio-balloon */
	u64 balloon_target_bytes; /* initial balloon size (--balloon=SIZE) */
	u32 balloon_stats_interval_s; /* > 0: statistics queue, polled this often */
	bool balloon_deflate_on_oom;  /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM offered */
	bool balloon_reporting;       /* free page reporting (VIRTIO_BALLOON_F_PAGE_REPORTING) */
	bool virtio_console;      /* virtio-console (hvc0) in addition to ttyS0 */

	/* --restore / PUT /snapshot/load: the machine comes from a snapshot's
	 * state file and memory file instead of a kernel (src/vmm/restore.c);
	 * the snapshot's machine (memory, vCPUs, devices) replaces the fields
	 * above but the engine and the kernel's. */
	const char *restore_path;     /* NULL: boot a kernel */
	const char *restore_mem_path; /* its memory file */
	bool restore_paused;          /* the vCPUs stay parked until resumed */
	/* --incoming: the machine comes from a live migration's source
	 * (src/vmm/migrate_recv.c), which connects to this address. */
	const char *incoming;         /* "unix:PATH" or "tcp:[HOST:]PORT", or NULL */

	/* Control plane (src/api): */
	char vm_id[CONFIG_VM_ID_MAX + 1]; /* --id; "" means CONFIG_DEFAULT_VM_ID */
	const char *api_sock;     /* --api-sock: HTTP API on this Unix socket, or NULL */
	const char *metrics_file; /* --metrics-file: JSON lines appended, or NULL */
	int log_level;            /* enum log_level from --log-level or "logger"; -1: POPEK_LOG */
	const char *log_path;     /* --log-path or logger.log_path: stderr goes there, or NULL */
	bool seccomp;             /* per-thread seccomp filters after set-up (cli default on) */

	/* --jail (command line only, as Firecracker's jailer options are): before
	 * anything is opened, chroot into jail_dir and run as jail_uid/jail_gid;
	 * every path above is then resolved inside the jail (src/host/jail.h). */
	const char *jail_dir;     /* NULL: no jail */
	bool has_jail_uid, has_jail_gid;
	u32 jail_uid, jail_gid;
};

const char *config_engine_name(enum engine_kind kind);
const char *config_vendor_name(enum cpu_vendor v);
/* "host", "intel" or "amd": 0, or -EINVAL for anything else. */
int config_vendor_parse(const char *s, enum cpu_vendor *out);

#endif
