/* Names and defaults of struct vm_config values. */
#include <errno.h>
#include <string.h>

#include "core/config.h"

const char *config_engine_name(enum engine_kind kind)
{
	switch (kind) {
	case ENGINE_KVM:
		return "kvm";
	case ENGINE_SOFT:
		return "soft";
	default:
		return "auto";
	}
}

const char *config_vendor_name(enum cpu_vendor v)
{
	switch (v) {
	case CPU_VENDOR_INTEL:
		return "intel";
	case CPU_VENDOR_AMD:
		return "amd";
	default:
		return "host";
	}
}

int config_vendor_parse(const char *s, enum cpu_vendor *out)
{
	static const enum cpu_vendor all[] = {CPU_VENDOR_HOST, CPU_VENDOR_INTEL, CPU_VENDOR_AMD};

	for (unsigned i = 0; i < ARRAY_SIZE(all); i++) {
		if (!strcmp(s, config_vendor_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	}
	return -EINVAL;
}
