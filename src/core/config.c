/* Names and defaults of struct vm_config values. */
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
