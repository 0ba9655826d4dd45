/* i8042 keyboard controller and its PS/2 keyboard (IBM PS/2 Technical
 * Reference: "Keyboard/Auxiliary Device Controller", "Keyboards 101/102"). */
#include "dev/i8042.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "popek/log.h"

#define STS_OBF     0x01
#define STS_SYS     0x04
#define STS_CMD     0x08 /* last write went to the command port */
#define STS_UNLOCK  0x10 /* keyboard not inhibited */
#define STS_TIMEOUT 0x40

#define CTR_KBDINT 0x01
#define CTR_SYS    0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

#define OUTPORT_RESET 0x01 /* 0: hold the CPU in reset */
#define OUTPORT_A20   0x02

/* Keyboard commands and answers. */
#define KBD_CMD_MIN   0xED /* bytes from here up are commands, never parameters */
#define KBD_SET_LEDS  0xED
#define KBD_ECHO      0xEE
#define KBD_SCAN_SET  0xF0
#define KBD_IDENTIFY  0xF2
#define KBD_TYPEMATIC 0xF3
#define KBD_ENABLE    0xF4
#define KBD_DISABLE   0xF5 /* reset to defaults and stop scanning */
#define KBD_DEFAULTS  0xF6
#define KBD_RESEND    0xFE
#define KBD_RESET     0xFF
#define KBD_ACK       0xFA
#define KBD_BAT_OK    0xAA
#define KBD_ID0       0xAB /* MF2 keyboard: 0xAB 0x83 */
#define KBD_ID1       0x83
#define KBD_BREAK     0xF0 /* set 2/3 release prefix */
#define KBD_EXT       0xE0 /* set 1/2 extended-key prefix */

/*
 * The 8042's translation of keyboard bytes 0x00-0x7F from scan code set 2 to
 * set 1 (0x00, set 2's "overrun", becomes set 1's 0xFF). Of the bytes from
 * 0x80 up only 0x83 (F7, also the second ID byte) changes, to 0x41.
 */
static const u8 i8042_xlate[128] = {
    0xFF, 0x43, 0x41, 0x3F, 0x3D, 0x3B, 0x3C, 0x58, /* 00-07 */
    0x64, 0x44, 0x42, 0x40, 0x3E, 0x0F, 0x29, 0x59, /* 08-0F */
    0x65, 0x38, 0x2A, 0x70, 0x1D, 0x10, 0x02, 0x5A, /* 10-17 */
    0x66, 0x71, 0x2C, 0x1F, 0x1E, 0x11, 0x03, 0x5B, /* 18-1F */
    0x67, 0x2E, 0x2D, 0x20, 0x12, 0x05, 0x04, 0x5C, /* 20-27 */
    0x68, 0x39, 0x2F, 0x21, 0x14, 0x13, 0x06, 0x5D, /* 28-2F */
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5E, /* 30-37 */
    0x6A, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5F, /* 38-3F */
    0x6B, 0x33, 0x25, 0x17, 0x18, 0x0B, 0x0A, 0x60, /* 40-47 */
    0x6C, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0C, 0x61, /* 48-4F */
    0x6D, 0x73, 0x28, 0x74, 0x1A, 0x0D, 0x62, 0x6E, /* 50-57 */
    0x3A, 0x36, 0x1C, 0x1B, 0x75, 0x2B, 0x63, 0x76, /* 58-5F */
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7A, 0x0E, 0x7B, /* 60-67 */
    0x7C, 0x4F, 0x7D, 0x4B, 0x47, 0x7E, 0x7F, 0x6F, /* 68-6F */
    0x52, 0x53, 0x50, 0x4C, 0x4D, 0x48, 0x01, 0x45, /* 70-77 */
    0x57, 0x4E, 0x51, 0x4A, 0x37, 0x49, 0x46, 0x54, /* 78-7F */
};

static u8 i8042_translate(u8 v)
{
	if (v < 0x80)
		return i8042_xlate[v];
	return v == 0x83 ? 0x41 : v;
}

