/* Guest program: CPUID vendor, feature bits and the hypervisor bit. */
#include "guest.h"

void test_main(void)
{
	u32 r[4], max, ext;
	char vendor[13];
	bool printable = true;

	cpuid(0, 0, r);
	max = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	for (int i = 0; i < 12; i++)
		printable &= vendor[i] >= 0x20 && vendor[i] < 0x7f;
	check(max >= 1, "max basic leaf %u >= 1", max);
	check(printable && vendor[0] != ' ', "vendor string '%s' is 12 printable characters",
	      vendor);

	/* Leaf 1 EDX (Intel SDM Vol. 2A CPUID, Table 3-11). */
	cpuid(1, 0, r);
	check(r[3] & (1u << 0), "leaf 1: FPU");
	check(r[3] & (1u << 4), "leaf 1: TSC");
	check(r[3] & (1u << 5), "leaf 1: MSR");
	check(r[3] & (1u << 6), "leaf 1: PAE");
	check(r[3] & (1u << 9), "leaf 1: APIC");
	check(r[3] & (1u << 25), "leaf 1: SSE");
	check(r[3] & (1u << 26), "leaf 1: SSE2");
	check(r[2] & (1u << 31), "leaf 1: hypervisor bit (ECX bit 31)");
	check((r[1] >> 24) == (lapic_read(LAPIC_ID) >> 24),
	      "leaf 1: initial APIC ID %u matches the LAPIC ID register", r[1] >> 24);

	cpuid(0x80000000, 0, r);
	ext = r[0];
	check(ext >= 0x80000001 && ext < 0x80000100, "max extended leaf %#x >= 0x80000001", ext);
	cpuid(0x80000001, 0, r);
	check(r[3] & (1u << 29), "leaf 0x80000001: LM");
	check(r[3] & (1u << 20), "leaf 0x80000001: NX");

	cpuid(0x40000000, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[2], 4);
	memcpy(vendor + 8, &r[3], 4);
	for (int i = 0; i < 12; i++)
		if (vendor[i] < 0x20 || vendor[i] >= 0x7f)
			vendor[i] = '.';
	printf("# hypervisor leaf 0x40000000: max %#x signature '%s'\n", r[0], vendor);
}
