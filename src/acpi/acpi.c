/* ACPI table area, common header and checksum, XSDT and RSDP (ACPI 6.4 sections 5.2.5-5.2.8). */
#include "acpi/tables.h"

#include <errno.h>
#include <string.h>

#include "popek/layout.h"
#include "popek/log.h"

/* xAPIC ids are 8 bits and 0xFF is the broadcast id; the IOAPIC takes nr_cpus. */
#define ACPI_MAX_CPUS 254

/* 5.2.5.3 Root System Description Pointer, revision 2. */
struct acpi_rsdp {
	char signature[8];
	u8 checksum; /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	u8 revision;
	u32 rsdt_address;
	u32 length;
	u64 xsdt_address;
	u8 extended_checksum; /* over all 36 bytes */
	u8 reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

#define RSDP_V1_LEN  20
#define XSDT_ENTRIES 2 /* FADT, MADT (the DSDT hangs off the FADT) */

int acpi_area_alloc(struct acpi_area *a, u64 len, u64 align, void **host, gpa_t *gpa)
{
	u64 off = ALIGN_UP(a->used, align);

	if (off > a->size || len > a->size - off)
		return -ENOSPC;
	a->used = off + len;
	memset(a->host + off, 0, len);
	*host = a->host + off;
	*gpa = a->gpa + off;
	return 0;
}

u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return (u8)-sum;
}

void acpi_header_init(struct acpi_table_header *h, const char sig[4], u32 len, u8 rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

void acpi_table_seal(struct acpi_table_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

/* The virtio GSIs must be IOAPIC pins that no other device described here uses. */
static int acpi_check_gsi(const struct acpi_config *cfg, unsigned i)
{
	u32 gsi = cfg->virtio[i].gsi;

	/* GSI 2 is the pin IRQ0 (the PIT) is overridden to, see madt.c. */
	if (gsi >= LAYOUT_IOAPIC_PINS || gsi == GSI_PIT || gsi == 2 || gsi == GSI_I8042_KBD ||
	    (cfg->has_uart && gsi == GSI_UART0) || (cfg->has_rtc && gsi == GSI_RTC)) {
		log_error("acpi: virtio device %u: GSI %u is not free", i, gsi);
		return -EINVAL;
	}
	for (unsigned j = 0; j < i; j++) {
		if (cfg->virtio[j].gsi == gsi) {
			log_error("acpi: virtio devices %u and %u share GSI %u", j, i, gsi);
			return -EINVAL;
		}
	}
	return 0;
}

static int acpi_check_config(const struct acpi_config *cfg)
{
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > ACPI_MAX_CPUS) {
		log_error("acpi: %u CPUs: need 1 to %u", cfg->nr_cpus, ACPI_MAX_CPUS);
		return -EINVAL;
	}
	if (cfg->nr_virtio > ACPI_MAX_VIRTIO) {
		log_error("acpi: %u virtio devices: at most %u", cfg->nr_virtio, ACPI_MAX_VIRTIO);
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		const struct acpi_virtio_dev *d = &cfg->virtio[i];

		/* Memory32Fixed: the window must lie below 4 GiB. */
		if (!d->mmio_size || d->mmio_base > 0xFFFFFFFFULL ||
		    d->mmio_size > 0x100000000ULL - d->mmio_base) {
			log_error(
			    "acpi: virtio device %u: MMIO window 0x%llx+0x%x is not below 4 GiB", i,
			    (unsigned long long)d->mmio_base, d->mmio_size);
			return -EINVAL;
		}
		if (acpi_check_gsi(cfg, i))
			return -EINVAL;
	}
	return 0;
}

/* 5.2.8 Extended System Description Table: 64-bit pointers to the other tables. */
static int acpi_xsdt_build(struct acpi_area *a, const gpa_t *entries, unsigned n, gpa_t *out)
{
	u32 len = sizeof(struct acpi_table_header) + 8 * n;
	struct acpi_table_header *h;
	void *p;
	int err;

	err = acpi_area_alloc(a, len, 16, &p, out);
	if (err)
		return err;
	h = p;
	acpi_header_init(h, "XSDT", len, 1);
	/* The entries start at offset 36: not 8-byte aligned, so copy them. */
	for (unsigned i = 0; i < n; i++)
		memcpy((u8 *)p + sizeof(*h) + 8 * i, &entries[i], 8);
	acpi_table_seal(h);
	return 0;
}

/* 5.2.5.3: revision 2, no RSDT; OSPM uses the XSDT. */
static void acpi_rsdp_fill(struct acpi_rsdp *r, gpa_t xsdt)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	r->checksum = acpi_checksum(r, RSDP_V1_LEN);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
}

int acpi_build(struct guest_mem *mem, const struct acpi_config *cfg, gpa_t *rsdp)
{
	const u64 size = LAYOUT_ACPI_END - LAYOUT_ACPI_START;
	struct acpi_area area = {.gpa = LAYOUT_ACPI_START, .size = size};
	gpa_t rsdp_gpa, dsdt, xsdt, entries[XSDT_ENTRIES];
	void *rsdp_host;
	int err;

	err = acpi_check_config(cfg);
	if (err)
		return err;
	area.host = guest_mem_ptr(mem, LAYOUT_ACPI_START, size);
	if (!area.host) {
		log_error("acpi: table area 0x%llx-0x%llx is not guest RAM",
			  (unsigned long long)LAYOUT_ACPI_START,
			  (unsigned long long)LAYOUT_ACPI_END);
		return -EFAULT;
	}
	memset(area.host, 0, size);

	/* The RSDP first: Linux also finds it by scanning 0xE0000-0xFFFFF on
	 * 16-byte boundaries (5.2.5.1), so it sits at the start of the area. */
	err = acpi_area_alloc(&area, sizeof(struct acpi_rsdp), 16, &rsdp_host, &rsdp_gpa);
	if (!err)
		err = acpi_dsdt_build(&area, cfg, &dsdt);
	if (!err)
		err = acpi_fadt_build(&area, cfg, dsdt, &entries[0]);
	if (!err)
		err = acpi_madt_build(&area, cfg, &entries[1]);
	if (!err)
		err = acpi_xsdt_build(&area, entries, XSDT_ENTRIES, &xsdt);
	if (err) {
		log_error("acpi: cannot build the tables: %s", strerror(-err));
		return err;
	}
	acpi_rsdp_fill(rsdp_host, xsdt);
	log_debug("acpi: RSDP at 0x%llx, %llu bytes of tables", (unsigned long long)rsdp_gpa,
		  (unsigned long long)area.used);
	*rsdp = rsdp_gpa;
	return 0;
}
