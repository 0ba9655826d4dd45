/* virtio-console (virtio 1.2 section 5.3): one port, no MULTIPORT, the
 * guest's hvc0. With --virtio-console it replaces ttyS0 as the interactive
 * console: host input goes to hvc0 and hvc0's output to the host. */
#ifndef POPEK_VIRTIO_CONSOLE_H
#define POPEK_VIRTIO_CONSOLE_H

struct machine;
struct virtio_console;

/*
 * Creates the device. Guest output (transmitq) is written to out_fd; input
 * from in_fd (a terminal, pipe, socket, regular file or /dev/null; -1 for
 * none) fills the guest's receiveq. Both run on m->loop's thread, never on a
 * vCPU thread. Input that finds no guest buffer waits in a 4 KiB buffer and
 * in_fd leaves the loop until the driver adds buffers. On a terminal,
 * Ctrl-A x stops the machine and Ctrl-A Ctrl-A (or a) sends one Ctrl-A, as
 * on the serial console. Call before the loop runs. Logs one line and
 * returns -errno on failure.
 */
int virtio_console_create(struct machine *m, int in_fd, int out_fd, struct virtio_console **out);
/* Takes its fds off m->loop (call when the loop no longer runs). */
void virtio_console_destroy(struct virtio_console *c);

#endif
