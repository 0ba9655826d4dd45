/* A small AML emitter (ACPI 6.4 section 20.2, AML grammar) and resource
 * descriptor encoder (section 6.4), into a growable buffer of bounded size. */
#ifndef POPEK_AML_H
#define POPEK_AML_H

#include "popek/types.h"

/* The largest AML a PkgLength can describe (20.2.4: 28 bits). */
#define AML_MAX_SIZE 0x0FFFFFFFu

/*
 * Output buffer. Every emitter appends to it and never writes past max bytes:
 * the first failure (-ENOSPC past max, -ENOMEM from the heap, -EINVAL for a
 * bad name, string or id) is kept in err and turns every later call into a
 * no-op, so a builder emits a whole table and checks aml_error() once.
 */
struct aml_buf {
	u8 *data;
	size_t len;
	size_t cap;
	size_t max;
	int err;
};

/* An open block (Scope, Device, Method, Package, Buffer): where its body
 * starts. Close blocks in reverse order of opening. */
struct aml_block {
	size_t start;
	bool is_buffer;
};

/* max is clamped to AML_MAX_SIZE. aml_release() frees data; the struct may be
 * reused after aml_init() again. */
void aml_init(struct aml_buf *b, size_t max);
void aml_release(struct aml_buf *b);
static inline int aml_error(const struct aml_buf *b)
{
	return b->err;
}

/* Raw bytes and little-endian integers. */
void aml_byte(struct aml_buf *b, u8 v);
void aml_bytes(struct aml_buf *b, const void *p, size_t n);
void aml_le16(struct aml_buf *b, u16 v);
void aml_le32(struct aml_buf *b, u32 v);
void aml_le64(struct aml_buf *b, u64 v);

/* PkgLength (20.2.4) for a package whose body (the bytes after the
 * PkgLength) is body_len long. The encoded value counts the PkgLength's own
 * 1-4 bytes too. Writes them to out and returns how many, or -EINVAL when
 * the total does not fit 28 bits. */
int aml_pkg_length(u8 out[4], size_t body_len);

/* NameString (20.2.2): an optional root '\' or '^' prefixes, then
 * dot-separated NameSegs of 1-4 characters ([A-Z_][A-Z0-9_]*), each padded
 * with '_'. "" is the NullName. E.g. "\\_SB.COM1", "_S5", "VR00". */
void aml_name_string(struct aml_buf *b, const char *path);

/* Data objects (20.2.3): the shortest of ZeroOp, OneOp, Byte/Word/DWord/
 * QWordPrefix; a String (ASCII 0x01-0x7F); an EISA id such as "PNP0501" as
 * its compressed 32-bit integer (6.1.5 _HID). */
void aml_integer(struct aml_buf *b, u64 v);
void aml_string(struct aml_buf *b, const char *s);
int aml_eisaid_value(const char *id, u32 *out);
void aml_eisaid(struct aml_buf *b, const char *id);

/* Name(name, <next emitted object>) (20.2.5.1 DefName). */
void aml_name(struct aml_buf *b, const char *name);
void aml_name_integer(struct aml_buf *b, const char *name, u64 v);
void aml_name_str(struct aml_buf *b, const char *name, const char *s);
void aml_name_eisaid(struct aml_buf *b, const char *name, const char *id);

/* Blocks (20.2.5.1-2, 20.2.5.4). aml_end() inserts the PkgLength (and, for a
 * Buffer, the BufferSize) once the body is known. */
struct aml_block aml_scope(struct aml_buf *b, const char *name);
struct aml_block aml_device(struct aml_buf *b, const char *name);
struct aml_block aml_method(struct aml_buf *b, const char *name, unsigned nargs, bool serialized);
struct aml_block aml_package(struct aml_buf *b, unsigned nr_elements);
struct aml_block aml_buffer(struct aml_buf *b);
void aml_end(struct aml_buf *b, struct aml_block blk);

/* Return(<next emitted object>) (20.2.5.3 DefReturn). */
void aml_return(struct aml_buf *b);

/* Method(name, 0, NotSerialized) { Return(v) }, e.g. _STA returning 0x0F. */
void aml_method_return_integer(struct aml_buf *b, const char *name, u64 v);

/*
 * ResourceTemplate () { ... } (6.4, 19.6.117): a Buffer whose bytes are
 * resource descriptors; aml_restemplate_end() appends the End Tag (6.4.2.9).
 */
struct aml_block aml_restemplate(struct aml_buf *b);
void aml_restemplate_end(struct aml_buf *b, struct aml_block blk);

/* IO (Decode16, min, max, align, len) (6.4.2.5). */
void aml_res_io(struct aml_buf *b, u16 min, u16 max, u8 align, u8 len);
/* IRQNoFlags () {irq} (6.4.2.1): ISA, edge, active high. irq < 16. */
void aml_res_irq_noflags(struct aml_buf *b, unsigned irq);
/* Memory32Fixed (ReadWrite or ReadOnly, base, len) (6.4.3.4). */
void aml_res_memory32_fixed(struct aml_buf *b, bool writable, u32 base, u32 len);

/* Interrupt (...) {gsi, ...} (6.4.3.6 Extended Interrupt Descriptor). */
enum aml_irq_flags {
	AML_IRQ_CONSUMER = 1 << 0,   /* ResourceConsumer (else ResourceProducer) */
	AML_IRQ_EDGE = 1 << 1,       /* Edge (else Level) */
	AML_IRQ_ACTIVE_LOW = 1 << 2, /* ActiveLow (else ActiveHigh) */
	AML_IRQ_SHARED = 1 << 3,     /* Shared (else Exclusive) */
	AML_IRQ_WAKE = 1 << 4,       /* Wake capable */
};
void aml_res_interrupt(struct aml_buf *b, unsigned flags, const u32 *gsi, unsigned n);

#endif
