/* Command-line parsing into struct vm_config. */
#ifndef POPEK_CLI_H
#define POPEK_CLI_H

#include "core/config.h"

struct config_store;

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION, CLI_DESCRIBE_SNAPSHOT };

/* Parses argv (argv[0] is the program). --config-file is applied first;
 * strings it sets live in st, which must outlive cfg. On a bad argument logs
 * one error line naming the option and the value and returns -EINVAL.
 * With --jail, the config file's path is inside the jail: it is read only
 * when in_jail is true, so main parses once, enters cfg->jail_dir, and
 * parses again with in_jail. */
int cli_parse(int argc, char **argv, bool in_jail, struct vm_config *cfg, struct config_store *st,
	      enum cli_action *action);
void cli_print_help(void);
/* The configuration before any option: 256 MiB, 1 vCPU, engine auto,
 * virtio-rng, seccomp on, the log level from POPEK_LOG. */
void cli_defaults(struct vm_config *cfg, struct config_store *st);
/* --id: Firecracker's instance ids, 1 to 64 letters, digits, '-' or '_',
 * into cfg->vm_id; logs and returns -EINVAL otherwise. */
int cli_parse_id(const char *s, struct vm_config *cfg);
/* Parses "512M", "2G", "1024K", "4096" (MiB) into bytes; -EINVAL if malformed. */
int cli_parse_size(const char *s, u64 *bytes);

#define POPEK_VERSION "0.1.0"

#endif
