/* The snapshot's Firecracker settings section (snapshot_fc.h).
 *
 * Order: u32 disks, each: its rate limiter; bool the first disk is the root
 * drive (GET /vm/config's is_root_device); u32 network interfaces, each:
 * iface_id (u32 length, bytes; "" for --net ones), u16 mtu (0: not offered), receive then transmit
 * rate limiter, bool MMDS on it; the entropy device's rate limiter; MMDS: bool enabled, u8 version
 * (1 or 2), u32 IPv4 address (host order), bool imds_compat; the CPU
 * template: bool configured, u32 CPUID modifiers, each: u32 leaf, u32
 * subleaf, bool subleaf significant, u8 register (0 eax .. 3 edx), u32
 * mask, u32 value; u32 MSR modifiers, each: u32 MSR, u64 mask, u64 value
 * (which MSRs and bits a template may change is checked again when the
 * vCPUs are made, src/cpu/msr_mods.c). A rate limiter is its bandwidth bucket, then its
 * operations bucket, each u64 size, u64 one_time_burst, u64 refill time
 * (ms): the configuration, so the buckets start full again in the restored
 * VM (Firecracker carries each bucket's budget; see docs/snapshots.md). */
#include "vmm/snapshot_fc.h"

/* What the API accepts for a bucket's numbers (JSON integers, exact). */
#define FC_BUCKET_MAX (1ULL << 53)

static void put_limiter(struct snap_out *o, const struct rate_limit_config *rl)
{
	const struct bucket_config *b[2] = {&rl->bandwidth, &rl->ops};

	for (unsigned i = 0; i < 2; i++) {
		snap_put_u64(o, b[i]->size);
		snap_put_u64(o, b[i]->one_time_burst);
		snap_put_u64(o, b[i]->refill_time_ms);
	}
}

static void get_limiter(struct snap_in *in, struct rate_limit_config *rl, const char *what)
{
	struct bucket_config *b[2] = {&rl->bandwidth, &rl->ops};

	for (unsigned i = 0; i < 2 && !in->bad; i++) {
		b[i]->size = snap_get_u64(in);
		b[i]->one_time_burst = snap_get_u64(in);
		b[i]->refill_time_ms = snap_get_u64(in);
		if (in->bad)
			return;
		if (b[i]->size > FC_BUCKET_MAX || b[i]->one_time_burst > FC_BUCKET_MAX ||
		    b[i]->refill_time_ms > FC_BUCKET_MAX)
			snap_reject(in, "%s: a %s bucket's number is above 2^53", what,
				    i ? "ops" : "bandwidth");
		else if (b[i]->size && !b[i]->refill_time_ms)
			snap_reject(in, "%s: a %s bucket of size %llu never refills", what,
				    i ? "ops" : "bandwidth", (unsigned long long)b[i]->size);
	}
}

void snapshot_fc_encode(const struct vm_config *cfg, struct snap_out *o)
{
	snap_put_u32(o, cfg->nr_disks);
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		put_limiter(o, &cfg->disks[i].rate_limiter);
	snap_put_bool(o, cfg->disk0_is_root);
	snap_put_u32(o, cfg->nr_nets);
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		snap_put_str(o, cfg->nets[i].id);
		snap_put_u16(o, cfg->nets[i].mtu);
		put_limiter(o, &cfg->nets[i].rx_rate_limiter);
		put_limiter(o, &cfg->nets[i].tx_rate_limiter);
		snap_put_bool(o, cfg->nets[i].mmds);
	}
	put_limiter(o, &cfg->rng_rate_limiter);
	snap_put_bool(o, cfg->mmds.enabled);
	snap_put_u8(o, (u8)cfg->mmds.version);
	snap_put_u32(o, cfg->mmds.addr);
	snap_put_bool(o, cfg->mmds.imds_compat);
	snap_put_bool(o, cfg->has_cpu_config);
	snap_put_u32(o, cfg->nr_cpuid_mods);
	for (unsigned i = 0; i < cfg->nr_cpuid_mods; i++) {
		const struct cpuid_mod *m = &cfg->cpuid_mods[i];

		snap_put_u32(o, m->leaf);
		snap_put_u32(o, m->subleaf);
		snap_put_bool(o, m->subleaf_significant);
		snap_put_u8(o, m->reg);
		snap_put_u32(o, m->mask);
		snap_put_u32(o, m->value);
	}
	snap_put_u32(o, cfg->nr_msr_mods);
	for (unsigned i = 0; i < cfg->nr_msr_mods; i++) {
		snap_put_u32(o, cfg->msr_mods[i].addr);
		snap_put_u64(o, cfg->msr_mods[i].mask);
		snap_put_u64(o, cfg->msr_mods[i].value);
	}
}

