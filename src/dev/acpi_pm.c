/* ACPI sleep control/status and reset registers (ACPI 6.4 4.8.3.6-4.8.3.7). */
#include "dev/acpi_pm.h"

#include <errno.h>

#include "popek/layout.h"
#include "popek/log.h"

#define SLP_EN     0x20
#define SLP_TYP(v) (((v) >> 2) & 7)
#define WAK_STS    0x80

static void acpi_pm_sleep(struct acpi_pm *pm, u8 v)
{
	if (!(v & SLP_EN))
		return;
	if (SLP_TYP(v) == ACPI_PM_S5_SLP_TYP) {
		dev_request_stop(&pm->stop, MACHINE_STOP_POWEROFF, 0);
		return;
	}
	if (!pm->warned_sleep) {
		log_warn("acpi: guest asked for sleep type %u: only S5 (type %u) is supported",
			 SLP_TYP(v), ACPI_PM_S5_SLP_TYP);
		pm->warned_sleep = true;
	}
}

static void acpi_pm_write_byte(struct acpi_pm *pm, unsigned reg, u8 v)
{
	switch (reg) {
	case PORT_ACPI_SLEEP_CTL - PORT_ACPI_SLEEP_CTL:
		acpi_pm_sleep(pm, v);
		break;
	case PORT_ACPI_SLEEP_STS - PORT_ACPI_SLEEP_CTL:
		pm->sleep_sts &= (u8) ~(v & WAK_STS);
		break;
	case PORT_ACPI_RESET - PORT_ACPI_SLEEP_CTL:
		if (v == ACPI_RESET_VALUE)
			dev_request_stop(&pm->stop, MACHINE_STOP_RESET, 0);
		break;
	}
}

static u64 acpi_pm_read(void *opaque, u64 offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	u64 v = 0;

	for (unsigned i = 0; i < size && offset + i < ACPI_PM_NR_PORTS; i++)
		if (offset + i == PORT_ACPI_SLEEP_STS - PORT_ACPI_SLEEP_CTL)
			v |= (u64)pm->sleep_sts << (8 * i);
	return v;
}

static void acpi_pm_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct acpi_pm *pm = opaque;

	for (unsigned i = 0; i < size && offset + i < ACPI_PM_NR_PORTS; i++)
		acpi_pm_write_byte(pm, (unsigned)offset + i, (u8)(value >> (8 * i)));
}

static const struct bus_ops acpi_pm_ops = {
    .name = "acpi-pm",
    .read = acpi_pm_read,
    .write = acpi_pm_write,
};

int acpi_pm_init(struct acpi_pm *pm, struct bus *pio, const struct dev_stop *stop)
{
	_Static_assert(PORT_ACPI_SLEEP_STS == PORT_ACPI_SLEEP_CTL + 1 &&
			   PORT_ACPI_RESET == PORT_ACPI_SLEEP_CTL + 2,
		       "the ACPI registers are three consecutive ports");
	pm->sleep_sts = 0;
	pm->warned_sleep = false;
	pm->stop = *stop;
	return bus_register(pio, PORT_ACPI_SLEEP_CTL, ACPI_PM_NR_PORTS, &acpi_pm_ops, pm);
}

/* Snapshot form: the sleep status register (u8). Whether the unsupported
 * sleep type was logged is the host's business and not saved. */
int acpi_pm_save(const struct acpi_pm *pm, struct snap_out *o)
{
	snap_put_u8(o, pm->sleep_sts);
	return o->err;
}

int acpi_pm_load(struct acpi_pm *pm, struct snap_in *in)
{
	u8 sts = snap_get_u8(in);

	if (sts & ~WAK_STS)
		snap_reject(in, "acpi_pm: sleep status 0x%02x sets bits other than WAK_STS", sts);
	if (snap_in_end(in) < 0)
		return -EINVAL;
	pm->sleep_sts = sts;
	return 0;
}
