/* Unit tests for acpi_build(): RSDP, XSDT, FADT, MADT and DSDT checked byte by
 * byte in a 2 MiB guest (offsets from ACPI 6.4 section 5.2). */
#include <errno.h>
#include <stdlib.h>

#include "acpi/acpi.h"
#include "acpi/tables.h"
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

static u64 rd64(const u8 *p)
{
	return rd32(p) | (u64)rd32(p + 4) << 32;
}

static u8 sum8(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Host pointer to a whole table at gpa, after checking that it lies in the
 * ACPI area, has signature sig and sums to zero. NULL otherwise. */
static const u8 *table_at(const struct guest_mem *mem, gpa_t gpa, const char *sig)
{
	const u8 *t;
	u32 len;

	if (gpa < LAYOUT_ACPI_START || gpa + 36 > LAYOUT_ACPI_END) {
		printf("  table %s at 0x%llx outside the ACPI area\n", sig,
		       (unsigned long long)gpa);
		return NULL;
	}
	t = guest_mem_ptr(mem, gpa, 36);
	len = rd32(t + 4);
	if (memcmp(t, sig, 4) || len < 36 || gpa + len > LAYOUT_ACPI_END || sum8(t, len) != 0) {
		printf("  table %s: bad signature, length %u or checksum\n", sig, len);
		return NULL;
	}
	return t;
}

/* Counts the occurrences of needle in the n bytes at hay. */
static unsigned count_bytes(const u8 *hay, size_t n, const void *needle, size_t m)
{
	unsigned c = 0;

	for (size_t i = 0; i + m <= n; i++)
		c += !memcmp(hay + i, needle, m);
	return c;
}

static void config_default(struct acpi_config *cfg, unsigned cpus, unsigned nr_virtio)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = cpus;
	cfg->has_uart = true;
	cfg->has_rtc = true;
	cfg->nr_virtio = nr_virtio;
	/* The layout's rule: device n at GSI base + n. */
	for (unsigned i = 0; i < nr_virtio; i++) {
		cfg->virtio[i].mmio_base = LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE;
		cfg->virtio[i].mmio_size = LAYOUT_VIRTIO_MMIO_SIZE;
		cfg->virtio[i].gsi = LAYOUT_VIRTIO_GSI_BASE + i;
	}
}

struct tables {
	const u8 *rsdp, *xsdt, *fadt, *madt, *dsdt;
};

/* Builds the tables and follows the pointers from the RSDP. 0 on success. */
static int build_and_walk(struct guest_mem *mem, const struct acpi_config *cfg, struct tables *t)
{
	gpa_t rsdp = 0;
	int err;

	memset(t, 0, sizeof(*t));
	err = acpi_build(mem, cfg, &rsdp);
	if (err)
		return err;
	CHECK_EQ(rsdp, LAYOUT_ACPI_START);
	CHECK_EQ(rsdp % 16, 0);
	t->rsdp = guest_mem_ptr(mem, rsdp, 36);
	if (!t->rsdp || memcmp(t->rsdp, "RSD PTR ", 8))
		return -1;
	t->xsdt = table_at(mem, rd64(t->rsdp + 24), "XSDT");
	if (!t->xsdt)
		return -1;
	t->fadt = table_at(mem, rd64(t->xsdt + 36), "FACP");
	t->madt = table_at(mem, rd64(t->xsdt + 44), "APIC");
	if (!t->fadt || !t->madt)
		return -1;
	t->dsdt = table_at(mem, rd64(t->fadt + 140), "DSDT");
	return t->dsdt ? 0 : -1;
}

