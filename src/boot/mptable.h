/* The Intel MP table for guests booted without ACPI (acpi=off). */
#ifndef POPEK_BOOT_MPTABLE_H
#define POPEK_BOOT_MPTABLE_H

#include "popek/types.h"

struct guest_mem;

#define MPTABLE_MAX_CPUS 64

struct mptable_config {
	unsigned nr_cpus;          /* local APIC ids 0..nr_cpus-1; the IOAPIC takes the next */
	unsigned nr_level_gsis;    /* lines that are level-triggered, active high */
	const unsigned *level_gsis; /* (virtio-mmio), all others edge as on ISA */
};

/* Writes the floating pointer and configuration table at LAYOUT_MPTABLE
 * (inside the BIOS area Linux scans). Returns 0 or -errno. */
int mptable_build(const struct guest_mem *mem, const struct mptable_config *cfg);

#endif
