/* The one typed VM configuration, filled by the CLI (and later the JSON config
 * file and the API) and read by machine set-up. */
#ifndef POPEK_CONFIG_H
#define POPEK_CONFIG_H

#include "popek/types.h"

enum engine_kind { ENGINE_AUTO, ENGINE_KVM, ENGINE_SOFT };

#define CONFIG_MAX_CPUS 64
#define CONFIG_DEFAULT_MEM (256 * MiB)
#define CONFIG_MIN_MEM (16 * MiB)

struct vm_config {
	const char *kernel_path;
	const char *initrd_path;  /* Linux initrd, or multiboot modules list */
	const char *cmdline;      /* NULL: default command line */
	u64 mem_size;             /* bytes */
	unsigned nr_cpus;
	enum engine_kind engine;
	bool testdev;             /* attach the guest-program test device */
};

const char *config_engine_name(enum engine_kind kind);

#endif