static bool i8042_irq_wanted(const struct i8042_regs *r)
{
	return (r->status & STS_OBF) && (r->ram[0] & CTR_KBDINT);
}

static void i8042_update_irq(struct i8042 *c)
{
	bool level = i8042_irq_wanted(&c->r);

	if (level == c->r.irq_level)
		return;
	c->r.irq_level = level;
	irq_set_level(c->irq, GSI_I8042_KBD, level);
}

/* --- The keyboard. --- */

static void kbd_push(struct i8042_kbd *k, u8 v)
{
	k->last = v;
	if (k->len == I8042_KBD_QUEUE)
		return; /* a real keyboard's buffer overflows too */
	k->queue[(k->head + k->len++) % I8042_KBD_QUEUE] = v;
}

static void kbd_clear(struct i8042_kbd *k)
{
	k->head = k->len = 0;
}

static void kbd_defaults(struct i8042_kbd *k)
{
	k->set = 2;
	k->leds = 0;
	k->pending = 0;
}

static void kbd_param(struct i8042_kbd *k, u8 v)
{
	switch (k->pending) {
	case KBD_SET_LEDS:
		k->leds = v & 7;
		k->pending = 0;
		kbd_push(k, KBD_ACK);
		break;
	case KBD_TYPEMATIC:
		k->pending = 0;
		kbd_push(k, KBD_ACK);
		break;
	case KBD_SCAN_SET:
		if (v > 3) {
			kbd_push(k, KBD_RESEND); /* still waiting for a valid set */
			break;
		}
		k->pending = 0;
		kbd_push(k, KBD_ACK);
		if (v == 0)
			kbd_push(k, k->set);
		else
			k->set = v;
		break;
	default:
		/* 0xFB-0xFD (set 3 key types): key numbers until a command. */
		kbd_push(k, KBD_ACK);
		break;
	}
}

static void kbd_command(struct i8042_kbd *k, u8 v)
{
	k->pending = 0;
	switch (v) {
	case KBD_RESET:
		kbd_clear(k);
		kbd_defaults(k);
		k->scanning = true;
		kbd_push(k, KBD_ACK);
		kbd_push(k, KBD_BAT_OK); /* basic assurance test passed */
		break;
	case KBD_RESEND:
		kbd_push(k, k->last);
		break;
	case KBD_DISABLE:
		kbd_clear(k);
		kbd_defaults(k);
		k->scanning = false;
		kbd_push(k, KBD_ACK);
		break;
	case KBD_DEFAULTS:
		kbd_clear(k);
		kbd_defaults(k);
		kbd_push(k, KBD_ACK);
		break;
	case KBD_ENABLE:
		kbd_clear(k);
		k->scanning = true;
		kbd_push(k, KBD_ACK);
		break;
	case KBD_IDENTIFY:
		kbd_push(k, KBD_ACK);
		kbd_push(k, KBD_ID0);
		kbd_push(k, KBD_ID1);
		break;
	case KBD_ECHO:
		kbd_push(k, KBD_ECHO);
		break;
	case KBD_SET_LEDS:
	case KBD_TYPEMATIC:
	case KBD_SCAN_SET:
	case 0xFB:
	case 0xFC:
	case 0xFD:
		k->pending = v;
		kbd_push(k, KBD_ACK);
		break;
	case 0xF7: /* set 3: all keys typematic / make-break / make / all */
	case 0xF8:
	case 0xF9:
	case 0xFA:
		kbd_push(k, KBD_ACK);
		break;
	default:
		kbd_push(k, KBD_RESEND); /* not a command this keyboard knows */
		break;
	}
}

/* A byte from the host to the keyboard. */
static void kbd_write(struct i8042_kbd *k, u8 v)
{
	k->driven = true;
	if (k->pending && v < KBD_CMD_MIN)
		kbd_param(k, v);
	else
		kbd_command(k, v);
}

/* --- The controller. --- */

