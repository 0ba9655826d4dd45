/* The popek command line: `popek run ...`, `--help`, `--version`. */
#include "api/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cli_devices.h"
#include "api/config_file.h"
#include "popek/log.h"

void cli_print_help(void)
{
	printf("popek %s: a hosted x86-64 virtual machine monitor\n"
	       "\n"
	       "usage: popek run --kernel PATH [options]\n"
	       "       popek run --config-file FILE [options]\n"
	       "       popek run --api-sock PATH [options]   (configured and started through the API)\n"
	       "       popek ctl --sock PATH COMMAND         (see popek ctl --help)\n"
	       "       popek snapshot rebase BASE_MEM DIFF_MEM (see popek snapshot --help)\n"
	       "       popek --help | --version\n"
	       "\n"
	       "run options:\n"
	       "  --kernel PATH      Linux bzImage or ELF vmlinux, or a multiboot v1 kernel\n"
	       "  --initrd PATH      initramfs; for a multiboot kernel, its modules as\n"
	       "                     \"path args,path args\" (\",,\" for a comma in a path)\n"
	       "  --cmdline STR      kernel command line (default: \"console=ttyS0 panic=-1\n"
	       "                     cryptomgr.notests\", with --virtio-console also\n"
	       "                     console=hvc0 after console=ttyS0)\n"
	       "  --mem SIZE         guest RAM, e.g. 512M or 2G (default 256M, no suffix: MiB)\n"
	       "  --cpus N           number of vCPUs, 1-%d (default 1)\n"
	       "  --engine NAME      auto (default): kvm where /dev/kvm works and is fast,\n"
	       "                     else soft; kvm: hardware-assisted; soft: software CPU\n"
	       "  --cpu-vendor NAME  the CPU the guest sees: host (default), intel or amd;\n"
	       "                     the soft engine models either, kvm only the host's\n"
	       "  --no-pv            offer the guest no KVM paravirtual features (PV\n"
	       "                     spinlocks, PV IPIs, steal time, PV TLB flush, PV EOI,\n"
	       "                     PV sched yield) but kvmclock\n"
	       "  --soft-jit on|off  the soft engine translates hot guest code to host code\n"
	       "                     (default on); off: it only interprets\n"
	       "  --soft-jit-cache SIZE\n"
	       "                     translated code per vCPU before the cache is flushed\n"
	       "                     (default 32M)\n"
	       "  --disk PATH[,ro][,id=NAME]\n"
	       "                     raw disk image as virtio-blk (repeatable; /dev/vda, vdb...)\n"
	       "  --pmem PATH[,ro][,root][,id=NAME]\n"
	       "                     a file as virtio-pmem, mapped into guest memory\n"
	       "                     (/dev/pmem0, pmem1... in configuration order); ro: the\n"
	       "                     file is never written, the guest's writes are dropped;\n"
	       "                     root: root=/dev/pmemN on the kernel command line\n"
	       "  --mem-hotplug SIZE[,block=SIZE]\n"
	       "                     virtio-mem: SIZE (a multiple of 128M) more memory the\n"
	       "                     guest can be given at run time (PATCH /hotplug/memory,\n"
	       "                     in blocks of 2M by default); none of it at the start\n"
	       "  --net user[,hostfwd=tcp:[ADDR]:PORT-:GPORT...][,mac=MAC]\n"
	       "                     user-mode network (guest 10.0.2.15, host loopback 10.0.2.2)\n"
	       "  --net tap,ifname=NAME[,mac=MAC]\n"
	       "                     network through an existing tap interface\n"
	       "  --vsock cid=N,path=SOCKET\n"
	       "                     virtio-vsock; the host connects to SOCKET and sends\n"
	       "                     \"CONNECT port\\n\"; guest connections to port P reach SOCKET_P\n"
	       "  --balloon[=SIZE][,stats=S][,deflate-on-oom][,reporting][,hinting]\n"
	       "                     virtio-balloon, optionally inflated to SIZE at start;\n"
	       "                     statistics every S seconds, deflate on OOM, free page\n"
	       "                     reporting, free page hinting (runs started by the API)\n"
	       "  --no-rng           no virtio-rng (present by default)\n"
	       "  --virtio-console   terminal input goes to hvc0 (virtio-console) instead of\n"
	       "                     ttyS0; kernel messages may then appear on both\n"
	       "  --test-device      attach the test device used by popek's guest test programs\n"
	       "  --restore SNAPSHOT --mem-file FILE\n"
	       "                     continue a VM from a snapshot (PUT /snapshot/create)\n"
	       "                     instead of booting a kernel; the snapshot sets memory,\n"
	       "                     vCPUs, CPU vendor and devices (its disks must be there,\n"
	       "                     unchanged in size), --engine may differ from its own\n"
	       "  --incoming unix:PATH | tcp:[HOST:]PORT\n"
	       "                     wait there for a live migration (popek ctl migrate) and\n"
	       "                     continue the VM it sends instead of booting a kernel\n"
	       "                     (HOST defaults to 127.0.0.1); like --restore, the\n"
	       "                     source sets memory, vCPUs and devices\n"
	       "  --gdb unix:PATH | tcp:[HOST:]PORT\n"
	       "                     a GDB stub there, for one debugger at a time (HOST\n"
	       "                     defaults to 127.0.0.1): target remote HOST:PORT\n"
	       "  --gdb-wait         with --gdb: the VM waits for the debugger before its\n"
	       "                     first instruction\n"
	       "  --track-dirty-pages\n"
	       "                     log the pages the guest writes, so that snapshots can\n"
	       "                     be Diff snapshots (Firecracker's track_dirty_pages);\n"
	       "                     with --restore, from the restored state on\n"
	       "\n"
	       "control plane:\n"
	       "  --config-file FILE a Firecracker-style JSON config (boot-source, drives,\n"
	       "                     machine-config, network-interfaces, vsock, balloon,\n"
	       "                     metrics); other options on the command line add to it\n"
	       "                     or override it\n"
	       "  --api-sock PATH    serve Firecracker's HTTP API on this Unix socket; without\n"
	       "                     a kernel, wait for the configuration and InstanceStart\n"
	       "  --id NAME          the VM's id in the API (default \"" CONFIG_DEFAULT_VM_ID "\")\n"
	       "  --metrics-file PATH\n"
	       "                     append the VM's counters as one JSON line (Firecracker's\n"
	       "                     format) on the API's FlushMetrics, every minute and when\n"
	       "                     the VM stops\n"
	       "  --log-level LEVEL  error, warn (default), info or debug (also Firecracker's\n"
	       "                     Error, Warning, Info, Debug, Trace, Off); POPEK_LOG=LEVEL\n"
	       "                     in the environment does the same\n"
	       "  --log-path PATH    append popek's log lines to PATH (a file or FIFO)\n"
	       "                     instead of stderr\n"
	       "  --no-seccomp       do not confine popek's threads with seccomp filters (on\n"
	       "                     by default once the VM is set up)\n"
	       "  --jail DIR --uid UID --gid GID\n"
	       "                     (root only) before opening anything, chroot into DIR,\n"
	       "                     a directory you prepared, and run as user UID, group\n"
	       "                     GID (both required, as for Firecracker's jailer); every\n"
	       "                     path (kernel, initrd, disks, sockets, --config-file,\n"
	       "                     --api-sock, paths sent to the API) is then inside DIR\n"
	       "                     and must be usable by that user\n"
	       "\n"
	       "The guest's console is the serial port (ttyS0) on this terminal. On a\n"
	       "terminal, Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h lists escapes.\n"
	       "Exit status: 0 when the guest powers off or reboots; (v << 1) | 1 when it\n"
	       "writes v to the debug-exit port 0xf4; 2 when it crashes (triple fault);\n"
	       "1 for a popek error; 128+N when stopped by signal N.\n"
	       "Environment: POPEK_LOG=error|warn|info|debug sets the log level.\n",
	       POPEK_VERSION, CONFIG_MAX_CPUS);
}

