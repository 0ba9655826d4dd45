/* What the host CPU is, read with CPUID: the vendor the soft engine models
 * by default (--cpu-vendor host) and the one KVM always presents. */
#ifndef POPEK_HOST_CPU_H
#define POPEK_HOST_CPU_H

#include "core/config.h"

/* CPU_VENDOR_INTEL or CPU_VENDOR_AMD (Hygon counts as AMD; any other
 * vendor as Intel, whose behaviour most x86 clones follow). */
enum cpu_vendor host_cpu_vendor(void);

/* v itself, or the host's vendor for CPU_VENDOR_HOST. */
enum cpu_vendor host_cpu_vendor_resolve(enum cpu_vendor v);

#endif