static void test_rsdp_xsdt(void)
{
	struct guest_mem mem;
	struct acpi_config cfg;
	struct tables t;

	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	config_default(&cfg, 1, 1);
	CHECK_EQ(build_and_walk(&mem, &cfg, &t), 0);
	if (t.xsdt) {
		CHECK_EQ(t.rsdp[15], 2);         /* revision */
		CHECK_EQ(sum8(t.rsdp, 20), 0);   /* ACPI 1.0 checksum */
		CHECK_EQ(rd32(t.rsdp + 20), 36); /* length */
		CHECK_EQ(sum8(t.rsdp, 36), 0);   /* extended checksum */
		CHECK(!memcmp(t.rsdp + 9, "POPEK ", 6));
		CHECK_EQ(rd32(t.xsdt + 4), 36 + 2 * 8);
		CHECK_EQ(t.xsdt[8], 1);
	}
	guest_mem_destroy(&mem);
}

static void test_fadt(void)
{
	struct guest_mem mem;
	struct acpi_config cfg;
	struct tables t;
	const u8 *f;

	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	config_default(&cfg, 2, 0);
	CHECK_EQ(build_and_walk(&mem, &cfg, &t), 0);
	f = t.fadt;
	if (f) {
		CHECK_EQ(rd32(f + 4), 276);
		CHECK_EQ(f[8], 6);         /* revision */
		CHECK_EQ(f[131], 4);       /* minor version */
		CHECK_EQ(rd32(f + 36), 0); /* no FACS */
		CHECK_EQ(rd64(f + 132), 0);
		CHECK_EQ(rd32(f + 40), rd64(f + 140)); /* DSDT == X_DSDT */
		CHECK_EQ(rd16(f + 46), GSI_ACPI_SCI);
		CHECK(rd32(f + 112) & (1u << 20));    /* HW_REDUCED_ACPI */
		CHECK(rd32(f + 112) & (1u << 10));    /* RESET_REG_SUP */
		CHECK_EQ(rd16(f + 109) & 0x27, 0x07); /* legacy, 8042, no VGA; RTC present */
		/* RESET_REG: SystemIO, 8 bits, offset 0, byte access. */
		CHECK_EQ(rd32(f + 116), 0x01000801);
		CHECK_EQ(rd64(f + 120), PORT_ACPI_RESET);
		CHECK_EQ(f[128], ACPI_RESET_VALUE);
		CHECK_EQ(rd32(f + 244), 0x01000801);
		CHECK_EQ(rd64(f + 248), PORT_ACPI_SLEEP_CTL);
		CHECK_EQ(rd32(f + 256), 0x01000801);
		CHECK_EQ(rd64(f + 260), PORT_ACPI_SLEEP_STS);
		CHECK(!memcmp(f + 268, "POPEK\0\0\0", 8));
		/* No PM1/GPE/PM timer blocks on a hardware-reduced platform. */
		for (unsigned off = 148; off < 244; off++)
			CHECK_EQ(f[off], 0);
		CHECK_EQ(rd32(f + 56), 0);
		CHECK_EQ(rd32(f + 76), 0);
	}
	guest_mem_destroy(&mem);

	/* No RTC: the CMOS RTC Not Present flag tells Linux not to touch it. */
	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	config_default(&cfg, 1, 0);
	cfg.has_rtc = false;
	CHECK_EQ(build_and_walk(&mem, &cfg, &t), 0);
	if (t.fadt)
		CHECK(rd16(t.fadt + 109) & (1u << 5));
	guest_mem_destroy(&mem);
}

