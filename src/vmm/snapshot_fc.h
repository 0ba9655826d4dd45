/* The snapshot's Firecracker settings section (FCFG 0, the state file's
 * version 4): the parts of a vm_config set through Firecracker's resources
 * that the machine section leaves out but the guest sees or depends on:
 * rate limiters, network interfaces' MTU and MMDS flag, the MMDS
 * configuration and the CPU template. Decoded into the configuration
 * before the machine is built, as the machine section is, so a restored
 * or migrated VM gets the same devices, limits and CPUID. */
#ifndef POPEK_VMM_SNAPSHOT_FC_H
#define POPEK_VMM_SNAPSHOT_FC_H

#include "core/config.h"
#include "core/snap_codec.h"

void snapshot_fc_encode(const struct vm_config *cfg, struct snap_out *o);

/* Overwrites cfg's settings with the section's. cfg's disk and network
 * interface counts are the machine section's: the section must hold as
 * many. The MMDS size limit and store stay the restoring process's. 0, or
 * -EINVAL with the reason in in->why (cfg then partly written). */
int snapshot_fc_decode(struct snap_in *in, struct vm_config *cfg);

#endif
