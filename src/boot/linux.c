/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst): bzImage, boot_params. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/loader.h"
#include "popek/layout.h"
#include "popek/log.h"

/* Offsets in struct boot_params (arch/x86/include/uapi/asm/bootparam.h,
 * boot.rst "The Zero Page" and "Details of Header Fields"). */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_SETUP_SECTS       0x1f1
#define BP_BOOT_FLAG         0x1fe
#define BP_JUMP              0x200
#define BP_HEADER            0x202
#define BP_VERSION           0x206
#define BP_TYPE_OF_LOADER    0x210
#define BP_LOADFLAGS         0x211
#define BP_CODE32_START      0x214
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE      0x21c
#define BP_HEAP_END_PTR      0x224
#define BP_CMD_LINE_PTR      0x228
#define BP_INITRD_ADDR_MAX   0x22c
#define BP_KERNEL_ALIGNMENT  0x230
#define BP_RELOCATABLE       0x234
#define BP_XLOADFLAGS        0x236
#define BP_CMDLINE_SIZE      0x238
#define BP_SETUP_DATA        0x250
#define BP_PREF_ADDRESS      0x258
#define BP_INIT_SIZE         0x260
#define BP_HDR_MAX           0x290 /* edd_mbr_sig_buffer follows the setup header */
#define BP_E820_TABLE        0x2d0
#define BP_SIZE              4096

#define LOADED_HIGH          0x01
#define CAN_USE_HEAP         0x80
#define XLF_KERNEL_64        0x01
#define LINUX_VERSION_XLF    0x020c /* xloadflags, and with it the 64-bit entry */
#define LINUX_ENTRY64_OFFSET 0x200  /* boot.rst "64-bit Boot Protocol" */
#define LINUX_HEAP_END       0xde00 /* boot.rst sample: heap_end - 0x200 */

bool linux_is_bzimage(const u8 *buf, u64 len)
{
	return len >= BP_HEADER + 4 && !memcmp(buf + BP_HEADER, "HdrS", 4);
}

