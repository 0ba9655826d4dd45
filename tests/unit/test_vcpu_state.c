/* The engine-neutral vCPU form's encoding (core/vcpu_state.h), the guest
 * clock's (core/irqchip_state.h) and the snapshot's machine section
 * (vmm/snapshot_config.h): a populated state round-trips exactly, and each
 * kind of damage or impossible value is refused with a reason naming it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/irqchip_state.h"
#include "core/vcpu_state.h"
#include "test.h"
#include "vmm/snapshot_config.h"

static void sample(struct x86_vcpu_state *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < 16; i++)
		st->st.regs.gpr[i] = 0x1111111111111111ULL * (i + 1);
	st->st.regs.rip = 0xffffffff81000123ULL;
	st->st.regs.rflags = 0x246;
	for (unsigned i = 0; i < 6; i++)
		st->st.sregs.seg[i] = (struct x86_seg){.base = i * 0x1000, .limit = 0xfffff,
						       .selector = (u16)(i * 8), .type = 3, .s = 1,
						       .present = 1, .db = 1, .g = 1};
	st->st.sregs.seg[X86_CS].l = 1;
	st->st.sregs.seg[X86_CS].db = 0;
	st->st.sregs.tr = (struct x86_seg){.base = 0xfffffe0000003000ULL, .limit = 0x67,
					   .selector = 0x40, .type = 11, .present = 1};
	st->st.sregs.ldt.unusable = 1;
	st->st.sregs.gdt = (struct x86_dtable){0xfffffe0000001000ULL, 0x7f};
	st->st.sregs.idt = (struct x86_dtable){0xfffffe0000000000ULL, 0xfff};
	st->st.sregs.cr0 = 0x80050033;
	st->st.sregs.cr2 = 0x7f0000001000ULL;
	st->st.sregs.cr3 = 0x1234000;
	st->st.sregs.cr4 = 0x3406f0;
	st->st.sregs.cr8 = 2;
	st->st.sregs.efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	st->st.sregs.apic_base = 0xfee00900;
	st->xcr0 = 3;
	st->pkru = 0x55555554;
	st->dr[2] = 0x401000;
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	for (unsigned i = 0; i < sizeof(st->fxsave); i++)
		st->fxsave[i] = (u8)(i * 7);
	CHECK_EQ(vcpu_state_set_msr(st, 0x10, 123456789), 0);
	CHECK_EQ(vcpu_state_set_msr(st, 0xc0000082, 0xffffffff81a00000ULL), 0);
	CHECK_EQ(vcpu_state_set_msr(st, 0x10, 987654321), 0); /* replaces */
	st->ev = (struct x86_events){.exc_pending = 1, .exc_vector = 14, .exc_has_error = 1,
				     .exc_error = 6, .nmi_pending = 1, .nmi_masked = 1,
				     .intr_shadow = X86_SHADOW_STI, .mp_state = X86_MP_HALTED};
	for (unsigned i = 0; i < sizeof(st->lapic); i++)
		st->lapic[i] = (u8)(i * 13 + 1);
}

static int decode(const struct snap_out *o, struct x86_vcpu_state *st, char *why)
{
	struct snap_in in;
	int err;

	snap_in_init(&in, o->buf, o->len);
	err = vcpu_state_decode(&in, st);
	strcpy(why, in.why);
	return err;
}

static void test_round_trip(void)
{
	struct x86_vcpu_state *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct snap_out o;
	char why[160];
	u64 v = 0;

	sample(a);
	CHECK_EQ(a->nr_msrs, 2);
	snap_out_init(&o);
	vcpu_state_encode(a, &o);
	CHECK_EQ(o.err, 0);
	CHECK_EQ(decode(&o, b, why), 0);
	CHECK(memcmp(a, b, sizeof(*a)) == 0);
	CHECK(vcpu_state_msr(b, 0x10, &v) && v == 987654321);
	CHECK(!vcpu_state_msr(b, 0x11, &v));
	snap_out_free(&o);
	free(a);
	free(b);
}

/* Encodes a sample changed by fn (NULL: unchanged), cuts or extends the
 * encoding by delta bytes, and checks the decoder refuses it with want. */
static void refused(void (*fn)(struct x86_vcpu_state *), int delta, const char *want)
{
	struct x86_vcpu_state *st = malloc(sizeof(*st));
	struct snap_out o;
	char why[160];

	sample(st);
	if (fn)
		fn(st);
	snap_out_init(&o);
	vcpu_state_encode(st, &o);
	if (delta > 0)
		for (int i = 0; i < delta; i++)
			snap_put_u8(&o, 0);
	else
		o.len -= (size_t)-delta;
	CHECK_EQ(decode(&o, st, why), -EINVAL);
	if (!strstr(why, want)) {
		printf("  reason '%s' lacks '%s'\n", why, want);
		CHECK(!"the reason names the problem");
	}
	snap_out_free(&o);
	free(st);
}

