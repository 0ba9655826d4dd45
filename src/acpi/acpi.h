/* ACPI tables built by popek at boot: RSDP, XSDT, a hardware-reduced FADT,
 * MADT, DSDT (with AML from aml.h). No prebuilt blobs. */
#ifndef POPEK_ACPI_H
#define POPEK_ACPI_H

#include "core/guest_mem.h"

#define ACPI_MAX_VIRTIO 32

struct acpi_virtio_dev {
	u64 mmio_base;
	u32 mmio_size;
	u32 gsi;
};

struct acpi_config {
	unsigned nr_cpus; /* one Processor Local APIC entry each, ids 0..n-1 */
	bool has_uart;    /* COM1 at 0x3f8, GSI 4 */
	bool has_rtc;     /* CMOS RTC at 0x70, GSI 8 */
	unsigned nr_virtio;
	struct acpi_virtio_dev virtio[ACPI_MAX_VIRTIO]; /* described as LNRO0005 */
};

/* Writes all tables into [LAYOUT_ACPI_START, LAYOUT_ACPI_END) of guest RAM
 * and returns the RSDP's address in *rsdp. Returns 0, -ENOSPC when they do
 * not fit, or -EFAULT when that range is not RAM (-EINVAL for a bad config:
 * no CPU or more than 254, a virtio window not below 4 GiB, a virtio GSI that
 * is >= 24, 0, 1, 2, used by COM1/RTC or by another virtio device). The DSDT
 * always describes the i8042 keyboard controller (PNP0303: 0x60, 0x64, IRQ 1).
 *
 * What the guest then writes (for the devices behind these ports):
 * poweroff: 0x80 to PORT_ACPI_SLEEP_STS (clear WAK_STS), then 0x34
 * (SLP_TYP 5 << 2 | SLP_EN 0x20) to PORT_ACPI_SLEEP_CTL; reboot:
 * ACPI_RESET_VALUE to PORT_ACPI_RESET. */
int acpi_build(struct guest_mem *mem, const struct acpi_config *cfg, gpa_t *rsdp);

#endif
