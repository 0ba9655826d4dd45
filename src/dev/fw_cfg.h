/* QEMU fw_cfg, I/O port interface only: a few read-only items that tell
 * firmware-style guests the RAM size and CPU count. */
#ifndef POPEK_FW_CFG_H
#define POPEK_FW_CFG_H

#include "core/bus.h"
#include "core/snap_codec.h"

/*
 * Ports (QEMU docs/specs/fw_cfg.rst, "Selector Register", "Data Register"):
 * PORT_FW_CFG (0x510) selector, written with a 16-bit (or 8-bit) write:
 * selects an item and rewinds its offset to 0. PORT_FW_CFG + 1 (0x511)
 * data: each 8-bit read returns the next byte; past the item's end, and for
 * unknown items, reads give 0. Data writes are ignored (the interface has
 * been read-only since QEMU 2.4). No DMA interface (FW_CFG_ID = 1).
 *
 * Items: 0x0000 signature "QEMU"; 0x0001 id, u32 LE 1 (traditional interface
 * only); 0x0003 RAM size, u64 LE; 0x0005 CPU count, u16 LE; 0x000F maximum
 * CPU count, u16 LE (the same: no hotplug); 0x0019 file directory, u32
 * big-endian count 0 (no files).
 */

#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID        0x0001
#define FW_CFG_RAM_SIZE  0x0003
#define FW_CFG_NB_CPUS   0x0005
#define FW_CFG_MAX_CPUS  0x000F
#define FW_CFG_FILE_DIR  0x0019

#define FW_CFG_NR_ITEMS 6
#define FW_CFG_ITEM_MAX 8

struct fw_cfg_item {
	u16 key;
	u8 len;
	u8 data[FW_CFG_ITEM_MAX];
};

struct fw_cfg {
	struct fw_cfg_item items[FW_CFG_NR_ITEMS]; /* fixed at init */
	u16 selector;
	u32 offset; /* next byte of the selected item */
};

/* Fills the items and claims PORT_FW_CFG..+1. Returns 0 or -errno. */
int fw_cfg_init(struct fw_cfg *fc, struct bus *pio, u64 ram_size, unsigned nr_cpus);

/* The guest-visible state (field order at fw_cfg_save() in fw_cfg.c) for a
 * snapshot: the selector and offset, not the items, which the machine being
 * restored rebuilds from its configuration. Returns 0 or o->err. */
int fw_cfg_save(const struct fw_cfg *fc, struct snap_out *o);
/* Loads what fw_cfg_save() wrote into an initialized fc, only if the offset
 * lies within fc's selected item and in[] holds nothing more. Returns 0, or
 * -EINVAL with fc unchanged and the reason in in->why. */
int fw_cfg_load(struct fw_cfg *fc, struct snap_in *in);

#endif
