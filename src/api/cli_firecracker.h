/* Firecracker's command line, for popek started under the name
 * `firecracker` (a symlink `make install` puts next to popek). */
#ifndef POPEK_CLI_FIRECRACKER_H
#define POPEK_CLI_FIRECRACKER_H

#include "api/cli.h"

struct config_store;

/* The socket Firecracker serves its API on when --api-sock is not given. */
#define CLI_FC_DEFAULT_API_SOCK "/run/firecracker.socket"

/* True when argv0's last path component is "firecracker". */
bool cli_is_firecracker(const char *argv0);

/*
 * Parses Firecracker's flags into cfg, with Firecracker's meaning:
 * --api-sock PATH (default CLI_FC_DEFAULT_API_SOCK), --config-file FILE
 * (the VM then starts at once, the API still served), --no-api (needs
 * --config-file), --id, --level, --log-path, --metrics-path,
 * --http-api-max-payload-size N, --mmds-size-limit N, --no-seccomp,
 * --version, --help, --describe-snapshot FILE. --boot-timer,
 * --show-level, --show-log-origin, --module and the jailer's
 * --start-time-us, --start-time-cpu-us and --parent-cpu-time-us are
 * accepted and have no effect; --seccomp-filter, --metadata and
 * --enable-pci are refused naming why. *action is CLI_RUN, CLI_HELP,
 * CLI_VERSION or CLI_DESCRIBE_SNAPSHOT (*snapshot then names the file).
 * Logs one line and returns -EINVAL on a bad argument.
 */
int cli_firecracker_parse(int argc, char **argv, struct vm_config *cfg, struct config_store *st,
			  enum cli_action *action, const char **snapshot);

void cli_firecracker_help(void);

/* `firecracker --describe-snapshot FILE`: prints the state file's format
 * version ("v2"), as Firecracker prints its own. Returns the exit status. */
int cli_firecracker_describe_snapshot(const char *path);

#endif