int linux_parse_bzimage(const char *path, const u8 *buf, u64 len, struct linux_header *h)
{
	u64 setup_sects, need;

	memset(h, 0, sizeof(*h));
	if (!linux_is_bzimage(buf, len) || len < BP_VERSION + 2) {
		log_error("kernel '%s': no Linux setup header", path);
		return -ENOEXEC;
	}
	h->version = get_le16(buf + BP_VERSION);
	if (h->version < LINUX_MIN_VERSION) {
		log_error("kernel '%s': boot protocol %u.%02u is older than 2.06", path,
			  h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	/* "If this field is 0, the real value is 4." */
	setup_sects = buf[BP_SETUP_SECTS] ? buf[BP_SETUP_SECTS] : 4;
	h->setup_size = (setup_sects + 1) * 512;
	/* The header ends at 0x202 + the byte at 0x201 (the jump's offset). */
	h->hdr_end = MIN((u64)BP_HEADER + buf[BP_JUMP + 1], BP_HDR_MAX);
	need = h->setup_size + (u64)get_le32(buf + 0x1f4) * 16; /* syssize, 16-byte units */
	if (len < need || len == h->setup_size) {
		log_error("kernel '%s' is truncated: %llu bytes, its header says %llu", path,
			  (unsigned long long)len,
			  (unsigned long long)MAX(need, h->setup_size + 1));
		return -ENOEXEC;
	}
	h->loadflags = buf[BP_LOADFLAGS];
	if (!(h->loadflags & LOADED_HIGH)) {
		log_error("kernel '%s' is a zImage (not loaded high); only bzImage is supported",
			  path);
		return -ENOEXEC;
	}
	if (h->version < LINUX_VERSION_XLF || h->hdr_end < BP_INIT_SIZE + 4 ||
	    !(get_le16(buf + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
		log_error("kernel '%s' (boot protocol %u.%02u) has no 64-bit entry point "
			  "(XLF_KERNEL_64 not set in xloadflags)",
			  path, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	h->xloadflags = get_le16(buf + BP_XLOADFLAGS);
	h->initrd_addr_max = get_le32(buf + BP_INITRD_ADDR_MAX);
	h->kernel_alignment = get_le32(buf + BP_KERNEL_ALIGNMENT);
	h->relocatable = buf[BP_RELOCATABLE] != 0;
	h->cmdline_size = get_le32(buf + BP_CMDLINE_SIZE);
	h->pref_address = get_le64(buf + BP_PREF_ADDRESS);
	h->init_size = get_le32(buf + BP_INIT_SIZE);
	if (h->relocatable &&
	    (!h->kernel_alignment || (h->kernel_alignment & (h->kernel_alignment - 1)))) {
		log_error("kernel '%s': kernel_alignment %#x is not a power of two", path,
			  h->kernel_alignment);
		return -ENOEXEC;
	}
	return 0;
}

/* Where the kernel decompresses itself: startup_32/64 in
 * arch/x86/boot/compressed/head_64.S use the load address rounded up to
 * kernel_alignment, but never below LOAD_PHYSICAL_ADDR (= pref_address),
 * and need init_size bytes from there. Returns that end, or 0 on overflow. */
static u64 linux_footprint_end(const struct linux_header *h)
{
	u64 start = h->pref_address;

	if (h->relocatable)
		start = MAX(start, ALIGN_UP(LAYOUT_KERNEL, (u64)h->kernel_alignment));
	if (start > UINT64_MAX - h->init_size)
		return 0;
	return start + h->init_size;
}

/* Fields every boot_params gets, from any kernel format. */
static void linux_params_common(u8 *bp, const struct guest_mem *mem, const struct boot_result *res)
{
	struct boot_e820_entry e820[BOOT_E820_MAX];
	unsigned n = boot_e820_build(mem, e820);

	put_le64(bp + BP_ACPI_RSDP_ADDR, res->rsdp);
	bp[BP_TYPE_OF_LOADER] = 0xff; /* "undefined" loader ID */
	bp[BP_LOADFLAGS] |= CAN_USE_HEAP;
	put_le16(bp + BP_HEAP_END_PTR, LINUX_HEAP_END);
	put_le32(bp + BP_CMD_LINE_PTR, (u32)LAYOUT_CMDLINE);
	put_le32(bp + BP_EXT_CMD_LINE_PTR, (u32)(LAYOUT_CMDLINE >> 32));
	put_le32(bp + BP_RAMDISK_IMAGE, (u32)res->initrd_start);
	put_le32(bp + BP_EXT_RAMDISK_IMAGE, (u32)(res->initrd_start >> 32));
	put_le32(bp + BP_RAMDISK_SIZE, (u32)res->initrd_size);
	put_le32(bp + BP_EXT_RAMDISK_SIZE, (u32)(res->initrd_size >> 32));
	put_le64(bp + BP_SETUP_DATA, 0);
	bp[BP_E820_ENTRIES] = (u8)n;
	for (unsigned i = 0; i < n; i++) {
		u8 *e = bp + BP_E820_TABLE + i * 20;
		put_le64(e, e820[i].addr);
		put_le64(e + 8, e820[i].size);
		put_le32(e + 16, e820[i].type);
	}
}

/* Command line, initrd above min_end and below max_end, boot_params
 * written to guest memory, and the 64-bit entry at rip. */
static int linux_finish(struct guest_mem *mem, const struct vm_config *cfg, const char *path,
			u8 *bp, u64 cmdline_max, u64 min_end, u64 max_end, u64 rip,
			struct boot_result *out)
{
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	char what[64 + 16];
	int r;

	snprintf(what, sizeof(what), "kernel '%.64s'", path);
	r = boot_cmdline_write(mem, what, cmdline, cmdline_max, LAYOUT_CMDLINE);
	if (r)
		return r;
	if (cfg->initrd_path && cfg->initrd_path[0]) {
		r = boot_initrd_load(mem, cfg->initrd_path, min_end, max_end, &out->initrd_start,
				     &out->initrd_size);
		if (r)
			return r;
		if (!out->initrd_size)
			out->initrd_start = 0;
	}
	linux_params_common(bp, mem, out);
	if (guest_mem_write(mem, LAYOUT_BOOT_PARAMS, bp, BP_SIZE)) {
		log_error("zero page at %#llx is not in guest RAM",
			  (unsigned long long)LAYOUT_BOOT_PARAMS);
		return -EFAULT;
	}
	return boot_entry_long(mem, &out->entry, rip, LAYOUT_BOOT_PARAMS);
}

int linux_load_bzimage(struct guest_mem *mem, const struct vm_config *cfg,
		       const struct boot_file *f, struct boot_result *out)
{
	u64 low_end = guest_mem_low_end(mem), payload, footprint, rsdp;
	struct linux_header h;
	u8 bp[BP_SIZE];
	int r;

	r = linux_parse_bzimage(f->path, f->data, f->size, &h);
	if (r)
		return r;
	/* Decompressing on the host saves seconds of guest time under the
	 * soft engine; any failure there falls back to the normal path. */
	rsdp = out->rsdp;
	if (!linux_load_unpacked(mem, cfg, f, &h, out))
		return 0;
	memset(out, 0, sizeof(*out));
	out->rsdp = rsdp;
	payload = f->size - h.setup_size;
	footprint = linux_footprint_end(&h);
	if (low_end <= LAYOUT_KERNEL || payload > low_end - LAYOUT_KERNEL) {
		log_error("kernel '%s' (%llu MiB) does not fit in RAM above %#llx with --mem %lluM",
			  f->path, boot_mib(payload), (unsigned long long)LAYOUT_KERNEL,
			  (unsigned long long)(mem->ram_size / MiB));
		return -ENOMEM;
	}
	if (!footprint || footprint > low_end) {
		log_error("kernel '%s' needs RAM up to %#llx (%llu MiB) to decompress "
			  "(pref_address %#llx + init_size %#x) but low RAM ends at %#llx "
			  "with --mem %lluM",
			  f->path, (unsigned long long)footprint, boot_mib(footprint),
			  (unsigned long long)h.pref_address, h.init_size,
			  (unsigned long long)low_end, (unsigned long long)(mem->ram_size / MiB));
		return -ENOMEM;
	}
	footprint = MAX(footprint, LAYOUT_KERNEL + payload);
	if (guest_mem_write(mem, LAYOUT_KERNEL, f->data + h.setup_size, payload))
		return -EFAULT;

	memset(bp, 0, sizeof(bp));
	memcpy(bp + BP_SETUP_SECTS, f->data + BP_SETUP_SECTS, h.hdr_end - BP_SETUP_SECTS);
	put_le32(bp + BP_CODE32_START, (u32)LAYOUT_KERNEL);

	out->kind = BOOT_LINUX_BZIMAGE;
	out->kernel_start = LAYOUT_KERNEL;
	out->kernel_end = LAYOUT_KERNEL + payload;
	return linux_finish(mem, cfg, f->path, bp, h.cmdline_size, footprint,
			    (u64)h.initrd_addr_max + 1, LAYOUT_KERNEL + LINUX_ENTRY64_OFFSET, out);
}

int linux_load_elf64(struct guest_mem *mem, const struct vm_config *cfg, const struct boot_file *f,
		     const struct elf_image *img, struct boot_result *out)
{
	u8 bp[BP_SIZE];
	u64 entry;
	int r;

	r = elf_entry_paddr(f->path, img, &entry);
	if (!r)
		r = elf_load(mem, f->path, f->data, img, LAYOUT_KERNEL, guest_mem_low_end(mem));
	if (r)
		return r;

	/* A setup header made up for startup_64 (boot.rst "Details of Header
	 * Fields"), as if the kernel had been loaded from a bzImage. */
	memset(bp, 0, sizeof(bp));
	put_le16(bp + BP_BOOT_FLAG, 0xaa55);
	memcpy(bp + BP_HEADER, "HdrS", 4);
	put_le16(bp + BP_VERSION, 0x020f);
	bp[BP_LOADFLAGS] = LOADED_HIGH;
	put_le32(bp + BP_CODE32_START, (u32)MIN(img->lo, 0xffffffffULL));
	put_le32(bp + BP_INITRD_ADDR_MAX, 0x7fffffff);
	put_le32(bp + BP_KERNEL_ALIGNMENT, 2 * MiB);
	put_le16(bp + BP_XLOADFLAGS, XLF_KERNEL_64);
	put_le32(bp + BP_CMDLINE_SIZE, (u32)(LAYOUT_CMDLINE_MAX - 1));
	put_le64(bp + BP_PREF_ADDRESS, img->lo);
	put_le32(bp + BP_INIT_SIZE, (u32)MIN(img->hi - img->lo, 0xffffffffULL));

	out->kind = BOOT_LINUX_ELF;
	out->kernel_start = img->lo;
	out->kernel_end = img->hi;
	return linux_finish(mem, cfg, f->path, bp, LAYOUT_CMDLINE_MAX - 1, img->hi, 0x80000000ULL,
			    entry, out);
}
