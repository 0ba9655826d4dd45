/* The snapshot's Firecracker settings section (vmm/snapshot_fc.h) and the
 * MMDS data's (mmds_store_save/load): what is saved comes back, and each
 * value no configuration could hold is refused with its own reason. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vmm/mmds_store.h"
#include "vmm/snapshot_fc.h"

/* A configuration with every setting the section carries. */
static void sample(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->nr_disks = 2;
	c->disks[1].rate_limiter.bandwidth = (struct bucket_config){262144, 1000, 100};
	c->nr_nets = 2;
	strcpy(c->nets[0].id, "eth0");
	c->nets[0].mtu = 1400;
	c->nets[0].mmds = true;
	c->nets[0].tx_rate_limiter.ops = (struct bucket_config){10, 0, 1};
	strcpy(c->nets[1].id, "eth1");
	c->nets[1].rx_rate_limiter.bandwidth = (struct bucket_config){1ULL << 53, 5, 1ULL << 53};
	c->rng_rate_limiter.ops = (struct bucket_config){3, 4, 5};
	c->mmds = (struct mmds_config){
	    .enabled = true, .version = 2, .addr = 0xA9FE0102, .imds_compat = true};
	c->has_cpu_config = true;
	c->nr_cpuid_mods = 2;
	c->cpuid_mods[0] = (struct cpuid_mod){1, 0, false, 2, 1u << 23, 0};
	c->cpuid_mods[1] = (struct cpuid_mod){7, 0, true, 1, 0xff, 0x12};
	c->disk0_is_root = true;
	c->nr_msr_mods = 1;
	c->msr_mods[0] = (struct msr_mod){0x10a, 0xff, 0x0c};
}

static struct snap_out encoded(const struct vm_config *c)
{
	struct snap_out o;

	snap_out_init(&o);
	snapshot_fc_encode(c, &o);
	CHECK_EQ(o.err, 0);
	return o;
}

static void test_round_trip(void)
{
	static struct vm_config c, d;
	struct snap_out o;
	struct snap_in in;

	sample(&c);
	o = encoded(&c);
	memset(&d, 0, sizeof(d));
	d.nr_disks = 2;
	d.nr_nets = 2;
	d.mmds.size_limit = 77; /* the restoring process's: kept */
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(snapshot_fc_decode(&in, &d), 0);
	CHECK_EQ(d.mmds.size_limit, 77);
	CHECK(!strcmp(d.nets[0].id, "eth0") && d.nets[0].mtu == 1400 && d.nets[0].mmds);
	CHECK_EQ(d.nets[1].rx_rate_limiter.bandwidth.size, 1ULL << 53);
	CHECK_EQ(d.disks[1].rate_limiter.bandwidth.refill_time_ms, 100);
	CHECK_EQ(d.rng_rate_limiter.ops.one_time_burst, 4);
	CHECK(d.mmds.enabled && d.mmds.version == 2 && d.mmds.addr == 0xA9FE0102);
	CHECK(d.has_cpu_config && d.nr_cpuid_mods == 2 && d.cpuid_mods[1].subleaf_significant);
	CHECK_EQ(d.cpuid_mods[0].mask, 1u << 23);
	CHECK(d.disk0_is_root);
	CHECK(d.nr_msr_mods == 1 && d.msr_mods[0].addr == 0x10a && d.msr_mods[0].mask == 0xff &&
	      d.msr_mods[0].value == 0x0c);
	/* Everything else: what d encodes to is what c did. */
	struct snap_out again = encoded(&d);
	CHECK(again.len == o.len && !memcmp(again.buf, o.buf, o.len));
	snap_out_free(&again);
	snap_out_free(&o);
}

/* The section of c with width bytes at off set to v (little-endian) must
 * be refused, decoded into a configuration with c's counts, naming want. */
static void refused(const char *name, const struct vm_config *c, size_t off, unsigned width, u32 v,
		    const char *want)
{
	static struct vm_config d;
	struct snap_out o = encoded(c);
	struct snap_in in;

	for (unsigned i = 0; i < width; i++)
		o.buf[off + i] = (u8)(v >> (8 * i));
	memset(&d, 0, sizeof(d));
	d.nr_disks = c->nr_disks;
	d.nr_nets = c->nr_nets;
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(snapshot_fc_decode(&in, &d), -EINVAL);
	if (!strstr(in.why, want)) {
		printf("  %s: '%s' has no '%s'\n", name, in.why, want);
		CHECK(0);
	}
	snap_out_free(&o);
}

/* Offsets in the sample's section: u32 disks, 2 limiters of 48 bytes, the
 * root flag; u32
 * nets; eth0: u32 4 + "eth0", u16 mtu, 2 limiters, bool; eth1 the same;
 * the rng's limiter; MMDS: bool, u8 version, u32 address, bool; the
 * template: bool, u32 count, entries of 18 bytes. */
#define OFF_NETS (4 + 2 * 48 + 1)
#define OFF_MTU0 (OFF_NETS + 4 + 8)
#define OFF_ETH1 (OFF_MTU0 + 2 + 96 + 1)
#define OFF_RNG  (OFF_ETH1 + 8 + 2 + 96 + 1)
#define OFF_MMDS (OFF_RNG + 48)
#define OFF_CPU  (OFF_MMDS + 7)
#define OFF_REG0 (OFF_CPU + 5 + 9)

