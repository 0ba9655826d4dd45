/* The Fixed ACPI Description Table, revision 6, hardware-reduced (ACPI 6.4 section 5.2.9). */
#include "acpi/tables.h"

#include <string.h>

#include "popek/layout.h"

/* 5.2.9 Table 5.9, the ACPI 6.x layout (276 bytes). */
struct acpi_fadt {
	struct acpi_table_header header;
	u32 firmware_ctrl; /* FACS: none on hardware-reduced platforms */
	u32 dsdt;
	u8 reserved0;
	u8 preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable;
	u8 acpi_disable;
	u8 s4bios_req;
	u8 pstate_cnt;
	u32 pm1a_evt_blk;
	u32 pm1b_evt_blk;
	u32 pm1a_cnt_blk;
	u32 pm1b_cnt_blk;
	u32 pm2_cnt_blk;
	u32 pm_tmr_blk;
	u32 gpe0_blk;
	u32 gpe1_blk;
	u8 pm1_evt_len;
	u8 pm1_cnt_len;
	u8 pm2_cnt_len;
	u8 pm_tmr_len;
	u8 gpe0_blk_len;
	u8 gpe1_blk_len;
	u8 gpe1_base;
	u8 cst_cnt;
	u16 p_lvl2_lat;
	u16 p_lvl3_lat;
	u16 flush_size;
	u16 flush_stride;
	u8 duty_offset;
	u8 duty_width;
	u8 day_alrm;
	u8 mon_alrm;
	u8 century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 minor_version;
	u64 x_firmware_ctrl;
	u64 x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	u64 hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT sleep control");

#define FADT_REVISION      6
#define FADT_MINOR_VERSION 4 /* ACPI 6.4 */

/* 5.2.9.3 IA-PC Boot Architecture Flags. */
#define IAPC_LEGACY_DEVICES       (1u << 0)
#define IAPC_8042                 (1u << 1) /* an i8042 exists (also in the DSDT: PNP0303) */
#define IAPC_VGA_NOT_PRESENT      (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* 5.2.9 Table 5.10 Fixed ACPI Description Table Fixed Feature Flags. */
#define FADT_WBINVD          (1u << 0)
#define FADT_RESET_REG_SUP   (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)

static struct acpi_gas fadt_io_byte(u16 port)
{
	return (struct acpi_gas){
	    .space_id = ACPI_GAS_SYSTEM_IO,
	    .bit_width = 8,
	    .bit_offset = 0,
	    .access_size = ACPI_GAS_ACCESS_BYTE,
	    .address = port,
	};
}

int acpi_fadt_build(struct acpi_area *a, const struct acpi_config *cfg, gpa_t dsdt, gpa_t *out)
{
	struct acpi_fadt *f;
	void *p;
	int err;

	err = acpi_area_alloc(a, sizeof(*f), 16, &p, out);
	if (err)
		return err;
	f = p;
	acpi_header_init(&f->header, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR_VERSION;
	/* Both DSDT fields, equal: ACPICA prefers X_DSDT and warns only when they differ. */
	f->dsdt = (u32)dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = GSI_ACPI_SCI;
	/*
	 * Hardware-reduced (4.1): no PM1/GPE blocks, no SMI_CMD, no FACS. Sleep
	 * goes through SLEEP_CONTROL_REG/SLEEP_STATUS_REG (4.8.3.7); reset through
	 * RESET_REG (4.8.3.6).
	 */
	f->flags = FADT_WBINVD | FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI;
	f->reset_reg = fadt_io_byte(PORT_ACPI_RESET);
	f->reset_value = ACPI_RESET_VALUE;
	f->sleep_control_reg = fadt_io_byte(PORT_ACPI_SLEEP_CTL);
	f->sleep_status_reg = fadt_io_byte(PORT_ACPI_SLEEP_STS);
	/*
	 * COM1 and the RTC are ISA devices; the 8042 flag says the keyboard
	 * controller exists (without it Linux's arch/x86/kernel/acpi/boot.c
	 * marks it firmware-absent; Linux finds it through its PNP0303 device in
	 * the DSDT, see dsdt.c). No VGA.
	 * CENTURY stays 0: the RTC need not implement CMOS register 0x32.
	 */
	f->iapc_boot_arch = IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT;
	if (!cfg->has_rtc)
		f->iapc_boot_arch |= IAPC_CMOS_RTC_NOT_PRESENT;
	/* 5.2.9: "Hypervisor Vendor Identity", 8 bytes. */
	memcpy(&f->hypervisor_vendor_id, "POPEK\0\0\0", 8);
	acpi_table_seal(&f->header);
	return 0;
}
