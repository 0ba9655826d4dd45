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
#define CONFIG_NET_ID_LEN  64 /* Firecracker's iface_id */
#define CONFIG_ID_LEN 64      /* other resources' ids (pmem id) */

#define CONFIG_PATH_MAX 4096
#define CONFIG_UDS_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define CONFIG_VM_ID_MAX 64     /* Firecracker's instance id: 1-64 characters */
#define CONFIG_DEFAULT_VM_ID "anonymous-instance"

/* A drive's cache_type, as Firecracker means it: Writeback offers the guest
 * VIRTIO_BLK_F_FLUSH and a flush reaches fdatasync; Unsafe offers no flush, so
 * the guest's writes are as durable as the host's page cache makes them.
 * Zero is Writeback: --disk keeps popek's behaviour; the API's and the config
 * file's drives default to Unsafe, Firecracker's default. */
enum disk_cache { DISK_CACHE_WRITEBACK, DISK_CACHE_UNSAFE };

#define CONFIG_PARTUUID_MAX 64
/* A token bucket, as Firecracker's TokenBucket: size tokens (bytes or
 * operations) that refill evenly over refill_time_ms; one_time_burst extra
 * tokens at the start, spent first and never refilled. size == 0: no
 * bucket (what PATCH uses to remove one). */
struct bucket_config {
	u64 size;
	u64 one_time_burst;
	u64 refill_time_ms; /* >= 1 when size > 0 */
};

/* Firecracker's RateLimiter: a bandwidth bucket (bytes) and an operations
 * bucket (requests); both unset (all zero) means unlimited. */
struct rate_limit_config {
	struct bucket_config bandwidth, ops;
};

struct disk_config {
	char path[CONFIG_PATH_MAX];
	bool readonly;
	char id[CONFIG_DISK_ID_LEN + 1]; /* empty: derived from the path */
	enum disk_cache cache;
	bool io_async;                   /* io_engine "Async": kept and shown; I/O is the same */
	char partuuid[CONFIG_PARTUUID_MAX + 1]; /* root drive: root=PARTUUID=...; "" none */
	struct rate_limit_config rate_limiter;
};

enum net_mode { NET_USER, NET_TAP };

struct hostfwd_config {
	u32 host_addr;   /* IPv4, host byte order; 0 = 127.0.0.1 */
	u16 host_port;
	u16 guest_port;  /* TCP */
};

struct net_config {
	char id[CONFIG_NET_ID_LEN + 1]; /* iface_id; "" for --net interfaces */
	enum net_mode mode;
	char ifname[16];  /* tap */
	bool has_mac;
	u8 mac[6];
	u16 mtu;          /* Firecracker's mtu (68-65535): VIRTIO_NET_F_MTU; 0: not offered */
	unsigned nr_hostfwd;
	struct hostfwd_config hostfwd[CONFIG_MAX_HOSTFWD];
	struct rate_limit_config rx_rate_limiter, tx_rate_limiter;
	bool mmds; /* listed in mmds-config's network_interfaces */
};

/* PUT /snapshot/load's network_overrides: the restored VM's interface
 * iface_id uses the tap host_dev_name instead of the snapshot's. */
struct net_override {
	char id[CONFIG_NET_ID_LEN + 1];
	char ifname[16];
};

struct vsock_config {
	bool enabled;
	u32 guest_cid;     /* >= 3 */
	char uds_path[CONFIG_UDS_PATH_MAX]; /* host connects here; guest port P at uds_path_P */
};

/* One CPUID register modifier of a Firecracker custom CPU template
 * (PUT /cpu-config): bits in mask take their value from value. */
#define CONFIG_MAX_CPUID_MODS 64
struct cpuid_mod {
	u32 leaf, subleaf;
	bool subleaf_significant; /* flags bit 0 (KVM_CPUID_FLAG_SIGNIFCANT_INDEX) */
	u8 reg;                   /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	u32 mask, value;
};

/* A virtio-pmem device (PUT /pmem/{id}, the config file's "pmem"): the
 * file mapped into guest physical memory (core/guest_mem.h), /dev/pmemN in
 * the guest in configuration order. */
#define CONFIG_MAX_PMEM 8 /* GUEST_MEM_MAX_FILES */
struct pmem_config {
	char id[CONFIG_ID_LEN + 1];
	char path[CONFIG_PATH_MAX];
	bool root_device; /* root=/dev/pmemN on the kernel command line */
	bool read_only;   /* the file is never written: the guest's writes are dropped */
	struct rate_limit_config rate_limiter; /* on its flush requests */
};

/* virtio-mem (PUT /hotplug/memory, the config file's "memory-hotplug"): an
 * area of total_size bytes after RAM, handed to the guest in blocks of
 * block_size as the host asks (PATCH requested_size_mib). slot_size is
 * Firecracker's unit of protection, kept and shown. total_size 0: none. */