static void get_mmds(struct snap_in *in, struct vm_config *cfg)
{
	struct mmds_config *m = &cfg->mmds;
	bool used = false;

	m->enabled = snap_get_bool(in);
	m->version = snap_get_u8(in);
	m->addr = snap_get_u32(in);
	m->imds_compat = snap_get_bool(in);
	for (unsigned i = 0; i < cfg->nr_nets; i++)
		used |= cfg->nets[i].mmds;
	if (in->bad || (!m->enabled && !used))
		return; /* off: the values are kept, never used */
	if (m->version != 1 && m->version != 2)
		snap_reject(in, "MMDS version %u is neither 1 nor 2", m->version);
	/* api_mmds.c's rule: link-local, 169.254.1.0 to 169.254.254.255. */
	else if ((m->addr >> 16) != 0xA9FE || (m->addr >> 8 & 0xff) < 1 ||
		 (m->addr >> 8 & 0xff) > 254)
		snap_reject(in, "MMDS address %#x is not link-local", m->addr);
	else if (m->enabled != used)
		snap_reject(in, "MMDS is %s but %s network interface serves it",
			    m->enabled ? "on" : "off", used ? "a" : "no");
}

static void get_cpu_template(struct snap_in *in, struct vm_config *cfg)
{
	cfg->has_cpu_config = snap_get_bool(in);
	cfg->nr_cpuid_mods = snap_get_index(in, CONFIG_MAX_CPUID_MODS + 1, "CPUID modifier count");
	for (unsigned i = 0; i < cfg->nr_cpuid_mods && !in->bad; i++) {
		struct cpuid_mod *m = &cfg->cpuid_mods[i];

		m->leaf = snap_get_u32(in);
		m->subleaf = snap_get_u32(in);
		m->subleaf_significant = snap_get_bool(in);
		m->reg = snap_get_u8(in);
		m->mask = snap_get_u32(in);
		m->value = snap_get_u32(in);
		if (!in->bad && m->reg > 3)
			snap_reject(in, "CPUID modifier %u: register %u is not eax..edx (0-3)", i,
				    m->reg);
	}
	cfg->nr_msr_mods = snap_get_index(in, CONFIG_MAX_MSR_MODS + 1, "MSR modifier count");
	for (unsigned i = 0; i < cfg->nr_msr_mods && !in->bad; i++) {
		struct msr_mod *m = &cfg->msr_mods[i];

		m->addr = snap_get_u32(in);
		m->mask = snap_get_u64(in);
		m->value = snap_get_u64(in);
		if (!in->bad && (m->value & ~m->mask))
			snap_reject(in, "MSR modifier %u: value bits outside its mask", i);
	}
	if (!in->bad && (cfg->nr_cpuid_mods || cfg->nr_msr_mods) && !cfg->has_cpu_config)
		snap_reject(in, "CPUID or MSR modifiers without a CPU template");
}

int snapshot_fc_decode(struct snap_in *in, struct vm_config *cfg)
{
	u32 n = snap_get_u32(in);

	if (!in->bad && n != cfg->nr_disks)
		return snap_reject(in, "rate limiters of %u disks, the machine has %u", n,
				   cfg->nr_disks);
	for (unsigned i = 0; i < cfg->nr_disks && !in->bad; i++)
		get_limiter(in, &cfg->disks[i].rate_limiter, "a disk's rate limiter");
	cfg->disk0_is_root = snap_get_bool(in);
	if (!in->bad && cfg->disk0_is_root && !cfg->nr_disks)
		return snap_reject(in, "a root drive, but no drive");
	n = snap_get_u32(in);
	if (!in->bad && n != cfg->nr_nets)
		return snap_reject(in, "settings of %u network interfaces, the machine has %u", n,
				   cfg->nr_nets);
	for (unsigned i = 0; i < cfg->nr_nets && !in->bad; i++) {
		struct net_config *net = &cfg->nets[i];

		snap_get_str(in, net->id, sizeof(net->id), "iface_id");
		net->mtu = snap_get_u16(in);
		if (!in->bad && net->mtu && net->mtu < 68)
			snap_reject(in, "network interface %u: mtu %u is below 68", i, net->mtu);
		get_limiter(in, &net->rx_rate_limiter, "a receive rate limiter");
		get_limiter(in, &net->tx_rate_limiter, "a transmit rate limiter");
		net->mmds = snap_get_bool(in);
	}
	get_limiter(in, &cfg->rng_rate_limiter, "the entropy device's rate limiter");
	get_mmds(in, cfg);
	get_cpu_template(in, cfg);
	return snap_in_end(in);
}
