/* Parsing of the device options (--disk, --pmem, --net, --vsock) into
 * vm_config. */
#ifndef POPEK_CLI_DEVICES_H
#define POPEK_CLI_DEVICES_H

#include "core/config.h"

/* Each parses one option value, appends to cfg and returns 0, or logs one
 * error line naming the option and the value and returns -EINVAL. */
int cli_parse_disk(const char *arg, struct vm_config *cfg);
/* --pmem PATH[,ro][,root][,id=NAME] (id default pmemN). */
int cli_parse_pmem(const char *arg, struct vm_config *cfg);
int cli_parse_net(const char *arg, struct vm_config *cfg);
int cli_parse_vsock(const char *arg, struct vm_config *cfg);

#endif