/* Loads the output buffer if it is empty: a controller answer first, then
 * the keyboard's next byte, translated, while the interface is enabled. */
static void i8042_fill(struct i8042 *c)
{
	struct i8042_kbd *k = &c->r.kbd;

	if (c->r.status & STS_OBF)
		return;
	if (c->r.has_reply) {
		c->r.has_reply = false;
		c->r.out = c->r.reply;
		c->r.status |= STS_OBF;
		return;
	}
	if (c->r.ram[0] & CTR_KBDDIS)
		return;
	while (k->len) {
		u8 v = k->queue[k->head];

		k->head = (k->head + 1) % I8042_KBD_QUEUE;
		k->len--;
		if (c->r.ram[0] & CTR_XLATE) {
			if (v == KBD_BREAK) {
				c->r.xlate_break = true;
				continue;
			}
			v = i8042_translate(v) | (c->r.xlate_break ? 0x80 : 0);
			c->r.xlate_break = false;
		}
		c->r.out = v;
		c->r.status |= STS_OBF;
		return;
	}
}

static void i8042_reply(struct i8042 *c, u8 v)
{
	c->r.reply = v;
	c->r.has_reply = true;
	i8042_fill(c);
}

static void i8042_reset_machine(struct i8042 *c, const char *how)
{
	log_debug("i8042: %s: reset", how);
	dev_request_stop(&c->stop, MACHINE_STOP_RESET, 0);
}

static void i8042_set_ctr(struct i8042 *c, u8 v)
{
	c->r.ram[0] = v;
	if (!(v & CTR_XLATE))
		c->r.xlate_break = false;
	i8042_fill(c);
}

static bool i8042_cmd_takes_data(u8 cmd)
{
	return (cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4);
}

static void i8042_command(struct i8042 *c, u8 cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3F) {
		i8042_reply(c, c->r.ram[cmd - 0x20]);
		return;
	}
	if (i8042_cmd_takes_data(cmd)) {
		c->r.pending_cmd = cmd;
		return;
	}
	if (cmd >= 0xF0) {
		/* Pulse the output port lines whose bits are clear; bit 0 is reset. */
		if (!(cmd & 0x01))
			i8042_reset_machine(c, "pulse output port");
		return;
	}
	switch (cmd) {
	case 0xA7:
		c->r.ram[0] |= CTR_AUXDIS;
		break;
	case 0xA8:
		c->r.ram[0] &= ~CTR_AUXDIS;
		break;
	case 0xA9:
		i8042_reply(c, 0x02); /* aux clock line stuck high: no aux port */
		break;
	case 0xAA:
		c->r.status |= STS_SYS;
		i8042_reply(c, 0x55);
		break;
	case 0xAB:
		i8042_reply(c, 0x00);
		break;
	case 0xAD:
		i8042_set_ctr(c, c->r.ram[0] | CTR_KBDDIS);
		break;
	case 0xAE:
		i8042_set_ctr(c, c->r.ram[0] & ~CTR_KBDDIS);
		break;
	case 0xC0:
		i8042_reply(c, 0x80); /* keyboard not inhibited */
		break;
	case 0xD0:
		i8042_reply(c, c->r.outport);
		break;
	case 0xE0:
		i8042_reply(c, 0x00);
		break;
	default:
		log_debug("i8042: command 0x%02x ignored", cmd);
		break;
	}
}

static void i8042_data(struct i8042 *c, u8 v)
{
	u8 cmd = c->r.pending_cmd;

	c->r.pending_cmd = 0;
	if (cmd == 0x60) {
		i8042_set_ctr(c, v);
		return;
	}
	if (cmd > 0x60 && cmd <= 0x7F) {
		c->r.ram[cmd - 0x60] = v;
		return;
	}
	switch (cmd) {
	case 0xD1:
		c->r.outport = v;
		if (!(v & OUTPORT_RESET))
			i8042_reset_machine(c, "output port write");
		return;
	case 0xD2:
	case 0xD3:
		i8042_reply(c, v);
		return;
	case 0xD4:
		c->r.status |= STS_TIMEOUT; /* no aux device answers */
		return;
	default:
		/* To the keyboard; sending enables the keyboard interface. */
		kbd_write(&c->r.kbd, v);
		i8042_set_ctr(c, c->r.ram[0] & ~CTR_KBDDIS);
		return;
	}
}