struct hotplug_config {
	u64 total_size, block_size, slot_size; /* bytes */
};

/* One MSR modifier of a Firecracker custom CPU template (PUT /cpu-config):
 * the bits in mask of MSR addr take their value from value in the MSR's
 * value at vCPU creation; which MSRs and bits: src/cpu/msr_mods.h. */
#define CONFIG_MAX_MSR_MODS 32
struct msr_mod {
	u32 addr;
	u64 mask, value;
};

/* MMDS (PUT /mmds/config, the config file's "mmds-config"; src/vmm/mmds_store.h).
 * Guest TCP connections to addr:80 on the interfaces with net_config.mmds
 * reach the store. */
#define CONFIG_MMDS_ADDR       0xA9FEA9FEu /* 169.254.169.254 */
#define CONFIG_MMDS_SIZE_LIMIT 51200       /* Firecracker's --mmds-size-limit default */
struct mmds_store;
struct mmds_config {
	bool enabled;     /* configured: at least one interface serves it */
	unsigned version; /* 1 or 2 */
	u32 addr;         /* IPv4, host byte order, link-local 169.254.1.0-169.254.254.255 */
	bool imds_compat; /* always IMDS text, whatever the Accept header */
	u64 size_limit;   /* bytes of the document as compact JSON; 0: CONFIG_MMDS_SIZE_LIMIT */
	/* The data, shared by the API thread and the network threads; made and
	 * owned by main (a run-time object, not configuration). NULL: none. */
	struct mmds_store *store;
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
	bool disk0_is_root;       /* config_finalize put the root drive first (is_root_device) */
	unsigned nr_nets;
	struct net_config nets[CONFIG_MAX_NETS];
	struct vsock_config vsock;
	bool rng;                 /* virtio-rng (default on) */
	struct rate_limit_config rng_rate_limiter; /* PUT /entropy's rate_limiter */
	bool balloon;             /* virtio-balloon */
	u64 balloon_target_bytes; /* initial balloon size (--balloon=SIZE) */
	u32 balloon_stats_interval_s; /* > 0: statistics queue, polled this often */
	bool balloon_deflate_on_oom;  /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM offered */
	bool balloon_reporting;       /* free page reporting (VIRTIO_BALLOON_F_PAGE_REPORTING) */
	bool balloon_hinting;         /* free page hinting (VIRTIO_BALLOON_F_FREE_PAGE_HINT) */
	bool virtio_console;      /* virtio-console (hvc0) in addition to ttyS0 */
	unsigned nr_pmem;
	struct pmem_config pmem[CONFIG_MAX_PMEM];
	struct hotplug_config hotplug;
	struct mmds_config mmds;

	/* --restore / PUT /snapshot/load: the machine comes from a snapshot's
	 * state file and memory file instead of a kernel (src/vmm/restore.c);
	 * the snapshot's machine (memory, vCPUs, devices) replaces the fields
	 * above but the engine and the kernel's. */
	const char *restore_path;     /* NULL: boot a kernel */
	const char *restore_mem_path; /* its memory file */
	unsigned nr_net_overrides;    /* applied to the snapshot's interfaces */
	struct net_override net_overrides[CONFIG_MAX_NETS];
	bool restore_paused;          /* the vCPUs stay parked until resumed */
	/* --incoming: the machine comes from a live migration's source
	 * (src/vmm/migrate_recv.c), which connects to this address. */
	const char *incoming;         /* "unix:PATH" or "tcp:[HOST:]PORT", or NULL */
	/* --gdb: a GDB stub listens there (src/api/gdb_stub.c); --gdb-wait:
	 * the VM waits for the debugger before its first instruction. */
	const char *gdb;              /* "unix:PATH" or "tcp:[HOST:]PORT", or NULL */
	bool gdb_wait;

	/* Control plane (src/api): */
	char vm_id[CONFIG_VM_ID_MAX + 1]; /* --id; "" means CONFIG_DEFAULT_VM_ID */
	const char *api_sock;     /* --api-sock: HTTP API on this Unix socket, or NULL */
	u64 api_max_payload;      /* --http-api-max-payload-size: bytes; 0: HTTP_DEFAULT_BODY */
	const char *serial_out_path; /* PUT /serial: the UART's output goes there; NULL: stdout */
	/* PUT /cpu-config (or the config file's cpu-config): CPUID modifiers,
	 * applied in order to every CPUID answer of the soft engine (the KVM
	 * engine refuses a template that has any), and MSR modifiers, applied
	 * by both engines to each vCPU's MSRs when it is created. */
	bool has_cpu_config;
	unsigned nr_cpuid_mods;
	struct cpuid_mod cpuid_mods[CONFIG_MAX_CPUID_MODS];
	unsigned nr_msr_mods;
	struct msr_mod msr_mods[CONFIG_MAX_MSR_MODS];
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
