/* Firecracker's custom CPU template (PUT /cpu-config, the config file's
 * "cpu-config"): parsed, validated and kept in struct vm_config. */
#ifndef POPEK_CONFIG_CPU_H
#define POPEK_CONFIG_CPU_H

#include "api/config_file.h"

/*
 * Applies a CpuConfig object to cfg: cpuid_modifiers (leaf and subleaf as
 * "0x..", "0b.." or decimal strings, flags, modifiers of eax/ebx/ecx/edx
 * with a "0b" bitmap of 32 0/1/x characters, '_' allowed) are kept and the
 * soft engine applies them. msr_modifiers ("addr" as a number string, a
 * "0b" bitmap of 64 0/1/x characters) are kept if cpu/msr_mods.h allows the
 * MSR and the bits (at most CONFIG_MAX_MSR_MODS, one per MSR) and both
 * engines apply them when a vCPU is created. kvm_capabilities is validated
 * and must be empty; reg_modifiers and vcpu_features are aarch64's and must
 * be empty. Errors
 * name the field ("cpuid_modifiers[0].modifiers[1].bitmap: ..."); cfg is
 * then unchanged.
 */
int config_set_cpu_config(const cJSON *o, struct vm_config *cfg, const struct config_err *e);

/* The template as a CpuConfig object (one leaf modifier per register
 * modifier), or NULL without one; the caller owns it. */
cJSON *config_cpu_config_json(const struct vm_config *cfg);

#endif