static void check_madt(const u8 *m, unsigned cpus)
{
	unsigned n_lapic = 0, n_ioapic = 0, n_iso = 0, n_nmi = 0, n = 0;
	u32 len = rd32(m + 4);

	CHECK_EQ(len, 44 + 8 * cpus + 12 + 2 * 10 + 6);
	CHECK_EQ(rd32(m + 36), LAYOUT_LAPIC);
	CHECK_EQ(rd32(m + 40), 1); /* PCAT_COMPAT */
	for (u32 off = 44; off < len; off += m[off + 1], n++) {
		const u8 *e = m + off;

		if (e[1] < 2 || off + e[1] > len) {
			CHECK(!"MADT entry length");
			return;
		}
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[1], 8);
			CHECK_EQ(e[2], n_lapic);  /* processor UID */
			CHECK_EQ(e[3], n_lapic);  /* APIC id */
			CHECK_EQ(rd32(e + 4), 1); /* enabled */
			n_lapic++;
			break;
		case 1:
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], cpus);
			CHECK_EQ(rd32(e + 4), LAYOUT_IOAPIC);
			CHECK_EQ(rd32(e + 8), 0);
			n_ioapic++;
			break;
		case 2:
			CHECK_EQ(e[1], 10);
			CHECK_EQ(e[2], 0); /* ISA */
			if (e[3] == 0) {
				CHECK_EQ(rd32(e + 4), 2);
				CHECK_EQ(rd16(e + 8), 0x5); /* edge, active high */
			} else {
				CHECK_EQ(e[3], 9);
				CHECK_EQ(rd32(e + 4), 9);
				CHECK_EQ(rd16(e + 8), 0xD); /* level, active high */
			}
			n_iso++;
			break;
		case 4:
			CHECK_EQ(e[1], 6);
			CHECK_EQ(e[2], 0xFF);
			CHECK_EQ(e[5], 1); /* LINT1 */
			n_nmi++;
			break;
		default:
			CHECK(!"unexpected MADT entry type");
		}
	}
	CHECK_EQ(n_lapic, cpus);
	CHECK_EQ(n_ioapic, 1);
	CHECK_EQ(n_iso, 2);
	CHECK_EQ(n_nmi, 1);
	CHECK_EQ(n, cpus + 1 + 2 + 1);
}

static void test_madt(void)
{
	static const unsigned cpus[] = {1, 2, 64, 254};
	struct guest_mem mem;
	struct acpi_config cfg;
	struct tables t;

	for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
		CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
		config_default(&cfg, cpus[i], 0);
		CHECK_EQ(build_and_walk(&mem, &cfg, &t), 0);
		if (t.madt)
			check_madt(t.madt, cpus[i]);
		guest_mem_destroy(&mem);
	}
}

static void test_dsdt(void)
{
	static const u8 s5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0A, 0x05, 0, 0, 0};
	struct guest_mem mem;
	struct acpi_config cfg;
	struct tables t;
	u8 irq[9] = {0x89, 0x06, 0x00, 0x01, 0x01, LAYOUT_VIRTIO_GSI_BASE + 2, 0, 0, 0};
	u32 len;

	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	config_default(&cfg, 1, 3);
	CHECK_EQ(build_and_walk(&mem, &cfg, &t), 0);
	if (t.dsdt) {
		len = rd32(t.dsdt + 4);
		CHECK_EQ(t.dsdt[8], 2); /* revision: 64-bit integers */
		CHECK_EQ(count_bytes(t.dsdt, len, s5, sizeof(s5)), 1);
		CHECK_EQ(count_bytes(t.dsdt, len, "LNRO0005", 8), 3);
		CHECK_EQ(count_bytes(t.dsdt, len, "VR00", 4), 1);
		CHECK_EQ(count_bytes(t.dsdt, len, "VR02", 4), 1);
		CHECK_EQ(count_bytes(t.dsdt, len, "COM1", 4), 1);
		CHECK_EQ(count_bytes(t.dsdt, len, "RTC_", 4), 1);
		/* COM1: _HID EisaId ("PNP0501"), RTC: EisaId ("PNP0B00"). */
		CHECK_EQ(count_bytes(t.dsdt, len, "\x0C\x41\xD0\x05\x01", 5), 1);
		CHECK_EQ(count_bytes(t.dsdt, len, "\x0C\x41\xD0\x0B\x00", 5), 1);
		/* VR02's window and its level, active-high, exclusive GSI. */
		CHECK_EQ(count_bytes(t.dsdt, len,
				     "\x86\x09\x00\x01\x00\x20\x00\xD0\x00\x10\x00\x00", 12),
			 1);
		CHECK_EQ(count_bytes(t.dsdt, len, irq, sizeof(irq)), 1);
		/* The i8042: EisaId ("PNP0303"), IO 0x60 and 0x64, IRQNoFlags {1}. */
		CHECK_EQ(count_bytes(t.dsdt, len, "KBD_", 4), 1);
		CHECK_EQ(count_bytes(t.dsdt, len, "\x0C\x41\xD0\x03\x03", 5), 1);
		CHECK_EQ(count_bytes(t.dsdt, len,
				     "\x47\x01\x60\x00\x60\x00\x01\x01"
				     "\x47\x01\x64\x00\x64\x00\x01\x01\x22\x02\x00",
				     19),
			 1);
	}
	guest_mem_destroy(&mem);

	/* Nothing but CPUs: \_S5 and \_SB with only the keyboard controller,
	 * which is always there. */
	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	config_default(&cfg, 1, 0);
	cfg.has_uart = cfg.has_rtc = false;
	CHECK_EQ(build_and_walk(&mem, &cfg, &t), 0);
	if (t.dsdt) {
		len = rd32(t.dsdt + 4);
		/* \_SB: ScopeOp, 2-byte PkgLength, "\\_SB_", 63-byte Device (KBD). */
		CHECK_EQ(len, 36 + sizeof(s5) + 1 + 2 + 5 + 63);
		CHECK_EQ(count_bytes(t.dsdt, len, "COM1", 4), 0);
		CHECK_EQ(count_bytes(t.dsdt, len, "KBD_", 4), 1);
	}
	guest_mem_destroy(&mem);
}