int cli_parse_size(const char *s, u64 *bytes)
{
	char *end;
	unsigned long long v;
	u64 unit = MiB;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		unit = KiB;
		end++;
		break;
	case 'm':
	case 'M':
		unit = MiB;
		end++;
		break;
	case 'g':
	case 'G':
		unit = GiB;
		end++;
		break;
	case 't':
	case 'T':
		unit = 1024 * GiB;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v > (~0ULL) / unit)
		return -EINVAL;
	*bytes = v * unit;
	return 0;
}

static int cli_parse_cpus(const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > CONFIG_MAX_CPUS) {
		log_error("--cpus '%s': must be a number from 1 to %d", s, CONFIG_MAX_CPUS);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* --mem-hotplug SIZE[,block=SIZE]: Firecracker's rules (total a multiple of
 * the 128 MiB slot, block a power of 2 from 2 MiB). */
static int cli_parse_mem_hotplug(const char *arg, struct vm_config *cfg)
{
	char buf[64], *block = NULL;
	u64 total, bsize = 2 * MiB;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	if ((block = strchr(buf, ','))) {
		*block++ = 0;
		if (strncmp(block, "block=", 6) || cli_parse_size(block + 6, &bsize) < 0)
			goto bad;
	}
	if (cli_parse_size(buf, &total) < 0 || !total || total % (128 * MiB) ||
	    total > 256 * GiB || bsize < 2 * MiB || (bsize & (bsize - 1)) || bsize > 128 * MiB)
		goto bad;
	cfg->hotplug = (struct hotplug_config){total, bsize, 128 * MiB};
	return 0;
bad:
	log_error("--mem-hotplug '%s': want SIZE[,block=SIZE]: SIZE a multiple of 128M up to "
		  "256G, the block a power of 2 from 2M to 128M",
		  arg);
	return -EINVAL;
}

