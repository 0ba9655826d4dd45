/* The snapshot's machine section: the parts of a vm_config that shape the
 * machine a guest saw (memory, vCPUs, CPU vendor, devices and the files
 * behind them), so a restore builds the same machine. Kernel, command line
 * and the control plane's settings are not in it: the memory file holds
 * the kernel, and the restoring process is configured on its own. */
#ifndef POPEK_VMM_SNAPSHOT_CONFIG_H
#define POPEK_VMM_SNAPSHOT_CONFIG_H

#include "core/config.h"
#include "core/snap_codec.h"

struct snapshot_machine {
	enum cpu_vendor vendor; /* the one the guest saw (never CPU_VENDOR_HOST) */
	char engine[16];        /* the one that ran it (recorded, not binding) */
	u64 disk_sizes[CONFIG_MAX_DISKS]; /* bytes of each disk */
	u64 pmem_sizes[CONFIG_MAX_PMEM];  /* bytes of each pmem file */
};

/* The machine section of cfg; sm gives what cfg does not hold. */
void snapshot_config_encode(const struct vm_config *cfg, const struct snapshot_machine *sm,
			    struct snap_out *o);

/* Overwrites cfg's machine fields with the section's and fills *sm. 0, or
 * -EINVAL with the reason in in->why (cfg then partly written). */
int snapshot_config_decode(struct snap_in *in, struct vm_config *cfg, struct snapshot_machine *sm);

#endif