/* The largest configuration fits the area: -ENOSPC cannot happen. */
static void test_max_config(void)
{
	struct guest_mem mem;
	struct acpi_config cfg;
	struct aml_buf b;
	struct tables t;

	/* As many devices as the layout has GSIs for on the 24-pin IOAPIC. */
	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	config_default(&cfg, 254, LAYOUT_VIRTIO_MMIO_MAX);
	CHECK(cfg.virtio[LAYOUT_VIRTIO_MMIO_MAX - 1].gsi < LAYOUT_IOAPIC_PINS);
	CHECK_EQ(build_and_walk(&mem, &cfg, &t), 0);
	if (t.dsdt)
		CHECK_EQ(count_bytes(t.dsdt, rd32(t.dsdt + 4), "LNRO0005", 8),
			 LAYOUT_VIRTIO_MMIO_MAX);
	if (t.madt)
		check_madt(t.madt, 254);
	guest_mem_destroy(&mem);

	/* ACPI_MAX_VIRTIO devices (GSIs not checked by the DSDT emitter itself):
	 * the DSDT stays far below the 128 KiB area. */
	config_default(&cfg, 254, 0);
	cfg.nr_virtio = ACPI_MAX_VIRTIO;
	for (unsigned i = 0; i < ACPI_MAX_VIRTIO; i++) {
		cfg.virtio[i].mmio_base = LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE;
		cfg.virtio[i].mmio_size = LAYOUT_VIRTIO_MMIO_SIZE;
		cfg.virtio[i].gsi = i;
	}
	aml_init(&b, 64 * KiB);
	CHECK_EQ(acpi_dsdt_emit(&b, &cfg), 0);
	CHECK_EQ(count_bytes(b.data, b.len, "LNRO0005", 8), ACPI_MAX_VIRTIO);
	CHECK_EQ(count_bytes(b.data, b.len, "VR31", 4), 1);
	CHECK_EQ(sum8(b.data, b.len), 0);
	CHECK(b.len < 4 * KiB);
	aml_release(&b);
}