/* Reading data empties the output buffer; the next byte, if any, follows. */
static u64 i8042_data_read(void *opaque, u64 offset, unsigned size)
{
	struct i8042 *c = opaque;
	u8 v = c->r.out;

	(void)offset;
	(void)size;
	c->r.status &= ~STS_OBF;
	i8042_update_irq(c); /* low, so that the next byte is a new edge */
	i8042_fill(c);
	i8042_update_irq(c);
	return v;
}

static void i8042_data_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct i8042 *c = opaque;

	(void)offset;
	(void)size;
	c->r.status &= ~(STS_TIMEOUT | STS_CMD);
	i8042_data(c, (u8)value);
	i8042_update_irq(c);
}

static u64 i8042_status_read(void *opaque, u64 offset, unsigned size)
{
	struct i8042 *c = opaque;

	(void)offset;
	(void)size;
	return c->r.status | STS_SYS | STS_UNLOCK;
}

static void i8042_cmd_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct i8042 *c = opaque;

	(void)offset;
	(void)size;
	c->r.status &= ~STS_TIMEOUT;
	c->r.status |= STS_CMD;
	c->r.pending_cmd = 0;
	i8042_command(c, (u8)value);
	i8042_update_irq(c);
}

static const struct bus_ops i8042_data_ops = {
    .name = "i8042 data",
    .read = i8042_data_read,
    .write = i8042_data_write,
};

static const struct bus_ops i8042_cmd_ops = {
    .name = "i8042 command",
    .read = i8042_status_read,
    .write = i8042_cmd_write,
};

int i8042_init(struct i8042 *c, struct bus *pio, struct irq_router *irq,
	       const struct dev_stop *stop)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->irq = irq;
	c->stop = *stop;
	/* As a BIOS leaves it: translation on, self-test passed, the (absent)
	 * aux port disabled, keyboard interrupt on; the keyboard scanning. */
	c->r.ram[0] = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	c->r.status = STS_SYS;
	c->r.outport = OUTPORT_RESET | OUTPORT_A20;
	kbd_defaults(&c->r.kbd);
	c->r.kbd.scanning = true;
	/* Two one-port ranges: 0x61 between them belongs to the PIT. */
	err = bus_register(pio, PORT_I8042_DATA, 1, &i8042_data_ops, c);
	if (!err)
		err = bus_register(pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, c);
	return err;
}

/* A key's make code in sets 1, 2 and 3, and whether sets 1 and 2 prefix it
 * with 0xE0 (set 3 has no prefixes). */
struct kbd_key {
	u8 code[3];
	bool ext;
};

/* Appends the key's make or break sequence in set k->set; returns its length. */
static unsigned kbd_key_bytes(const struct i8042_kbd *k, const struct kbd_key *key, bool release,
			      u8 *out)
{
	unsigned n = 0;
	u8 set = k->set; /* 1-3 */

	if (key->ext && set != 3)
		out[n++] = KBD_EXT;
	if (release && set != 1)
		out[n++] = KBD_BREAK;
	out[n++] = key->code[set - 1] | (release && set == 1 ? 0x80 : 0);
	return n;
}

static const struct kbd_key kbd_cad_keys[3] = {
    {{0x1D, 0x14, 0x11}, false}, /* Left Ctrl */
    {{0x38, 0x11, 0x19}, false}, /* Left Alt */
    {{0x53, 0x71, 0x64}, true},  /* Delete (editing pad) */
};

