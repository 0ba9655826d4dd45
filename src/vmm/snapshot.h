/* Snapshots inside the VMM (issue 12): the sections of a state file, what
 * the create and restore sides share. The format: snapshot_file.h (the
 * container), then one section per piece of state, each encoded field by
 * field (core/snap_codec.h), documented above its encoder:
 *   MACH 0   the machine (snapshot_config.c)
 *   FCFG 0   the Firecracker settings: rate limiters, MTUs, MMDS
 *            configuration, CPU template (snapshot_fc.c)
 *   CLCK 0   the guest clock (ns, TSC rate) and the interrupt controllers
 *            (core/irqchip_state.c)
 *   VCPU n   vCPU n (core/vcpu_state.c)
 *   UART 0, RTC_ 0, I842 0, ACPM 0, FWCF 0, TDEV 0 (with the test device):
 *            the legacy devices (src/dev, each X_save)
 *   VIRT n   virtio-mmio slot n: transport, queues, device (virtio_mmio_save)
 *   MMDS 0   the MMDS data (mmds_store_save) */
#ifndef POPEK_VMM_SNAPSHOT_H
#define POPEK_VMM_SNAPSHOT_H

#include "boot/loader.h"
#include "core/machine.h"
#include "core/snap_codec.h"
#include "vmm/snapshot_config.h"
#include "vmm/snapshot_fc.h"
#include "vmm/snapshot_file.h"

#define SNAP_MACH SNAP_TYPE('M', 'A', 'C', 'H')
#define SNAP_CLCK SNAP_TYPE('C', 'L', 'C', 'K')
#define SNAP_VCPU SNAP_TYPE('V', 'C', 'P', 'U')
#define SNAP_UART SNAP_TYPE('U', 'A', 'R', 'T')
#define SNAP_RTC  SNAP_TYPE('R', 'T', 'C', '_')
#define SNAP_I8042 SNAP_TYPE('I', '8', '4', '2')
#define SNAP_ACPM SNAP_TYPE('A', 'C', 'P', 'M')
#define SNAP_FWCF SNAP_TYPE('F', 'W', 'C', 'F')
#define SNAP_TDEV SNAP_TYPE('T', 'D', 'E', 'V')
#define SNAP_VIRT SNAP_TYPE('V', 'I', 'R', 'T')
#define SNAP_FCFG SNAP_TYPE('F', 'C', 'F', 'G')
#define SNAP_MMDS SNAP_TYPE('M', 'M', 'D', 'S')

/* The largest state file a restore reads (a 64-vCPU machine's is ~150 KiB). */
#define SNAP_STATE_MAX (64 * MiB)

/* A state file read and checked, and its machine section decoded. */
struct snapshot_restore {
	const char *path;
	struct boot_file state; /* the file's bytes */
	struct snap_file file;  /* sections pointing into them */
	struct snapshot_machine sm;
};

/* Reads path, checks the container and decodes the machine section into
 * cfg (its machine fields). Logs one line naming the file and the problem. */
int snapshot_restore_open(const char *path, struct vm_config *cfg, struct snapshot_restore **out);
/* The same for a state file's bytes received otherwise (a migration's):
 * takes data (malloc'ed; freed with r, or at once on failure); name stands
 * for the file in messages. */
int snapshot_restore_take(const char *name, u8 *data, size_t len, struct vm_config *cfg,
			  struct snapshot_restore **out);
/* Maps the memory file over m's RAM (before the engine maps RAM). */
int snapshot_restore_memory(struct machine *m, const char *mem_path);
/* Loads every section into the built machine: engine clock and interrupt
 * controllers, devices, virtio slots, vCPUs. Logs one line on failure. */
int snapshot_restore_apply(struct machine *m, struct snapshot_restore *r);
void snapshot_restore_free(struct snapshot_restore *r);

/* A machine for an incoming migration (migrate_recv.c): built as a restore
 * from hello (its machine section) but with RAM left empty for the pages to
 * come and no state loaded yet (build.c). */
int machine_create_incoming(const struct vm_config *cfg, struct snapshot_restore *hello,
			    struct machine **out);

#endif
