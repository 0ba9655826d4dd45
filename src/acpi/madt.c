/* The MADT: CPUs, the IOAPIC and ISA overrides (ACPI 6.4 section 5.2.12). */
#include "acpi/tables.h"

#include "popek/layout.h"

#define MADT_REVISION    5         /* ACPI 6.4 */
#define MADT_PCAT_COMPAT (1u << 0) /* 5.2.12 Table 5.20: dual 8259s present */

/* 5.2.12 Table 5.21 Interrupt Controller Structure Types. */
#define MADT_LOCAL_APIC       0
#define MADT_IO_APIC          1
#define MADT_INT_SRC_OVERRIDE 2
#define MADT_LOCAL_APIC_NMI   4

/* 5.2.12.5 MPS INTI Flags: polarity in bits 1:0, trigger mode in bits 3:2. */
#define MPS_ACTIVE_HIGH 0x1
#define MPS_ACTIVE_LOW  0x3
#define MPS_EDGE        (0x1 << 2)
#define MPS_LEVEL       (0x3 << 2)

struct madt_header {
	struct acpi_table_header header;
	u32 local_apic_address;
	u32 flags;
} __attribute__((packed));

/* 5.2.12.2 Processor Local APIC Structure. */
struct madt_local_apic {
	u8 type;
	u8 length;
	u8 processor_uid;
	u8 apic_id;
	u32 flags; /* bit 0 Enabled */
} __attribute__((packed));

/* 5.2.12.3 I/O APIC Structure. */
struct madt_io_apic {
	u8 type;
	u8 length;
	u8 io_apic_id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
} __attribute__((packed));

/* 5.2.12.5 Interrupt Source Override Structure. */
struct madt_int_src_override {
	u8 type;
	u8 length;
	u8 bus; /* 0: ISA */
	u8 source;
	u32 gsi;
	u16 flags;
} __attribute__((packed));

/* 5.2.12.7 Local APIC NMI Structure. */
struct madt_local_apic_nmi {
	u8 type;
	u8 length;
	u8 processor_uid; /* 0xFF: all processors */
	u16 flags;
	u8 lint;
} __attribute__((packed));

_Static_assert(sizeof(struct madt_header) == 44, "MADT header");
_Static_assert(sizeof(struct madt_local_apic) == 8, "MADT local APIC");
_Static_assert(sizeof(struct madt_io_apic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_int_src_override) == 10, "MADT override");
_Static_assert(sizeof(struct madt_local_apic_nmi) == 6, "MADT NMI");

/*
 * IRQ0 (PIT) is wired to IOAPIC pin 2, as on every PC. IRQ9 is the SCI:
 * level, active high, as QEMU describes it. Linux applies this override even
 * on hardware-reduced platforms (where it never requests the SCI), so it only
 * fixes GSI 9's trigger mode, which also suits a level virtio device on it.
 */
static const struct madt_int_src_override madt_overrides[] = {
    {MADT_INT_SRC_OVERRIDE, 10, 0, 0, 2, MPS_ACTIVE_HIGH | MPS_EDGE},
    {MADT_INT_SRC_OVERRIDE, 10, 0, GSI_ACPI_SCI, GSI_ACPI_SCI, MPS_ACTIVE_HIGH | MPS_LEVEL},
};

int acpi_madt_build(struct acpi_area *a, const struct acpi_config *cfg, gpa_t *out)
{
	u32 len = sizeof(struct madt_header) + cfg->nr_cpus * sizeof(struct madt_local_apic) +
		  sizeof(struct madt_io_apic) + sizeof(madt_overrides) +
		  sizeof(struct madt_local_apic_nmi);
	struct madt_header *h;
	u8 *p;
	void *v;
	int err;

	err = acpi_area_alloc(a, len, 16, &v, out);
	if (err)
		return err;
	h = v;
	acpi_header_init(&h->header, "APIC", len, MADT_REVISION);
	h->local_apic_address = (u32)LAYOUT_LAPIC;
	h->flags = MADT_PCAT_COMPAT;
	p = (u8 *)(h + 1);

	/* ACPI processor UID = APIC id = CPU index. */
	for (unsigned i = 0; i < cfg->nr_cpus; i++) {
		struct madt_local_apic *l = (struct madt_local_apic *)p;

		*l = (struct madt_local_apic){MADT_LOCAL_APIC, sizeof(*l), i, i, 1};
		p += sizeof(*l);
	}

	/* The one IOAPIC takes the first id after the CPUs and GSIs 0-23. */
	struct madt_io_apic *io = (struct madt_io_apic *)p;
	*io = (struct madt_io_apic){
	    MADT_IO_APIC, sizeof(*io), cfg->nr_cpus, 0, (u32)LAYOUT_IOAPIC, 0};
	p += sizeof(*io);

	for (unsigned i = 0; i < ARRAY_SIZE(madt_overrides); i++) {
		struct madt_int_src_override *o = (struct madt_int_src_override *)p;

		*o = madt_overrides[i];
		p += sizeof(*o);
	}

	/* NMIs arrive on LINT1 of every local APIC (edge, active high). */
	struct madt_local_apic_nmi *nmi = (struct madt_local_apic_nmi *)p;
	*nmi = (struct madt_local_apic_nmi){MADT_LOCAL_APIC_NMI, sizeof(*nmi), 0xFF,
					    MPS_ACTIVE_HIGH | MPS_EDGE, 1};
	acpi_table_seal(&h->header);
	return 0;
}
