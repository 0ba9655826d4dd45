/* QEMU fw_cfg I/O interface with a fixed set of items
 * (QEMU docs/specs/fw_cfg.rst). */
#include "dev/fw_cfg.h"

#include <errno.h>
#include <string.h>

#include "popek/layout.h"

#define FW_CFG_ID_TRADITIONAL 0x01 /* bit 1 (DMA) clear */

static void fw_cfg_set(struct fw_cfg_item *it, u16 key, u64 le_value, u8 len)
{
	it->key = key;
	it->len = len;
	for (unsigned i = 0; i < len; i++)
		it->data[i] = (u8)(le_value >> (8 * i));
}

static const struct fw_cfg_item *fw_cfg_find(const struct fw_cfg *fc, u16 key)
{
	for (unsigned i = 0; i < FW_CFG_NR_ITEMS; i++)
		if (fc->items[i].key == key && fc->items[i].len)
			return &fc->items[i];
	return NULL;
}

static u8 fw_cfg_next(struct fw_cfg *fc)
{
	const struct fw_cfg_item *it = fw_cfg_find(fc, fc->selector);

	if (!it || fc->offset >= it->len)
		return 0;
	return it->data[fc->offset++];
}

static u64 fw_cfg_bus_read(void *opaque, u64 offset, unsigned size)
{
	struct fw_cfg *fc = opaque;

	/* Only byte reads of the data port are defined; the selector is
	 * write-only. */
	if (offset != 1 || size != 1)
		return 0;
	return fw_cfg_next(fc);
}

static void fw_cfg_bus_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct fw_cfg *fc = opaque;

	(void)size;
	if (offset != 0)
		return;            /* data port: read-only */
	fc->selector = (u16)value; /* a 2-byte write covers both ports */
	fc->offset = 0;
}

static const struct bus_ops fw_cfg_ops = {
    .name = "fw_cfg",
    .read = fw_cfg_bus_read,
    .write = fw_cfg_bus_write,
};

int fw_cfg_init(struct fw_cfg *fc, struct bus *pio, u64 ram_size, unsigned nr_cpus)
{
	struct fw_cfg_item *it = fc->items;

	memset(fc, 0, sizeof(*fc));
	fw_cfg_set(&it[0], FW_CFG_SIGNATURE, 'Q' | 'E' << 8 | 'M' << 16 | (u64)'U' << 24, 4);
	fw_cfg_set(&it[1], FW_CFG_ID, FW_CFG_ID_TRADITIONAL, 4);
	fw_cfg_set(&it[2], FW_CFG_RAM_SIZE, ram_size, 8);
	fw_cfg_set(&it[3], FW_CFG_NB_CPUS, nr_cpus, 2);
	fw_cfg_set(&it[4], FW_CFG_MAX_CPUS, nr_cpus, 2);
	fw_cfg_set(&it[5], FW_CFG_FILE_DIR, 0, 4); /* big-endian 0: no files */
	return bus_register(pio, PORT_FW_CFG, 2, &fw_cfg_ops, fc);
}

/* Snapshot form, in this order: the selector (u16), the offset in the
 * selected item (u32). */
int fw_cfg_save(const struct fw_cfg *fc, struct snap_out *o)
{
	snap_put_u16(o, fc->selector);
	snap_put_u32(o, fc->offset);
	return o->err;
}

int fw_cfg_load(struct fw_cfg *fc, struct snap_in *in)
{
	u16 selector = snap_get_u16(in);
	u32 offset = snap_get_u32(in);
	const struct fw_cfg_item *it = fw_cfg_find(fc, selector);
	u32 len = it ? it->len : 0;

	/* Reads stop at the item's end; an unknown item's offset stays 0. */
	if (offset > len)
		snap_reject(in, "fw_cfg: offset %u is past the end (%u) of item 0x%04x", offset,
			    len, selector);
	if (snap_in_end(in) < 0)
		return -EINVAL;
	fc->selector = selector;
	fc->offset = offset;
	return 0;
}
