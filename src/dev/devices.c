/* Creation and wiring of the legacy devices of a machine. */
#include "dev/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "popek/layout.h"
#include "popek/log.h"

static void devices_stop(void *opaque, enum machine_stop_reason why, int status)
{
	machine_request_stop(opaque, why, status);
}

static int devices_fail(const char *what, int err)
{
	log_error("cannot create the %s device: %s", what, strerror(-err));
	return err;
}

int devices_create(struct machine *m)
{
	const struct dev_stop stop = {devices_stop, m};
	struct machine_devices *d;
	u64 ram = m->mem.ram_size ? m->mem.ram_size : m->cfg.mem_size;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return devices_fail("legacy", -ENOMEM);
	m->devs = d;

	/* PUT /serial's serial_out_path (a file or FIFO) takes the UART's
	 * output instead of stdout, as in Firecracker. */
	d->serial_out_fd = -1;
	if (m->cfg.serial_out_path) {
		d->serial_out_fd = open(m->cfg.serial_out_path,
					O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (d->serial_out_fd < 0) {
			err = -errno;
			log_error("serial_out_path '%s': %s", m->cfg.serial_out_path,
				  strerror(-err));
			return err;
		}
	}
	err = uart_init(&d->uart0, &m->pio, PORT_UART0, &m->irq, GSI_UART0,
			d->serial_out_fd >= 0 ? d->serial_out_fd : STDOUT_FILENO);
	if (err < 0)
		return devices_fail("uart", err);
	/* With --virtio-console, stdin belongs to hvc0 (src/virtio/console.h). */
	err = console_init(&d->console, &d->uart0, &m->loop, &m->dev_lock,
			   m->cfg.virtio_console ? -1 : STDIN_FILENO, &stop);
	if (err < 0)
		return err; /* console_init logged it */
	err = rtc_init(&d->rtc, &m->pio, ram, NULL, NULL);
	if (err < 0)
		return devices_fail("rtc", err);
	err = i8042_init(&d->i8042, &m->pio, &m->irq, &stop);
	if (err < 0)
		return devices_fail("i8042", err);
	err = i8042_attach(&d->i8042, &m->loop, &m->dev_lock);
	if (err < 0)
		return err; /* i8042_attach logged it */
	err = fw_cfg_init(&d->fw_cfg, &m->pio, ram, m->cfg.nr_cpus);
	if (err < 0)
		return devices_fail("fw_cfg", err);
	err = debug_exit_init(&d->debug_exit, &m->pio, &stop);
	if (err < 0)
		return devices_fail("debug-exit", err);
	err = acpi_pm_init(&d->acpi_pm, &m->pio, &stop);
	if (err < 0)
		return devices_fail("acpi-pm", err);
	if (m->cfg.testdev) {
		err = testdev_init(&d->testdev, &m->pio, &m->mmio, &m->irq, GSI_TESTDEV);
		if (err < 0)
			return devices_fail("test", err);
		d->has_testdev = true;
	}
	return 0;
}

void devices_destroy(struct machine *m)
{
	if (!m->devs)
		return;
	console_destroy(&m->devs->console);
	i8042_detach(&m->devs->i8042);
	if (m->devs->serial_out_fd >= 0)
		close(m->devs->serial_out_fd);
	free(m->devs);
	m->devs = NULL;
}
