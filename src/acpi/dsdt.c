/* The DSDT: \_S5 and the devices under \_SB (ACPI 6.4 section 5.2.11.1). */
#include "acpi/tables.h"

#include <errno.h>
#include <string.h>

#include "popek/layout.h"

#define DSDT_REVISION 2          /* 64-bit AML integers (5.2.11.1) */
#define DSDT_MAX      (64 * KiB) /* far more than 32 virtio devices need */
#define STA_PRESENT   0x0F       /* 6.3.7 _STA: present, enabled, shown, functioning */

/*
 * 7.4.2 \_Sx: Package {SLP_TYPa, SLP_TYPb, reserved, reserved}. On a
 * hardware-reduced platform OSPM uses SLP_TYPa only (7.4.2, 4.8.3.7): Linux
 * (ACPICA hwesleep.c) writes 0x80 (WAK_STS) to SLEEP_STATUS_REG, then
 * SLP_TYPa << 2 | SLP_EN (bit 5) = 0x34 to SLEEP_CONTROL_REG to power off.
 */
static void dsdt_s5(struct aml_buf *b)
{
	struct aml_block pkg;

	aml_name(b, "_S5");
	pkg = aml_package(b, 4);
	aml_integer(b, ACPI_S5_SLP_TYP);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_end(b, pkg);
}

/* A fixed I/O range of an ISA device. */
struct dsdt_io {
	u16 port;
	u8 len;
};

/* An ISA device with fixed I/O ranges and one ISA IRQ (edge, active high). */
static void dsdt_isa_device(struct aml_buf *b, const char *name, const char *eisaid,
			    const struct dsdt_io *io, unsigned nr_io, unsigned irq)
{
	struct aml_block dev, crs;

	dev = aml_device(b, name);
	aml_name_eisaid(b, "_HID", eisaid);
	aml_name_integer(b, "_UID", 0);
	aml_method_return_integer(b, "_STA", STA_PRESENT);
	aml_name(b, "_CRS");
	crs = aml_restemplate(b);
	for (unsigned i = 0; i < nr_io; i++)
		aml_res_io(b, io[i].port, io[i].port, 1, io[i].len);
	aml_res_irq_noflags(b, irq);
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
}

/*
 * A virtio-mmio transport, as Linux's virtio_mmio driver matches it over ACPI
 * (_HID "LNRO0005"). Its interrupt is level-triggered: the line stays
 * asserted while InterruptStatus is non-zero, until the driver writes
 * InterruptACK (virtio 1.2 section 4.2.2).
 */
static void dsdt_virtio(struct aml_buf *b, unsigned idx, const struct acpi_virtio_dev *d)
{
	const u32 gsi = d->gsi;
	struct aml_block dev, crs;
	char name[5] = {'V', 'R', '0' + idx / 10 % 10, '0' + idx % 10, 0}; /* idx < 32 */

	dev = aml_device(b, name);
	aml_name_str(b, "_HID", "LNRO0005");
	aml_name_integer(b, "_UID", idx);
	aml_method_return_integer(b, "_STA", STA_PRESENT);
	aml_name(b, "_CRS");
	crs = aml_restemplate(b);
	aml_res_memory32_fixed(b, true, (u32)d->mmio_base, d->mmio_size);
	aml_res_interrupt(b, AML_IRQ_CONSUMER, &gsi, 1); /* Level, ActiveHigh, Exclusive */
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
}

int acpi_dsdt_emit(struct aml_buf *b, const struct acpi_config *cfg)
{
	static const struct dsdt_io uart = {PORT_UART0, 8}, rtc = {PORT_RTC, 2};
	static const struct dsdt_io kbd[2] = {{PORT_I8042_DATA, 1}, {PORT_I8042_CMD, 1}};
	struct acpi_table_header h;
	struct aml_block sb;

	/* The header is filled in once the length is known. */
	memset(&h, 0, sizeof(h));
	aml_bytes(b, &h, sizeof(h));

	dsdt_s5(b);
	sb = aml_scope(b, "\\_SB");
	if (cfg->has_uart)
		dsdt_isa_device(b, "COM1", "PNP0501", &uart, 1, GSI_UART0);
	if (cfg->has_rtc)
		dsdt_isa_device(b, "RTC", "PNP0B00", &rtc, 1, GSI_RTC);
	/*
	 * The i8042's keyboard port, always there. With ACPI hardware-reduced
	 * Linux maps no ISA IRQ by itself: this device is how its i8042 driver
	 * finds data port, command port and IRQ 1 (i8042-acpipnpio.h,
	 * i8042_pnp_kbd_probe). There is no aux (mouse) port to describe.
	 */
	dsdt_isa_device(b, "KBD", "PNP0303", kbd, 2, GSI_I8042_KBD);
	for (unsigned i = 0; i < cfg->nr_virtio && i < ACPI_MAX_VIRTIO; i++)
		dsdt_virtio(b, i, &cfg->virtio[i]);
	aml_end(b, sb);

	if (aml_error(b))
		return aml_error(b);
	acpi_header_init(&h, "DSDT", b->len, DSDT_REVISION);
	memcpy(b->data, &h, sizeof(h));
	acpi_table_seal((struct acpi_table_header *)b->data);
	return 0;
}

int acpi_dsdt_build(struct acpi_area *a, const struct acpi_config *cfg, gpa_t *out)
{
	struct aml_buf b;
	void *p;
	int err;

	aml_init(&b, DSDT_MAX);
	err = acpi_dsdt_emit(&b, cfg);
	if (!err)
		err = acpi_area_alloc(a, b.len, 16, &p, out);
	if (!err)
		memcpy(p, b.data, b.len);
	aml_release(&b);
	return err;
}