/* The bytes of Ctrl+Alt+Del in the keyboard's set (at most 18); their count. */
static unsigned kbd_cad_bytes(const struct i8042_kbd *k, u8 *seq)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++)
		n += kbd_key_bytes(k, &kbd_cad_keys[i], false, seq + n);
	for (unsigned i = 3; i-- > 0;)
		n += kbd_key_bytes(k, &kbd_cad_keys[i], true, seq + n);
	return n;
}

int i8042_ctrl_alt_del_ready(const struct i8042 *c)
{
	const struct i8042_kbd *k = &c->r.kbd;
	u8 seq[6 * 3];

	if (!k->driven || !k->scanning || !(c->r.ram[0] & CTR_KBDINT) || (c->r.ram[0] & CTR_KBDDIS))
		return -ENODEV;
	if (kbd_cad_bytes(k, seq) > I8042_KBD_QUEUE - (unsigned)k->len)
		return -ENOSPC;
	return 0;
}

int i8042_send_ctrl_alt_del(struct i8042 *c)
{
	u8 seq[6 * 3];
	unsigned n;
	int err = i8042_ctrl_alt_del_ready(c);

	if (err < 0)
		return err;
	n = kbd_cad_bytes(&c->r.kbd, seq);
	for (unsigned i = 0; i < n; i++)
		kbd_push(&c->r.kbd, seq[i]);
	i8042_fill(c);
	i8042_update_irq(c);
	return 0;
}

/* On the loop's thread: the requests other threads made. */
static void i8042_on_request(void *opaque, int fd, u32 events)
{
	struct i8042 *c = opaque;
	u64 v;
	int err;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up */
	}
	if (!atomic_exchange(&c->cad_requested, false))
		return;
	pthread_mutex_lock(c->lock);
	err = i8042_send_ctrl_alt_del(c);
	pthread_mutex_unlock(c->lock);
	if (err < 0)
		log_warn("i8042: Ctrl+Alt+Del not typed: %s",
			 err == -ENODEV ? "no keyboard driver listens" : "keyboard queue full");
}

int i8042_request_ctrl_alt_del(struct i8042 *c)
{
	u64 one = 1;

	if (!c->attached)
		return -ENODEV;
	atomic_store(&c->cad_requested, true);
	if (write(c->req_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the loop will run */
	}
	return 0;
}

int i8042_attach(struct i8042 *c, struct event_loop *loop, pthread_mutex_t *lock)
{
	int err;

	c->req_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->req_fd < 0) {
		err = -errno;
		log_error("i8042: cannot create an eventfd: %s", strerror(-err));
		return err;
	}
	err = event_loop_add(loop, c->req_fd, i8042_on_request, c);
	if (err < 0) {
		log_error("i8042: cannot watch its eventfd: %s", strerror(-err));
		close(c->req_fd);
		return err;
	}
	c->loop = loop;
	c->lock = lock;
	c->attached = true;
	return 0;
}

void i8042_detach(struct i8042 *c)
{
	if (!c->attached)
		return;
	event_loop_remove(c->loop, c->req_fd);
	close(c->req_fd);
	c->attached = false;
}

/*
 * Snapshot form, in this order: the controller's 32 RAM bytes (the command
 * byte first); the output buffer, the kept status bits (OBF, system flag,
 * command/data, timeout), the output port, the command waiting for its data
 * byte (0: none), the answer waiting for the output buffer (u8 each); answer
 * waiting, translation saw a break prefix (bool each); then the keyboard: its
 * queue's length (u8) and bytes, oldest first; the command waiting for a
 * parameter (0: none), the last byte sent, the scan code set, the LEDs (u8
 * each); scanning, driven (bool each). The interrupt level follows from
 * these and is not saved.
 */