/* --balloon[=[SIZE][,stats=SECONDS][,deflate-on-oom][,reporting][,hinting]]:
 * the config file's balloon fields (stats_polling_interval_s,
 * deflate_on_oom, free_page_reporting, free_page_hinting) on the command
 * line. */
static int cli_parse_balloon(const char *arg, struct vm_config *cfg)
{
	char buf[128], *tok, *save = NULL;
	u64 bytes;

	if (!arg)
		return 0;
	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;

		if (!strncmp(tok, "stats=", 6)) {
			unsigned long s = strtoul(tok + 6, &end, 10);

			if (!tok[6] || *end || s > 65535)
				goto bad;
			cfg->balloon_stats_interval_s = (u32)s;
		} else if (!strcmp(tok, "deflate-on-oom")) {
			cfg->balloon_deflate_on_oom = true;
		} else if (!strcmp(tok, "reporting")) {
			cfg->balloon_reporting = true;
		} else if (!strcmp(tok, "hinting")) {
			cfg->balloon_hinting = true;
		} else if (tok == buf && arg[0] != ',' && cli_parse_size(tok, &bytes) == 0 &&
			   !(bytes % (4 * KiB))) {
			cfg->balloon_target_bytes = bytes;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	log_error("--balloon '%s': not "
		  "SIZE[,stats=SECONDS][,deflate-on-oom][,reporting][,hinting] "
		  "(use e.g. --balloon=64M,stats=5)",
		  arg);
	return -EINVAL;
}

static int cli_parse_engine(const char *s, enum engine_kind *out)
{
	if (!strcmp(s, "auto"))
		*out = ENGINE_AUTO;
	else if (!strcmp(s, "kvm"))
		*out = ENGINE_KVM;
	else if (!strcmp(s, "soft"))
		*out = ENGINE_SOFT;
	else {
		log_error("--engine '%s': must be auto, kvm or soft", s);
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_CPUS,
	OPT_ENGINE,
	OPT_TESTDEV,
	OPT_TRACK_DIRTY,
	OPT_GDB,
	OPT_GDB_WAIT,
	OPT_INCOMING,
	OPT_HELP,
	OPT_VERSION,
	OPT_DISK,
	OPT_NET,
	OPT_VSOCK,
	OPT_BALLOON,
	OPT_PMEM,
	OPT_MEM_HOTPLUG,
	OPT_NO_RNG,
	OPT_VIRTIO_CONSOLE,
	OPT_CONFIG_FILE,
	OPT_API_SOCK,
	OPT_ID,
	OPT_METRICS_FILE,
	OPT_NO_SECCOMP,
	OPT_LOG_LEVEL,
	OPT_LOG_PATH,
	OPT_JAIL,
	OPT_UID,
	OPT_GID,
	OPT_CPU_VENDOR,
	OPT_NO_PV,
	OPT_SOFT_JIT,
	OPT_SOFT_JIT_CACHE,
	OPT_RESTORE,
	OPT_MEM_FILE,
};

static const struct option cli_options[] = {
	{"kernel", required_argument, NULL, OPT_KERNEL},
	{"initrd", required_argument, NULL, OPT_INITRD},
	{"cmdline", required_argument, NULL, OPT_CMDLINE},
	{"mem", required_argument, NULL, OPT_MEM},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"engine", required_argument, NULL, OPT_ENGINE},
	{"cpu-vendor", required_argument, NULL, OPT_CPU_VENDOR},
	{"no-pv", no_argument, NULL, OPT_NO_PV},
	{"soft-jit", required_argument, NULL, OPT_SOFT_JIT},
	{"soft-jit-cache", required_argument, NULL, OPT_SOFT_JIT_CACHE},
	{"test-device", no_argument, NULL, OPT_TESTDEV},
	{"track-dirty-pages", no_argument, NULL, OPT_TRACK_DIRTY},
	{"gdb", required_argument, NULL, OPT_GDB},
	{"gdb-wait", no_argument, NULL, OPT_GDB_WAIT},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{"disk", required_argument, NULL, OPT_DISK},
	{"net", required_argument, NULL, OPT_NET},
	{"vsock", required_argument, NULL, OPT_VSOCK},
	{"balloon", optional_argument, NULL, OPT_BALLOON},
	{"pmem", required_argument, NULL, OPT_PMEM},
	{"mem-hotplug", required_argument, NULL, OPT_MEM_HOTPLUG},
	{"no-rng", no_argument, NULL, OPT_NO_RNG},
	{"virtio-console", no_argument, NULL, OPT_VIRTIO_CONSOLE},
	{"config-file", required_argument, NULL, OPT_CONFIG_FILE},
	{"api-sock", required_argument, NULL, OPT_API_SOCK},
	{"id", required_argument, NULL, OPT_ID},
	{"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
	{"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-path", required_argument, NULL, OPT_LOG_PATH},
	{"jail", required_argument, NULL, OPT_JAIL},
	{"uid", required_argument, NULL, OPT_UID},
	{"gid", required_argument, NULL, OPT_GID},
	{"restore", required_argument, NULL, OPT_RESTORE},
	{"mem-file", required_argument, NULL, OPT_MEM_FILE},
	{"incoming", required_argument, NULL, OPT_INCOMING},
	{NULL, 0, NULL, 0},
};

int cli_parse_id(const char *s, struct vm_config *cfg)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			n = 0;
	if (!n || n > CONFIG_VM_ID_MAX) {
		log_error("--id '%s': must be 1 to %d letters, digits, '-' or '_'", s,
			  CONFIG_VM_ID_MAX);
		return -EINVAL;
	}
	strcpy(cfg->vm_id, s);
	return 0;
}

/* A user or group id: decimal, 0 to 2^32 - 2 ((uid_t)-1 means "unchanged"
 * to setresuid). */
static int cli_parse_ugid(const char *opt, const char *s, u32 *out, bool *given)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s < '0' || *s > '9' || v > 0xFFFFFFFEULL) {
		log_error("%s '%s': must be a number from 0 to 4294967294", opt, s);
		return -EINVAL;
	}
	*out = (u32)v;
	*given = true;
	return 0;
}

