/* The snapshot's machine section (snapshot_config.h).
 *
 * Order: u64 memory size, u32 vCPUs, u8 CPU vendor (1 Intel, 2 AMD), a
 * string (u32 length, bytes) naming the engine, u8 flags (bit 0 no_pv,
 * 1 testdev, 2 rng, 3 balloon, 4 virtio-console, 5 balloon deflate-on-OOM,
 * 6 balloon free page reporting, 7 balloon free page hinting: a new bit,
 * which older files never set), u64 balloon target, u32 balloon
 * statistics interval (s; 0: none; the state file's version 3); u32
 * disks, each: path string, u8 read-only, id string, u64 size; u32 network
 * interfaces, each: u8 mode (0 user, 1 tap), ifname string, u8 has_mac, 6
 * MAC bytes, u32 host forwards, each: u32 host address, u16 host port, u16
 * guest port; vsock: u8 enabled, u32 guest CID, socket path string. */
#include <string.h>

#include "vmm/snapshot_config.h"
#include "vmm/snapshot_memdev.h"

void snapshot_config_encode(const struct vm_config *cfg, const struct snapshot_machine *sm,
			    struct snap_out *o)
{
	snap_put_u64(o, cfg->mem_size);
	snap_put_u32(o, cfg->nr_cpus);
	snap_put_u8(o, (u8)sm->vendor);
	snap_put_str(o, sm->engine);
	snap_put_u8(o, (u8)(cfg->no_pv | cfg->testdev << 1 | cfg->rng << 2 | cfg->balloon << 3 |
			    cfg->virtio_console << 4 | cfg->balloon_deflate_on_oom << 5 |
			    cfg->balloon_reporting << 6 | cfg->balloon_hinting << 7));
	snap_put_u64(o, cfg->balloon_target_bytes);
	snap_put_u32(o, cfg->balloon_stats_interval_s);
	snap_put_u32(o, cfg->nr_disks);
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		snap_put_str(o, cfg->disks[i].path);
		snap_put_bool(o, cfg->disks[i].readonly);
		snap_put_str(o, cfg->disks[i].id);
		snap_put_u64(o, sm->disk_sizes[i]);
	}
	snap_put_u32(o, cfg->nr_nets);
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];

		snap_put_u8(o, n->mode == NET_TAP);
		snap_put_str(o, n->ifname);
		snap_put_bool(o, n->has_mac);
		snap_put_bytes(o, n->mac, 6);
		snap_put_u32(o, n->nr_hostfwd);
		for (unsigned j = 0; j < n->nr_hostfwd; j++) {
			snap_put_u32(o, n->hostfwd[j].host_addr);
			snap_put_u16(o, n->hostfwd[j].host_port);
			snap_put_u16(o, n->hostfwd[j].guest_port);
		}
	}
	snap_put_bool(o, cfg->vsock.enabled);
	snap_put_u32(o, cfg->vsock.guest_cid);
	snap_put_str(o, cfg->vsock.uds_path);
	snapshot_memdev_encode(cfg, sm->pmem_sizes, o);
}

int snapshot_config_decode(struct snap_in *in, struct vm_config *cfg, struct snapshot_machine *sm)
{
	u8 flags, vendor;

	memset(sm, 0, sizeof(*sm));
	cfg->mem_size = snap_get_u64(in);
	cfg->nr_cpus = snap_get_u32(in);
	vendor = snap_get_u8(in);
	snap_get_str(in, sm->engine, sizeof(sm->engine), "engine name");
	flags = snap_get_u8(in);
	cfg->balloon_target_bytes = snap_get_u64(in);
	cfg->balloon_stats_interval_s = snap_get_u32(in);
	if (in->bad)
		return snap_in_end(in);
	if (cfg->mem_size < CONFIG_MIN_MEM || cfg->mem_size % (4 * KiB) || cfg->mem_size > (1ULL << 46))
		return snap_reject(in, "memory size %llu bytes is not one popek makes",
				   (unsigned long long)cfg->mem_size);
	if (!cfg->nr_cpus || cfg->nr_cpus > CONFIG_MAX_CPUS)
		return snap_reject(in, "%u vCPUs, popek runs 1 to %u", cfg->nr_cpus,
				   CONFIG_MAX_CPUS);
	if (vendor != CPU_VENDOR_INTEL && vendor != CPU_VENDOR_AMD)
		return snap_reject(in, "CPU vendor %u is neither Intel (1) nor AMD (2)", vendor);
	if (!(flags >> 3 & 1) && flags >> 5)
		return snap_reject(in, "device flags 0x%x have balloon features without a balloon",
				   flags);
	sm->vendor = (enum cpu_vendor)vendor;
	cfg->no_pv = flags & 1;
	cfg->testdev = flags >> 1 & 1;
	cfg->rng = flags >> 2 & 1;
	cfg->balloon = flags >> 3 & 1;
	cfg->virtio_console = flags >> 4 & 1;
	cfg->balloon_deflate_on_oom = flags >> 5 & 1;
	cfg->balloon_reporting = flags >> 6 & 1;
	cfg->balloon_hinting = flags >> 7 & 1;
	if (cfg->balloon_stats_interval_s > 65535 || cfg->balloon_target_bytes > cfg->mem_size)
		return snap_reject(in, "balloon target %llu bytes or statistics interval %u s",
				   (unsigned long long)cfg->balloon_target_bytes,
				   cfg->balloon_stats_interval_s);
	cfg->nr_disks = snap_get_index(in, CONFIG_MAX_DISKS + 1, "disk count");
	for (unsigned i = 0; i < cfg->nr_disks && !in->bad; i++) {
		struct disk_config *d = &cfg->disks[i];

		snap_get_str(in, d->path, sizeof(d->path), "disk path");
		d->readonly = snap_get_bool(in);
		snap_get_str(in, d->id, sizeof(d->id), "disk id");
		sm->disk_sizes[i] = snap_get_u64(in);
	}
	cfg->nr_nets = snap_get_index(in, CONFIG_MAX_NETS + 1, "network interface count");
	for (unsigned i = 0; i < cfg->nr_nets && !in->bad; i++) {
		struct net_config *n = &cfg->nets[i];
		u8 mode = snap_get_u8(in);

		if (mode > 1)
			snap_reject(in, "network interface %u: mode %u is neither user nor tap", i,
				    mode);
		n->mode = mode ? NET_TAP : NET_USER;
		snap_get_str(in, n->ifname, sizeof(n->ifname), "tap name");
		n->has_mac = snap_get_bool(in);
		snap_get_bytes(in, n->mac, 6);
		n->nr_hostfwd = snap_get_index(in, CONFIG_MAX_HOSTFWD + 1, "host forward count");
		for (unsigned j = 0; j < n->nr_hostfwd && !in->bad; j++) {
			n->hostfwd[j].host_addr = snap_get_u32(in);
			n->hostfwd[j].host_port = snap_get_u16(in);
			n->hostfwd[j].guest_port = snap_get_u16(in);
		}
	}
	cfg->vsock.enabled = snap_get_bool(in);
	cfg->vsock.guest_cid = snap_get_u32(in);
	snap_get_str(in, cfg->vsock.uds_path, sizeof(cfg->vsock.uds_path), "vsock socket path");
	if (!in->bad && cfg->vsock.enabled && cfg->vsock.guest_cid < 3)
		snap_reject(in, "vsock guest CID %u is below 3", cfg->vsock.guest_cid);
	if (!in->bad)
		snapshot_memdev_decode(in, cfg, sm->pmem_sizes);
	return snap_in_end(in);
}
