/* The legacy device set of a popek machine, created and wired in one call. */
#ifndef POPEK_DEVICES_H
#define POPEK_DEVICES_H

#include "core/machine.h"
#include "dev/acpi_pm.h"
#include "dev/console.h"
#include "dev/debug_exit.h"
#include "dev/fw_cfg.h"
#include "dev/i8042.h"
#include "dev/rtc.h"
#include "dev/testdev.h"
#include "dev/uart.h"

/*
 * Snapshots (issue 12): uart, rtc, i8042, fw_cfg, acpi_pm and testdev each
 * have X_save()/X_load() for their guest-visible state. debug_exit and
 * console have none to save: debug_exit only turns a write into a stop
 * request, and console is the host side of uart0 (its fds, escape state
 * and whether it watches stdin are rebuilt with the machine).
 */
struct machine_devices {
	struct uart uart0;            /* COM1: PORT_UART0, GSI_UART0 */
	struct console console;       /* stdin -> uart0; uart0 -> stdout */
	struct rtc rtc;               /* PORT_RTC */
	struct i8042 i8042;           /* 0x60/0x64, GSI 1 */
	struct fw_cfg fw_cfg;         /* PORT_FW_CFG */
	struct debug_exit debug_exit; /* PORT_DEBUG_EXIT */
	struct acpi_pm acpi_pm;       /* FADT sleep/reset registers */
	struct testdev testdev;       /* only when has_testdev */
	bool has_testdev;
	int serial_out_fd;            /* cfg.serial_out_path opened for uart0, or -1 */
};

/*
 * Allocates m->devs and registers every device on m->pio, m->mmio and
 * m->loop; the console reads fd 0 and writes fd 1. Needs m->cfg, m->mem,
 * the buses, m->irq (the engine's set function may come later) and an
 * initialized m->loop. Call on the thread that will run the event loop,
 * before it runs. Logs one line and returns -errno on failure; m->devs is
 * then left set for devices_destroy() (ranges already on the buses stay
 * there: the machine must not run after a failure).
 *
 * The UART never sets O_NONBLOCK on fd 0 or 1; a blocked stdout holds the
 * guest until it drains. main should ignore SIGPIPE so that a closed stdout
 * only ends console output (logged once).
 */
int devices_create(struct machine *m);
/* Takes the console and the i8042 off m->loop (call before event_loop_destroy)
 * and frees m->devs. The vCPUs must be stopped: the buses still point at the
 * devices. */
void devices_destroy(struct machine *m);

#endif
