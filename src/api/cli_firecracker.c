/* Firecracker's command line (its src/firecracker/src/main.rs flags) into
 * struct vm_config, for popek started as `firecracker`. */
#include "api/cli_firecracker.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_misc.h"
#include "api/config_file.h"
#include "api/http.h"
#include "popek/log.h"

bool cli_is_firecracker(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : argv0;
	return base && !strcmp(base, "firecracker");
}

void cli_firecracker_help(void)
{
	printf("Firecracker v%s (popek %s answering as Firecracker)\n"
	       "\n"
	       "usage: firecracker [--api-sock PATH] [--config-file FILE] [options]\n"
	       "\n"
	       "  --api-sock PATH     the API's Unix socket (default " CLI_FC_DEFAULT_API_SOCK ")\n"
	       "  --config-file FILE  the microVM's configuration (Firecracker's JSON); the\n"
	       "                      VM starts at once, the API still answers\n"
	       "  --no-api            no API socket (needs --config-file)\n"
	       "  --id ID             the microVM's id (default \"" CONFIG_DEFAULT_VM_ID "\")\n"
	       "  --level LEVEL       log level: Error, Warning, Info, Debug, Trace or Off\n"
	       "  --log-path PATH     log to this file or FIFO instead of stderr\n"
	       "  --show-level, --show-log-origin, --module M\n"
	       "                      accepted; popek's log lines always show the level\n"
	       "  --metrics-path PATH metrics as JSON lines (FlushMetrics, every minute, at exit)\n"
	       "  --http-api-max-payload-size N\n"
	       "                      largest request body in bytes (default %d)\n"
	       "  --mmds-size-limit N largest MMDS data store in bytes (default: the above)\n"
	       "  --no-seccomp        no seccomp filters\n"
	       "  --boot-timer        accepted; popek has no boot-timer device\n"
	       "  --start-time-us, --start-time-cpu-us, --parent-cpu-time-us N\n"
	       "                      the jailer's; accepted\n"
	       "  --describe-snapshot FILE\n"
	       "                      print a snapshot state file's format version\n"
	       "  --version, --help\n"
	       "\n"
	       "Refused: --seccomp-filter (popek builds its own filters), --metadata,\n"
	       "--enable-pci. popek's own options need the name popek (see popek --help).\n",
	       POPEK_FC_API_VERSION, POPEK_VERSION, HTTP_DEFAULT_BODY);
}

enum {
	FC_API_SOCK = 256,
	FC_CONFIG_FILE,
	FC_NO_API,
	FC_ID,
	FC_LEVEL,
	FC_LOG_PATH,
	FC_SHOW_LEVEL,
	FC_SHOW_ORIGIN,
	FC_MODULE,
	FC_METRICS_PATH,
	FC_MAX_PAYLOAD,
	FC_MMDS_LIMIT,
	FC_NO_SECCOMP,
	FC_SECCOMP_FILTER,
	FC_BOOT_TIMER,
	FC_START_TIME,
	FC_VERSION,
	FC_SNAPSHOT_VERSION,
	FC_DESCRIBE_SNAPSHOT,
	FC_HELP,
	FC_METADATA,
	FC_ENABLE_PCI,
};

static const struct option fc_options[] = {
    {"api-sock", required_argument, NULL, FC_API_SOCK},
    {"config-file", required_argument, NULL, FC_CONFIG_FILE},
    {"no-api", no_argument, NULL, FC_NO_API},
    {"id", required_argument, NULL, FC_ID},
    {"level", required_argument, NULL, FC_LEVEL},
    {"log-path", required_argument, NULL, FC_LOG_PATH},
    {"show-level", no_argument, NULL, FC_SHOW_LEVEL},
    {"show-log-origin", no_argument, NULL, FC_SHOW_ORIGIN},
    {"module", required_argument, NULL, FC_MODULE},
    {"metrics-path", required_argument, NULL, FC_METRICS_PATH},
    {"http-api-max-payload-size", required_argument, NULL, FC_MAX_PAYLOAD},
    {"mmds-size-limit", required_argument, NULL, FC_MMDS_LIMIT},
    {"no-seccomp", no_argument, NULL, FC_NO_SECCOMP},
    {"seccomp-filter", required_argument, NULL, FC_SECCOMP_FILTER},
    {"boot-timer", no_argument, NULL, FC_BOOT_TIMER},
    {"start-time-us", required_argument, NULL, FC_START_TIME},
    {"start-time-cpu-us", required_argument, NULL, FC_START_TIME},
    {"parent-cpu-time-us", required_argument, NULL, FC_START_TIME},
    {"version", no_argument, NULL, FC_VERSION},
    {"snapshot-version", no_argument, NULL, FC_SNAPSHOT_VERSION},
    {"describe-snapshot", required_argument, NULL, FC_DESCRIBE_SNAPSHOT},
    {"help", no_argument, NULL, FC_HELP},
    {"metadata", required_argument, NULL, FC_METADATA},
    {"enable-pci", no_argument, NULL, FC_ENABLE_PCI},
    {NULL, 0, NULL, 0},
};