int i8042_save(const struct i8042 *c, struct snap_out *o)
{
	const struct i8042_regs *r = &c->r;
	const struct i8042_kbd *k = &r->kbd;

	snap_put_bytes(o, r->ram, sizeof(r->ram));
	snap_put_u8(o, r->out);
	snap_put_u8(o, r->status);
	snap_put_u8(o, r->outport);
	snap_put_u8(o, r->pending_cmd);
	snap_put_u8(o, r->reply);
	snap_put_bool(o, r->has_reply);
	snap_put_bool(o, r->xlate_break);
	snap_put_u8(o, k->len);
	for (unsigned i = 0; i < k->len; i++)
		snap_put_u8(o, k->queue[(k->head + i) % I8042_KBD_QUEUE]);
	snap_put_u8(o, k->pending);
	snap_put_u8(o, k->last);
	snap_put_u8(o, k->set);
	snap_put_u8(o, k->leds);
	snap_put_bool(o, k->scanning);
	snap_put_bool(o, k->driven);
	return o->err;
}

static bool kbd_cmd_takes_param(u8 cmd)
{
	return cmd == KBD_SET_LEDS || cmd == KBD_SCAN_SET || cmd == KBD_TYPEMATIC ||
	       (cmd >= 0xFB && cmd <= 0xFD);
}

/* Values and combinations the controller's own steps never leave. */
static void i8042_check(const struct i8042_regs *r, struct snap_in *in)
{
	const struct i8042_kbd *k = &r->kbd;
	bool obf = r->status & STS_OBF;

	if (r->status & ~(STS_OBF | STS_SYS | STS_CMD | STS_TIMEOUT))
		snap_reject(in, "i8042: status 0x%02x sets bits the controller computes",
			    r->status);
	if (r->pending_cmd && !i8042_cmd_takes_data(r->pending_cmd))
		snap_reject(in, "i8042: pending command 0x%02x takes no data byte", r->pending_cmd);
	/* An answer or a key waits only behind an unread output buffer. */
	if (!obf && (r->has_reply || (k->len && !(r->ram[0] & CTR_KBDDIS))))
		snap_reject(in, "i8042: output buffer empty while bytes wait for it");
	if (r->xlate_break && !(r->ram[0] & CTR_XLATE))
		snap_reject(in, "i8042: break prefix pending with translation off");
	if (k->pending && !kbd_cmd_takes_param(k->pending))
		snap_reject(in, "i8042: keyboard command 0x%02x takes no parameter", k->pending);
	if (k->set < 1 || k->set > 3)
		snap_reject(in, "i8042: keyboard scan code set %u is not 1-3", k->set);
	if (k->leds > 7)
		snap_reject(in, "i8042: keyboard LEDs 0x%02x are more than 7", k->leds);
}

int i8042_load(struct i8042 *c, struct snap_in *in)
{
	struct i8042_regs r = {0};
	struct i8042_kbd *k = &r.kbd;

	snap_get_bytes(in, r.ram, sizeof(r.ram));
	r.out = snap_get_u8(in);
	r.status = snap_get_u8(in);
	r.outport = snap_get_u8(in);
	r.pending_cmd = snap_get_u8(in);
	r.reply = snap_get_u8(in);
	r.has_reply = dev_get_flag(in, "i8042: answer waiting");
	r.xlate_break = dev_get_flag(in, "i8042: break prefix");
	k->len = snap_get_u8(in);
	if (k->len > I8042_KBD_QUEUE)
		snap_reject(in, "i8042: keyboard queue length %u is more than %u", k->len,
			    I8042_KBD_QUEUE);
	else
		snap_get_bytes(in, k->queue, k->len);
	k->pending = snap_get_u8(in);
	k->last = snap_get_u8(in);
	k->set = snap_get_u8(in);
	k->leds = snap_get_u8(in);
	k->scanning = dev_get_flag(in, "i8042: keyboard scanning");
	k->driven = dev_get_flag(in, "i8042: keyboard driven");
	i8042_check(&r, in);
	if (snap_in_end(in) < 0)
		return -EINVAL;
	c->r = r;
	/* Whatever the line was, the interrupt controller now hears this. */
	c->r.irq_level = i8042_irq_wanted(&c->r);
	irq_set_level(c->irq, GSI_I8042_KBD, c->r.irq_level);
	return 0;
}