static void test_bad_config(void)
{
	struct guest_mem mem;
	struct acpi_config cfg;
	gpa_t rsdp = 0;

	CHECK_EQ(guest_mem_init(&mem, 2 * MiB), 0);
	config_default(&cfg, 0, 0);
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	config_default(&cfg, 255, 0);
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	config_default(&cfg, 1, 1);
	cfg.nr_virtio = ACPI_MAX_VIRTIO + 1;
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);

	static const u32 bad_gsi[] = {0, GSI_I8042_KBD, 2, GSI_UART0, GSI_RTC, LAYOUT_IOAPIC_PINS};
	for (size_t i = 0; i < ARRAY_SIZE(bad_gsi); i++) {
		config_default(&cfg, 1, 1);
		cfg.virtio[0].gsi = bad_gsi[i];
		CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	}
	config_default(&cfg, 1, 2);
	cfg.virtio[1].gsi = cfg.virtio[0].gsi;
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);

	config_default(&cfg, 1, 1);
	cfg.virtio[0].mmio_base = 0xFFFFF000;
	cfg.virtio[0].mmio_size = 0x2000;
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	cfg.virtio[0].mmio_base = 0x100000000ULL;
	cfg.virtio[0].mmio_size = 0x1000;
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	cfg.virtio[0].mmio_base = 0xFFFFF000;
	cfg.virtio[0].mmio_size = 0;
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EINVAL);
	cfg.virtio[0].mmio_size = 0x1000; /* ends exactly at 4 GiB: fine */
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), 0);
	guest_mem_destroy(&mem);
}

/* A guest whose RAM ends inside the ACPI area: -EFAULT, and nothing written. */
static void test_not_ram(void)
{
	struct guest_mem mem;
	struct acpi_config cfg;
	gpa_t rsdp = 0;
	u8 *host = calloc(1, 0xE8000);

	memset(&mem, 0, sizeof(mem));
	mem.base = host;
	mem.ram_size = mem.map_size = 0xE8000;
	mem.nr_regions = mem.nr_mapped = 1;
	mem.hotplug = -1;
	mem.regions[0] = (struct guest_mem_region){0, 0xE8000, host, 0};
	config_default(&cfg, 1, 1);
	CHECK_EQ(acpi_build(&mem, &cfg, &rsdp), -EFAULT);
	CHECK_EQ(rsdp, 0);
	CHECK_EQ(sum8(host, 0xE8000), 0);
	CHECK_EQ(count_bytes(host, 0xE8000, "RSD PTR ", 8), 0);
	free(host);
}

/* The area allocator refuses what does not fit and never hands out memory past the end. */
static void test_area_bounds(void)
{
	u8 buf[64];
	struct acpi_area a = {.host = buf, .gpa = 0x1000, .size = sizeof(buf)};
	gpa_t gpa = 0;
	void *p = NULL;

	CHECK_EQ(acpi_area_alloc(&a, 20, 16, &p, &gpa), 0);
	CHECK(p == buf);
	CHECK_EQ(gpa, 0x1000);
	CHECK_EQ(acpi_area_alloc(&a, 33, 16, &p, &gpa), -ENOSPC); /* 32 + 33 > 64 */
	CHECK_EQ(a.used, 20);
	CHECK_EQ(acpi_area_alloc(&a, 32, 16, &p, &gpa), 0);
	CHECK(p == buf + 32);
	CHECK_EQ(gpa, 0x1020);
	CHECK_EQ(acpi_area_alloc(&a, 1, 1, &p, &gpa), -ENOSPC);
	CHECK_EQ(acpi_area_alloc(&a, ~0ULL, 1, &p, &gpa), -ENOSPC);
	CHECK_EQ(acpi_checksum("\x01\x02\x03", 3), 0xFA);
}

int main(void)
{
	TEST_RUN(test_area_bounds);
	TEST_RUN(test_rsdp_xsdt);
	TEST_RUN(test_fadt);
	TEST_RUN(test_madt);
	TEST_RUN(test_dsdt);
	TEST_RUN(test_max_config);
	TEST_RUN(test_bad_config);
	TEST_RUN(test_not_ram);
	return test_done();
}
