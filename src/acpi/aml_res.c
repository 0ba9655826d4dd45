/* Resource descriptors for _CRS buffers (ACPI 6.4 section 6.4, Resource Data Types). */
#include "acpi/aml.h"

#include <errno.h>

/* Small items: byte 0 = tag << 3 | length (6.4.2). */
#define RES_IRQ_NOFLAGS 0x22 /* 6.4.2.1 IRQ descriptor, 2 data bytes */
#define RES_IO          0x47 /* 6.4.2.5 I/O port descriptor, 7 data bytes */
#define RES_END_TAG     0x79 /* 6.4.2.9 End Tag, 1 data byte */
/* Large items: byte 0 = 0x80 | name, then a 16-bit length (6.4.3). */
#define RES_MEMORY32_FIXED 0x86 /* 6.4.3.4 */
#define RES_EXT_INTERRUPT  0x89 /* 6.4.3.6 */

#define IO_DECODE16      0x01 /* information bit 0: the device decodes 16 address bits */
#define IRQ_MAX_PER_DESC 255  /* the interrupt table length is one byte */

static void res_fail(struct aml_buf *b)
{
	if (!b->err)
		b->err = -EINVAL;
}

struct aml_block aml_restemplate(struct aml_buf *b)
{
	return aml_buffer(b);
}

void aml_restemplate_end(struct aml_buf *b, struct aml_block blk)
{
	/* A checksum of 0 means the template is treated as if it summed to zero. */
	aml_byte(b, RES_END_TAG);
	aml_byte(b, 0x00);
	aml_end(b, blk);
}

void aml_res_io(struct aml_buf *b, u16 min, u16 max, u8 align, u8 len)
{
	if (max < min) {
		res_fail(b);
		return;
	}
	aml_byte(b, RES_IO);
	aml_byte(b, IO_DECODE16);
	aml_le16(b, min);
	aml_le16(b, max);
	aml_byte(b, align);
	aml_byte(b, len);
}

/* The 2-byte form: high-true, edge-sensitive, not shareable (ISA). */
void aml_res_irq_noflags(struct aml_buf *b, unsigned irq)
{
	if (irq > 15) {
		res_fail(b);
		return;
	}
	aml_byte(b, RES_IRQ_NOFLAGS);
	aml_le16(b, 1u << irq);
}

void aml_res_memory32_fixed(struct aml_buf *b, bool writable, u32 base, u32 len)
{
	aml_byte(b, RES_MEMORY32_FIXED);
	aml_le16(b, 9);                   /* bytes after the length field */
	aml_byte(b, writable ? 0x01 : 0); /* information bit 0: read/write */
	aml_le32(b, base);
	aml_le32(b, len);
}

/*
 * Byte 3 holds the flags in the same bit positions as enum aml_irq_flags
 * (bit 0 consumer, bit 1 edge, bit 2 active low, bit 3 shared, bit 4 wake);
 * byte 4 the count, then one 32-bit GSI each. No ResourceSource.
 */
void aml_res_interrupt(struct aml_buf *b, unsigned flags, const u32 *gsi, unsigned n)
{
	if (!n || n > IRQ_MAX_PER_DESC || (flags & ~0x1Fu)) {
		res_fail(b);
		return;
	}
	aml_byte(b, RES_EXT_INTERRUPT);
	aml_le16(b, 2 + 4 * n);
	aml_byte(b, flags);
	aml_byte(b, n);
	for (unsigned i = 0; i < n; i++)
		aml_le32(b, gsi[i]);
}
