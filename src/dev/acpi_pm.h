/* The hardware-reduced ACPI sleep and reset registers named by the FADT. */
#ifndef POPEK_ACPI_PM_H
#define POPEK_ACPI_PM_H

#include "core/bus.h"
#include "dev/dev.h"

/*
 * Three 1-byte I/O registers (ACPI 6.4 sections 4.8.3.6 and 4.8.3.7):
 * - PORT_ACPI_SLEEP_CTL: writing SLP_EN (bit 5) with SLP_TYP ((v >> 2) & 7)
 *   = ACPI_PM_S5_SLP_TYP (the DSDT's \_S5 value) stops the machine with
 *   MACHINE_STOP_POWEROFF, status 0. Other sleep types are not supported:
 *   logged once and ignored (the guest carries on as if woken at once).
 *   Reads return 0 (SLP_EN is write-only).
 * - PORT_ACPI_SLEEP_STS: WAK_STS (bit 7), write 1 to clear; it is never
 *   set (nothing sleeps), so reads return 0.
 * - PORT_ACPI_RESET: writing ACPI_RESET_VALUE stops the machine with
 *   MACHINE_STOP_RESET, status 0; other values are ignored. Reads return 0.
 * Wider accesses are split into bytes, lowest port first.
 * Port 0x61 (system control port B) is not here: the soft engine's PIT owns it.
 */

#define ACPI_PM_NR_PORTS   3
#define ACPI_PM_S5_SLP_TYP 5

struct acpi_pm {
	u8 sleep_sts;      /* WAK_STS */
	bool warned_sleep; /* unsupported sleep type already logged */
	struct dev_stop stop;
};

int acpi_pm_init(struct acpi_pm *pm, struct bus *pio, const struct dev_stop *stop);

/* The guest-visible state (field order at acpi_pm_save() in acpi_pm.c) for a
 * snapshot. Returns 0 or o->err. */
int acpi_pm_save(const struct acpi_pm *pm, struct snap_out *o);
/* Loads what acpi_pm_save() wrote, only if it is valid and in[] holds nothing
 * more (no interrupt line). Returns 0, or -EINVAL with pm unchanged and the
 * reason in in->why. */
int acpi_pm_load(struct acpi_pm *pm, struct snap_in *in);

#endif
