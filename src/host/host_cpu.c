/* The host CPU's vendor from CPUID leaf 0 (Intel SDM Vol. 2A "CPUID",
 * AMD APM Vol. 3 "CPUID Fn0000_0000"). */
#include <cpuid.h>
#include <string.h>

#include "host/host_cpu.h"

enum cpu_vendor host_cpu_vendor(void)
{
	unsigned a, b, c, d;
	char id[13];

	__cpuid(0, a, b, c, d);
	memcpy(id, &b, 4);
	memcpy(id + 4, &d, 4);
	memcpy(id + 8, &c, 4);
	id[12] = 0;
	if (!strcmp(id, "AuthenticAMD") || !strcmp(id, "HygonGenuine"))
		return CPU_VENDOR_AMD;
	return CPU_VENDOR_INTEL;
}

enum cpu_vendor host_cpu_vendor_resolve(enum cpu_vendor v)
{
	return v == CPU_VENDOR_HOST ? host_cpu_vendor() : v;
}
