/* The snapshot's machine section: the parts of a vm_config that shape the
 * machine a guest saw (memory, vCPUs, CPU vendor, devices and the files
 * behind them), so a restore builds the same machine. Kernel, command line
 * and the control plane's settings are not in it: the memory file holds
 * the kernel, and the restoring process is configured on its own. */
#ifndef POPEK_VMM_SNAPSHOT_CONFIG_H
#define POPEK_VMM_SNAPSHOT_CONFIG_H

#include "core/config.h"
#include "core/snap_codec.h"

/* vendor: the one the guest saw (never CPU_VENDOR_HOST); engine: the one
 * that ran it (recorded, not binding); disk_sizes: bytes of each disk. */
void snapshot_config_encode(const struct vm_config *cfg, enum cpu_vendor vendor,
			    const char *engine, const u64 *disk_sizes, struct snap_out *o);

struct snapshot_machine {
	enum cpu_vendor vendor;
	char engine[16];
	u64 disk_sizes[CONFIG_MAX_DISKS];
};

/* Overwrites cfg's machine fields with the section's and fills *sm. 0, or
 * -EINVAL with the reason in in->why (cfg then partly written). */
int snapshot_config_decode(struct snap_in *in, struct vm_config *cfg, struct snapshot_machine *sm);

#endif
