/* The snapshot state file's container (issue 12): a versioned, checksummed
 * list of sections, each one piece of state (a vCPU, a device, the clock)
 * named by a type and an index. A state file is untrusted input: the parser
 * checks every length, offset and checksum before anything reads a section,
 * and says in one line what is wrong with a file it refuses.
 *
 * Layout, little-endian: a 32-byte header (magic "POPEKSNP", u32 version,
 * u32 section count, u64 file length, u32 CRC-32 of the header's first 24
 * bytes, u32 zero), then each section: a 24-byte section header (u32 type,
 * u32 index, u64 payload length, u32 CRC-32 of the payload, u32 zero) and
 * its payload, zero-padded to a multiple of 8 bytes. Nothing follows the
 * last section. */
#ifndef POPEK_VMM_SNAPSHOT_FILE_H
#define POPEK_VMM_SNAPSHOT_FILE_H

#include <stddef.h>

#include "popek/types.h"

/* 2: the CLCK section carries the guest TSC's rate. 3: the balloon's
 * configuration (machine section) and statistics interval (its device).
 * 4: the FCFG and MMDS sections (rate limiters, MTUs, MMDS, CPU template). */
#define SNAP_FILE_VERSION      4
#define SNAP_FILE_MAX_SECTIONS 4096

/* A section type from four characters, e.g. SNAP_TYPE('V','C','P','U'). */
#define SNAP_TYPE(a, b, c, d) ((u32)(a) | (u32)(b) << 8 | (u32)(c) << 16 | (u32)(d) << 24)

struct snap_section {
	u32 type, index;
	const u8 *data; /* inside the parsed buffer */
	u64 len;
};

struct snap_file {
	u32 version;
	u32 count;
	struct snap_section *sections; /* count of them, in file order */
};

/* Checks buf[0..len) and lists its sections (pointing into buf, which must
 * outlive *out). Returns 0, or -EINVAL (damaged), -EPROTO (another version)
 * or -ENOMEM with a one-line reason in why (may be NULL). */
int snap_file_parse(const u8 *buf, size_t len, struct snap_file *out, char *why, size_t why_len);
void snap_file_free(struct snap_file *f);
/* The section of that type and index, or NULL. */
const struct snap_section *snap_file_find(const struct snap_file *f, u32 type, u32 index);

/* Builds a state file in memory. */
struct snap_writer {
	u8 *buf;
	size_t len, cap;
	u32 count;
	int err; /* the first error (-ENOMEM, -E2BIG): finish returns it */
};

void snap_writer_init(struct snap_writer *w);
void snap_writer_add(struct snap_writer *w, u32 type, u32 index, const void *data, u64 len);
/* Fills in the header: 0 with *buf (the caller frees it) and *len, or the
 * first error. */
int snap_writer_finish(struct snap_writer *w, u8 **buf, size_t *len);

#endif
