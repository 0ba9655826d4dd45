/* Guest program: a hostile virtio-console driver (needs --virtio-console,
 * with "popek-console-rx" waiting on popek's standard input). Broken chains
 * (lib/virtio.c: buffer outside RAM, loop, huge length, wrong direction,
 * indirect loop, indirect table outside RAM) on the transmit queue, and on
 * the receive queue while input waits, must each put the device in
 * DEVICE_NEEDS_RESET; after a reset, "popek-console-tx-ok" reaches popek's
 * output (the runner checks) and the waiting input arrives. Without
 * VIRTIO_CONSOLE_F_MULTIPORT there is no control queue to attack (5.3.2).
 * hvc0 output lands on popek's stdout among the serial port's lines, which
 * are plain text: the rejected transmit buffers hold REJECT_BYTE, and the one
 * valid transmission ends with TX_MARKS of them, so the runner can check that
 * popek's stdout holds exactly TX_MARKS bytes that are not text, i.e. no byte
 * of a rejected request (be it REJECT_BYTE or zeros from outside RAM). That
 * rejected receive requests took no input shows in valid_rx(). */
#include "virtio.h"

#define F_MULTIPORT 1
#define RXQ         0
#define TXQ         1

static struct virtio_dev con;
static struct virtq *const rxq = &con.q[RXQ], *const txq = &con.q[TXQ];
static u8 txbuf[64] __attribute__((aligned(64)));
static u8 rxbuf[64] __attribute__((aligned(64)));
#define REJECT_BYTE 0xFE
#define TX_MARKS    4
static const char tx_line[] = "popek-console-tx-ok \xfe\xfe\xfe\xfe\n";
static const char rx_input[] = "popek-console-rx";

static void identity(void)
{
	u64 f = virtio_device_features(&con);

	check(f >> VIRTIO_F_VERSION_1 & 1, "VERSION_1 offered");
	check(!(f & 1u << F_MULTIPORT), "MULTIPORT not offered: no control queues");
	check(virtio_queue_max(&con, RXQ) >= VQ_SIZE, "receiveq holds %u entries", VQ_SIZE);
	check(virtio_queue_max(&con, TXQ) >= VQ_SIZE, "transmitq holds %u entries", VQ_SIZE);
	check_eq("no queue 2 (control receiveq)", virtio_queue_max(&con, 2), 0);
}

static void valid_tx(void)
{
	struct vq_used_elem u;

	memcpy(txbuf, tx_line, sizeof(tx_line) - 1);
	vq_desc_set(txq, 0, (u64)txbuf, sizeof(tx_line) - 1, 0, 0);
	virtio_kick(&con, TXQ, 0);
	check(vq_wait_used(txq, &u), "transmit of a line: the buffer comes back");
	check_eq("transmit: used element id", u.id, 0);
}

/* The input popek had waiting since the first activation, kept across all
 * the resets, lands in a good buffer. */
static void valid_rx(void)
{
	struct vq_used_elem u;

	memset(rxbuf, 0, sizeof(rxbuf));
	vq_desc_set(rxq, 0, (u64)rxbuf, sizeof(rxbuf), VDESC_WRITE, 0);
	virtio_kick(&con, RXQ, 0);
	if (!check(vq_wait_used(rxq, &u), "receive: the waiting input arrives"))
		return;
	check(u.len >= sizeof(rx_input) - 1 && u.len <= sizeof(rxbuf), "receive: %u bytes", u.len);
	check(!memcmp(rxbuf, rx_input, sizeof(rx_input) - 1), "receive: the input is '%s'",
	      rx_input);
}

void test_main(void)
{
	if (!check(virtio_find(&con, VIRTIO_ID_CONSOLE, 0),
		   "a virtio-console device is present (run with --virtio-console)"))
		return;
	identity();
	if (!check(virtio_init(&con, 0, 2), "driver initialization"))
		return;
	memset(txbuf, REJECT_BYTE, sizeof(txbuf));
	virtio_attack_queue(&con, TXQ, "transmitq", (u64)txbuf, sizeof(txbuf), false, NULL);
	/* The device reads receive buffers only while input waits. */
	virtio_attack_queue(&con, RXQ, "receiveq", (u64)rxbuf, sizeof(rxbuf), true, NULL);
	valid_tx();
	valid_rx();
	check(!(virtio_rd(&con, VREG_STATUS) & VSTAT_NEEDS_RESET), "the device is healthy");
}
