/* The guest's e820 memory map, shared by boot_params, multiboot and PVH. */
#include "boot/loader.h"
#include "popek/layout.h"

static unsigned e820_add(struct boot_e820_entry *out, unsigned n, u64 addr, u64 size, u32 type)
{
	if (!size || n >= BOOT_E820_MAX)
		return n;
	out[n] = (struct boot_e820_entry){addr, size, type};
	return n + 1;
}

/* The range EBDA..1 MiB is reserved like on a PC (ACPI 6.5 5.2.5.1 searches
 * 0xE0000-0xFFFFF for the RSDP, and the tables live there). */
unsigned boot_e820_build(const struct guest_mem *mem, struct boot_e820_entry *out)
{
	u64 low_end = guest_mem_low_end(mem);
	unsigned n = 0;

	n = e820_add(out, n, 0, MIN(low_end, LAYOUT_EBDA_START), E820_RAM);
	if (low_end > LAYOUT_EBDA_START)
		n = e820_add(out, n, LAYOUT_EBDA_START,
			     MIN(low_end, LAYOUT_KERNEL) - LAYOUT_EBDA_START, E820_RESERVED);
	if (low_end > LAYOUT_KERNEL)
		n = e820_add(out, n, LAYOUT_KERNEL, low_end - LAYOUT_KERNEL, E820_RAM);
	for (unsigned i = 1; i < mem->nr_regions; i++)
		n = e820_add(out, n, mem->regions[i].gpa, mem->regions[i].size, E820_RAM);
	return n;
}