static void nmi3(struct x86_vcpu_state *st) { st->ev.nmi_pending = 3; }
static void mp9(struct x86_vcpu_state *st) { st->ev.mp_state = 9; }
static void shadow(struct x86_vcpu_state *st) { st->ev.intr_shadow = 4; }
static void exc(struct x86_vcpu_state *st) { st->ev.exc_vector = 40; }
static void lma(struct x86_vcpu_state *st) { st->st.sregs.cr0 &= ~X86_CR0_PG; }
static void segtype(struct x86_vcpu_state *st) { st->st.sregs.seg[X86_SS].dpl = 4; }
static void flagbyte(struct x86_vcpu_state *st) { st->st.sregs.seg[X86_DS].present = 2; }
static void dupmsr(struct x86_vcpu_state *st) { st->msrs[1].index = st->msrs[0].index; }
static void manymsrs(struct x86_vcpu_state *st) { st->nr_msrs = X86_MAX_SAVED_MSRS + 1; }

static void test_damage(void)
{
	refused(NULL, -1, "truncated");
	refused(NULL, -600, "truncated");
	refused(NULL, 3, "left over");
	refused(nmi3, 0, "3 NMIs pending");
	refused(mp9, 0, "run state 9");
	refused(shadow, 0, "interrupt shadow");
	refused(exc, 0, "vector 40");
	refused(lma, 0, "EFER.LMA");
	refused(segtype, 0, "segment SS");
	refused(flagbyte, 0, "not 0 or 1");
	refused(dupmsr, 0, "saved twice");
	refused(manymsrs, 0, "MSRs, at most");
}

static void test_msr_full(void)
{
	struct x86_vcpu_state *st = calloc(1, sizeof(*st));

	for (u32 i = 0; i < X86_MAX_SAVED_MSRS; i++)
		CHECK_EQ(vcpu_state_set_msr(st, 0x1000 + i, i), 0);
	CHECK_EQ(vcpu_state_set_msr(st, 0x10, 1), -ENOSPC);
	CHECK_EQ(vcpu_state_set_msr(st, 0x1000, 7), 0); /* a known one still updates */
	free(st);
}

/* ---- the machine section ---- */

static void machine_sample(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mem_size = 512 * MiB;
	c->nr_cpus = 2;
	c->rng = c->balloon = true;
	c->balloon_target_bytes = 64 * MiB;
	c->balloon_stats_interval_s = 7;
	c->balloon_deflate_on_oom = c->balloon_reporting = c->balloon_hinting = true;
	c->nr_disks = 2;
	strcpy(c->disks[0].path, "/var/lib/vm/root.img");
	strcpy(c->disks[1].path, "/tmp/data.img");
	c->disks[1].readonly = true;
	strcpy(c->disks[1].id, "data");
	c->nr_nets = 1;
	c->nets[0].mode = NET_USER;
	c->nets[0].has_mac = true;
	memcpy(c->nets[0].mac, "\x02\x00\x00\x00\x00\x07", 6);
	c->nets[0].nr_hostfwd = 1;
	c->nets[0].hostfwd[0] = (struct hostfwd_config){0x7f000001, 2222, 22};
	c->vsock = (struct vsock_config){true, 5, "/tmp/v.sock"};
	c->hotplug = (struct hotplug_config){512 * MiB, 2 * MiB, 128 * MiB};
	c->nr_pmem = 1;
	strcpy(c->pmem[0].id, "pm0");
	strcpy(c->pmem[0].path, "/tmp/pm.img");
	c->pmem[0].read_only = true;
}