static void test_refused(void)
{
	static struct vm_config c;
	struct snap_out o;
	struct snap_in in;

	sample(&c);
	refused("disk count", &c, 0, 4, 3, "rate limiters of 3 disks, the machine has 2");
	refused("root flag", &c, OFF_NETS - 1, 1, 2, "not 0 or 1");
	refused("net count", &c, OFF_NETS, 4, 1, "settings of 1 network interfaces");
	refused("mtu", &c, OFF_MTU0, 2, 67, "mtu 67 is below 68");
	refused("iface_id length", &c, OFF_NETS + 4, 4, 65, "iface_id: 65 bytes, at most 64");
	/* disk 1's bandwidth refill time (ms): 0 with a size. */
	refused("no refill", &c, 4 + 48 + 16, 4, 0,
		"bandwidth bucket of size 262144 never refills");
	/* eth1's receive bandwidth size, 2^53 + 1 (its high word is 0x200000). */
	refused("bucket size", &c, OFF_ETH1 + 8 + 2, 1, 1, "number is above 2^53");
	refused("mmds version", &c, OFF_MMDS + 1, 1, 3, "MMDS version 3 is neither 1 nor 2");
	refused("mmds address", &c, OFF_MMDS + 2, 4, 0x0A000209, "not link-local");
	refused("cpuid register", &c, OFF_REG0, 1, 4, "register 4 is not eax..edx");
	refused("cpuid count", &c, OFF_CPU + 1, 4, CONFIG_MAX_CPUID_MODS + 1,
		"CPUID modifier count 65 is out of range");
	refused("mods without template", &c, OFF_CPU, 1, 0,
		"modifiers without a CPU template");
	/* The MSR modifier's value (after 2 CPUID modifiers of 18 bytes, the
	 * MSR count, address and mask): bit 8, outside its mask 0xff. */
	refused("msr value", &c, OFF_CPU + 5 + 2 * 18 + 4 + 4 + 8 + 1, 1, 1,
		"value bits outside its mask");
	refused("msr count", &c, OFF_CPU + 5 + 2 * 18, 4, CONFIG_MAX_MSR_MODS + 1,
		"MSR modifier count 33 is out of range");
	/* MMDS on with no interface serving it. */
	c.nets[0].mmds = false;
	refused("mmds without interface", &c, OFF_MMDS + 1, 1, 2, "but no network interface");
	/* A byte too many. */
	sample(&c);
	o = encoded(&c);
	snap_put_u8(&o, 0);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(snapshot_fc_decode(&in, &c), -EINVAL);
	snap_out_free(&o);
}

static void test_mmds_round_trip(void)
{
	struct mmds_store *a, *b;
	cJSON *doc = cJSON_Parse("{\"b\": [1, 2], \"a\": {\"x\": \"y\"}}");
	struct snap_out o;
	struct snap_in in;
	char *text;

	CHECK_EQ(mmds_store_create(0, &a), 0);
	CHECK_EQ(mmds_store_create(0, &b), 0);
	/* Nothing PUT: nothing comes back (PATCH still refused). */
	snap_out_init(&o);
	CHECK_EQ(mmds_store_save(a, &o), 0);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(mmds_store_load(b, &in), 0);
	CHECK_EQ(mmds_store_patch(b, doc), -ENODATA);
	snap_out_free(&o);
	CHECK_EQ(mmds_store_put(a, doc), 0);
	snap_out_init(&o);
	CHECK_EQ(mmds_store_save(a, &o), 0);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(mmds_store_load(b, &in), 0);
	text = mmds_store_json(b);
	CHECK(text && !strcmp(text, "{\"a\":{\"x\":\"y\"},\"b\":[1,2]}"));
	free(text);
	snap_out_free(&o);
	cJSON_Delete(doc);
	mmds_store_destroy(a);
	mmds_store_destroy(b);
}

/* An MMDS section: bool, u32 length, then text (its length as given). */
static void mmds_refused(const char *name, size_t limit, u8 has, u32 len, const char *text,
			 const char *want)
{
	struct mmds_store *s;
	struct snap_out o;
	struct snap_in in;
	char *before;

	CHECK_EQ(mmds_store_create(limit, &s), 0);
	snap_out_init(&o);
	snap_put_u8(&o, has);
	snap_put_u32(&o, len);
	snap_put_bytes(&o, text, strlen(text));
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(mmds_store_load(s, &in), -EINVAL);
	if (!strstr(in.why, want)) {
		printf("  %s: '%s' has no '%s'\n", name, in.why, want);
		CHECK(0);
	}
	before = mmds_store_json(s);
	CHECK(before && !strcmp(before, "{}")); /* unchanged */
	free(before);
	snap_out_free(&o);
	mmds_store_destroy(s);
}

static void test_mmds_refused(void)
{
	mmds_refused("length", 0, 1, 100, "{}", "100 bytes, more than the section holds");
	mmds_refused("absent with bytes", 0, 0, 2, "{}", "marked absent");
	mmds_refused("not json", 0, 1, 3, "{a}", "not one JSON value");
	mmds_refused("two values", 0, 1, 5, "{} {}", "not one JSON value");
	mmds_refused("above the limit", 8, 1, 10, "{\"a\":\"bc\"}", "above this process's limit");
	mmds_refused("bytes after", 0, 1, 2, "{}x", "1 bytes left over");
}

int main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_refused);
	TEST_RUN(test_mmds_round_trip);
	TEST_RUN(test_mmds_refused);
	return test_done();
}
