/* The Intel MultiProcessor table (MP spec 1.4, chapter 4): how a guest booted
 * with acpi=off finds its CPUs, the IOAPIC and the interrupt wiring. It says
 * the same as the MADT and DSDT do when ACPI is on. */
#include <errno.h>
#include <string.h>

#include "boot/mptable.h"
#include "core/guest_mem.h"
#include "popek/layout.h"

#define MP_SPEC_REV 4
#define MP_LAPIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IO_INTERRUPT, MP_LOCAL_INTERRUPT };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

/* I/O interrupt entry flags (MP spec table 4-10): polarity bits 0-1, trigger
 * bits 2-3; 0 means "as the bus says", which for ISA is edge, active high. */
#define MP_FLAGS_LEVEL_HIGH (1 | (3 << 2))

struct mp_floating {
	char signature[4]; /* "_MP_" */
	u32 config_addr;
	u8 length; /* in 16-byte units */
	u8 spec_rev;
	u8 checksum;
	u8 feature[5]; /* all 0: a configuration table follows, no IMCR */
} __attribute__((packed));

struct mp_config {
	char signature[4]; /* "PCMP" */
	u16 length;
	u8 spec_rev;
	u8 checksum;
	char oem[8];
	char product[12];
	u32 oem_table;
	u16 oem_table_size;
	u16 entries;
	u32 lapic_addr;
	u16 ext_length;
	u8 ext_checksum;
	u8 reserved;
} __attribute__((packed));

struct mp_processor {
	u8 type, lapic_id, lapic_version, flags; /* flags: bit 0 enabled, bit 1 boot CPU */
	u32 signature, features;
	u8 reserved[8];
} __attribute__((packed));

struct mp_bus {
	u8 type, id;
	char name[6];
} __attribute__((packed));

struct mp_ioapic {
	u8 type, id, version, flags;
	u32 addr;
} __attribute__((packed));

struct mp_interrupt { /* I/O and local interrupt entries share this layout */
	u8 type, kind;
	u16 flags;
	u8 src_bus, src_irq, dst_apic, dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");
_Static_assert(sizeof(struct mp_interrupt) == 8, "MP interrupt entry");

#define MP_MAX_SIZE                                                                       \
	(sizeof(struct mp_floating) + sizeof(struct mp_config) +                          \
	 MPTABLE_MAX_CPUS * sizeof(struct mp_processor) + sizeof(struct mp_bus) +          \
	 sizeof(struct mp_ioapic) + (LAYOUT_IOAPIC_PINS + 2) * sizeof(struct mp_interrupt))

static u8 mp_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return (u8)-sum;
}

static bool mp_level_pin(const struct mptable_config *cfg, unsigned pin)
{
	for (unsigned i = 0; i < cfg->nr_level_gsis; i++)
		if (cfg->level_gsis[i] == pin)
			return true;
	return false;
}

/* Appends an I/O interrupt entry: ISA IRQ src to IOAPIC pin dst. IRQs above 15
 * are described on the ISA bus too, which Linux takes as GSI = IRQ. */
static u8 *mp_put_irq(u8 *p, u8 kind, u16 flags, u8 src, u8 ioapic_id, u8 dst)
{
	struct mp_interrupt e = {MP_IO_INTERRUPT, kind, flags, 0, src, ioapic_id, dst};

	memcpy(p, &e, sizeof(e));
	return p + sizeof(e);
}

int mptable_build(const struct guest_mem *mem, const struct mptable_config *cfg)
{
	u8 buf[MP_MAX_SIZE], *p;
	struct mp_floating fp = {{'_', 'M', 'P', '_'}, 0, 1, MP_SPEC_REV, 0, {0}};
	struct mp_config hdr;
	u8 ioapic_id = (u8)cfg->nr_cpus;
	unsigned entries = 0;

	if (cfg->nr_cpus == 0 || cfg->nr_cpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	p = buf + sizeof(fp) + sizeof(hdr);
	for (unsigned i = 0; i < cfg->nr_cpus; i++, entries++) {
		struct mp_processor c = {MP_PROCESSOR, (u8)i, MP_LAPIC_VERSION,
					 (u8)(1 | (i == 0 ? 2 : 0)), 0, 0, {0}};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	struct mp_bus bus = {MP_BUS, 0, {'I', 'S', 'A', ' ', ' ', ' '}};
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	struct mp_ioapic io = {MP_IOAPIC, ioapic_id, MP_IOAPIC_VERSION, 1, (u32)LAYOUT_IOAPIC};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	entries += 2;
	/* Pin 0 is the PIC's ExtINT; IRQ0 (PIT) goes to pin 2 as the MADT says. */
	p = mp_put_irq(p, MP_EXTINT, 0, 0, ioapic_id, 0);
	entries++;
	for (unsigned irq = 0; irq < LAYOUT_IOAPIC_PINS; irq++, entries++) {
		unsigned pin = irq == 0 ? 2 : irq;
		if (irq == 2) { /* the cascade has no pin of its own */
			entries--;
			continue;
		}
		p = mp_put_irq(p, MP_INT, mp_level_pin(cfg, irq) ? MP_FLAGS_LEVEL_HIGH : 0,
			       (u8)irq, ioapic_id, (u8)pin);
	}
	/* LINT0 is ExtINT (virtual wire), LINT1 is NMI, on every local APIC. */
	struct mp_interrupt lint[2] = {{MP_LOCAL_INTERRUPT, MP_EXTINT, 0, 0, 0, 0xFF, 0},
				       {MP_LOCAL_INTERRUPT, MP_NMI, 0, 0, 0, 0xFF, 1}};
	memcpy(p, lint, sizeof(lint));
	p += sizeof(lint);
	entries += 2;

	memset(&hdr, 0, sizeof(hdr));
	memcpy(hdr.signature, "PCMP", 4);
	hdr.length = (u16)(p - buf - sizeof(fp));
	hdr.spec_rev = MP_SPEC_REV;
	memcpy(hdr.oem, "POPEK   ", 8);
	memcpy(hdr.product, "POPEK VM    ", 12);
	hdr.entries = (u16)entries;
	hdr.lapic_addr = (u32)LAYOUT_LAPIC;
	memcpy(buf + sizeof(fp), &hdr, sizeof(hdr));
	buf[sizeof(fp) + offsetof(struct mp_config, checksum)] =
	    mp_checksum(buf + sizeof(fp), hdr.length);

	fp.config_addr = (u32)(LAYOUT_MPTABLE + sizeof(fp));
	fp.checksum = mp_checksum(&fp, sizeof(fp));
	memcpy(buf, &fp, sizeof(fp));
	return guest_mem_write(mem, LAYOUT_MPTABLE, buf, (size_t)(p - buf));
}
