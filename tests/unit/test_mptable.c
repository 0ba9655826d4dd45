/* Unit tests for mptable_build(): the table is found and read back the way
 * Linux's mpparse does (MP spec 1.4 chapter 4): scan the BIOS area for the
 * floating pointer, check both checksums, then walk the entries. */
#include <errno.h>

#include "boot/mptable.h"
#include "core/guest_mem.h"
#include "popek/layout.h"
#include "unit/test.h"

static u16 rd16(const u8 *p)
{
	return p[0] | p[1] << 8;
}

static u32 rd32(const u8 *p)
{
	return rd16(p) | (u32)rd16(p + 2) << 16;
}

static u8 sum8(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

struct parsed {
	unsigned cpus, boot_cpus, buses, ioapics, local_ints;
	u8 ioapic_id;
	int pin_of_irq[LAYOUT_IOAPIC_PINS]; /* -1: no entry */
	u16 flags_of_irq[LAYOUT_IOAPIC_PINS];
	bool extint_pin0;
};

/* Returns 0 and fills out, or -1 when a structure is wrong. */
static int mp_parse(const struct guest_mem *mem, struct parsed *out)
{
	const u8 *fp = NULL, *c, *e;
	u16 len, n;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < LAYOUT_IOAPIC_PINS; i++)
		out->pin_of_irq[i] = -1;
	for (gpa_t a = 0xF0000; a < 0x100000; a += 16) {
		const u8 *p = guest_mem_ptr(mem, a, 16);
		if (p && !memcmp(p, "_MP_", 4)) {
			fp = p;
			break;
		}
	}
	if (!fp || fp[8] != 1 || fp[9] != 4 || sum8(fp, 16) != 0 || fp[11] != 0)
		return -1;
	c = guest_mem_ptr(mem, rd32(fp + 4), 44);
	if (!c || memcmp(c, "PCMP", 4) || c[6] != 4)
		return -1;
	len = rd16(c + 4);
	c = guest_mem_ptr(mem, rd32(fp + 4), len);
	if (!c || sum8(c, len) != 0 || rd32(c + 36) != LAYOUT_LAPIC)
		return -1;
	n = rd16(c + 34);
	e = c + 44;
	for (unsigned i = 0; i < n; i++) {
		if (e >= c + len)
			return -1;
		switch (e[0]) {
		case 0:
			out->cpus++;
			out->boot_cpus += (e[3] & 2) != 0;
			if (e[1] != out->cpus - 1 || !(e[3] & 1))
				return -1;
			e += 20;
			break;
		case 1:
			out->buses++;
			if (memcmp(e + 2, "ISA   ", 6))
				return -1;
			e += 8;
			break;
		case 2:
			out->ioapics++;
			out->ioapic_id = e[1];
			if (rd32(e + 4) != LAYOUT_IOAPIC || !(e[3] & 1))
				return -1;
			e += 8;
			break;
		case 3:
			if (e[6] != out->ioapic_id || e[7] >= LAYOUT_IOAPIC_PINS)
				return -1;
			if (e[1] == 3 && e[7] == 0)
				out->extint_pin0 = true;
			else if (e[1] == 0 && e[5] < LAYOUT_IOAPIC_PINS) {
				out->pin_of_irq[e[5]] = e[7];
				out->flags_of_irq[e[5]] = rd16(e + 2);
			}
			e += 8;
			break;
		case 4:
			out->local_ints++;
			e += 8;
			break;
		default:
			return -1;
		}
	}
	return e == c + len ? 0 : -1;
}

static void test_two_cpus_with_virtio(void)
{
	struct guest_mem mem;
	unsigned level[] = {11, 12};
	struct mptable_config cfg = {2, 2, level};
	struct parsed p;

	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	CHECK_EQ(mptable_build(&mem, &cfg), 0);
	CHECK_EQ(mp_parse(&mem, &p), 0);
	CHECK_EQ(p.cpus, 2);
	CHECK_EQ(p.boot_cpus, 1);
	CHECK_EQ(p.buses, 1);
	CHECK_EQ(p.ioapics, 1);
	CHECK_EQ(p.ioapic_id, 2); /* after the CPUs' APIC ids, as in the MADT */
	CHECK_EQ(p.local_ints, 2);
	CHECK(p.extint_pin0);
	CHECK_EQ(p.pin_of_irq[0], 2); /* the PIT, as the MADT override says */
	CHECK_EQ(p.pin_of_irq[2], -1);
	CHECK_EQ(p.pin_of_irq[4], 4);
	CHECK_EQ(p.flags_of_irq[4], 0); /* ISA: edge, active high */
	CHECK_EQ(p.pin_of_irq[11], 11);
	CHECK_EQ(p.flags_of_irq[11], 0xD); /* level, active high */
	CHECK_EQ(p.flags_of_irq[12], 0xD);
	CHECK_EQ(p.flags_of_irq[13], 0);
	CHECK_EQ(p.pin_of_irq[23], 23);
	guest_mem_destroy(&mem);
}

static void test_cpu_limits(void)
{
	struct guest_mem mem;
	struct mptable_config none = {0, 0, NULL}, many = {MPTABLE_MAX_CPUS + 1, 0, NULL};
	struct mptable_config max = {MPTABLE_MAX_CPUS, 0, NULL};
	struct parsed p;

	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	CHECK_EQ(mptable_build(&mem, &none), -EINVAL);
	CHECK_EQ(mptable_build(&mem, &many), -EINVAL);
	CHECK_EQ(mptable_build(&mem, &max), 0);
	CHECK_EQ(mp_parse(&mem, &p), 0);
	CHECK_EQ(p.cpus, MPTABLE_MAX_CPUS);
	guest_mem_destroy(&mem);
}

int main(void)
{
	TEST_RUN(test_two_cpus_with_virtio);
	TEST_RUN(test_cpu_limits);
	return test_done();
}