/* A byte count: decimal digits, from min to max. */
static int fc_parse_bytes(const char *opt, const char *s, u64 min, u64 max, u64 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s < '0' || *s > '9' || v < min || v > max) {
		log_error("--%s '%s': must be a number of bytes from %llu to %llu", opt, s,
			  (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* The flags that need no more than cfg. */
static int fc_option(int opt, const char *arg, struct vm_config *cfg, bool *no_api,
		     const char **config_file)
{
	switch (opt) {
	case FC_API_SOCK:
		cfg->api_sock = arg;
		return 0;
	case FC_CONFIG_FILE:
		*config_file = arg;
		return 0;
	case FC_NO_API:
		*no_api = true;
		return 0;
	case FC_ID:
		return cli_parse_id(arg, cfg);
	case FC_LEVEL:
		cfg->log_level = log_level_parse(arg);
		if (cfg->log_level < 0) {
			log_error("--level '%s': not Error, Warning, Info, Debug, Trace or Off",
				  arg);
			return -EINVAL;
		}
		return 0;
	case FC_LOG_PATH:
		cfg->log_path = arg;
		return 0;
	case FC_METRICS_PATH:
		cfg->metrics_file = arg;
		return 0;
	case FC_MAX_PAYLOAD:
		return fc_parse_bytes("http-api-max-payload-size", arg, 1, HTTP_MAX_BODY_LIMIT,
				      &cfg->api_max_payload);
	case FC_MMDS_LIMIT:
		return fc_parse_bytes("mmds-size-limit", arg, 1, HTTP_MAX_BODY_LIMIT,
				      &cfg->mmds.size_limit);
	case FC_NO_SECCOMP:
		cfg->seccomp = false;
		return 0;
	case FC_SECCOMP_FILTER:
		log_error("--seccomp-filter '%s': popek builds its own seccomp filters and cannot "
			  "load Firecracker's BPF; leave it out (popek's filters are on) or use "
			  "--no-seccomp",
			  arg);
		return -EINVAL;
	case FC_METADATA:
		log_error("--metadata '%s': not supported by popek yet; PUT /mmds instead", arg);
		return -EINVAL;
	case FC_ENABLE_PCI:
		log_error("--enable-pci: popek has no PCI; its devices are virtio-mmio");
		return -EINVAL;
	case FC_BOOT_TIMER:
		log_info("--boot-timer: accepted; popek has no boot-timer device");
		return 0;
	case FC_SHOW_LEVEL:
	case FC_SHOW_ORIGIN:
	case FC_MODULE:
	case FC_START_TIME:
		return 0;
	}
	return -EINVAL;
}

int cli_firecracker_parse(int argc, char **argv, struct vm_config *cfg, struct config_store *st,
			  enum cli_action *action, const char **snapshot)
{
	const char *config_file = NULL;
	bool no_api = false;
	int opt;

	cli_defaults(cfg, st); /* popek run's, for what Firecracker leaves out */
	*action = CLI_RUN;
	*snapshot = NULL;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", fc_options, NULL)) != -1) {
		if (opt == '?') {
			log_error("unknown option '%s' (see firecracker --help)", argv[optind - 1]);
			return -EINVAL;
		}
		if (opt == ':') {
			log_error("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		}
		if (opt == FC_HELP || opt == FC_VERSION || opt == FC_SNAPSHOT_VERSION) {
			*action = opt == FC_HELP ? CLI_HELP : CLI_VERSION;
			if (opt == FC_SNAPSHOT_VERSION)
				*snapshot = "";
			continue;
		}
		if (opt == FC_DESCRIBE_SNAPSHOT) {
			*action = CLI_DESCRIBE_SNAPSHOT;
			*snapshot = optarg;
			continue;
		}
		if (fc_option(opt, optarg, cfg, &no_api, &config_file) < 0)
			return -EINVAL;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see firecracker --help)", argv[optind]);
		return -EINVAL;
	}
	if (*action != CLI_RUN)
		return 0;
	if (no_api && !config_file) {
		log_error("--no-api needs --config-file FILE: the microVM is then configured only "
			  "from it");
		return -EINVAL;
	}
	if (config_file && config_file_load(config_file, cfg, st) < 0)
		return -EINVAL;
	if (!cfg->mmds.size_limit)
		cfg->mmds.size_limit =
		    cfg->api_max_payload ? cfg->api_max_payload : HTTP_DEFAULT_BODY;
	if (no_api)
		cfg->api_sock = NULL;
	else if (!cfg->api_sock)
		cfg->api_sock = CLI_FC_DEFAULT_API_SOCK;
	return 0;
}

int cli_firecracker_describe_snapshot(const char *path)
{
	u8 head[12];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		log_error("--describe-snapshot '%s': %s", path, strerror(errno));
		return 1;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n != (ssize_t)sizeof(head) || memcmp(head, "POPEKSNP", 8)) {
		log_error("--describe-snapshot '%s': not a popek snapshot state file", path);
		return 1;
	}
	printf("v%u\n", (unsigned)(head[8] | head[9] << 8 | head[10] << 16 | (u32)head[11] << 24));
	return 0;
}