static int cli_parse_option(int opt, const char *arg, struct vm_config *cfg,
			    enum cli_action *action)
{
	switch (opt) {
	case OPT_CONFIG_FILE: /* loaded by the first pass */
		return 0;
	case OPT_API_SOCK:
		cfg->api_sock = arg;
		return 0;
	case OPT_ID:
		return cli_parse_id(arg, cfg);
	case OPT_METRICS_FILE:
		cfg->metrics_file = arg;
		return 0;
	case OPT_NO_SECCOMP:
		cfg->seccomp = false;
		return 0;
	case OPT_LOG_LEVEL:
		cfg->log_level = log_level_parse(arg);
		if (cfg->log_level < 0) {
			log_error("--log-level '%s': not error, warn, info or debug", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_LOG_PATH:
		cfg->log_path = arg;
		return 0;
	case OPT_JAIL:
		cfg->jail_dir = arg;
		return 0;
	case OPT_UID:
		return cli_parse_ugid("--uid", arg, &cfg->jail_uid, &cfg->has_jail_uid);
	case OPT_GID:
		return cli_parse_ugid("--gid", arg, &cfg->jail_gid, &cfg->has_jail_gid);
	case OPT_KERNEL:
		cfg->kernel_path = arg;
		return 0;
	case OPT_RESTORE:
		cfg->restore_path = arg;
		return 0;
	case OPT_MEM_FILE:
		cfg->restore_mem_path = arg;
		return 0;
	case OPT_INCOMING:
		cfg->incoming = arg;
		return 0;
	case OPT_INITRD:
		cfg->initrd_path = arg;
		return 0;
	case OPT_CMDLINE:
		cfg->cmdline = arg;
		return 0;
	case OPT_MEM:
		if (cli_parse_size(arg, &cfg->mem_size) < 0 || cfg->mem_size % (4 * KiB)) {
			log_error("--mem '%s': not a size (use e.g. 512M or 2G)", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_CPUS:
		return cli_parse_cpus(arg, &cfg->nr_cpus);
	case OPT_ENGINE:
		return cli_parse_engine(arg, &cfg->engine);
	case OPT_SOFT_JIT:
		if (strcmp(arg, "on") && strcmp(arg, "off")) {
			log_error("--soft-jit '%s': must be on or off", arg);
			return -EINVAL;
		}
		cfg->soft_jit_off = !strcmp(arg, "off");
		return 0;
	case OPT_SOFT_JIT_CACHE:
		if (cli_parse_size(arg, &cfg->soft_jit_cache) < 0 || cfg->soft_jit_cache < MiB ||
		    cfg->soft_jit_cache > 1024 * MiB) {
			log_error("--soft-jit-cache '%s': not a size from 1M to 1G", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_CPU_VENDOR:
		if (config_vendor_parse(arg, &cfg->cpu_vendor) < 0) {
			log_error("--cpu-vendor '%s': must be host, intel or amd", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_NO_PV:
		cfg->no_pv = true;
		return 0;
	case OPT_TESTDEV:
		cfg->testdev = true;
		return 0;
	case OPT_TRACK_DIRTY:
		cfg->track_dirty_pages = true;
		return 0;
	case OPT_GDB:
		cfg->gdb = arg;
		return 0;
	case OPT_GDB_WAIT:
		cfg->gdb_wait = true;
		return 0;
	case OPT_DISK:
		return cli_parse_disk(arg, cfg);
	case OPT_NET:
		return cli_parse_net(arg, cfg);
	case OPT_VSOCK:
		return cli_parse_vsock(arg, cfg);
	case OPT_BALLOON:
		cfg->balloon = true;
		return cli_parse_balloon(arg, cfg);
	case OPT_PMEM:
		return cli_parse_pmem(arg, cfg);
	case OPT_MEM_HOTPLUG:
		return cli_parse_mem_hotplug(arg, cfg);
	case OPT_NO_RNG:
		cfg->rng = false;
		return 0;
	case OPT_VIRTIO_CONSOLE:
		cfg->virtio_console = true;
		return 0;
	case OPT_HELP:
		*action = CLI_HELP;
		return 0;
	case OPT_VERSION:
		*action = CLI_VERSION;
		return 0;
	}
	return -EINVAL;
}

/* First pass: --config-file, so that the other options add to it or
 * override it whatever their order. Option errors are left to the second.
 * With --jail the file is inside the jail: it is read only once in it, and
 * *deferred says that it was not read yet. */
static int cli_load_config_file(int argc, char **argv, bool in_jail, struct vm_config *cfg,
				struct config_store *st, bool *deferred)
{
	const char *file = NULL;
	bool jail = false;
	int opt;

	*deferred = false;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", cli_options, NULL)) != -1) {
		jail |= opt == OPT_JAIL;
		if (opt != OPT_CONFIG_FILE)
			continue;
		if (file) {
			log_error("--config-file '%s': only one config file may be given", optarg);
			return -EINVAL;
		}
		file = optarg;
	}
	if (file && jail && !in_jail) {
		*deferred = true;
		return 0;
	}
	return file ? config_file_load(file, cfg, st) : 0;
}

/* --jail goes with --uid and --gid, and they with it. */
static int cli_check_jail(const struct vm_config *cfg)
{
	if (!cfg->jail_dir && (cfg->has_jail_uid || cfg->has_jail_gid)) {
		log_error("%s needs --jail DIR (see popek --help)",
			  cfg->has_jail_uid ? "--uid" : "--gid");
		return -EINVAL;
	}
	if (cfg->jail_dir && (!cfg->has_jail_uid || !cfg->has_jail_gid)) {
		log_error("--jail '%s' needs --uid N and --gid N: the user and group popek runs as "
			  "inside the jail",
			  cfg->jail_dir);
		return -EINVAL;
	}
	return 0;
}

/* --restore needs its memory file and takes the place of a kernel, as
 * --incoming does of both. */
static int cli_check_restore(const struct vm_config *cfg)
{
	if (cfg->gdb_wait && !cfg->gdb) {
		log_error("--gdb-wait: needs --gdb ADDRESS (where the debugger connects)");
		return -EINVAL;
	}
	if (cfg->incoming && (cfg->restore_path || cfg->kernel_path)) {
		log_error("--incoming '%s' and %s: the VM comes from the migration's source",
			  cfg->incoming, cfg->restore_path ? "--restore" : "--kernel");
		return -EINVAL;
	}
	if (cfg->restore_mem_path && !cfg->restore_path) {
		log_error("--mem-file '%s': only with --restore SNAPSHOT", cfg->restore_mem_path);
		return -EINVAL;
	}
	if (!cfg->restore_path)
		return 0;
	if (!cfg->restore_mem_path) {
		log_error("--restore '%s': needs --mem-file FILE, the snapshot's memory file",
			  cfg->restore_path);
		return -EINVAL;
	}
	if (cfg->kernel_path) {
		log_error("--restore '%s' and --kernel: a snapshot's kernel is in its memory file",
			  cfg->restore_path);
		return -EINVAL;
	}
	return 0;
}

void cli_defaults(struct vm_config *cfg, struct config_store *st)
{
	memset(cfg, 0, sizeof(*cfg));
	config_store_init(st);
	cfg->mem_size = CONFIG_DEFAULT_MEM;
	cfg->nr_cpus = 1;
	cfg->engine = ENGINE_AUTO;
	cfg->rng = true;
	cfg->seccomp = true;
	cfg->log_level = -1;
}

int cli_parse(int argc, char **argv, bool in_jail, struct vm_config *cfg, struct config_store *st,
	      enum cli_action *action)
{
	int opt, first = 1;
	bool deferred;

	cli_defaults(cfg, st);
	*action = CLI_RUN;
	if (argc > 1 && !strcmp(argv[1], "run")) {
		first = 2;
	} else if (argc > 1 && argv[1][0] != '-') {
		log_error("unknown command '%s' (see popek --help)", argv[1]);
		return -EINVAL;
	}
	/* getopt sees argv from the word before the first option: "run" or
	 * the program name stands in for argv[0]; optind = 0 restarts it. */
	argc -= first - 1;
	argv += first - 1;
	if (cli_load_config_file(argc, argv, in_jail, cfg, st, &deferred) < 0)
		return -EINVAL;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", cli_options, NULL)) != -1) {
		if (opt == 'h')
			opt = OPT_HELP;
		if (opt == '?') {
			log_error("unknown option '%s' (see popek --help)", argv[optind - 1]);
			return -EINVAL;
		}
		if (opt == ':') {
			log_error("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		}
		if (cli_parse_option(opt, optarg, cfg, action) < 0)
			return -EINVAL;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see popek --help)", argv[optind]);
		return -EINVAL;
	}
	if (*action == CLI_RUN && first == 1 && argc == 1) {
		*action = CLI_HELP;
		return 0;
	}
	if (*action == CLI_RUN && cli_check_jail(cfg) < 0)
		return -EINVAL;
	if (*action == CLI_RUN && cli_check_restore(cfg) < 0)
		return -EINVAL;
	if (*action == CLI_RUN && !cfg->kernel_path && !cfg->restore_path && !cfg->incoming &&
	    !cfg->api_sock &&
	    !deferred) {
		log_error("no kernel given: use --kernel PATH, --config-file FILE or --api-sock PATH "
			  "(see popek --help)");
		return -EINVAL;
	}
	return 0;
}