static void test_machine_round_trip(void)
{
	const struct snapshot_machine in_sm = {
	    .vendor = CPU_VENDOR_AMD, .engine = "soft", .disk_sizes = {1 * GiB, 4096},
	    .pmem_sizes = {5 * MiB}};
	struct vm_config *a = malloc(sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct snapshot_machine sm;
	struct snap_out o;
	struct snap_in in;

	machine_sample(a);
	snap_out_init(&o);
	snapshot_config_encode(a, &in_sm, &o);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(snapshot_config_decode(&in, b, &sm), 0);
	CHECK_EQ(b->mem_size, a->mem_size);
	CHECK_EQ(b->nr_cpus, 2);
	CHECK_EQ(sm.vendor, CPU_VENDOR_AMD);
	CHECK(!strcmp(sm.engine, "soft"));
	CHECK(b->rng && b->balloon && !b->no_pv && !b->testdev && !b->virtio_console);
	CHECK_EQ(b->balloon_target_bytes, 64 * MiB);
	CHECK_EQ(b->balloon_stats_interval_s, 7);
	CHECK(b->balloon_deflate_on_oom && b->balloon_reporting && b->balloon_hinting);
	CHECK_EQ(b->nr_disks, 2);
	CHECK(!strcmp(b->disks[1].path, "/tmp/data.img") && b->disks[1].readonly);
	CHECK(!strcmp(b->disks[1].id, "data"));
	CHECK_EQ(sm.disk_sizes[0], 1 * GiB);
	CHECK_EQ(b->nr_nets, 1);
	CHECK(!memcmp(&b->nets[0], &a->nets[0], sizeof(b->nets[0])));
	CHECK(!memcmp(&b->vsock, &a->vsock, sizeof(b->vsock)));
	CHECK(!memcmp(&b->hotplug, &a->hotplug, sizeof(b->hotplug)));
	CHECK(b->nr_pmem == 1 && !memcmp(&b->pmem[0], &a->pmem[0], sizeof(b->pmem[0])));
	CHECK_EQ(sm.pmem_sizes[0], 5 * MiB);
	snap_out_free(&o);
	free(a);
	free(b);
}

/* The machine section with byte at off (counted back from the end when
 * negative; past the end: the section cut in half) must be refused with a
 * reason that says want. */
static void machine_refused(long off, u8 byte, const char *want)
{
	const struct snapshot_machine in_sm = {.vendor = CPU_VENDOR_INTEL, .engine = "kvm"};
	struct vm_config *c = malloc(sizeof(*c));
	struct snapshot_machine sm;
	struct snap_out o;
	struct snap_in in;

	machine_sample(c);
	snap_out_init(&o);
	snapshot_config_encode(c, &in_sm, &o);
	if (off < 0)
		o.buf[o.len - (size_t)-off] = byte;
	else if ((size_t)off < o.len)
		o.buf[off] = byte;
	else
		o.len /= 2; /* cut in the middle */
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(snapshot_config_decode(&in, c, &sm), -EINVAL);
	if (!strstr(in.why, want)) {
		printf("  reason '%s' lacks '%s'\n", in.why, want);
		CHECK(!"the reason names the problem");
	}
	snap_out_free(&o);
	free(c);
}

static void test_machine_damage(void)
{
	/* Offsets: mem 0-7, vCPUs 8-11, vendor 12, engine length 13-16 and
	 * "kvm" 17-19, flags 20, balloon target 21-28 and statistics
	 * interval 29-32, disk count 33-36, then the first disk's path length
	 * 37-40. */
	machine_refused(1, 0x01, "memory size");     /* not a multiple of 4 KiB */
	machine_refused(8, 0, "0 vCPUs");
	machine_refused(12, 3, "CPU vendor 3");
	machine_refused(20, 0x80, "device flags"); /* hinting without a balloon */
	machine_refused(31, 0x01, "statistics interval 65543 s"); /* 7 + 2^16 */
	machine_refused(28, 0x01, "balloon target");              /* above RAM */
	machine_refused(33, 9, "disk count 9");
	machine_refused(40, 0x10, "disk path");      /* a length of 256 MiB */
	machine_refused(17, 0, "NUL");
	machine_refused(100000, 0, "truncated");
}

/* The memory devices at the section's end (snapshot_memdev.c): u64 total,
 * block, slot, u32 pmem count, then pmem 0: id "pm0" (4 + 3), path
 * "/tmp/pm.img" (4 + 11), flags, u64 size: 59 bytes, so each offset is
 * -(59 - its place in them). */
static void test_machine_memdev_damage(void)
{
	machine_refused(-(59 - 8 - 2), 0x30, "hot-plug area"); /* block 3 MiB: not a power of 2 */
	machine_refused(-(59 - 5), 0x01, "hot-plug area");     /* total 512 MiB + 2^40 */
	machine_refused(-(59 - 24), 9, "pmem count 9");
	machine_refused(-9, 4, "flags 0x4");
	machine_refused(-(59 - 28 - 4 - 1), 0, "NUL"); /* in "pm0" */
}

/* The clock: u64 ns, u32 TSC kHz; a rate of 0 is damage. */
static void test_clock(void)
{
	const struct x86_clock_state a = {.guest_ns = 0x123456789abcULL, .tsc_khz = 2495000};
	struct x86_clock_state b;
	struct snap_out o;
	struct snap_in in;

	snap_out_init(&o);
	clock_state_encode(&a, &o);
	CHECK_EQ(o.err, 0);
	CHECK_EQ(o.len, 12);
	CHECK_EQ(o.buf[8] | o.buf[9] << 8 | o.buf[10] << 16 | (u32)o.buf[11] << 24, 2495000);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(clock_state_decode(&in, &b), 0);
	CHECK_EQ(snap_in_end(&in), 0);
	CHECK_EQ(b.guest_ns, a.guest_ns);
	CHECK_EQ(b.tsc_khz, a.tsc_khz);

	snap_in_init(&in, o.buf, 10);
	CHECK_EQ(clock_state_decode(&in, &b), -EINVAL);
	CHECK(strstr(in.why, "truncated") != NULL);
	memset(o.buf + 8, 0, 4);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(clock_state_decode(&in, &b), -EINVAL);
	if (!strstr(in.why, "TSC runs at 0 kHz")) {
		printf("  reason '%s'\n", in.why);
		CHECK(!"the reason names the rate");
	}
	snap_out_free(&o);
}

int main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_damage);
	TEST_RUN(test_msr_full);
	TEST_RUN(test_clock);
	TEST_RUN(test_machine_round_trip);
	TEST_RUN(test_machine_damage);
	TEST_RUN(test_machine_memdev_damage);
	return test_done();
}
