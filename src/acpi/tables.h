/* Internal to src/acpi: the table area allocator, the common table header and
 * one builder per table (ACPI 6.4 section 5.2). */
#ifndef POPEK_ACPI_TABLES_H
#define POPEK_ACPI_TABLES_H

#include "acpi/acpi.h"
#include "acpi/aml.h"

#define ACPI_OEM_ID           "POPEK "   /* 6 bytes */
#define ACPI_OEM_TABLE_ID     "POPEKVM " /* 8 bytes */
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID       "PPEK"
#define ACPI_CREATOR_REVISION 1

/* 5.2.6 System Description Table Header. */
struct acpi_table_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	char creator_id[4];
	u32 creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_table_header) == 36, "ACPI table header");

/* 5.2.3.2 Generic Address Structure. */
struct acpi_gas {
	u8 space_id; /* 0 SystemMemory, 1 SystemIO */
	u8 bit_width;
	u8 bit_offset;
	u8 access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
	u64 address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "ACPI GAS");

#define ACPI_GAS_SYSTEM_IO   1
#define ACPI_GAS_ACCESS_BYTE 1

/* The guest range the tables go into, already checked to be RAM. */
struct acpi_area {
	u8 *host; /* host address of gpa */
	gpa_t gpa;
	u64 size;
	u64 used;
};

/* Carves len zeroed bytes aligned to align (a power of two) out of the area.
 * Returns 0 or -ENOSPC. */
int acpi_area_alloc(struct acpi_area *a, u64 len, u64 align, void **host, gpa_t *gpa);

/* The 8-bit sum that makes len bytes at p sum to zero. */
u8 acpi_checksum(const void *p, size_t len);

/* Fills the header with popek's ids and a zero checksum. */
void acpi_header_init(struct acpi_table_header *h, const char sig[4], u32 len, u8 rev);

/* Sets the checksum of a complete table (header and body, h->length bytes). */
void acpi_table_seal(struct acpi_table_header *h);

/* Each builder writes its table into the area and returns its address in *out:
 * 0, -ENOSPC, or -ENOMEM (DSDT only). The config was checked by acpi_build(). */
int acpi_dsdt_build(struct acpi_area *a, const struct acpi_config *cfg, gpa_t *out);
int acpi_fadt_build(struct acpi_area *a, const struct acpi_config *cfg, gpa_t dsdt, gpa_t *out);
int acpi_madt_build(struct acpi_area *a, const struct acpi_config *cfg, gpa_t *out);

/* The whole DSDT (header and AML) into b; acpi_dsdt_build() copies it. */
int acpi_dsdt_emit(struct aml_buf *b, const struct acpi_config *cfg);

/* The sleep type popek's \_S5 declares (Linux writes SLP_TYP << 2 | SLP_EN). */
#define ACPI_S5_SLP_TYP 5

#endif
